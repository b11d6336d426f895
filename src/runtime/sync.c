/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/sync.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/fdpass.h"

_Static_assert(RT_SYNC_MAX_FDS <= FDPASS_MAX, "sync messages carry at most FDPASS_MAX fds");

static int send_msg(int fd, enum rt_sync_type type, pid_t pid, const struct cella_error *err,
                    const int *fds, size_t n)
{
        struct rt_sync_msg m;
        memset(&m, 0, sizeof(m));
        m.type = type;
        m.pid = pid;
        if (err)
                m.err = *err;
        ssize_t r = fdpass_send(fd, &m, sizeof(m), fds, n);
        if (r < 0)
                return (int)r;
        return r == sizeof(m) ? 0 : -EIO;
}

int rt_sync_send(int fd, enum rt_sync_type type, pid_t pid, const struct cella_error *err)
{
        return send_msg(fd, type, pid, err, NULL, 0);
}

int rt_sync_send_fds(int fd, enum rt_sync_type type, const int *fds, size_t n)
{
        if (n > RT_SYNC_MAX_FDS)
                return -E2BIG;
        return send_msg(fd, type, (pid_t)n, NULL, fds, n);
}

int rt_sync_recv_fds(int fd, struct rt_sync_msg *m, int *fds, size_t *ret_n)
{
        ssize_t r = fdpass_recv(fd, m, sizeof(*m), fds, RT_SYNC_MAX_FDS, ret_n);
        /*
         * A peer that exits with a message of ours unread (an init that failed before it read
         * GO or CGROUP) leaves ECONNRESET on our socket, and the kernel reports that error
         * before the messages still queued for us, such as the init's ERROR. Reporting it
         * consumed it: read again, once, to get the queue (or EOF).
         */
        if (r == -ECONNRESET)
                r = fdpass_recv(fd, m, sizeof(*m), fds, RT_SYNC_MAX_FDS, ret_n);
        if (r < 0)
                return (int)r;
        if (r == 0)
                return -EPIPE;
        if (r != sizeof(*m)) {
                while (*ret_n > 0)
                        close(fds[--*ret_n]);
                return -EBADMSG;
        }
        m->err.msg[sizeof(m->err.msg) - 1] = '\0';
        return 0;
}

int rt_sync_recv(int fd, struct rt_sync_msg *m)
{
        int fds[RT_SYNC_MAX_FDS];
        size_t n = 0;
        int r = rt_sync_recv_fds(fd, m, fds, &n);
        while (n > 0) /* none expected: do not let any stay open */
                close(fds[--n]);
        return r;
}
