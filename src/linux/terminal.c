/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/terminal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fdpass.h"
#include "base/fs.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int lnx_terminal_open(int root_fd, const struct oci_process *p, int *ret_master, int *ret_slave,
                      struct cella_error *err)
{
        _cleanup_close_ int master =
            fs_open_in_root(root_fd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY, 0);
        if (master < 0)
                return cella_errno(
                    err, -master,
                    "open \"/dev/pts/ptmx\" in rootfs (process.terminal needs a devpts "
                    "mount at /dev/pts)");
        int unlock = 0;
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
                return cella_errno(err, errno, "unlock pty");
        /* TIOCGPTPEER opens the slave without a path lookup, so it cannot be redirected. */
        _cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return cella_errno(err, errno, "open pty slave");
        if (p->has_console_size) {
                struct winsize ws = {.ws_row = (unsigned short)p->console_size.height,
                                     .ws_col = (unsigned short)p->console_size.width};
                if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
                        return cella_errno(err, errno, "set process.consoleSize");
        }
        _cleanup_close_ int console = fs_ensure_in_root(root_fd, "/dev/console", false, err);
        if (console < 0)
                return console;
        char s[32], t[32];
        if (mount(fs_fd_path(slave, s), fs_fd_path(console, t), NULL, MS_BIND, NULL) < 0)
                return cella_errno(err, errno, "bind pty onto \"/dev/console\"");
        *ret_master = TAKE_FD(master);
        *ret_slave = TAKE_FD(slave);
        return 0;
}

int lnx_send_fd(int sock, int fd, const char *name, struct cella_error *err)
{
        ssize_t r = fdpass_send(sock, name, strlen(name), &fd, 1);
        if (r < 0)
                return cella_errno(err, (int)-r, "send pty master to the console socket");
        return 0;
}

int lnx_recv_fd(int sock, int *ret_fd)
{
        char name[4096];
        size_t n = 0;
        ssize_t r = fdpass_recv(sock, name, sizeof(name), ret_fd, 1, &n);
        if (r < 0)
                return (int)r;
        return n == 1 ? 0 : -EBADMSG;
}

int lnx_terminal_make_controlling(int slave, struct cella_error *err)
{
        if (setsid() < 0)
                return cella_errno(err, errno, "setsid");
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return cella_errno(err, errno, "make the pty the controlling terminal");
        for (int fd = 0; fd < 3; fd++)
                if (dup2(slave, fd) < 0)
                        return cella_errno(err, errno, "dup pty onto fd %d", fd);
        return 0;
}
