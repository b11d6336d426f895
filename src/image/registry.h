/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Pull and push against registries (OCI distribution spec). A pull downloads the config and
 * layers (in parallel, resumed with Range after a broken transfer, each verified against its
 * digest before it is stored), then stores the manifest (and index) and only then names the
 * image. A push uploads missing blobs (monolithic, or chunked with --chunk-size; cross-repository
 * mount when the source image lives in the same registry), then the manifest.
 */

#include <stddef.h>

#include "base/error.h"
#include "http.h"
#include "manifest.h"
#include "reference.h"
#include "store.h"

enum img_progress {
        IMG_PROGRESS_NONE,
        IMG_PROGRESS_TTY,  /* per-layer lines rewritten in place on stderr */
        IMG_PROGRESS_JSON, /* one JSON object per line on stderr */
};

struct img_registry_opts {
        struct reg_opts reg;
        const struct img_platform *platform; /* NULL: this machine */
        enum img_progress progress;
        int parallel;      /* concurrent blob transfers (default 3) */
        size_t chunk_size; /* push: 0 = monolithic upload */
};

int img_pull(struct img_store *st, const char *ref, const struct img_registry_opts *o,
             char ret_name[static IMG_REF_NAME_MAX], struct cella_error *err);

/* Pushes the store image src to dest (NULL: src's own name). */
int img_push(struct img_store *st, const char *src, const char *dest,
             const struct img_registry_opts *o, struct cella_error *err);

/* Fetches the manifest for the platform and the config of a remote image, as a JSON object
 * like `cella image inspect` prints (malloc'd text). */
int img_remote_inspect(const char *ref, const struct img_registry_opts *o, char **ret_json,
                       struct cella_error *err);

/* The tags of a remote repository, one per line (malloc'd text). */
int img_remote_tags(const char *repo, const struct img_registry_opts *o, char **ret_text,
                    struct cella_error *err);

/* Checks the credentials against the registry, then stores them (login) or removes them. */
int img_login(const char *registry, const char *user, const char *pass,
              const struct img_registry_opts *o, struct cella_error *err);
int img_logout(const char *registry, const struct img_registry_opts *o, struct cella_error *err);
