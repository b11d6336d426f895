/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Safe layer unpacking. libarchive only *reads* the tar stream (plain, gzip, zstd, xz, bzip2);
 * every write goes through our own code: each entry's parent directory is resolved with
 * openat2(RESOLVE_IN_ROOT) below the target and the entry itself is created with *at() calls that
 * never follow its final component. So no entry (absolute path, "..", symlinked parent, symlink
 * then file through it, hard link to an outside file) can write outside the target.
 *
 * Whiteouts follow the OCI image spec: ".wh.NAME" deletes NAME from lower layers, ".wh..wh..opq"
 * hides everything the lower layers put in its directory. Both are honoured in any tar order:
 * entries written by the current layer are remembered and never removed by its own whiteouts.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct img_unpack_opts {
        /* Not root on the host: no chown, device nodes skipped, directories kept u+rwx. */
        bool rootless;
        /* Optional: sha256 of the stream as read (the blob digest) and of the uncompressed tar
         * (the diff_id). A mismatch fails the unpack after the whole stream was read. */
        const char *digest;
        const char *diff_id;
        /* What to call the layer in error messages (e.g. its digest); may be NULL. */
        const char *name;
        /*
         * Overlay form, for a snapshot directory used as an overlayfs lower layer: the layer goes
         * into an empty directory of its own, whiteouts become 0:0 character devices and opaque
         * markers the xattr "<prefix>overlay.opaque" = "y" (prefix "trusted." for root, "user."
         * for rootless overlay mounted with userxattr). NULL: whiteouts delete (a flat rootfs).
         */
        const char *overlay_xattr_prefix;
        /* Overlay form: the snapshot directories below (top first). A directory this layer only
         * implies (an entry below it but no entry for it) takes their metadata, as it would
         * otherwise hide the real directory's mode and owner in the merged view. */
        const int *lower_fds;
        size_t n_lower;
};

struct img_unpack_stats {
        uint64_t entries;
        uint64_t bytes;           /* regular file content written */
        uint64_t skipped_devices; /* device nodes not created (rootless) */
        uint64_t whiteouts;
};

/*
 * Applies one layer read from layer_fd (a tar, optionally compressed) onto the directory
 * root_fd. On error the target may hold part of the layer: callers unpack into a fresh
 * directory and remove it on failure. stats may be NULL.
 */
int img_unpack_layer(int root_fd, int layer_fd, const struct img_unpack_opts *opts,
                     struct img_unpack_stats *stats, struct cella_error *err);

/* Pure helpers, exported for unit tests. */

/*
 * Lexically cleans a tar entry name into a path relative to the target root: leading "/" and
 * "./" dropped, "." and empty components removed, ".." removes the previous component and is
 * clamped at the root (so "../../etc" is "etc"). Returns a malloc'd string ("" is the root).
 */
int img_path_clean(const char *name, char **ret);

enum img_whiteout {
        IMG_WHITEOUT_NONE,
        IMG_WHITEOUT_FILE,   /* ".wh.NAME": delete NAME */
        IMG_WHITEOUT_OPAQUE, /* ".wh..wh..opq": hide the lower layers' content of the directory */
        IMG_WHITEOUT_INVALID /* ".wh." prefix with an empty, ".", ".." or other ".wh..wh." name */
};

/* Classifies a base name; for IMG_WHITEOUT_FILE ret_target (if non-NULL) points at NAME. */
enum img_whiteout img_whiteout_kind(const char *base, const char **ret_target);
