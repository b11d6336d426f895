/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/proxy.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"

struct proxy {
        pid_t pid;
        int sfd;    /* signalfd */
        int master; /* pty master when proxying, -1 otherwise */
        bool stdin_open;
        bool exited;
        int status; /* exit code to report */
};

int rt_proxy_signalfd(struct cella_error *err)
{
        sigset_t set;
        sigfillset(&set);
        static const int keep[] = {SIGSEGV, SIGBUS,  SIGILL,  SIGFPE,  SIGABRT,
                                   SIGKILL, SIGSTOP, SIGTTOU, SIGTTIN, SIGTSTP};
        for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
                sigdelset(&set, keep[i]);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return cella_errno(err, errno, "block signals to forward");
        int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                return cella_errno(err, errno, "signalfd");
        return sfd;
}

/* Reaps every child: joined pid namespaces can make others our (subreaped) children. */
static void reap(struct proxy *p)
{
        int ws;
        pid_t q;
        while ((q = waitpid(-1, &ws, WNOHANG)) > 0) {
                if (q == p->pid) {
                        p->status = WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
                        p->exited = true;
                }
        }
}

static void resize(struct proxy *p)
{
        struct winsize ws;
        if (p->master >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                ioctl(p->master, TIOCSWINSZ, &ws);
}

static void on_signal(struct proxy *p)
{
        struct signalfd_siginfo si;
        while (read(p->sfd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGCHLD)
                        reap(p);
                else if (si.ssi_signo == SIGWINCH)
                        resize(p);
                else
                        kill(p->pid, (int)si.ssi_signo);
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

static void loop(struct proxy *p)
{
        reap(p); /* it may have exited before the signalfd was first read */
        while (!p->exited) {
                struct pollfd fds[3] = {
                    {.fd = p->sfd, .events = POLLIN},
                    {.fd = p->master, .events = POLLIN},
                    {.fd = p->stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
                if (poll(fds, p->master >= 0 ? 3 : 1, -1) < 0 && errno != EINTR)
                        break;
                if (fds[0].revents)
                        on_signal(p);
                if (p->master >= 0 && (fds[1].revents & (POLLIN | POLLHUP)) &&
                    !pump(p->master, STDOUT_FILENO)) {
                        close(p->master);
                        p->master = -1;
                }
                if (p->master >= 0 && (fds[2].revents & (POLLIN | POLLHUP)) &&
                    !pump(STDIN_FILENO, p->master))
                        p->stdin_open = false;
        }
        /* Drain what the process wrote to the pty before it exited. */
        while (p->master >= 0 && pump(p->master, STDOUT_FILENO)) {
                struct pollfd fd = {.fd = p->master, .events = POLLIN};
                if (poll(&fd, 1, 0) <= 0)
                        break;
        }
}

int rt_proxy_wait(pid_t pid, int sfd, int master)
{
        struct proxy p = {.pid = pid, .sfd = sfd, .master = master, .stdin_open = true};
        struct termios saved;
        bool raw = master >= 0 && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
        if (raw) {
                struct termios t = saved;
                cfmakeraw(&t);
                tcsetattr(STDIN_FILENO, TCSANOW, &t);
                resize(&p);
        }
        loop(&p);
        if (raw)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (p.master >= 0)
                close(p.master);
        return p.status;
}
