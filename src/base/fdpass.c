/* SPDX-License-Identifier: Apache-2.0 */
#include "base/fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

union cbuf {
        char buf[CMSG_SPACE(FDPASS_MAX * sizeof(int))];
        struct cmsghdr align;
};

ssize_t fdpass_send(int sock, const void *buf, size_t len, const int *fds, size_t n)
{
        if (n > FDPASS_MAX)
                return -E2BIG;
        union cbuf u;
        memset(&u, 0, sizeof(u));
        struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        if (n > 0) {
                msg.msg_control = u.buf;
                msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(n * sizeof(int));
                memcpy(CMSG_DATA(c), fds, n * sizeof(int));
        }
        ssize_t r;
        do
                r = sendmsg(sock, &msg, MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : r;
}

ssize_t fdpass_recv(int sock, void *buf, size_t len, int *fds, size_t max, size_t *ret_n)
{
        union cbuf u;
        struct iovec iov = {.iov_base = buf, .iov_len = len};
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u)};
        ssize_t r;
        do
                r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (r < 0 && errno == EINTR);
        *ret_n = 0;
        if (r < 0)
                return -errno;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        size_t got = 0;
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        if (got > max || (msg.msg_flags & MSG_CTRUNC)) {
                for (size_t i = 0; i < got; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        close(fd);
                }
                return -EBADMSG;
        }
        if (got)
                memcpy(fds, CMSG_DATA(c), got * sizeof(int));
        *ret_n = got;
        return r;
}
