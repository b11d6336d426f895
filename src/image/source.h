/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Where an image's blobs come from: the local store, an OCI layout directory, or the busybox
 * image embedded in cella-image. Everything above (resolving a manifest, unpacking, bundling)
 * only needs "give me the blob with this digest".
 */

#include "base/error.h"
#include "manifest.h"

struct img_source {
        /* Returns a readable fd positioned at the start of the blob's content. */
        int (*open_blob)(struct img_source *src, const char *digest, int *ret_fd,
                         struct cella_error *err);
        void (*free)(struct img_source *src);
};

static inline void img_source_freep(struct img_source **s)
{
        if (*s && (*s)->free)
                (*s)->free(*s);
}

/* The busybox image built from Debian's busybox-static and embedded at build time. */
int img_source_embedded(struct img_source **ret, struct img_descriptor *ret_top,
                        struct cella_error *err);

/* An OCI image layout directory; ret_top is the index.json entry matching ref ("" or NULL: the
 * only one, or the one named "latest"). */
int img_source_oci_layout(const char *dir, const char *ref, struct img_source **ret,
                          struct img_descriptor *ret_top, struct cella_error *err);

/* Reads a small (JSON) blob whole, checking size and digest against the descriptor. */
int img_read_blob(struct img_source *src, const struct img_descriptor *d, char **ret_buf,
                  size_t *ret_len, struct cella_error *err);

/*
 * Follows top (an index or a manifest) to the image manifest for platform (NULL: the host) and
 * returns it with its config document.
 */
int img_resolve(struct img_source *src, const struct img_descriptor *top,
                const struct img_platform *platform, struct img_manifest *ret_manifest,
                char **ret_config, size_t *ret_config_len, struct cella_error *err);
