/* SPDX-License-Identifier: Apache-2.0 */
#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "digest.h"
#include "layer_stream.h"
#include "strset.h"

struct dir_meta {
        char *path;
        mode_t mode;
        struct timespec times[2];
};

struct unpacker {
        int root_fd;
        const struct img_unpack_opts *opts;
        struct archive *a;
        struct img_unpack_stats stats;
        struct strset seen; /* paths this layer wrote (and their parents) */
        struct dir_meta *dirs;
        size_t n_dirs, cap_dirs;
        /* The last parent directory opened; entries of one directory come in a row. */
        char *cache_dir;
        int cache_fd;
        bool cache_valid;
};

int img_path_clean(const char *name, char **ret)
{
        size_t o = 0;
        char *out = malloc(strlen(name) + 1);
        if (!out)
                return -ENOMEM;
        const char *p = name;
        while (*p) {
                while (*p == '/')
                        p++;
                const char *s = p;
                while (*p && *p != '/')
                        p++;
                size_t n = (size_t)(p - s);
                if (n == 0 || (n == 1 && s[0] == '.'))
                        continue;
                if (n == 2 && s[0] == '.' && s[1] == '.') {
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--;
                        continue;
                }
                if (o > 0)
                        out[o++] = '/';
                memcpy(out + o, s, n);
                o += n;
        }
        out[o] = '\0';
        *ret = out;
        return 0;
}

enum img_whiteout img_whiteout_kind(const char *base, const char **ret_target)
{
        if (strncmp(base, ".wh.", 4) != 0)
                return IMG_WHITEOUT_NONE;
        if (strcmp(base, ".wh..wh..opq") == 0)
                return IMG_WHITEOUT_OPAQUE;
        const char *t = base + 4;
        if (!*t || strcmp(t, ".") == 0 || strcmp(t, "..") == 0 || strncmp(t, ".wh.", 4) == 0)
                return IMG_WHITEOUT_INVALID;
        if (ret_target)
                *ret_target = t;
        return IMG_WHITEOUT_FILE;
}

static const char *layer_name(const struct unpacker *u)
{
        return u->opts->name ? u->opts->name : "layer";
}

static int remove_existing(struct unpacker *u, int parent, const char *base, const char *path,
                           struct cella_error *err)
{
        struct stat st;
        if (fstat(parent, &st) < 0)
                return cella_errno(err, errno, "stat parent of \"%s\"", path);
        /* Any removal can change what a cached parent path resolves to. */
        u->cache_valid = false;
        int r = fs_rm_rf_at(parent, base, st.st_dev);
        if (r < 0)
                return cella_errno(err, -r, "remove existing \"%s\"", path);
        return 0;
}

/* Returns an fd (owned by the cache) of the directory dir, resolved in root, created if missing. */
static int open_parent(struct unpacker *u, const char *dir, struct cella_error *err)
{
        if (u->cache_valid && strcmp(u->cache_dir, dir) == 0)
                return u->cache_fd;
        _cleanup_free_ char *copy = strdup(dir);
        if (!copy)
                return cella_err(err, ENOMEM, "out of memory");
        int fd = fs_open_in_root(u->root_fd, dir, O_PATH | O_DIRECTORY, 0);
        if (fd == -ENOENT) {
                fd = fs_mkdir_p_in_root(u->root_fd, dir, 0755, err);
                /* mkdir saw the name, open did not: a symlink to nowhere, not ours to follow. */
                if (fd == -ENOENT)
                        return cella_err(err, ENOENT,
                                         "parent \"%s\" is or passes through a "
                                         "dangling symlink",
                                         dir);
        } else if (fd == -ENOTDIR)
                return cella_err(err, ENOTDIR, "parent \"%s\" is not a directory", dir);
        else if (fd < 0)
                return cella_errno(err, -fd, "open directory \"%s\"", dir);
        if (fd < 0)
                return fd;
        if (u->cache_fd >= 0)
                close(u->cache_fd);
        free(u->cache_dir);
        u->cache_dir = TAKE_PTR(copy);
        u->cache_fd = fd;
        u->cache_valid = true;
        return fd;
}

/* Remembers path and all its parents as written by this layer (for whiteouts in any order). */
static int mark_seen(struct unpacker *u, const char *path)
{
        size_t n = strlen(path);
        while (n > 0) {
                int r = img_strset_add(&u->seen, path, n);
                if (r <= 0)
                        return r; /* present: so are its parents */
                while (n > 0 && path[n - 1] != '/')
                        n--;
                if (n > 0)
                        n--;
        }
        return 0;
}

static bool xattr_allowed(const char *name)
{
        /* overlayfs metadata in a layer could redirect or hide files once the directory is used
         * as an overlay lower layer; never take it from an image. */
        return strncmp(name, "trusted.overlay.", 16) != 0 &&
               strncmp(name, "user.overlay.", 13) != 0;
}

static int set_xattrs(struct unpacker *u, int fd, const char *proc_path, struct archive_entry *e,
                      const char *path, struct cella_error *err)
{
        if (archive_entry_xattr_reset(e) == 0)
                return 0;
        const char *name;
        const void *val;
        size_t size;
        while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
                if (!name || !xattr_allowed(name))
                        continue;
                int r = fd >= 0 ? fsetxattr(fd, name, val, size, 0)
                                : lsetxattr(proc_path, name, val, size, 0);
                /* EPERM: unprivileged, or user.* on a symlink or device (never allowed). */
                if (r == 0 || errno == ENOTSUP || (errno == EPERM && (u->opts->rootless || fd < 0)))
                        continue;
                return cella_errno(err, errno, "set xattr \"%s\" on \"%s\"", name, path);
        }
        return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
        ts[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
        if (archive_entry_atime_is_set(e))
                ts[0] = (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)};
        else
                ts[0] = ts[1];
}

/*
 * Ownership, mode, xattrs and times, in that order: chown clears setuid/setgid bits and file
 * capabilities, so the mode and the security.capability xattr must come after it.
 */
static int set_meta_fd(struct unpacker *u, int fd, struct archive_entry *e, const char *path,
                       struct cella_error *err)
{
        if (!u->opts->rootless &&
            fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
                return cella_errno(err, errno, "chown \"%s\" to %lld:%lld", path,
                                   (long long)archive_entry_uid(e),
                                   (long long)archive_entry_gid(e));
        if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
                return cella_errno(err, errno, "chmod \"%s\"", path);
        int r = set_xattrs(u, fd, NULL, e, path, err);
        if (r < 0)
                return r;
        struct timespec ts[2];
        entry_times(e, ts);
        if (futimens(fd, ts) < 0)
                return cella_errno(err, errno, "set times of \"%s\"", path);
        return 0;
}

/* The same for an entry without an fd (symlinks, devices): never follows the final component. */
static int set_meta_at(struct unpacker *u, int parent, const char *base, struct archive_entry *e,
                       const char *path, bool is_link, struct cella_error *err)
{
        if (!u->opts->rootless && fchownat(parent, base, (uid_t)archive_entry_uid(e),
                                           (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
                return cella_errno(err, errno, "chown \"%s\"", path);
        _cleanup_free_ char *pp = NULL;
        if (asprintf(&pp, "/proc/self/fd/%d/%s", parent, base) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        if (!is_link) {
                /* fchmodat() cannot refuse to follow a symlink; go through an O_PATH fd. */
                _cleanup_close_ int fd = openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return cella_errno(err, errno, "open \"%s\"", path);
                char fdp[32];
                if (fchmodat(AT_FDCWD, fs_fd_path(fd, fdp), archive_entry_perm(e) & 07777, 0) < 0)
                        return cella_errno(err, errno, "chmod \"%s\"", path);
        }
        int r = set_xattrs(u, -1, pp, e, path, err);
        if (r < 0)
                return r;
        struct timespec ts[2];
        entry_times(e, ts);
        if (utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return cella_errno(err, errno, "set times of \"%s\"", path);
        return 0;
}

static int write_data(struct unpacker *u, int fd, struct archive_entry *e, const char *path,
                      struct cella_error *err)
{
        int64_t pos = 0;
        for (;;) {
                const void *buf;
                size_t size;
                la_int64_t off;
                int ar = archive_read_data_block(u->a, &buf, &size, &off);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar < ARCHIVE_WARN)
                        return cella_err(err, EIO, "read content of \"%s\": %s", path,
                                         archive_error_string(u->a));
                if (off != pos && lseek(fd, off, SEEK_SET) < 0) /* a hole in a sparse file */
                        return cella_errno(err, errno, "seek in \"%s\"", path);
                int r = fs_write_all(fd, buf, size);
                if (r < 0)
                        return cella_errno(err, -r, "write \"%s\"", path);
                pos = off + (int64_t)size;
                u->stats.bytes += size;
        }
        if (archive_entry_size_is_set(e) && pos < archive_entry_size(e) &&
            ftruncate(fd, archive_entry_size(e)) < 0)
                return cella_errno(err, errno, "extend \"%s\"", path);
        return 0;
}

static int make_file(struct unpacker *u, int parent, const char *base, const char *path,
                     struct archive_entry *e, struct cella_error *err)
{
        const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
        /* Never write into an existing file: it may be a hard link shared with another path. */
        _cleanup_close_ int fd = openat(parent, base, flags, 0600);
        if (fd < 0 && errno == EEXIST) {
                int r = remove_existing(u, parent, base, path, err);
                if (r < 0)
                        return r;
                fd = openat(parent, base, flags, 0600);
        }
        if (fd < 0)
                return cella_errno(err, errno, "create \"%s\"", path);
        int r = write_data(u, fd, e, path, err);
        if (r < 0)
                return r;
        return set_meta_fd(u, fd, e, path, err);
}

static int defer_dir(struct unpacker *u, const char *path, struct archive_entry *e,
                     struct cella_error *err)
{
        if (u->n_dirs == u->cap_dirs) {
                size_t ncap = u->cap_dirs ? u->cap_dirs * 2 : 64;
                struct dir_meta *nd = realloc(u->dirs, ncap * sizeof(*nd));
                if (!nd)
                        return cella_err(err, ENOMEM, "out of memory");
                u->dirs = nd;
                u->cap_dirs = ncap;
        }
        struct dir_meta *d = &u->dirs[u->n_dirs];
        d->path = strdup(path);
        if (!d->path)
                return cella_err(err, ENOMEM, "out of memory");
        d->mode = archive_entry_perm(e) & 07777;
        if (u->opts->rootless)
                d->mode |= S_IRWXU; /* or the next layer could not write into it */
        entry_times(e, d->times);
        u->n_dirs++;
        return 0;
}

/*
 * Directories get their mode and times only after the whole layer is written: writing children
 * changes a directory's mtime, and a read-only mode would stop the writes.
 */
static int make_dir(struct unpacker *u, int parent, const char *base, const char *path,
                    struct archive_entry *e, struct cella_error *err)
{
        if (mkdirat(parent, base, 0700) < 0) {
                struct stat st;
                if (errno != EEXIST)
                        return cella_errno(err, errno, "mkdir \"%s\"", path);
                if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return cella_errno(err, errno, "stat \"%s\"", path);
                if (!S_ISDIR(st.st_mode)) {
                        int r = remove_existing(u, parent, base, path, err);
                        if (r < 0)
                                return r;
                        if (mkdirat(parent, base, 0700) < 0)
                                return cella_errno(err, errno, "mkdir \"%s\"", path);
                }
        }
        if (!u->opts->rootless && fchownat(parent, base, (uid_t)archive_entry_uid(e),
                                           (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
                return cella_errno(err, errno, "chown \"%s\"", path);
        if (archive_entry_xattr_count(e) > 0) {
                _cleanup_close_ int fd =
                    openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return cella_errno(err, errno, "open \"%s\"", path);
                int r = set_xattrs(u, fd, NULL, e, path, err);
                if (r < 0)
                        return r;
        }
        return defer_dir(u, path, e, err);
}

static int make_root(struct unpacker *u, struct archive_entry *e, struct cella_error *err)
{
        if (archive_entry_filetype(e) != AE_IFDIR)
                return cella_err(err, EINVAL, "entry \"%s\" names the root but is not a directory",
                                 archive_entry_pathname(e));
        if (!u->opts->rootless && fchownat(u->root_fd, "", (uid_t)archive_entry_uid(e),
                                           (gid_t)archive_entry_gid(e), AT_EMPTY_PATH) < 0)
                return cella_errno(err, errno, "chown the root directory");
        return defer_dir(u, "", e, err);
}

static int make_symlink(struct unpacker *u, int parent, const char *base, const char *path,
                        struct archive_entry *e, struct cella_error *err)
{
        /* The target is stored as is: it is only ever resolved inside the root later. */
        const char *target = archive_entry_symlink(e);
        if (!target || !*target)
                return cella_err(err, EINVAL, "symlink \"%s\" has an empty target", path);
        if (symlinkat(target, parent, base) < 0) {
                if (errno != EEXIST)
                        return cella_errno(err, errno, "symlink \"%s\"", path);
                int r = remove_existing(u, parent, base, path, err);
                if (r < 0)
                        return r;
                if (symlinkat(target, parent, base) < 0)
                        return cella_errno(err, errno, "symlink \"%s\"", path);
        }
        return set_meta_at(u, parent, base, e, path, true, err);
}

static int make_node(struct unpacker *u, int parent, const char *base, const char *path,
                     struct archive_entry *e, struct cella_error *err)
{
        mode_t type = archive_entry_filetype(e);
        if (type != AE_IFIFO && u->opts->rootless) {
                /* An unprivileged user cannot mknod; the runtime bind-mounts devices instead. */
                u->stats.skipped_devices++;
                return 0;
        }
        dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(e);
        if (mknodat(parent, base, type | 0600, dev) < 0) {
                if (errno != EEXIST)
                        return cella_errno(err, errno, "mknod \"%s\"%s", path,
                                           errno == EPERM ? " (unpack with --rootless)" : "");
                int r = remove_existing(u, parent, base, path, err);
                if (r < 0)
                        return r;
                if (mknodat(parent, base, type | 0600, dev) < 0)
                        return cella_errno(err, errno, "mknod \"%s\"", path);
        }
        return set_meta_at(u, parent, base, e, path, false, err);
}

/* A copy of a symlink stands in for a hard link to it when linkat(AT_EMPTY_PATH) is refused. */
static int copy_symlink(int tfd, int parent, const char *base)
{
        char target[4096];
        ssize_t n = readlinkat(tfd, "", target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        return symlinkat(target, parent, base) < 0 ? -errno : 0;
}

static int link_fd(int tfd, const struct stat *st, int parent, const char *base)
{
        if (linkat(tfd, "", parent, base, AT_EMPTY_PATH) == 0)
                return 0;
        if (errno != ENOENT && errno != EPERM)
                return -errno;
        /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the fd's /proc link names the same inode. */
        if (S_ISLNK(st->st_mode))
                return copy_symlink(tfd, parent, base);
        char p[32];
        if (linkat(AT_FDCWD, fs_fd_path(tfd, p), parent, base, AT_SYMLINK_FOLLOW) < 0)
                return -errno;
        return 0;
}

/*
 * A hard link may only point at something already inside the root: its target is cleaned
 * lexically and resolved in the root, and the link is made from that fd, never from a path.
 */
static int make_hardlink(struct unpacker *u, int parent, const char *base, const char *path,
                         const char *linkname, struct cella_error *err)
{
        _cleanup_free_ char *target = NULL;
        if (img_path_clean(linkname, &target) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        if (!*target)
                return cella_err(err, EINVAL, "hard link \"%s\" points at the root", path);
        if (strcmp(target, path) == 0)
                return 0;
        _cleanup_close_ int tfd = fs_open_in_root(u->root_fd, target, O_PATH | O_NOFOLLOW, 0);
        if (tfd < 0)
                return cella_errno(err, -tfd,
                                   "hard link \"%s\" to \"%s\": target not found in the image",
                                   path, target);
        struct stat st;
        if (fstat(tfd, &st) < 0)
                return cella_errno(err, errno, "stat \"%s\"", target);
        if (S_ISDIR(st.st_mode))
                return cella_err(err, EPERM, "hard link \"%s\" to directory \"%s\"", path, target);
        int r = link_fd(tfd, &st, parent, base);
        if (r == -EEXIST) {
                r = remove_existing(u, parent, base, path, err);
                if (r < 0)
                        return r;
                r = link_fd(tfd, &st, parent, base);
        }
        if (r < 0)
                return cella_errno(err, -r, "hard link \"%s\" to \"%s\"", path, target);
        return 0;
}

static char *join_path(const char *dir, const char *name)
{
        char *p = NULL;
        if (asprintf(&p, "%s%s%s", dir, *dir ? "/" : "", name) < 0)
                return NULL;
        return p;
}

/*
 * Removes what lower layers put below dir, keeping what this layer wrote (the opaque marker may
 * come after the directory's new entries in the tar). Recurses into kept directories, since
 * their lower-layer children are hidden as well.
 */
static int opaque_clear(struct unpacker *u, int dirfd, const char *dir, struct cella_error *err)
{
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return cella_errno(err, errno, "open \"%s\"", dir);
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return cella_errno(err, errno, "open \"%s\"", dir);
        }
        struct stat dst;
        if (fstat(fd, &dst) < 0)
                return cella_errno(err, errno, "stat \"%s\"", dir);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *child = join_path(dir, de->d_name);
                if (!child)
                        return cella_err(err, ENOMEM, "out of memory");
                int r;
                if (!img_strset_contains(&u->seen, child, strlen(child))) {
                        r = fs_rm_rf_at(fd, de->d_name, dst.st_dev);
                        if (r < 0)
                                return cella_errno(err, -r, "remove \"%s\" (opaque whiteout)",
                                                   child);
                        continue;
                }
                _cleanup_close_ int cfd =
                    openat(fd, de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (cfd < 0 && (errno == ENOTDIR || errno == ELOOP))
                        continue;
                if (cfd < 0)
                        return cella_errno(err, errno, "open \"%s\"", child);
                r = opaque_clear(u, cfd, child, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Overlay form: record the whiteout for overlayfs instead of deleting anything. */
static int overlay_whiteout(struct unpacker *u, enum img_whiteout kind, const char *dir,
                            const char *target, struct cella_error *err)
{
        if (kind == IMG_WHITEOUT_OPAQUE && mark_seen(u, dir) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        int pfd = open_parent(u, dir, err);
        if (pfd < 0)
                return pfd;
        if (kind == IMG_WHITEOUT_FILE) {
                _cleanup_free_ char *victim = join_path(dir, target);
                if (!victim)
                        return cella_err(err, ENOMEM, "out of memory");
                if (img_strset_contains(&u->seen, victim, strlen(victim)))
                        return 0;
                /* 0:0 character devices are whiteouts; unprivileged users may make them too. */
                if (mknodat(pfd, target, S_IFCHR | 0000, makedev(0, 0)) < 0 && errno != EEXIST)
                        return cella_errno(err, errno, "create whiteout for \"%s\"", victim);
                return 0;
        }
        char name[64];
        snprintf(name, sizeof(name), "%soverlay.opaque", u->opts->overlay_xattr_prefix);
        _cleanup_close_ int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsetxattr(fd, name, "y", 1, 0) < 0)
                return cella_errno(err, errno, "mark \"%s\" opaque (xattr %s)", *dir ? dir : "/",
                                   name);
        return 0;
}

static int apply_whiteout(struct unpacker *u, enum img_whiteout kind, const char *dir,
                          const char *target, const char *path, struct cella_error *err)
{
        u->stats.whiteouts++;
        if (kind == IMG_WHITEOUT_INVALID)
                return cella_err(err, EINVAL, "invalid whiteout entry \"%s\"", path);
        if (u->opts->overlay_xattr_prefix)
                return overlay_whiteout(u, kind, dir, target, err);
        if (kind == IMG_WHITEOUT_OPAQUE) {
                int r = mark_seen(u, dir);
                if (r < 0)
                        return cella_err(err, ENOMEM, "out of memory");
                int pfd = open_parent(u, dir, err);
                if (pfd < 0)
                        return pfd;
                u->cache_valid = false;
                return opaque_clear(u, pfd, dir, err);
        }
        _cleanup_free_ char *victim = join_path(dir, target);
        if (!victim)
                return cella_err(err, ENOMEM, "out of memory");
        /* Whiteouts hide lower layers only, never this layer's own entries. */
        if (img_strset_contains(&u->seen, victim, strlen(victim)))
                return 0;
        int pfd = fs_open_in_root(u->root_fd, dir, O_PATH | O_DIRECTORY, 0);
        if (pfd == -ENOENT || pfd == -ENOTDIR)
                return 0; /* nothing to delete */
        if (pfd < 0)
                return cella_errno(err, -pfd, "open directory \"%s\"", dir);
        int r = remove_existing(u, pfd, target, victim, err);
        close(pfd);
        return r;
}

static int apply_entry(struct unpacker *u, struct archive_entry *e, struct cella_error *err)
{
        const char *name = archive_entry_pathname(e);
        if (!name)
                return cella_err(err, EINVAL, "entry without a valid path name");
        _cleanup_free_ char *path = NULL;
        if (img_path_clean(name, &path) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        if (!*path)
                return make_root(u, e, err);
        char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        _cleanup_free_ char *dir = strndup(path, slash ? (size_t)(slash - path) : 0);
        if (!dir)
                return cella_err(err, ENOMEM, "out of memory");
        if (strlen(base) > 255)
                return cella_err(err, ENAMETOOLONG, "name too long in \"%.200s\"", path);
        const char *target = NULL;
        enum img_whiteout wh = img_whiteout_kind(base, &target);
        if (wh != IMG_WHITEOUT_NONE)
                return apply_whiteout(u, wh, dir, target, path, err);
        if (mark_seen(u, path) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        int parent = open_parent(u, dir, err);
        if (parent < 0)
                return parent;
        const char *hardlink = archive_entry_hardlink(e);
        if (hardlink)
                return make_hardlink(u, parent, base, path, hardlink, err);
        switch (archive_entry_filetype(e)) {
        case AE_IFREG:
                return make_file(u, parent, base, path, e, err);
        case AE_IFDIR:
                return make_dir(u, parent, base, path, e, err);
        case AE_IFLNK:
                return make_symlink(u, parent, base, path, e, err);
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
                return make_node(u, parent, base, path, e, err);
        case AE_IFSOCK:
                return 0; /* sockets are meaningless in an image */
        default:
                return cella_err(err, EINVAL, "entry \"%s\" has unknown file type 0%o", path,
                                 (unsigned)archive_entry_filetype(e));
        }
}

/* Copies owner, mode and times of path's directory in the first lower layer that has it. */
static int copy_lower_dir_meta(struct unpacker *u, const char *path, struct cella_error *err)
{
        _cleanup_close_ int fd =
            fs_open_in_root(u->root_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        if (fd < 0)
                return 0; /* not a directory (any more) */
        for (size_t i = 0; i < u->opts->n_lower; i++) {
                _cleanup_close_ int lfd = fs_open_in_root(u->opts->lower_fds[i], path,
                                                          O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
                struct stat st;
                if (lfd < 0 || fstat(lfd, &st) < 0)
                        continue;
                if (!u->opts->rootless && fchown(fd, st.st_uid, st.st_gid) < 0)
                        return cella_errno(err, errno, "chown \"%s\"", path);
                struct timespec ts[2] = {st.st_atim, st.st_mtim};
                if (fchmod(fd, st.st_mode & 07777) < 0 || futimens(fd, ts) < 0)
                        return cella_errno(err, errno, "copy metadata to \"%s\"", path);
                return 0;
        }
        return 0;
}

static int fix_implied_dirs(struct unpacker *u, struct cella_error *err)
{
        struct strset explicit_dirs = {0};
        int r = 0;
        for (size_t i = 0; r == 0 && i < u->n_dirs; i++)
                if (img_strset_add(&explicit_dirs, u->dirs[i].path, strlen(u->dirs[i].path)) < 0)
                        r = cella_err(err, ENOMEM, "out of memory");
        for (size_t i = 0; r == 0 && i < u->seen.cap; i++) {
                const char *p = u->seen.slots[i];
                if (p && !img_strset_contains(&explicit_dirs, p, strlen(p)))
                        r = copy_lower_dir_meta(u, p, err);
        }
        img_strset_free(&explicit_dirs);
        return r;
}

static int finish_dirs(struct unpacker *u, struct cella_error *err)
{
        if (u->opts->n_lower > 0) {
                int r = fix_implied_dirs(u, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < u->n_dirs; i++) {
                struct dir_meta *d = &u->dirs[i];
                _cleanup_close_ int fd =
                    fs_open_in_root(u->root_fd, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
                if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
                        continue; /* replaced or whited out later in the layer */
                if (fd < 0)
                        return cella_errno(err, -fd, "open directory \"%s\"", d->path);
                if (fchmod(fd, d->mode) < 0)
                        return cella_errno(err, errno, "chmod \"%s\"", d->path);
                if (futimens(fd, d->times) < 0)
                        return cella_errno(err, errno, "set times of \"%s\"", d->path);
        }
        return 0;
}

/* libarchive pulls decompressed bytes from our layer stream, which hashes as it goes. */
struct reader_ctx {
        struct layer_stream *ls;
        struct cella_error err;
};

static la_ssize_t stream_read(struct archive *a, void *data, const void **ret_buf)
{
        struct reader_ctx *c = data;
        ssize_t n = img_layer_stream_read(c->ls, ret_buf, &c->err);
        if (n < 0) {
                archive_set_error(a, (int)-n, "%s", c->err.msg);
                return -1;
        }
        return n;
}

static struct archive *open_reader(struct reader_ctx *c)
{
        struct archive *a = archive_read_new();
        if (!a)
                return NULL;
        archive_read_support_format_tar(a);
        /* gzip and zstd are decompressed by the layer stream; these are for the rare rest. */
        archive_read_support_filter_xz(a);
        archive_read_support_filter_bzip2(a);
        if (archive_read_open(a, c, NULL, stream_read, NULL) != ARCHIVE_OK) {
                archive_read_free(a);
                return NULL;
        }
        return a;
}

static int read_entries(struct unpacker *u, struct cella_error *err)
{
        for (;;) {
                struct archive_entry *e;
                int ar = archive_read_next_header(u->a, &e);
                if (ar == ARCHIVE_EOF)
                        return 0;
                if (ar < ARCHIVE_WARN)
                        return cella_err(err, EINVAL, "read %s: %s", layer_name(u),
                                         archive_error_string(u->a));
                u->stats.entries++;
                int r = apply_entry(u, e, err);
                if (r < 0)
                        return cella_err_prefix(err, "unpack %s, entry \"%.200s\"", layer_name(u),
                                                archive_entry_pathname(e));
        }
}

static void unpacker_free(struct unpacker *u)
{
        for (size_t i = 0; i < u->n_dirs; i++)
                free(u->dirs[i].path);
        free(u->dirs);
        img_strset_free(&u->seen);
        free(u->cache_dir);
        if (u->cache_fd >= 0)
                close(u->cache_fd);
        if (u->a)
                archive_read_free(u->a);
}

static int check_digests(struct unpacker *u, struct reader_ctx *c, struct cella_error *err)
{
        char digest[IMG_DIGEST_MAX], diff_id[IMG_DIGEST_MAX];
        int r = img_layer_stream_finish(c->ls, digest, diff_id, err);
        if (r < 0)
                return cella_err_prefix(err, "%s", layer_name(u));
        const char *want = u->opts->digest;
        if (want && strcmp(digest, want) != 0)
                return cella_err(err, EBADMSG,
                                 "digest of %s is %s, expected %s: the layer is corrupt or was "
                                 "tampered with",
                                 layer_name(u), digest, want);
        /* With xz or bzip2 (decompressed by libarchive) the stream is not the tar itself. */
        want = u->opts->diff_id;
        if (want && archive_filter_count(u->a) <= 1 && strcmp(diff_id, want) != 0)
                return cella_err(err, EBADMSG,
                                 "uncompressed content of %s hashes to %s, but the image config "
                                 "says its diff_id is %s: the image is corrupt",
                                 layer_name(u), diff_id, want);
        return 0;
}

int img_unpack_layer(int root_fd, int layer_fd, const struct img_unpack_opts *opts,
                     struct img_unpack_stats *stats, struct cella_error *err)
{
        struct reader_ctx c = {0};
        int r = img_layer_stream_new(layer_fd, &c.ls);
        if (r < 0)
                return cella_err(err, ENOMEM, "out of memory");
        r = img_layer_stream_start_thread(c.ls);
        if (r < 0) {
                img_layer_stream_free(c.ls);
                return cella_errno(err, -r, "start the decompression thread");
        }
        struct unpacker u = {.root_fd = root_fd, .opts = opts, .cache_fd = -1};
        u.a = open_reader(&c);
        if (!u.a && c.err.code) {
                r = cella_err(err, c.err.code, "%s", c.err.msg);
                cella_err_prefix(err, "%s", layer_name(&u));
        } else if (!u.a) {
                r = cella_err(err, EIO, "open %s: cannot start reading the tar stream",
                              layer_name(&u));
        }
        if (r == 0)
                r = read_entries(&u, err);
        if (r == 0)
                r = finish_dirs(&u, err);
        if (r == 0)
                r = check_digests(&u, &c, err);
        if (stats)
                *stats = u.stats;
        unpacker_free(&u);
        img_layer_stream_free(c.ls);
        return r;
}
