/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Moving images in and out of the store: OCI archives (a tar of an OCI layout), OCI layout
 * directories, and docker-archive tarballs (`docker save` format: manifest.json with Config,
 * RepoTags and Layers; both the classic "<id>/layer.tar" and the Docker 25+ "blobs/sha256/"
 * spelling).
 */

#include <stddef.h>

#include "base/error.h"
#include "manifest.h"
#include "reference.h"
#include "store.h"

struct img_loaded {
        char name[IMG_REF_NAME_MAX];
        struct img_descriptor desc;
};

/*
 * Loads path ("-": stdin; a directory: an OCI layout; else a tar, optionally compressed, that is
 * an OCI archive or a docker-archive). Every blob is verified before it is named. name, if
 * given, names the image (required when the archive names none; only with one image).
 */
int img_load(struct img_store *st, const char *path, const char *name, struct img_loaded **ret,
             size_t *ret_n, struct cella_error *err);

enum img_save_format {
        IMG_SAVE_OCI_ARCHIVE,
        IMG_SAVE_OCI_DIR,
        IMG_SAVE_DOCKER_ARCHIVE,
};

int img_save_format_parse(const char *s, enum img_save_format *ret, struct cella_error *err);

/*
 * Writes the named images (store names) to path ("-": stdout, archives only). A file is
 * written under a temporary name and renamed at the end; a directory must not exist yet. On
 * failure nothing is left behind. platform: for docker-archive (one manifest per image).
 */
int img_save(struct img_store *st, char *const *names, size_t n_names, const char *path,
             enum img_save_format format, const struct img_platform *platform,
             struct cella_error *err);
