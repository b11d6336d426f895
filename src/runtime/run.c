/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `run` in the foreground: cella stays the init's parent (or subreaper), forwards signals to
 * it, proxies the terminal when the container has one and no console socket was given, and
 * exits with the container's status.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "linux/terminal.h"
#include "runtime/container.h"
#include "runtime/internal.h"
#include "runtime/runtime.h"

struct fg {
        pid_t init;
        int sfd;    /* signalfd */
        int master; /* pty master when proxying, -1 otherwise */
        bool stdin_open;
        int status; /* exit code to report */
        bool exited;
};

static int exit_code(int wstatus)
{
        return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
}

static void reap(struct fg *f)
{
        int ws;
        pid_t p;
        while ((p = waitpid(-1, &ws, WNOHANG)) > 0) {
                if (p == f->init) {
                        f->status = exit_code(ws);
                        f->exited = true;
                }
        }
}

static void resize(struct fg *f)
{
        struct winsize ws;
        if (f->master >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                ioctl(f->master, TIOCSWINSZ, &ws);
}

static void on_signal(struct fg *f)
{
        struct signalfd_siginfo si;
        while (read(f->sfd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGCHLD)
                        reap(f);
                else if (si.ssi_signo == SIGWINCH)
                        resize(f);
                else
                        kill(f->init, (int)si.ssi_signo);
        }
}

/* Copies what is readable from in to out; false at EOF or error. */
static bool pump(int in, int out)
{
        char buf[8192];
        ssize_t n = read(in, buf, sizeof(buf));
        if (n <= 0)
                return n < 0 && (errno == EAGAIN || errno == EINTR);
        return fs_write_all(out, buf, (size_t)n) == 0;
}

static void loop(struct fg *f)
{
        while (!f->exited) {
                struct pollfd p[3] = {{.fd = f->sfd, .events = POLLIN},
                                      {.fd = f->master, .events = POLLIN},
                                      {.fd = f->stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
                if (poll(p, f->master >= 0 ? 3 : 1, -1) < 0 && errno != EINTR)
                        break;
                if (p[0].revents)
                        on_signal(f);
                if (f->master >= 0 && (p[1].revents & (POLLIN | POLLHUP)) &&
                    !pump(f->master, STDOUT_FILENO)) {
                        close(f->master);
                        f->master = -1;
                }
                if (f->master >= 0 && (p[2].revents & (POLLIN | POLLHUP)) &&
                    !pump(STDIN_FILENO, f->master))
                        f->stdin_open = false;
        }
        /* Drain what the container wrote to the pty before it exited. */
        while (f->master >= 0 && pump(f->master, STDOUT_FILENO)) {
                struct pollfd p = {.fd = f->master, .events = POLLIN};
                if (poll(&p, 1, 0) <= 0)
                        break;
        }
}

static int forwarded_signals(sigset_t *set)
{
        sigfillset(set);
        /* Never block what the kernel uses to report our own faults. */
        static const int keep[] = {SIGSEGV, SIGBUS,  SIGILL,  SIGFPE,  SIGABRT,
                                   SIGKILL, SIGSTOP, SIGTTOU, SIGTTIN, SIGTSTP};
        for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
                sigdelset(set, keep[i]);
        return sigprocmask(SIG_BLOCK, set, NULL);
}

static int run_foreground(const char *root, const char *id, const struct rt_create_opts *o,
                          int *ret_status, struct cella_error *err)
{
        sigset_t set;
        forwarded_signals(&set);
        struct fg f = {.master = -1, .stdin_open = true};
        f.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (f.sfd < 0)
                return cella_errno(err, errno, "signalfd");
        /* Joined pid namespaces make the init our grandchild: reap it as subreaper. */
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        struct rt_ctx c;
        _cleanup_close_ int peer = -1;
        int r = rt_create_ctx(&c, root, id, o, &peer, err);
        f.init = c.pid;
        rt_ctx_release(&c);
        if (r == 0 && peer >= 0) {
                r = lnx_recv_fd(peer, &f.master);
                if (r < 0)
                        cella_errno(err, -r, "receive the container's terminal");
        }
        if (r == 0)
                r = rt_start(root, id, err);
        if (r < 0) {
                close(f.sfd);
                return r;
        }
        struct termios saved;
        bool raw = f.master >= 0 && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
        if (raw) {
                struct termios t = saved;
                cfmakeraw(&t);
                tcsetattr(STDIN_FILENO, TCSANOW, &t);
                resize(&f);
        }
        reap(&f);
        loop(&f);
        if (raw)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        close(f.sfd);
        *ret_status = f.status;
        return 0;
}

int rt_run(const char *root, const char *id, const struct rt_create_opts *o, bool detach, bool keep,
           int *ret_status, struct cella_error *err)
{
        *ret_status = 0;
        if (detach) {
                int r = rt_create(root, id, o, err);
                if (r == 0)
                        r = rt_start(root, id, err);
                if (r < 0 && !keep) {
                        struct cella_error ignored = {0};
                        rt_delete(root, id, true, &ignored);
                }
                return r;
        }
        int r = run_foreground(root, id, o, ret_status, err);
        if (!keep) {
                struct cella_error derr = {0};
                if (rt_delete(root, id, true, &derr) < 0 && r == 0)
                        *err = derr, r = -derr.code;
        }
        return r;
}
