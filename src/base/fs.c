/* SPDX-License-Identifier: Apache-2.0 */
#include "fs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

int fs_open_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
        struct open_how how = {
            .flags = (unsigned long long)(flags | O_CLOEXEC),
            .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        while (*path == '/')
                path++;
        if (!*path)
                path = ".";
        long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        return fd < 0 ? -errno : (int)fd;
}

/* By hand: the init formats two for every mount, and vfprintf is costly for so little. */
const char *fs_fd_path(int fd, char buf[static 32])
{
        static const char prefix[] = "/proc/self/fd/";
        char digits[12];
        size_t n = 0;
        unsigned v = fd < 0 ? 0 : (unsigned)fd;
        do
                digits[n++] = (char)('0' + v % 10);
        while ((v /= 10) != 0);
        memcpy(buf, prefix, sizeof(prefix) - 1);
        char *p = buf + sizeof(prefix) - 1;
        while (n > 0)
                *p++ = digits[--n];
        *p = '\0';
        return buf;
}

/*
 * Opens each prefix of path in turn, resolved in root; a missing component is created with
 * mkdirat() relative to its parent's fd, which was itself resolved in root. A symlink in the
 * path is therefore followed only within root, and nothing is ever created outside it.
 */
/*
 * The common cases of fs_mkdir_p_in_root in fewer resolutions: the whole path exists (one
 * openat2, the same resolution the walk ends with), or only its last component is missing
 * (its parent is resolved in root, the component made with mkdirat relative to it, as the
 * walk does). -ENOENT (or any failure) means "walk".
 */
static int mkdir_last_in_root(int root_fd, const char *path, mode_t mode)
{
        int fd = fs_open_in_root(root_fd, path, O_PATH | O_DIRECTORY, 0);
        if (fd != -ENOENT)
                return fd;
        size_t end = strlen(path);
        while (end > 0 && path[end - 1] == '/')
                end--;
        size_t start = end;
        while (start > 0 && path[start - 1] != '/')
                start--;
        char parent[PATH_MAX], name[256];
        if (start == end || end - start >= sizeof(name) || start >= sizeof(parent))
                return -ENOENT;
        memcpy(parent, path, start);
        parent[start] = '\0';
        memcpy(name, path + start, end - start);
        name[end - start] = '\0';
        _cleanup_close_ int dir = fs_open_in_root(root_fd, parent, O_PATH | O_DIRECTORY, 0);
        if (dir < 0 || (mkdirat(dir, name, mode) < 0 && errno != EEXIST))
                return -ENOENT;
        return fs_open_in_root(root_fd, path, O_PATH | O_DIRECTORY, 0);
}

int fs_mkdir_p_in_root(int root_fd, const char *path, mode_t mode, struct cella_error *err)
{
        int fast = mkdir_last_in_root(root_fd, path, mode);
        if (fast >= 0)
                return fast;
        size_t len = strlen(path);
        _cleanup_free_ char *prefix = malloc(len + 2);
        if (!prefix)
                return cella_err(err, ENOMEM, "out of memory");
        _cleanup_close_ int parent = fs_open_in_root(root_fd, "/", O_PATH | O_DIRECTORY, 0);
        if (parent < 0)
                return cella_errno(err, -parent, "open rootfs");
        size_t i = 0;
        while (i < len) {
                while (i < len && path[i] == '/')
                        i++;
                size_t start = i;
                while (i < len && path[i] != '/')
                        i++;
                if (i == start)
                        break;
                memcpy(prefix, path, i);
                prefix[i] = '\0';
                int fd = fs_open_in_root(root_fd, prefix, O_PATH | O_DIRECTORY, 0);
                if (fd == -ENOENT) {
                        char name[256];
                        size_t n = i - start;
                        if (n >= sizeof(name))
                                return cella_err(err, ENAMETOOLONG,
                                                 "path component too long in \"%s\"", path);
                        memcpy(name, path + start, n);
                        name[n] = '\0';
                        if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
                                return cella_errno(err, errno, "mkdir \"%s\" in rootfs", prefix);
                        fd = fs_open_in_root(root_fd, prefix, O_PATH | O_DIRECTORY, 0);
                }
                if (fd < 0)
                        return cella_errno(err, -fd, "open \"%s\" in rootfs", prefix);
                close(parent);
                parent = fd;
        }
        return TAKE_FD(parent);
}

int fs_ensure_in_root(int root_fd, const char *path, bool is_dir, struct cella_error *err)
{
        if (is_dir)
                return fs_mkdir_p_in_root(root_fd, path, 0755, err);
        int fd = fs_open_in_root(root_fd, path, O_PATH | O_NOFOLLOW, 0);
        if (fd >= 0)
                return fd;
        if (fd != -ENOENT)
                return cella_errno(err, -fd, "open \"%s\" in rootfs", path);
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return cella_err(err, ENOMEM, "out of memory");
        char *slash = strrchr(dir, '/');
        const char *base = path;
        if (slash) {
                *slash = '\0';
                base = path + (slash - dir) + 1;
        }
        _cleanup_close_ int dfd = fs_mkdir_p_in_root(root_fd, slash ? dir : "/", 0755, err);
        if (dfd < 0)
                return dfd;
        /* O_PATH dirfd cannot be used with openat(O_CREAT); reopen the directory for real. */
        char buf[32];
        _cleanup_close_ int real = open(fs_fd_path(dfd, buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (real < 0)
                return cella_errno(err, errno, "open parent of \"%s\" in rootfs", path);
        _cleanup_close_ int f =
            openat(real, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f < 0 && errno != EEXIST)
                return cella_errno(err, errno, "create \"%s\" in rootfs", path);
        fd = fs_open_in_root(root_fd, path, O_PATH | O_NOFOLLOW, 0);
        if (fd < 0)
                return cella_errno(err, -fd, "open \"%s\" in rootfs", path);
        return fd;
}

int fs_read_fd(int fd, size_t max_size, char **ret_buf, size_t *ret_len)
{
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        if (cap > max_size)
                                return -EFBIG;
                        cap *= 2;
                        char *nb = realloc(buf, cap + 1);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (len > max_size)
                return -EFBIG;
        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        *ret_buf = TAKE_PTR(buf);
        return 0;
}

int fs_read_file_at(int dirfd, const char *path, size_t max_size, char **ret_buf, size_t *ret_len)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return fs_read_fd(fd, max_size, ret_buf, ret_len);
}

int fs_read_file(const char *path, size_t max_size, char **ret_buf, size_t *ret_len)
{
        return fs_read_file_at(AT_FDCWD, path, max_size, ret_buf, ret_len);
}

int fs_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int fs_write_file_at(int dirfd, const char *path, const char *buf, size_t len)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return fs_write_all(fd, buf, len);
}

int fs_write_file(const char *path, const char *buf, size_t len, mode_t mode)
{
        int flags = O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY | (mode ? O_CREAT : 0);
        _cleanup_close_ int fd = open(path, flags, mode);
        if (fd < 0)
                return -errno;
        return fs_write_all(fd, buf, len);
}

static int replace_at(int dirfd, const char *name, const char *buf, size_t len, mode_t mode,
                      bool sync)
{
        char tmp[300];
        if (snprintf(tmp, sizeof(tmp), ".%s.tmp.%d", name, getpid()) >= (int)sizeof(tmp))
                return -ENAMETOOLONG;
        _cleanup_close_ int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        int r = fs_write_all(fd, buf, len);
        if (r == 0 && sync && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0)
                unlinkat(dirfd, tmp, 0);
        return r;
}

int fs_write_atomic_at(int dirfd, const char *name, const char *buf, size_t len, mode_t mode)
{
        return replace_at(dirfd, name, buf, len, mode, true);
}

int fs_replace_at(int dirfd, const char *name, const char *buf, size_t len, mode_t mode)
{
        return replace_at(dirfd, name, buf, len, mode, false);
}

int fs_rm_rf_at(int dirfd, const char *name, dev_t dev)
{
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        if (st.st_dev != dev)
                return -EXDEV; /* a mount point: never descend into another filesystem */
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        /* A directory of ours we may not read (overlayfs leaves work/work mode 000): allow. */
        if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
                fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                int q = fs_rm_rf_at(fd, de->d_name, dev);
                if (q < 0 && r == 0)
                        r = q;
        }
        closedir(d);
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

int fs_rm_rf(const char *path)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        return fs_rm_rf_at(AT_FDCWD, path, st.st_dev);
}

bool fs_is_dir(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
