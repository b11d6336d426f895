/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/sync.h"

#include <string.h>
#include <sys/socket.h>

int rt_sync_send(int fd, enum rt_sync_type type, pid_t pid, const struct cella_error *err)
{
        struct rt_sync_msg m;
        memset(&m, 0, sizeof(m));
        m.type = type;
        m.pid = pid;
        if (err)
                m.err = *err;
        ssize_t n;
        do
                n = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return n == sizeof(m) ? 0 : -EIO;
}

int rt_sync_recv(int fd, struct rt_sync_msg *m)
{
        ssize_t n;
        do
                n = recv(fd, m, sizeof(*m), 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -EPIPE;
        if (n != sizeof(*m))
                return -EBADMSG;
        m->err.msg[sizeof(m->err.msg) - 1] = '\0';
        return 0;
}
