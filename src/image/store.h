/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The local image store, ROOT/image/ (ROOT: /var/lib/cella, rootless $XDG_DATA_HOME/cella). It
 * is itself an OCI image layout, so skopeo and umoci can read it (`oci:ROOT/image:NAME`):
 *
 *   oci-layout, index.json       names -> manifest or index descriptors (annotation
 *                                io.containerd.image.name holds the full name)
 *   blobs/sha256/<hex>           content, named by its sha256
 *   index.lock, gc.lock          flock(2) locks
 *   ingest/                      named temp files where O_TMPFILE is not supported
 *
 * Crash safety: a blob is written to an unnamed O_TMPFILE, fsync'd, checked against its digest
 * and only then linked under its name (link(2) is atomic, an existing blob wins); index.json is
 * replaced by rename(2) of an fsync'd temp file under index.lock. kill -9 at any moment leaves
 * the old or the new state. Every store user holds gc.lock shared while it works; garbage
 * collection takes it exclusively, so it never deletes a blob a writer has not yet named.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "digest.h"
#include "manifest.h"
#include "reference.h"
#include "source.h"

struct img_store;

/* The default ROOT for this user (malloc'd). */
char *img_store_default_root(void);

int img_store_open(const char *root, struct img_store **ret, struct cella_error *err);
void img_store_free(struct img_store *st);
static inline void img_store_freep(struct img_store **st)
{
        if (*st)
                img_store_free(*st);
}
const char *img_store_dir(const struct img_store *st);

/* ---- blobs ---- */

struct img_ingest {
        int fd;
        char tmpname[64]; /* "" for an O_TMPFILE */
        struct img_sha256 hash;
        uint64_t size;
};

int img_ingest_begin(struct img_store *st, struct img_ingest *ig, struct cella_error *err);
int img_ingest_write(struct img_ingest *ig, const void *buf, size_t len, struct cella_error *err);
/*
 * Finishes the blob: fsync, digest check against expected (NULL: accept any), link into place.
 * ret_digest (may be NULL) gets the digest. The ingest is finished either way.
 */
int img_ingest_commit(struct img_store *st, struct img_ingest *ig, const char *expected,
                      char *ret_digest, struct cella_error *err);
void img_ingest_abort(struct img_store *st, struct img_ingest *ig);
/* Starts the ingest over (a download that must restart from byte 0). */
int img_ingest_reset(struct img_ingest *ig);

int img_store_put_blob(struct img_store *st, const void *buf, size_t len, const char *expected,
                       char *ret_digest, struct cella_error *err);
bool img_store_has_blob(struct img_store *st, const char *digest);
int img_store_open_blob(struct img_store *st, const char *digest, int *ret_fd,
                        struct cella_error *err);
/* The store as an image source (owned by the store; do not free). */
struct img_source *img_store_source(struct img_store *st);

/* ---- names ---- */

struct img_store_image {
        char name[IMG_REF_NAME_MAX]; /* normalised, e.g. docker.io/library/busybox:latest */
        struct img_descriptor desc;
        char created[40];
};

/* Points name (normalised) at desc, replacing what it pointed at. */
int img_store_tag(struct img_store *st, const char *name, const struct img_descriptor *desc,
                  struct cella_error *err);
int img_store_untag(struct img_store *st, const char *name, struct cella_error *err);
/* name: a reference (normalised here) or a manifest digest. -ENOENT if unknown. */
int img_store_lookup(struct img_store *st, const char *name, struct img_store_image *ret,
                     struct cella_error *err);
int img_store_list(struct img_store *st, struct img_store_image **ret, size_t *ret_n,
                   struct cella_error *err);

/* ---- garbage collection ---- */

struct img_gc_stats {
        uint64_t blobs_removed;
        uint64_t bytes_freed;
        uint64_t snapshots_removed;
};

/*
 * Records in ROOT/image/bundles/<sha256 of DIR> that the overlay bundle DIR (absolute) uses the
 * snapshots lowers: GC keeps them as long as DIR/.upper exists, which it cannot see in
 * /proc/self/mountinfo for a FUSE mount or an overlay the runtime mounts in a container.
 */
int img_store_note_bundle(struct img_store *st, const char *dir, char *const *lowers,
                          struct cella_error *err);

/* Removes every blob no name reaches, and leftover temp files. */
int img_store_gc(struct img_store *st, struct img_gc_stats *ret, struct cella_error *err);

/* The same, but only if no other process uses the store right now (after a failed operation,
 * to leave nothing behind without waiting). */
void img_store_gc_if_idle(struct img_store *st);

/* Sum of the sizes of config and layers of the image for platform (NULL: host). */
int img_store_image_size(struct img_store *st, const struct img_descriptor *top, int64_t *ret_size,
                         struct cella_error *err);
