/* SPDX-License-Identifier: Apache-2.0 */
/* systemd socket activation and sd_notify through the container (see activation.h). */
#include "runtime/activation.h"

#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/json.h"
#include "base/log.h"

#define NOTIFY_SOCK_NAME "notify.sock"

int rt_listen_fds(void)
{
        const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
        if (!pid || !fds)
                return 0;
        char *end;
        long p = strtol(pid, &end, 10);
        /* Meant for another process (an ancestor's leftovers): not ours to pass on. */
        if (*end || p != getpid())
                return 0;
        long n = strtol(fds, &end, 10);
        if (*end || n <= 0 || n > 4096)
                return 0;
        for (long i = 0; i < n; i++)
                if (fcntl(3 + (int)i, F_GETFD) < 0)
                        return 0;
        return (int)n;
}

static int env_append(struct oci_process *p, const char *kv, struct cella_error *err)
{
        char *copy = strdup(kv);
        char **v = copy ? realloc(p->env, (p->n_env + 2) * sizeof(char *)) : NULL;
        if (!v) {
                free(copy);
                return cella_err(err, ENOMEM, "out of memory");
        }
        v[p->n_env++] = copy;
        v[p->n_env] = NULL;
        p->env = v;
        return 0;
}

/* runc's mount: <state>/<id>/notify, read-only, at /run/notify. */
static int add_notify_mount(struct oci_spec *spec, int dir_fd, struct cella_error *err)
{
        if (mkdirat(dir_fd, "notify", 0755) < 0 && errno != EEXIST)
                return cella_errno(err, errno, "create the notify socket directory");
        char self[64], dir[PATH_MAX];
        snprintf(self, sizeof(self), "/proc/self/fd/%d", dir_fd);
        ssize_t n = readlink(self, dir, sizeof(dir) - sizeof("/notify"));
        if (n < 0)
                return cella_errno(err, errno, "find the state directory");
        memcpy(dir + n, "/notify", sizeof("/notify"));
        static const char *const opts[] = {"bind", "nosuid", "noexec", "nodev", "ro"};
        struct oci_mount *m = realloc(spec->mounts, (spec->n_mounts + 1) * sizeof(*m));
        if (!m)
                return cella_err(err, ENOMEM, "out of memory");
        spec->mounts = m;
        m = &spec->mounts[spec->n_mounts++];
        memset(m, 0, sizeof(*m));
        m->destination = strdup(RT_NOTIFY_DIR_IN_CONTAINER);
        m->type = strdup("bind");
        m->source = strdup(dir);
        m->options = calloc(ARRAY_SIZE(opts) + 1, sizeof(char *));
        for (size_t i = 0; m->options && i < ARRAY_SIZE(opts); i++)
                if ((m->options[i] = strdup(opts[i])))
                        m->n_options++;
        if (!m->destination || !m->type || !m->source || m->n_options != ARRAY_SIZE(opts))
                return cella_err(err, ENOMEM, "out of memory");
        return env_append(&spec->process,
                          "NOTIFY_SOCKET=" RT_NOTIFY_DIR_IN_CONTAINER "/" NOTIFY_SOCK_NAME, err);
}

int rt_activation_setup(struct oci_spec *spec, int dir_fd, int listen_fds, struct cella_error *err)
{
        if (listen_fds > 0) {
                char buf[32];
                snprintf(buf, sizeof(buf), "LISTEN_FDS=%d", listen_fds);
                int r = env_append(&spec->process, buf, err);
                if (r == 0)
                        r = env_append(&spec->process, "LISTEN_PID=1", err);
                if (r < 0)
                        return r;
        }
        const char *host = getenv("NOTIFY_SOCKET");
        if (!host || !*host)
                return 0;
        return add_notify_mount(spec, dir_fd, err);
}

int rt_notify_bind(int dir_fd, int *ret_fd, struct cella_error *err)
{
        *ret_fd = -1;
        const char *host = getenv("NOTIFY_SOCKET");
        if (!host || !*host)
                return 0;
        _cleanup_close_ int dir =
            openat(dir_fd, "notify", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir < 0)
                return 0; /* created without NOTIFY_SOCKET: nothing to forward */
        _cleanup_close_ int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return cella_errno(err, errno, "notify socket");
        /* Bound through the fd: the state path may be longer than sun_path. */
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/" NOTIFY_SOCK_NAME, dir);
        unlinkat(dir, NOTIFY_SOCK_NAME, 0);
        if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                return cella_errno(err, errno, "bind the notify socket");
        /* Any uid in the container may notify, as with runc. */
        if (chmod(addr.sun_path, 0777) < 0)
                return cella_errno(err, errno, "chmod the notify socket");
        *ret_fd = TAKE_FD(s);
        return 0;
}

static int host_connect(struct cella_error *err)
{
        const char *host = getenv("NOTIFY_SOCKET");
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        size_t len = strlen(host);
        if (len >= sizeof(addr.sun_path))
                return cella_err(err, ENAMETOOLONG, "NOTIFY_SOCKET \"%s\": path too long", host);
        memcpy(addr.sun_path, host, len);
        if (host[0] == '@')
                addr.sun_path[0] = '\0'; /* abstract namespace */
        int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
        if (s < 0 || connect(s, (struct sockaddr *)&addr, alen) < 0) {
                int e = errno;
                if (s >= 0)
                        close(s);
                return cella_errno(err, e, "connect to NOTIFY_SOCKET \"%s\"", host);
        }
        return s;
}

/* sd_notify_barrier: the host closes our pipe once it has processed what we sent. */
static void barrier(int s)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return;
        char cbuf[CMSG_SPACE(sizeof(int))] = {0};
        struct iovec iov = {.iov_base = (void *)"BARRIER=1", .iov_len = 9};
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &p[1], sizeof(int));
        ssize_t n = sendmsg(s, &msg, MSG_NOSIGNAL);
        close(p[1]);
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        if (n >= 0 && poll(&pfd, 1, 30000) == 0)
                log_warn("NOTIFY_SOCKET: no answer to BARRIER=1 within 30 s; ignored");
        close(p[0]);
}

static int notify_host(const char *ready, size_t len, pid_t pid, struct cella_error *err)
{
        _cleanup_close_ int s = host_connect(err);
        if (s < 0)
                return s;
        char msg[4200];
        int n = snprintf(msg, sizeof(msg), "%.*s\nMAINPID=%d\n", (int)len, ready, pid);
        if (send(s, msg, (size_t)n, MSG_NOSIGNAL) < 0)
                return cella_errno(err, errno, "send to NOTIFY_SOCKET");
        barrier(s);
        return 0;
}

/* The READY=... line of a datagram, if it has one. */
static const char *find_ready(char *buf, size_t *ret_len)
{
        for (char *line = buf; line && *line;) {
                char *nl = strchr(line, '\n');
                if (strncmp(line, "READY=", 6) == 0) {
                        *ret_len = nl ? (size_t)(nl - line) : strlen(line);
                        return line;
                }
                line = nl ? nl + 1 : NULL;
        }
        return NULL;
}

int rt_notify_forward(int sock, pid_t pid, struct cella_error *err)
{
        _cleanup_close_ int s = sock;
        _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        for (;;) {
                struct pollfd p[2] = {{.fd = s, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
                int n = poll(p, pidfd >= 0 ? 2 : 1, -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return cella_errno(err, errno, "wait for the container's READY=1");
                if (p[0].revents & POLLIN) {
                        char buf[4096];
                        ssize_t got = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
                        if (got <= 0)
                                continue;
                        buf[got] = '\0';
                        size_t len = 0;
                        const char *ready = find_ready(buf, &len);
                        if (ready)
                                return notify_host(ready, len, pid, err);
                        continue;
                }
                if (pidfd >= 0 && p[1].revents)
                        return 0; /* the init exited without becoming ready */
        }
}
