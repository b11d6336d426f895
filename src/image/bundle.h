/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Image -> OCI runtime bundle (like `umoci unpack`): DIR/rootfs with the layers applied and
 * DIR/config.json built from the image config on top of the hardened defaults of `cella spec`.
 */

#include <stdbool.h>

#include "base/error.h"
#include "manifest.h"
#include "source.h"

struct json_object;

struct img_bundle_opts {
        bool rootless;
        bool terminal;     /* process.terminal */
        char *const *args; /* replaces the image's Cmd (like `docker run IMG CMD`) */
        const struct img_platform *platform; /* NULL: the host's */
};

/*
 * Creates DIR (if missing), DIR/rootfs and DIR/config.json. DIR/rootfs and DIR/config.json must
 * not exist. On failure nothing is left behind (DIR itself is removed if this call made it).
 */
int img_bundle_create(struct img_source *src, const struct img_descriptor *top, const char *dir,
                      const struct img_bundle_opts *opts, struct cella_error *err);

struct img_store;

enum img_snapshotter {
        IMG_SNAPSHOTTER_COPY,
        IMG_SNAPSHOTTER_OVERLAY,
        IMG_SNAPSHOTTER_FUSE_OVERLAYFS,
        IMG_SNAPSHOTTER_AUTO, /* overlay, else fuse-overlayfs, else copy */
};

/* "copy", "overlay", "fuse-overlayfs", "auto"; and back (-1: unknown name). */
const char *img_snapshotter_name(enum img_snapshotter s);
int img_snapshotter_from_name(const char *name);

struct img_bundle_result {
        enum img_snapshotter used;
        bool in_container; /* overlay: mounted by the runtime in the container (rootless) */
        /* --snapshotter auto: why overlay and fuse-overlayfs were passed over (or "") */
        char skipped[2][CELLA_ERROR_MSG_MAX];
};

/*
 * The same with DIR/rootfs an overlay of the image's layer snapshots (made once in st, shared
 * by every bundle of the image) and DIR/.upper, DIR/.work for the container's changes: no copy
 * per container. How (see overlay.h): overlay, mounted now when root; rootless (opts->rootless
 * or not root), DIR/rootfs stays an empty directory and config.json carries the annotation
 * io.cella.rootfs.overlay for the runtime to mount it in the container; fuse-overlayfs, mounted
 * now. want AUTO tries them in that order and falls back to img_bundle_create(); want COPY is
 * img_bundle_create(). img_bundle_remove() undoes any kind of bundle.
 */
int img_bundle_create_snapshot(struct img_store *st, struct img_source *src,
                               const struct img_descriptor *top, const char *dir,
                               const struct img_bundle_opts *opts, enum img_snapshotter want,
                               struct img_bundle_result *ret, struct cella_error *err);

/* Unmounts an overlay rootfs if there is one and removes DIR/rootfs, DIR/.upper, DIR/.work and
 * DIR/config.json (and DIR, if then empty). */
int img_bundle_remove(const char *dir, struct cella_error *err);

/*
 * Applies an image config document (the "config" object of an image config blob: Entrypoint,
 * Cmd, Env, User, WorkingDir, Labels, ...) to a runtime spec. rootfs_fd (or -1) is used to look
 * up user names in the image's /etc/passwd and /etc/group.
 */
int img_spec_apply_config(struct json_object *spec, struct json_object *image_config, int rootfs_fd,
                          const struct img_bundle_opts *opts, struct cella_error *err);

/* The base spec: oci_default_spec() once it exists in the oci layer. */
struct json_object *img_default_spec(bool rootless);
