/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A rootfs the runtime mounts as overlayfs itself, in the container's own mount namespace,
 * instead of binding root.path: the bundle names the layers in the annotation
 *
 *     io.cella.rootfs.overlay = lowerdir=/top:/below[:...][,upperdir=/u,workdir=/w][,userxattr]
 *
 * (written by `cella image bundle --snapshotter overlay` when not root). An unprivileged user
 * can mount overlayfs only inside a user namespace of its own (Linux 5.11+), so such a mount
 * cannot be made at bundle time and outlive the command; made here, it exists for exactly as
 * long as the container. In a user namespace the mount gets `userxattr` (whiteouts and opaque
 * markers as user.overlay.*, which is how `cella image snapshot --rootless` writes them).
 *
 * The value is checked strictly before anything is mounted: only the four options above, each
 * once; absolute, normalised paths without ',' ':' '\' or control characters (the overlay
 * option syntax has no other way to be tricked into extra options or layers); upperdir and
 * workdir together or not at all; every directory must exist.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

struct oci_spec;

#define LNX_OVERLAY_ANNOTATION "io.cella.rootfs.overlay"
#define LNX_OVERLAY_MAX_LOWERS 500  /* overlayfs' own limit */
#define LNX_OVERLAY_DATA_MAX   4096 /* mount(2) takes one page of options */

struct lnx_overlay {
        char data[LNX_OVERLAY_DATA_MAX]; /* the mount options, ready for mount(2) */
        char buf[LNX_OVERLAY_DATA_MAX];  /* the value, split in place; paths point into it */
        const char *lowers[LNX_OVERLAY_MAX_LOWERS];
        size_t n_lowers;
        const char *upper, *work; /* both NULL for a read-only overlay */
        bool userxattr;
};

/* Parses and checks an annotation value (pure: no filesystem access). userns adds userxattr. */
int lnx_overlay_parse(const char *value, bool userns, struct lnx_overlay *ret,
                      struct cella_error *err);

/*
 * If the spec carries the annotation, mounts the overlay on rootfs and returns 1; returns 0
 * when there is none (the caller binds root.path as usual). Errors name the annotation.
 */
int lnx_overlay_mount_rootfs(const struct oci_spec *spec, const char *rootfs, bool userns,
                             struct cella_error *err);
