/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End-to-end check of the example agent: a process under a NOTIFY filter on mkdir, its
 * listener fd passed to the agent with lnx_seccomp_send_notify_fd() (what `cella create` does),
 * the agent fakes success. Exit 0 = pass, 1 = fail, 77 = skip.
 *
 * usage: test-seccomp-notify-agent PATH_TO_AGENT
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/seccomp_filter.h"

#define CHECK(cond, ...)                                                                           \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
                        fprintf(stderr, __VA_ARGS__);                                              \
                        fputc('\n', stderr);                                                       \
                        exit(1);                                                                   \
                }                                                                                  \
        } while (0)

static pid_t start_agent(const char *agent, const char *sock, FILE **ret_out)
{
        int p[2];
        CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
        pid_t pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO);
                execl(agent, agent, "--once", sock, (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        *ret_out = fdopen(p[0], "r");
        /* Ready once it says so: no sleeping, no timing. */
        char line[512];
        CHECK(fgets(line, sizeof(line), *ret_out), "agent printed nothing");
        CHECK(strncmp(line, "listening on ", 13) == 0, "agent said: %s", line);
        return pid;
}

static int send_fd(int sock, int fd)
{
        char byte = 'F';
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        memset(&u, 0, sizeof(u));
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = sizeof(u.buf)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
        char byte;
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = sizeof(u.buf)};
        if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
                return -1;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        int fd = -1;
        if (c && c->cmsg_type == SCM_RIGHTS)
                memcpy(&fd, CMSG_DATA(c), sizeof(int));
        return fd;
}

/* The "container": mkdir must report success although nothing is created. */
static int container(struct lnx_seccomp *f, int sock, const char *dir)
{
        struct cella_error err = {0};
        int nfd;
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (lnx_seccomp_load(f, &nfd, &err) < 0 || nfd < 0)
                return 10;
        if (send_fd(sock, nfd) < 0)
                return 11;
        close(nfd);
        char path[256];
        snprintf(path, sizeof(path), "%s/made-by-mkdir", dir);
        if (syscall(SYS_mkdir, path, 0700) != 0)
                return 12;
        struct stat st;
        if (stat(path, &st) == 0)
                return 13; /* the agent faked it: the directory must not exist */
        return 0;
}

int main(int argc, char **argv)
{
        CHECK(argc == 2, "usage: %s AGENT", argv[0]);
        char dir[] = "/tmp/cella-agent-XXXXXX";
        CHECK(mkdtemp(dir), "mkdtemp");
        char sock[128];
        snprintf(sock, sizeof(sock), "%s/agent.sock", dir);

        char *names[] = {"mkdir", "mkdirat", NULL};
        struct oci_seccomp_syscall rule = {
            .names = names, .n_names = 2, .action = "SCMP_ACT_NOTIFY"};
        struct oci_seccomp spec = {.default_action = "SCMP_ACT_ALLOW",
                                   .listener_path = sock,
                                   .listener_metadata = "meta-1",
                                   .syscalls = &rule,
                                   .n_syscalls = 1};
        struct lnx_seccomp *f = NULL;
        struct cella_error err = {0};
        if (lnx_seccomp_prepare(&spec, &f, &err) < 0) {
                fprintf(stderr, "SKIP: %s\n", err.msg);
                return 77;
        }

        FILE *out;
        pid_t agent = start_agent(argv[1], sock, &out);
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
        fflush(NULL);
        pid_t child = fork();
        CHECK(child >= 0, "fork");
        if (child == 0)
                _exit(container(f, sv[1], dir));

        int nfd = recv_fd(sv[0]);
        CHECK(nfd >= 0, "no listener fd from the container");
        char state[256];
        snprintf(state, sizeof(state),
                 "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":%d,"
                 "\"bundle\":\"%s\"}",
                 (int)child, dir);
        CHECK(lnx_seccomp_send_notify_fd(sock, nfd, state, "meta-1", &err) == 0, "send: %s",
              err.msg);
        close(nfd);

        int status;
        CHECK(waitpid(child, &status, 0) == child, "waitpid child");
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "container status 0x%x", status);
        /* --once: the agent leaves when the container's listener closes. */
        CHECK(waitpid(agent, &status, 0) == agent, "waitpid agent");
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "agent status 0x%x", status);

        char log[4096];
        size_t n = fread(log, 1, sizeof(log) - 1, out);
        log[n] = '\0';
        CHECK(strstr(log, "c1: connected (metadata \"meta-1\")"), "agent log:\n%s", log);
        CHECK(strstr(log, "syscall=mkdir -> faked success"), "agent log:\n%s", log);
        fclose(out);
        unlink(sock);
        rmdir(dir);
        lnx_seccomp_free(f);
        printf("ok\n");
        return 0;
}
