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

/*
 * The same with DIR/rootfs an overlay mount of the image's layer snapshots (made once in st,
 * shared by every bundle of the image) with DIR/.upper for the container's changes: no copy per
 * container. Root only. img_bundle_remove() undoes either kind of bundle.
 */
int img_bundle_create_overlay(struct img_store *st, struct img_source *src,
                              const struct img_descriptor *top, const char *dir,
                              const struct img_bundle_opts *opts, struct cella_error *err);

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
