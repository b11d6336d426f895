/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Layer snapshots for overlayfs: each layer unpacked once, in overlay form, into
 * ROOT/image/snapshots/<chain id hex>[.user]/fs (".user": whiteouts for rootless overlay with
 * userxattr). The chain id (image spec: ChainID(L0) = DiffID(L0), ChainID(L0..n) =
 * sha256(ChainID(L0..n-1) + " " + DiffID(n))) names a layer together with everything below it,
 * so images sharing a base share its snapshots. A snapshot is made in a temp directory and
 * renamed into place when complete; concurrent makers of the same snapshot are safe (the
 * first rename wins). Garbage collection (prune) removes snapshots no named image needs.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "manifest.h"
#include "source.h"
#include "store.h"

/* Chain ids from diff ids (n each); ret must hold n digests. */
int img_chain_ids(char *const *diff_ids, size_t n, char (*ret)[IMG_DIGEST_MAX]);

/*
 * Makes sure every layer of the image has a snapshot; returns the lower directories for an
 * overlay mount, top layer first, as a NULL-terminated malloc'd array of malloc'd strings.
 */
int img_snapshot_prepare(struct img_store *st, struct img_source *src,
                         const struct img_descriptor *top, const struct img_platform *platform,
                         bool rootless, char ***ret_lowers, struct cella_error *err);
