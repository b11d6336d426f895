/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Safe path and fd helpers. Anything that resolves a path chosen by a container image or a
 * config (mount targets, device nodes, layer entries) goes through openat2(RESOLVE_IN_ROOT) so
 * that symlinks and ".." are resolved as if the root fd were "/" and can never escape it
 * (the CVE-2021-30465 class).
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* openat2(root_fd, path, flags|O_CLOEXEC, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS). */
int fs_open_in_root(int root_fd, const char *path, int flags, mode_t mode);

/*
 * Creates every missing component of path below root_fd (resolved in root) as directories,
 * and returns an O_PATH fd of the final directory. mode applies to created directories.
 */
int fs_mkdir_p_in_root(int root_fd, const char *path, mode_t mode, struct cella_error *err);

/*
 * Makes sure path exists below root_fd as a directory (is_dir) or a regular file, creating
 * parents as needed, and returns an O_PATH fd to it, resolved in root and never a symlink.
 */
int fs_ensure_in_root(int root_fd, const char *path, bool is_dir, struct cella_error *err);

/* "/proc/self/fd/N", the way to hand an fd to mount(2) and friends. buf: at least 32 bytes. */
const char *fs_fd_path(int fd, char buf[static 32]);

/* Reads fd to its end into a NUL-terminated malloc'd buffer; -EFBIG past max_size bytes. */
int fs_read_fd(int fd, size_t max_size, char **ret_buf, size_t *ret_len);
/* The same for a whole file. */
int fs_read_file(const char *path, size_t max_size, char **ret_buf, size_t *ret_len);
int fs_read_file_at(int dirfd, const char *path, size_t max_size, char **ret_buf, size_t *ret_len);

/* Writes the whole buffer to path (O_WRONLY|O_TRUNC, no create unless mode != 0). */
int fs_write_file(const char *path, const char *buf, size_t len, mode_t mode);
int fs_write_file_at(int dirfd, const char *path, const char *buf, size_t len);

/* Writes via a temp file + fsync + rename in the same directory: old or new, never half. */
int fs_write_atomic_at(int dirfd, const char *name, const char *buf, size_t len, mode_t mode);

/*
 * Like fs_write_atomic_at (readers see old or new, never half) but without fsync: for runtime
 * state under /run, which does not outlive the machine, so surviving power loss buys nothing.
 */
int fs_replace_at(int dirfd, const char *name, const char *buf, size_t len, mode_t mode);

/* Full write, retrying on EINTR and short writes. */
int fs_write_all(int fd, const void *buf, size_t len);

/* Recursively removes the directory tree path (does not cross mount points). */
int fs_rm_rf(const char *path);
/*
 * The same for name below dirfd, never following symlinks nor leaving filesystem dev (-EXDEV
 * at a mount point). Goes on past errors and returns the first.
 */
int fs_rm_rf_at(int dirfd, const char *name, dev_t dev);

/* Is path a directory? */
bool fs_is_dir(const char *path);
