/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/devices.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"

struct dev_node {
        const char *path;
        mode_t type; /* S_IFCHR, S_IFBLK, S_IFIFO */
        unsigned major, minor;
        mode_t mode;
        uid_t uid;
        gid_t gid;
};

static const struct dev_node default_devices[] = {
    {"/dev/null", S_IFCHR, 1, 3, 0666, 0, 0},    {"/dev/zero", S_IFCHR, 1, 5, 0666, 0, 0},
    {"/dev/full", S_IFCHR, 1, 7, 0666, 0, 0},    {"/dev/random", S_IFCHR, 1, 8, 0666, 0, 0},
    {"/dev/urandom", S_IFCHR, 1, 9, 0666, 0, 0}, {"/dev/tty", S_IFCHR, 5, 0, 0666, 0, 0},
};

/*
 * The directory a device is made in, open for mknodat/symlinkat (which need a real directory
 * fd, not O_PATH). All the default devices and most others share /dev: it is resolved once.
 */
struct parent_dir {
        char path[4096];
        int fd;
};

static int open_parent(int root_fd, const char *path, struct parent_dir *pd, char *base,
                       size_t base_size, struct cella_error *err)
{
        const char *slash = strrchr(path, '/');
        if (!slash || !slash[1] || strlen(slash + 1) >= base_size ||
            (size_t)(slash - path) >= sizeof(pd->path))
                return cella_err(err, EINVAL, "bad device path \"%s\"", path);
        snprintf(base, base_size, "%s", slash + 1);
        char dir[sizeof(pd->path)];
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
        if (!dir[0])
                snprintf(dir, sizeof(dir), "/");
        if (pd->fd >= 0 && strcmp(pd->path, dir) == 0)
                return pd->fd;
        int real = fs_open_in_root(root_fd, dir, O_RDONLY | O_DIRECTORY, 0);
        if (real == -ENOENT) {
                int dfd = fs_mkdir_p_in_root(root_fd, dir, 0755, err);
                if (dfd < 0)
                        return dfd;
                char p[32];
                real = open(fs_fd_path(dfd, p), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                real = real < 0 ? -errno : real;
                close(dfd);
        }
        if (real < 0)
                return cella_errno(err, -real, "open parent of \"%s\"", path);
        if (pd->fd >= 0)
                close(pd->fd);
        pd->fd = real;
        snprintf(pd->path, sizeof(pd->path), "%s", dir);
        return real;
}

static int bind_host_device(int dir, const char *base, const struct dev_node *d,
                            struct cella_error *err)
{
        _cleanup_close_ int f =
            openat(dir, base, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f < 0)
                return cella_errno(err, errno, "create \"%s\"", d->path);
        _cleanup_close_ int host = open(d->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (host < 0 || fstat(host, &st) < 0)
                return cella_errno(err, errno, "open host device \"%s\"", d->path);
        if ((st.st_mode & S_IFMT) != d->type || st.st_rdev != makedev(d->major, d->minor))
                return cella_err(err, ENODEV, "host \"%s\" is not device %u:%u", d->path, d->major,
                                 d->minor);
        char s[32], t[32];
        if (mount(fs_fd_path(host, s), fs_fd_path(f, t), NULL, MS_BIND, NULL) < 0)
                return cella_errno(err, errno, "bind host device \"%s\"", d->path);
        return 0;
}

/*
 * replace: the default devices replace whatever an image put there; for linux.devices a
 * different file in the way is an error (config-linux.md: "the runtime MUST generate an error").
 */
static int make_device(int root_fd, struct parent_dir *pd, const struct dev_node *d, bool userns,
                       bool replace, struct cella_error *err)
{
        char base[256];
        int dir = open_parent(root_fd, d->path, pd, base, sizeof(base), err);
        if (dir < 0)
                return dir;
        struct stat st;
        if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if ((st.st_mode & S_IFMT) == d->type && st.st_rdev == makedev(d->major, d->minor))
                        return 0;
                if (!replace)
                        return cella_err(err, EEXIST,
                                         "\"%s\" exists in the rootfs and is not device %c %u:%u",
                                         d->path,
                                         S_ISBLK(d->type)    ? 'b'
                                         : S_ISFIFO(d->type) ? 'p'
                                                             : 'c',
                                         d->major, d->minor);
                /* Replace whatever the image put there (a file, a symlink): never follow it. */
                if (unlinkat(dir, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
                        return cella_errno(err, errno, "replace \"%s\"", d->path);
        }
        if (userns)
                return bind_host_device(dir, base, d, err);
        if (mknodat(dir, base, d->type | (d->mode & 07777), makedev(d->major, d->minor)) < 0)
                return cella_errno(err, errno, "mknod \"%s\"", d->path);
        /*
         * lnx_devices_setup() cleared the umask, so mknod set plain permission bits exactly (a
         * default ACL on the directory could only narrow them); the special bits, which mknod
         * may strip, are set again. Then the owner asked for.
         */
        if (d->mode & 07000) {
                _cleanup_close_ int fd = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                char p[32];
                if (fd < 0 || chmod(fs_fd_path(fd, p), d->mode & 07777) < 0)
                        return cella_errno(err, errno, "set mode of \"%s\"", d->path);
        }
        if (fchownat(dir, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return cella_errno(err, errno, "set owner of \"%s\"", d->path);
        return 0;
}

static int spec_device(const struct oci_device *sd, struct dev_node *d, size_t idx,
                       struct cella_error *err)
{
        memset(d, 0, sizeof(*d));
        d->path = sd->path;
        switch (sd->type) {
        case 'c':
        case 'u':
                d->type = S_IFCHR;
                break;
        case 'b':
                d->type = S_IFBLK;
                break;
        case 'p':
                d->type = S_IFIFO;
                break;
        default:
                return cella_err(err, EINVAL, "linux.devices[%zu].type: unknown type '%c'", idx,
                                 sd->type);
        }
        d->major = (unsigned)sd->major;
        d->minor = (unsigned)sd->minor;
        d->mode = sd->has_file_mode ? sd->file_mode : 0666;
        d->uid = sd->has_uid ? sd->uid : 0;
        d->gid = sd->has_gid ? sd->gid : 0;
        return 0;
}

static int make_links(int root_fd, struct parent_dir *pd, struct cella_error *err)
{
        static const char *const links[][2] = {
            {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
            {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
            {"pts/ptmx", "ptmx"},
        };
        char base[8];
        int dev = open_parent(root_fd, "/dev/x", pd, base, sizeof(base), err); /* x: any node */
        if (dev < 0)
                return dev;
        for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
                struct stat st;
                /* /dev/ptmx must point into the container's own devpts instance. */
                if (strcmp(links[i][1], "ptmx") == 0 &&
                    fstatat(dev, "ptmx", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode))
                        unlinkat(dev, "ptmx", 0);
                if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
                        return cella_errno(err, errno, "symlink \"/dev/%s\"", links[i][1]);
        }
        return 0;
}

static int devices_setup(int root_fd, const struct oci_spec *spec, bool userns,
                         struct cella_error *err)
{
        struct parent_dir pd = {.fd = -1};
        int r = 0;
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(default_devices); i++)
                r = make_device(root_fd, &pd, &default_devices[i], userns, true, err);
        for (size_t i = 0; r == 0 && i < spec->linux_.n_devices; i++) {
                struct dev_node d;
                r = spec_device(&spec->linux_.devices[i], &d, i, err);
                if (r == 0)
                        r = make_device(root_fd, &pd, &d, userns, false, err);
                if (r < 0)
                        cella_err_prefix(err, "linux.devices[%zu]", i);
        }
        if (r == 0)
                r = make_links(root_fd, &pd, err);
        if (pd.fd >= 0)
                close(pd.fd);
        return r;
}

int lnx_devices_setup(int root_fd, const struct oci_spec *spec, bool userns,
                      struct cella_error *err)
{
        /* mknod applies the umask: without one the mode is exact and no chmod is needed. */
        mode_t old = umask(0);
        int r = devices_setup(root_fd, spec, userns, err);
        umask(old);
        return r;
}
