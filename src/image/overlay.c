/* SPDX-License-Identifier: Apache-2.0 */
#include "overlay.h"

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fdpass.h"
#include "base/fs.h"

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

extern char **environ;

int img_overlay_options(char *const *lowers, const char *dir, bool userxattr, char **ret,
                        struct cella_error *err)
{
        size_t len = 0;
        for (char *const *l = lowers; *l; l++)
                len += strlen(*l) + 1;
        _cleanup_free_ char *lowerdir = calloc(1, len + 1);
        if (!lowerdir)
                return cella_err(err, ENOMEM, "out of memory");
        for (char *const *l = lowers; *l; l++) {
                if (l != lowers)
                        strcat(lowerdir, ":");
                strcat(lowerdir, *l);
        }
        char *opts = NULL;
        if (asprintf(&opts, "lowerdir=%s,upperdir=%s/.upper,workdir=%s/.work%s", lowerdir, dir, dir,
                     userxattr ? ",userxattr" : "") < 0)
                return cella_err(err, ENOMEM, "out of memory");
        /* mount(2) reads one page of options (and so does the runtime's annotation check). */
        if (strlen(opts) >= 4096) {
                free(opts);
                return cella_err(err, E2BIG,
                                 "overlay options for %zu bytes of lower directories exceed one "
                                 "page (too many layers)",
                                 len);
        }
        *ret = opts;
        return 0;
}

int img_overlay_mount_native(const char *opts, const char *target, struct cella_error *err)
{
        if (mount("overlay", target, "overlay", 0, opts) < 0)
                return cella_errno(err, errno, "mount overlay on \"%s\"%s", target,
                                   errno == EINVAL ? " (the kernel log says why)" : "");
        return 0;
}

/* Maps the caller to root in a user namespace it just created (no helper needed for one id). */
static int map_self(uid_t uid, gid_t gid)
{
        char line[64];
        snprintf(line, sizeof(line), "0 %u 1\n", (unsigned)uid);
        int r = fs_write_file("/proc/self/setgroups", "deny", 4, 0);
        if (r == 0 || r == -ENOENT)
                r = fs_write_file("/proc/self/uid_map", line, strlen(line), 0);
        snprintf(line, sizeof(line), "0 %u 1\n", (unsigned)gid);
        if (r == 0)
                r = fs_write_file("/proc/self/gid_map", line, strlen(line), 0);
        return r;
}

struct probe_reply {
        int code;      /* errno, 0 on success (then an fd comes with the message) */
        char step[48]; /* what failed */
};

static void send_reply(int sock, const struct probe_reply *rep, int fd)
{
        (void)fdpass_send(sock, rep, sizeof(*rep), &fd, fd >= 0 ? 1 : 0);
}

static int recv_reply(int sock, struct probe_reply *rep, int *ret_fd)
{
        size_t n = 0;
        *ret_fd = -1;
        ssize_t r = fdpass_recv(sock, rep, sizeof(*rep), ret_fd, 1, &n);
        if (r != (ssize_t)sizeof(*rep)) {
                if (n)
                        close(*ret_fd);
                *ret_fd = -1;
                return r < 0 ? (int)r : -EPROTO;
        }
        return 0;
}

/* The child: its own user and mount namespace, the mount, an fd of it for the parent. */
static _Noreturn void probe_child(int sock, const char *opts, const char *target, uid_t uid,
                                  gid_t gid)
{
        struct probe_reply rep = {0};
        int fd = -1;
        const char *step = "create a user and mount namespace";
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                rep.code = errno;
        if (rep.code == 0 && (rep.code = -map_self(uid, gid)) != 0)
                step = "map the caller in the user namespace";
        /* Nothing done here may reach the caller's namespace. */
        if (rep.code == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                rep.code = errno;
                step = "make \"/\" private";
        }
        if (rep.code == 0 && mount("overlay", target, "overlay", 0, opts) < 0) {
                rep.code = errno;
                step = "mount overlay";
        }
        if (rep.code == 0 && (fd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
                rep.code = errno;
                step = "open the overlay";
        }
        snprintf(rep.step, sizeof(rep.step), "%s", step);
        send_reply(sock, &rep, fd);
        _exit(0);
}

int img_overlay_mount_userns(const char *opts, const char *target, int *ret_fd,
                             struct cella_error *err)
{
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return cella_errno(err, errno, "socketpair");
        uid_t uid = geteuid();
        gid_t gid = getegid();
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(sp[0]);
                close(sp[1]);
                return cella_errno(err, e, "fork");
        }
        if (pid == 0) {
                close(sp[0]);
                probe_child(sp[1], opts, target, uid, gid);
        }
        close(sp[1]);
        struct probe_reply rep;
        int fd = -1;
        int r = recv_reply(sp[0], &rep, &fd);
        close(sp[0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return cella_errno(err, -r,
                                   "overlay in a user namespace: no answer from the child");
        if (rep.code != 0 || fd < 0) {
                if (fd >= 0)
                        close(fd);
                rep.step[sizeof(rep.step) - 1] = '\0';
                return cella_errno(err, rep.code ? rep.code : EPROTO,
                                   "overlay in a user namespace: %s on \"%s\"", rep.step, target);
        }
        *ret_fd = fd;
        return 0;
}

/*
 * Runs argv[0] (found in PATH) with stdin and stdout on /dev/null and stderr collected into
 * out (one line, for an error message). Returns the exit status, or -errno if it did not run.
 */
static int run_program(char *const argv[], char *out, size_t size)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, p[1], 2);
        pid_t pid;
        int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        size_t len = 0;
        out[0] = '\0';
        /* fuse-overlayfs daemonizes: its background half points stderr at /dev/null first. */
        for (char buf[512]; rc == 0;) {
                ssize_t n = read(p[0], buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                for (ssize_t i = 0; i < n && len + 1 < size; i++)
                        out[len++] = buf[i] == '\n' ? ' ' : buf[i];
                out[len] = '\0';
        }
        close(p[0]);
        if (rc != 0)
                return -rc;
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        while (len > 0 && out[len - 1] == ' ')
                out[--len] = '\0';
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int img_overlay_mount_fuse(const char *opts, const char *target, struct cella_error *err)
{
        _cleanup_free_ char *o = NULL;
        /* Without allow_other only the mounting uid may enter a FUSE mount, not a container
         * process that runs as another user; only root may set it without /etc/fuse.conf. */
        if (asprintf(&o, "%s%s", opts, geteuid() == 0 ? ",allow_other" : "") < 0)
                return cella_err(err, ENOMEM, "out of memory");
        char *argv[] = {"fuse-overlayfs", "-o", o, (char *)target, NULL};
        char out[256];
        int rc = run_program(argv, out, sizeof(out));
        if (rc == -ENOENT)
                return cella_err(err, ENOENT,
                                 "fuse-overlayfs is not installed (not found in PATH): install "
                                 "the Debian package fuse-overlayfs");
        if (rc < 0)
                return cella_errno(err, -rc, "run fuse-overlayfs");
        if (rc != 0)
                return cella_err(err, EIO, "fuse-overlayfs on \"%s\" failed (status %d): %s",
                                 target, rc, out[0] ? out : "no message");
        struct statfs sf;
        if (statfs(target, &sf) < 0 || sf.f_type != FUSE_SUPER_MAGIC)
                return cella_err(err, EIO, "fuse-overlayfs exited but \"%s\" is not mounted",
                                 target);
        return 0;
}

/* Whether target is the root of a mount; EACCES: a FUSE mount of another user (no allow_other). */
static int is_mount_root(const char *target)
{
        struct statx stx;
        if (statx(AT_FDCWD, target, AT_SYMLINK_NOFOLLOW, 0, &stx) < 0)
                return errno == EACCES ? 1 : errno == ENOENT ? 0 : -errno;
        return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
               (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

int img_rootfs_unmount(const char *target, struct cella_error *err)
{
        int m = is_mount_root(target);
        if (m < 0)
                return cella_errno(err, -m, "stat \"%s\"", target);
        if (m == 0)
                return 0;
        struct statfs sf;
        bool fuse = statfs(target, &sf) < 0 ? errno == EACCES : sf.f_type == FUSE_SUPER_MAGIC;
        if (fuse && geteuid() != 0) {
                char *argv[] = {"fusermount3", "-u", (char *)target, NULL};
                char out[256];
                int rc = run_program(argv, out, sizeof(out));
                if (rc < 0)
                        return cella_errno(err, -rc, "run fusermount3 -u \"%s\"", target);
                if (rc != 0)
                        return cella_err(err, EBUSY, "fusermount3 -u \"%s\" failed: %s", target,
                                         out[0] ? out : "no message");
                return 0;
        }
        if (umount2(target, UMOUNT_NOFOLLOW) < 0)
                return cella_errno(err, errno, "unmount \"%s\"%s", target,
                                   errno == EBUSY ? " (is a container still using it?)" : "");
        return 0;
}
