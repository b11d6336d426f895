/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A layer blob read from an fd and decompressed by us (gzip via zlib, zstd via libzstd; other
 * data is passed through), so that both digests can be checked as the bytes go by: the blob
 * digest over the stream as read and the diff_id over the uncompressed tar.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"
#include "digest.h"

struct layer_stream;

int img_layer_stream_new(int fd, struct layer_stream **ret);
void img_layer_stream_free(struct layer_stream *s);

/* Decompresses and hashes in a thread of its own from now on (reads then come from a ring of
 * buffers the thread fills). */
int img_layer_stream_start_thread(struct layer_stream *s);

/* Next chunk of uncompressed data (valid until the next call); 0 at the end; -errno with err. */
ssize_t img_layer_stream_read(struct layer_stream *s, const void **ret_buf,
                              struct cella_error *err);

/* Reads (and hashes) whatever is left, then returns both digests. */
int img_layer_stream_finish(struct layer_stream *s, char digest[static IMG_DIGEST_MAX],
                            char diff_id[static IMG_DIGEST_MAX], struct cella_error *err);

/* "gzip", "zstd" or "none" (valid after the first read). */
const char *img_layer_stream_codec(const struct layer_stream *s);
