/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/sync.h"

#include <errno.h>
#include <stdbool.h>
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

/*
 * A peer that exits with a message of ours unread (an init that failed before it read GO or
 * CGROUP) leaves ECONNRESET on our socket, and the kernel reports that error before the
 * messages still queued for us, such as the init's ERROR. The error is consumed by being
 * reported: read again, once, to get the queue (or EOF).
 */
static bool retry_after_reset(bool *seen)
{
        if (errno != ECONNRESET || *seen)
                return false;
        *seen = true;
        return true;
}

int rt_sync_recv(int fd, struct rt_sync_msg *m)
{
        ssize_t n;
        bool reset_seen = false;
        do
                n = recv(fd, m, sizeof(*m), 0);
        while (n < 0 && (errno == EINTR || retry_after_reset(&reset_seen)));
        if (n < 0)
                return -errno;
        if (n == 0)
                return -EPIPE;
        if (n != sizeof(*m))
                return -EBADMSG;
        m->err.msg[sizeof(m->err.msg) - 1] = '\0';
        return 0;
}

int rt_sync_send_fds(int fd, enum rt_sync_type type, const int *fds, size_t n)
{
        if (n == 0)
                return rt_sync_send(fd, type, 0, NULL);
        if (n > RT_SYNC_MAX_FDS)
                return -E2BIG;
        struct rt_sync_msg m;
        memset(&m, 0, sizeof(m));
        m.type = type;
        m.pid = (pid_t)n;
        char cbuf[CMSG_SPACE(RT_SYNC_MAX_FDS * sizeof(int))];
        memset(cbuf, 0, sizeof(cbuf));
        struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = cbuf,
                             .msg_controllen = CMSG_SPACE(n * sizeof(int))};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(n * sizeof(int));
        memcpy(CMSG_DATA(c), fds, n * sizeof(int));
        ssize_t r;
        do
                r = sendmsg(fd, &msg, MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        return r == sizeof(m) ? 0 : -EIO;
}

int rt_sync_recv_fds(int fd, struct rt_sync_msg *m, int *fds, size_t *ret_n)
{
        char cbuf[CMSG_SPACE(RT_SYNC_MAX_FDS * sizeof(int))];
        struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        ssize_t r;
        bool reset_seen = false;
        do
                r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        while (r < 0 && (errno == EINTR || retry_after_reset(&reset_seen)));
        *ret_n = 0;
        if (r < 0)
                return -errno;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                *ret_n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        if (*ret_n > RT_SYNC_MAX_FDS)
                *ret_n = 0;
        memcpy(fds, c ? CMSG_DATA(c) : (unsigned char *)fds, *ret_n * sizeof(int));
        if (r == 0)
                return -EPIPE;
        if (r != sizeof(*m) || (msg.msg_flags & MSG_CTRUNC))
                return -EBADMSG;
        m->err.msg[sizeof(m->err.msg) - 1] = '\0';
        return 0;
}
