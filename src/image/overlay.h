/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The ways a bundle's rootfs can be an overlay of layer snapshots (the snapshotters), all with
 * the container's changes in DIR/.upper (work directory DIR/.work):
 *
 *   overlay         mount(2) of overlayfs at bundle time (root);
 *   overlay, in     rootless: an unprivileged user can mount overlayfs only in a user namespace
 *   the container   of its own (Linux 5.11+), which dies with the command. The bundle carries the
 *                   options in the annotation io.cella.rootfs.overlay and the runtime mounts them
 *                   in the container's mount namespace (src/linux/overlay.c). At bundle time the
 *                   same mount is tried once in a throwaway user namespace, to fail early (and to
 *                   fall back under --snapshotter auto) and to read the image's /etc/passwd
 *                   through the merged view;
 *   fuse-overlayfs  the FUSE implementation, mounted at bundle time (root, or a user through the
 *                   setuid fusermount3), for kernels or filesystems that refuse overlayfs.
 */

#include <stdbool.h>

#include "base/error.h"

/* "lowerdir=L1:L2...,upperdir=DIR/.upper,workdir=DIR/.work[,userxattr]" (DIR absolute). */
int img_overlay_options(char *const *lowers, const char *dir, bool userxattr, char **ret,
                        struct cella_error *err);

/* mount(2) of overlayfs with opts on target (root). */
int img_overlay_mount_native(const char *opts, const char *target, struct cella_error *err);

/*
 * Mounts overlayfs with opts on target in a new user and mount namespace of a child process
 * (the caller mapped to root) and returns an O_PATH fd of the merged view; the mount is gone
 * from every namespace when the fd is closed.
 */
int img_overlay_mount_userns(const char *opts, const char *target, int *ret_fd,
                             struct cella_error *err);

/*
 * Runs fuse-overlayfs (found in PATH) to mount opts on target. Root adds allow_other, so that
 * container users other than root may use the mount. ENOENT: fuse-overlayfs is not installed.
 */
int img_overlay_mount_fuse(const char *opts, const char *target, struct cella_error *err);

/*
 * Unmounts target if something is mounted there: umount2(), or `fusermount3 -u` for a FUSE
 * mount when not root. Returns 0 if nothing was mounted.
 */
int img_rootfs_unmount(const char *target, struct cella_error *err);
