/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp-notify-agent: an example seccomp agent for SCMP_ACT_NOTIFY (runtime-spec
 * linux.seccomp.listenerPath).
 *
 * It listens on a unix stream socket. For every container the runtime connects and sends the
 * containerProcessState JSON with the seccomp listener fd (SCM_RIGHTS). The agent then answers
 * each intercepted syscall of that container:
 *   - mkdir / mkdirat: fake success (nothing is created) — or, with --errno N, fail with N;
 *   - anything else:   let the kernel run it (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
 * Every notification is logged to stdout as one line:
 *   <container id> pid=<pid> syscall=<name> -> <answer>
 *
 * Single-threaded: one poll() loop over the listening socket and all listener fds.
 *
 * usage: seccomp-notify-agent [--errno N] [--once] SOCKET_PATH
 *   --once: exit after the first container's listener closes (handy in tests).
 */
#include <errno.h>
#include <json-c/json.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CONTAINERS 64
#define STATE_MAX      65536

struct container {
        int fd; /* seccomp listener */
        char id[128];
};

struct agent {
        int listen_fd;
        struct container containers[MAX_CONTAINERS];
        size_t n;
        int fake_errno; /* 0: fake success for mkdir */
        bool once;
};

static int listen_on(const char *path)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(addr.sun_path)) {
                fprintf(stderr, "socket path too long: %s\n", path);
                return -1;
        }
        strcpy(addr.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        unlink(path); /* a stale socket from an earlier run */
        if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0) {
                perror(path);
                close(fd);
                return -1;
        }
        return fd;
}

/* Reads the whole message (until EOF) and the attached fd. */
static ssize_t read_state(int conn, char *buf, size_t size, int *ret_fd)
{
        size_t len = 0;
        *ret_fd = -1;
        while (len < size - 1) {
                union {
                        char buf[CMSG_SPACE(sizeof(int))];
                        struct cmsghdr align;
                } u;
                struct iovec iov = {.iov_base = buf + len, .iov_len = size - 1 - len};
                struct msghdr msg = {.msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = u.buf,
                                     .msg_controllen = sizeof(u.buf)};
                ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -1;
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && *ret_fd < 0)
                        memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        return (ssize_t)len;
}

static void accept_container(struct agent *a)
{
        int conn = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0)
                return;
        static char buf[STATE_MAX];
        int fd;
        ssize_t n = read_state(conn, buf, sizeof(buf), &fd);
        close(conn);
        if (n <= 0 || fd < 0) {
                fprintf(stderr, "agent: connection without a seccomp fd\n");
                if (fd >= 0)
                        close(fd);
                return;
        }
        if (a->n == MAX_CONTAINERS) {
                fprintf(stderr, "agent: too many containers\n");
                close(fd);
                return;
        }
        struct container *c = &a->containers[a->n++];
        c->fd = fd;
        snprintf(c->id, sizeof(c->id), "?");
        struct json_object *doc = json_tokener_parse(buf), *state, *v;
        const char *metadata = "";
        if (doc && json_object_object_get_ex(doc, "state", &state) &&
            json_object_object_get_ex(state, "id", &v))
                snprintf(c->id, sizeof(c->id), "%s", json_object_get_string(v));
        if (doc && json_object_object_get_ex(doc, "metadata", &v))
                metadata = json_object_get_string(v);
        printf("%s: connected (metadata \"%s\")\n", c->id, metadata);
        fflush(stdout);
        json_object_put(doc);
}

static bool is_mkdir(int arch, int nr)
{
        char *name = seccomp_syscall_resolve_num_arch(arch, nr);
        bool yes = name && (strcmp(name, "mkdir") == 0 || strcmp(name, "mkdirat") == 0);
        free(name);
        return yes;
}

/* Answers one notification; returns false when the listener is gone (container exited). */
static bool handle_notification(struct agent *a, struct container *c)
{
        struct seccomp_notif *req;
        struct seccomp_notif_resp *resp;
        if (seccomp_notify_alloc(&req, &resp) < 0)
                return true;
        int r = seccomp_notify_receive(c->fd, req);
        if (r < 0) {
                seccomp_notify_free(req, resp);
                /* ENOENT: the task died before we read it; other errors: the filter is gone. */
                return r == -ENOENT || r == -EINTR;
        }
        char *name = seccomp_syscall_resolve_num_arch(req->data.arch, req->data.nr);
        const char *answer;
        resp->id = req->id;
        resp->val = 0;
        resp->error = 0;
        resp->flags = 0;
        if (is_mkdir(req->data.arch, req->data.nr)) {
                resp->error = -a->fake_errno;
                answer = a->fake_errno ? strerror(a->fake_errno) : "faked success";
        } else {
                resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                answer = "continue";
        }
        printf("%s pid=%u syscall=%s -> %s\n", c->id, req->pid, name ? name : "?", answer);
        fflush(stdout);
        free(name);
        /* ENOENT here means the syscall was interrupted meanwhile; nothing to do. */
        (void)seccomp_notify_respond(c->fd, resp);
        seccomp_notify_free(req, resp);
        return true;
}

static void drop_container(struct agent *a, size_t i)
{
        printf("%s: listener closed\n", a->containers[i].id);
        fflush(stdout);
        close(a->containers[i].fd);
        a->containers[i] = a->containers[--a->n];
}

static int run(struct agent *a)
{
        for (;;) {
                struct pollfd pfd[MAX_CONTAINERS + 1];
                pfd[0] = (struct pollfd){.fd = a->listen_fd, .events = POLLIN};
                for (size_t i = 0; i < a->n; i++)
                        pfd[i + 1] = (struct pollfd){.fd = a->containers[i].fd, .events = POLLIN};
                if (poll(pfd, a->n + 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("poll");
                        return 1;
                }
                /* Walk backwards: drop_container() moves the last entry into the hole. */
                for (size_t i = a->n; i-- > 0;) {
                        short ev = pfd[i + 1].revents;
                        bool alive = true;
                        if (ev & POLLIN)
                                alive = handle_notification(a, &a->containers[i]);
                        if (!alive || (ev & (POLLHUP | POLLERR | POLLNVAL))) {
                                drop_container(a, i);
                                if (a->once)
                                        return 0;
                        }
                }
                if (pfd[0].revents & POLLIN)
                        accept_container(a);
        }
}

int main(int argc, char **argv)
{
        struct agent a = {.listen_fd = -1};
        int i = 1;
        for (; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "--errno") == 0 && i + 1 < argc)
                        a.fake_errno = atoi(argv[++i]);
                else if (strcmp(argv[i], "--once") == 0)
                        a.once = true;
                else
                        break;
        }
        if (i != argc - 1) {
                fprintf(stderr, "usage: %s [--errno N] [--once] SOCKET_PATH\n", argv[0]);
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        a.listen_fd = listen_on(argv[i]);
        if (a.listen_fd < 0)
                return 1;
        printf("listening on %s\n", argv[i]);
        fflush(stdout);
        return run(&a);
}
