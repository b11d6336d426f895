/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/rootfs.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "linux/devices.h"
#include "linux/mounts.h"
#include "linux/namespaces.h"
#include "linux/overlay.h"

static int mount_setattr_fd(int fd, bool recursive, uint64_t set, uint64_t clr)
{
        if (!set && !clr)
                return 0;
        struct mount_attr a = {.attr_set = set, .attr_clr = clr};
        unsigned int flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
        return syscall(SYS_mount_setattr, fd, "", flags, &a, sizeof(a)) < 0 ? -errno : 0;
}

/* Opens a bind source on the host; relative sources are relative to the bundle. */
static int open_bind_source(const char *bundle, const struct oci_mount *m, size_t idx,
                            struct cella_error *err)
{
        if (!m->source)
                return cella_err(err, EINVAL, "mounts[%zu]: bind mount of \"%s\" has no source",
                                 idx, m->destination);
        char path[4096];
        if (m->source[0] == '/')
                snprintf(path, sizeof(path), "%s", m->source);
        else
                snprintf(path, sizeof(path), "%s/%s", bundle, m->source);
        int fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return cella_errno(err, errno, "mounts[%zu]: bind source \"%s\"", idx, path);
        return fd;
}

/* The user namespace whose mapping an idmapped mount takes (see lnx_rootfs_idmapped_sources). */
static int idmap_userns(const struct oci_spec *spec, const struct oci_mount *m, size_t idx,
                        struct cella_error *err)
{
        char field[32];
        snprintf(field, sizeof(field), "mounts[%zu]", idx);
        if (m->n_uid_mappings)
                return lnx_userns_with_maps(m->uid_mappings, m->n_uid_mappings, m->gid_mappings,
                                            m->n_gid_mappings, field, err);
        const struct oci_linux *l = &spec->linux_;
        if (!oci_spec_namespace(spec, OCI_NS_USER) || !l->n_uid_mappings)
                return cella_err(err, EINVAL,
                                 "%s: idmapped mount of \"%s\" without uidMappings/gidMappings "
                                 "needs a container user namespace with linux.uidMappings to "
                                 "borrow: give the mount its own mappings",
                                 field, m->destination);
        return lnx_userns_with_maps(l->uid_mappings, l->n_uid_mappings, l->gid_mappings,
                                    l->n_gid_mappings, "linux", err);
}

static int idmapped_source(const struct oci_spec *spec, const char *bundle, size_t idx,
                           const struct lnx_mount_opts *o, struct cella_error *err)
{
        const struct oci_mount *m = &spec->mounts[idx];
        _cleanup_close_ int src = open_bind_source(bundle, m, idx, err);
        if (src < 0)
                return src;
        _cleanup_close_ int userns = idmap_userns(spec, m, idx, err);
        if (userns < 0)
                return userns;
        unsigned int rec = o->rec_bind ? AT_RECURSIVE : 0;
        _cleanup_close_ int tree = (int)syscall(
            SYS_open_tree, src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);
        if (tree < 0)
                return cella_errno(err, errno, "mounts[%zu]: clone \"%s\" for an idmapped mount",
                                   idx, m->source);
        struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
        unsigned int flags = AT_EMPTY_PATH | (o->rec_idmap ? AT_RECURSIVE : 0);
        if (syscall(SYS_mount_setattr, tree, "", flags, &a, sizeof(a)) < 0)
                return cella_errno(err, errno,
                                   "mounts[%zu]: idmap \"%s\" (needs root and a filesystem "
                                   "that supports idmapped mounts)",
                                   idx, m->source);
        return TAKE_FD(tree);
}

int lnx_rootfs_idmapped_sources(const struct oci_spec *spec, const char *bundle, int **ret_fds,
                                struct cella_error *err)
{
        *ret_fds = NULL;
        int *fds = NULL;
        for (size_t i = 0; i < spec->n_mounts; i++) {
                struct lnx_mount_opts o;
                int r = lnx_mount_opts_parse(&spec->mounts[i], &o, err);
                if (r < 0) {
                        lnx_rootfs_idmapped_close(fds, i);
                        return r;
                }
                lnx_mount_opts_free(&o);
                if (!fds && !o.idmap)
                        continue;
                if (!fds) {
                        if (!(fds = malloc(spec->n_mounts * sizeof(int))))
                                return cella_err(err, ENOMEM, "out of memory");
                        for (size_t k = 0; k < spec->n_mounts; k++)
                                fds[k] = -1;
                }
                if (o.idmap && (fds[i] = idmapped_source(spec, bundle, i, &o, err)) < 0) {
                        r = fds[i];
                        fds[i] = -1;
                        lnx_rootfs_idmapped_close(fds, spec->n_mounts);
                        return r;
                }
        }
        *ret_fds = fds;
        return 0;
}

void lnx_rootfs_idmapped_close(int *fds, size_t n)
{
        for (size_t i = 0; fds && i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        free(fds);
}

/* Copies the tree at src into dst (tmpcopyup: keep an image's files under a new tmpfs). */
static int copy_tree(int src, int dst)
{
        _cleanup_close_ int sfd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0)
                return -errno;
        DIR *d = fdopendir(sfd);
        if (!d)
                return -errno;
        sfd = -1;
        int r = 0;
        struct dirent *de;
        while (r == 0 && (de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        if (mkdirat(dst, de->d_name, st.st_mode & 07777) < 0 && errno != EEXIST) {
                                r = -errno;
                                break;
                        }
                        _cleanup_close_ int s2 = openat(
                            dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int d2 = openat(
                            dst, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        r = (s2 < 0 || d2 < 0) ? -errno : copy_tree(s2, d2);
                } else if (S_ISLNK(st.st_mode)) {
                        char target[4096];
                        ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                        if (n < 0 || (target[n] = '\0', symlinkat(target, dst, de->d_name) < 0))
                                r = -errno;
                } else if (S_ISREG(st.st_mode)) {
                        _cleanup_close_ int in =
                            openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int out =
                            openat(dst, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                                   st.st_mode & 07777);
                        if (in < 0 || out < 0)
                                r = -errno;
                        while (r == 0) {
                                ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 20, 0);
                                if (n < 0)
                                        r = -errno;
                                if (n <= 0)
                                        break;
                        }
                }
                if (r == 0)
                        (void)fchownat(dst, de->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        }
        closedir(d);
        return r;
}

/*
 * cgroup mounts: on a v2 host one cgroup2 mount; otherwise a tmpfs with one directory per
 * hierarchy, each either a fresh cgroup mount (inside a cgroup namespace the kernel shows the
 * container's own cgroup as the root) or a bind of the container's host cgroup directory.
 */
static bool plain_name(const char *name)
{
        return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/*
 * A directory in the tmpfs we mounted a moment ago for the cgroup hierarchies (dir_fd is its
 * root): nothing but us has written to it, so it needs no resolution in root. -EINVAL for a
 * name that is not one plain component (the caller then takes the general way).
 */
static int mkdir_in_fresh(int dir_fd, const char *name)
{
        if (!plain_name(name))
                return -EINVAL;
        if (mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST)
                return -errno;
        int fd = openat(dir_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int mount_cgroups(struct lnx_rootfs *r, int target_fd, const char *dest, unsigned long flags,
                         struct cella_error *err)
{
        char tpath[32];
        bool v2_only = r->n_cgroups == 1 && r->cgroups[0].v2;
        if (v2_only) {
                if (mount("cgroup2", fs_fd_path(target_fd, tpath), "cgroup2", flags, NULL) < 0)
                        return cella_errno(err, errno, "mount cgroup2 on \"%s\"", dest);
                return 0;
        }
        if (mount("tmpfs", fs_fd_path(target_fd, tpath), "tmpfs", flags & ~MS_RDONLY, "mode=755") <
            0)
                return cella_errno(err, errno, "mount tmpfs on \"%s\"", dest);
        _cleanup_close_ int top = fs_open_in_root(r->root_fd, dest, O_PATH | O_DIRECTORY, 0);
        if (top < 0)
                return cella_errno(err, -top, "open \"%s\" in rootfs", dest);
        for (size_t i = 0; i < r->n_cgroups; i++) {
                const struct lnx_cgroup_mount *c = &r->cgroups[i];
                char sub[512];
                snprintf(sub, sizeof(sub), "%s/%s", dest, c->name);
                _cleanup_close_ int fd = mkdir_in_fresh(top, c->name);
                if (fd == -EINVAL)
                        fd = fs_mkdir_p_in_root(r->root_fd, sub, 0755, err);
                else if (fd < 0)
                        return cella_errno(err, -fd, "mkdir \"%s\" in rootfs", sub);
                if (fd < 0)
                        return fd;
                int rc;
                if (r->cgroupns)
                        rc = mount("cgroup", fs_fd_path(fd, tpath), c->v2 ? "cgroup2" : "cgroup",
                                   flags, c->v2 ? NULL : c->options);
                else
                        rc =
                            mount(c->host_dir, fs_fd_path(fd, tpath), NULL, MS_BIND | MS_REC, NULL);
                if (rc < 0)
                        return cella_errno(err, errno, "mount cgroup \"%s\" on \"%s\"", c->name,
                                           sub);
                if (!r->cgroupns) {
                        /* Looking the name up again from the tmpfs crosses into the new mount. */
                        _cleanup_close_ int m =
                            plain_name(c->name)
                                ? openat(top, c->name, O_PATH | O_NOFOLLOW | O_CLOEXEC)
                                : fs_open_in_root(r->root_fd, sub, O_PATH, 0);
                        if (m >= 0)
                                mount_setattr_fd(m, false, lnx_ms_to_mount_attr(flags), 0);
                }
        }
        /* The tmpfs itself (top is its root) becomes read-only last, as runc does. */
        if (flags & MS_RDONLY) {
                int rc = mount_setattr_fd(top, false, MOUNT_ATTR_RDONLY, 0);
                if (rc < 0)
                        return cella_errno(err, -rc, "make \"%s\" read-only", dest);
        }
        return 0;
}

/*
 * An image whose /proc or /sys is a symlink to "/" would get procfs mounted over the rootfs
 * root itself, reachable as "/.." after pivot_root and outside every mask: refuse it.
 */
static int check_not_root(struct lnx_rootfs *r, int target, const char *dest, size_t idx,
                          struct cella_error *err)
{
        struct stat t;
        if (fstat(target, &t) < 0)
                return cella_errno(err, errno, "mounts[%zu]: stat \"%s\"", idx, dest);
        if (t.st_dev == r->root_dev && t.st_ino == r->root_ino)
                return cella_err(
                    err, EINVAL,
                    "mounts[%zu]: destination \"%s\" resolves to the rootfs root (is it "
                    "a symlink in the image?)",
                    idx, dest);
        return 0;
}

static int mount_one(struct lnx_rootfs *r, const struct oci_mount *m, size_t idx,
                     struct cella_error *err)
{
        struct lnx_mount_opts o;
        int rc = lnx_mount_opts_parse(m, &o, err);
        if (rc < 0)
                return rc;
        _cleanup_close_ int src = -1, target = -1, top = -1;
        char tpath[32], spath[32];
        bool is_dir = true;
        bool idmapped = o.idmap;
        if (idmapped && (!r->idmapped || r->idmapped[idx] < 0)) {
                rc = cella_err(err, EINVAL, "mounts[%zu]: idmapped source of \"%s\" not prepared",
                               idx, m->destination);
                goto out;
        }
        if (o.bind) {
                src = idmapped ? fcntl(r->idmapped[idx], F_DUPFD_CLOEXEC, 3)
                               : open_bind_source(r->bundle, m, idx, err);
                if (src < 0 && idmapped)
                        src = cella_errno(err, errno, "mounts[%zu]: idmapped source", idx);
                struct stat st;
                if (src < 0 || fstat(src, &st) < 0) {
                        rc = src < 0 ? src
                                     : cella_errno(err, errno, "mounts[%zu]: stat source", idx);
                        goto out;
                }
                is_dir = S_ISDIR(st.st_mode);
        }
        target = fs_ensure_in_root(r->root_fd, m->destination, is_dir, err);
        if (target < 0) {
                rc = cella_err_prefix(err, "mounts[%zu]", idx);
                goto out;
        }
        rc = check_not_root(r, target, m->destination, idx, err);
        if (rc < 0)
                goto out;
        bool needs_runtime =
            m->type && !o.bind && (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "sysfs") == 0);
        if (needs_runtime && r->await_runtime) {
                rc = r->await_runtime(r->hook_arg, err);
                r->await_runtime = NULL;
                if (rc < 0)
                        goto out;
        }
        if (m->type && strcmp(m->type, "cgroup") == 0 && !o.bind) {
                rc = mount_cgroups(r, target, m->destination, o.flags, err);
                goto out;
        }
        const char *source = o.bind ? fs_fd_path(src, spath) : (m->source ? m->source : "none");
        unsigned long flags = o.bind ? (o.flags & (MS_BIND | MS_REC)) : o.flags;
        if (idmapped) {
                /* The detached, idmapped tree the parent made is attached as it is. */
                if (syscall(SYS_move_mount, src, "", target, "",
                            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
                        rc =
                            cella_errno(err, errno, "mounts[%zu]: attach idmapped \"%s\" on \"%s\"",
                                        idx, m->source, m->destination);
                        goto out;
                }
        } else if (mount(source, fs_fd_path(target, tpath), o.bind ? NULL : m->type, flags,
                         o.data) < 0) {
                rc = cella_errno(err, errno, "mounts[%zu]: mount %s\"%s\" on \"%s\" (type %s)", idx,
                                 o.bind ? "bind " : "", m->source ? m->source : "none",
                                 m->destination, m->type ? m->type : "bind");
                goto out;
        }
        if (!o.tmpcopyup && !o.attr_set && !o.attr_clr && !o.rec_attr_set && !o.rec_attr_clr &&
            !o.propagation)
                goto out; /* nothing to do on the new mount itself */
        /* Reopen: the fd taken before mounting points below the new mount, not at it. */
        top = fs_open_in_root(r->root_fd, m->destination, O_PATH, 0);
        if (top < 0) {
                rc = cella_errno(err, -top, "mounts[%zu]: reopen \"%s\"", idx, m->destination);
                goto out;
        }
        if (o.tmpcopyup) {
                _cleanup_close_ int dst =
                    open(fs_fd_path(top, tpath), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                rc = dst < 0 ? -errno : copy_tree(target, dst);
                if (rc < 0) {
                        rc = cella_errno(err, -rc, "mounts[%zu]: tmpcopyup into \"%s\"", idx,
                                         m->destination);
                        goto out;
                }
        }
        rc = mount_setattr_fd(top, false, o.attr_set, o.attr_clr);
        if (rc == 0)
                rc = mount_setattr_fd(top, true, o.rec_attr_set, o.rec_attr_clr);
        if (rc < 0) {
                rc = cella_errno(err, -rc, "mounts[%zu]: set options on \"%s\"", idx,
                                 m->destination);
                goto out;
        }
        if (o.propagation && mount(NULL, fs_fd_path(top, tpath), NULL, o.propagation, NULL) < 0)
                rc = cella_errno(err, errno, "mounts[%zu]: set propagation of \"%s\"", idx,
                                 m->destination);
out:
        lnx_mount_opts_free(&o);
        return rc;
}

#define DEFERRED_PROPAGATION (MS_SHARED | MS_UNBINDABLE)

static unsigned long root_propagation(const struct oci_spec *spec)
{
        const char *p = spec->linux_.rootfs_propagation;
        if (!p || !*p)
                return MS_SLAVE | MS_REC;
        static const struct {
                const char *name;
                unsigned long flags;
        } table[] = {
            {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
            {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
            {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
            {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
        };
        for (size_t i = 0; i < ARRAY_SIZE(table); i++)
                if (strcmp(table[i].name, p) == 0)
                        return table[i].flags;
        return 0;
}

int lnx_rootfs_prepare(struct lnx_rootfs *r, struct cella_error *err)
{
        unsigned long prop = root_propagation(r->spec);
        if (!prop)
                return cella_err(err, EINVAL, "linux.rootfsPropagation: unknown value \"%s\"",
                                 r->spec->linux_.rootfs_propagation);
        /*
         * Nothing we mount may propagate back to the host: slave (or private) first. Shared
         * and unbindable wait until after pivot_root (an unbindable tree could not even be
         * bind-mounted onto itself as the new root).
         */
        unsigned long first = (prop & DEFERRED_PROPAGATION) ? (MS_SLAVE | MS_REC) : prop;
        if (mount(NULL, "/", NULL, first, NULL) < 0)
                return cella_errno(err, errno, "make \"/\" %s",
                                   r->spec->linux_.rootfs_propagation
                                       ? r->spec->linux_.rootfs_propagation
                                       : "rslave");
        /* pivot_root needs the new root to be a mount point: the bundle's overlay (see
         * linux/overlay.h) or a bind of root.path onto itself. */
        int ov = lnx_overlay_mount_rootfs(r->spec, r->rootfs, r->userns, err);
        if (ov < 0)
                return ov;
        if (ov == 0 && mount(r->rootfs, r->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return cella_errno(err, errno, "bind mount rootfs \"%s\"", r->rootfs);
        r->root_fd = open(r->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        if (r->root_fd < 0 || fstat(r->root_fd, &st) < 0)
                return cella_errno(err, errno, "open rootfs \"%s\"", r->rootfs);
        r->root_dev = st.st_dev;
        r->root_ino = st.st_ino;
        for (size_t i = 0; i < r->spec->n_mounts; i++) {
                int rc = mount_one(r, &r->spec->mounts[i], i, err);
                if (rc < 0)
                        return rc;
        }
        return lnx_devices_setup(r->root_fd, r->spec, r->userns, err);
}

static int mask_path(struct lnx_rootfs *r, const char *path, size_t idx, struct cella_error *err)
{
        /* A symlink is followed, but only inside the rootfs (RESOLVE_IN_ROOT). */
        _cleanup_close_ int fd = fs_open_in_root(r->root_fd, path, O_PATH, 0);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return cella_errno(err, -fd, "linux.maskedPaths[%zu]: open \"%s\"", idx, path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return cella_errno(err, errno, "linux.maskedPaths[%zu]: stat \"%s\"", idx, path);
        char tpath[32], spath[32];
        int rc;
        if (S_ISDIR(st.st_mode))
                rc = mount("tmpfs", fs_fd_path(fd, tpath), "tmpfs", MS_RDONLY, "size=0");
        else
                rc = mount(fs_fd_path(r->dev_null_fd, spath), fs_fd_path(fd, tpath), NULL, MS_BIND,
                           NULL);
        if (rc < 0)
                return cella_errno(err, errno, "linux.maskedPaths[%zu]: mask \"%s\"", idx, path);
        return 0;
}

static int readonly_path(struct lnx_rootfs *r, const char *path, size_t idx,
                         struct cella_error *err)
{
        _cleanup_close_ int fd = fs_open_in_root(r->root_fd, path, O_PATH, 0);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return cella_errno(err, -fd, "linux.readonlyPaths[%zu]: open \"%s\"", idx, path);
        char tpath[32];
        fs_fd_path(fd, tpath);
        if (mount(tpath, tpath, NULL, MS_BIND | MS_REC, NULL) < 0)
                return cella_errno(err, errno, "linux.readonlyPaths[%zu]: bind \"%s\"", idx, path);
        _cleanup_close_ int top = fs_open_in_root(r->root_fd, path, O_PATH, 0);
        int rc = top < 0 ? top : mount_setattr_fd(top, true, MOUNT_ATTR_RDONLY, 0);
        if (rc < 0)
                return cella_errno(err, -rc, "linux.readonlyPaths[%zu]: make \"%s\" read-only", idx,
                                   path);
        return 0;
}

int lnx_rootfs_protect(struct lnx_rootfs *r, struct cella_error *err)
{
        const struct oci_linux *l = &r->spec->linux_;
        for (size_t i = 0; i < l->n_readonly_paths; i++) {
                int rc = readonly_path(r, l->readonly_paths[i], i, err);
                if (rc < 0)
                        return rc;
        }
        for (size_t i = 0; i < l->n_masked_paths; i++) {
                int rc = mask_path(r, l->masked_paths[i], i, err);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

static int do_pivot(int root_fd, struct cella_error *err)
{
        char path[32];
        _cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int newroot =
            open(fs_fd_path(root_fd, path), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (oldroot < 0 || newroot < 0)
                return cella_errno(err, errno, "open roots for pivot_root");
        /* pivot_root(".", ".") stacks the old root on top of the new one; detach it. */
        if (fchdir(newroot) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
                return cella_errno(err, errno, "pivot_root");
        if (fchdir(oldroot) < 0)
                return cella_errno(err, errno, "fchdir to old root");
        if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return cella_errno(err, errno, "make old root rslave");
        if (umount2(".", MNT_DETACH) < 0)
                return cella_errno(err, errno, "unmount old root");
        if (chdir("/") < 0)
                return cella_errno(err, errno, "chdir \"/\"");
        return 0;
}

static int do_move_chroot(int root_fd, struct cella_error *err)
{
        char path[32];
        if (fchdir(root_fd) < 0 && chdir(fs_fd_path(root_fd, path)) < 0)
                return cella_errno(err, errno, "chdir to rootfs");
        if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
                return cella_errno(err, errno, "move rootfs to \"/\" (--no-pivot)");
        if (chroot(".") < 0 || chdir("/") < 0)
                return cella_errno(err, errno, "chroot (--no-pivot)");
        return 0;
}

static int reapply_propagation(const struct oci_spec *spec, struct cella_error *err)
{
        for (size_t i = 0; i < spec->n_mounts; i++) {
                struct lnx_mount_opts o;
                int rc = lnx_mount_opts_parse(&spec->mounts[i], &o, err);
                if (rc < 0)
                        return rc;
                unsigned long p = o.propagation;
                lnx_mount_opts_free(&o);
                /* We are inside the new root now: the path cannot leave it. */
                if (p && mount(NULL, spec->mounts[i].destination, NULL, p, NULL) < 0)
                        return cella_errno(err, errno, "mounts[%zu]: set propagation of \"%s\"", i,
                                           spec->mounts[i].destination);
        }
        return 0;
}

int lnx_rootfs_pivot(struct lnx_rootfs *r, bool no_pivot, struct cella_error *err)
{
        int rc = no_pivot ? do_move_chroot(r->root_fd, err) : do_pivot(r->root_fd, err);
        if (rc < 0)
                return rc;
        close(r->root_fd);
        r->root_fd = -1;
        unsigned long prop = root_propagation(r->spec);
        if (prop & DEFERRED_PROPAGATION) {
                /* Held back during setup (see lnx_rootfs_prepare); apply it now, then restore
                 * each mount's own propagation option over it. */
                if (mount(NULL, "/", NULL, prop, NULL) < 0)
                        return cella_errno(err, errno, "set rootfsPropagation on \"/\"");
                rc = reapply_propagation(r->spec, err);
                if (rc < 0)
                        return rc;
        }
        if (r->spec->root.readonly) {
                _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                rc = root < 0 ? -errno : mount_setattr_fd(root, false, MOUNT_ATTR_RDONLY, 0);
                if (rc < 0)
                        return cella_errno(err, -rc, "make root read-only (root.readonly)");
        }
        return 0;
}
