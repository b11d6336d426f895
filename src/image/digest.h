/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Content digests ("sha256:<64 lowercase hex>", the only algorithm the OCI image spec requires
 * and the only one this store accepts) and streaming SHA-256 over OpenSSL's libcrypto.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define IMG_DIGEST_MAX 72 /* "sha256:" + 64 hex + NUL, rounded up */

/* Validates a digest string; on failure err says what is wrong with it. */
int img_digest_check(const char *digest, struct cella_error *err);
bool img_digest_valid(const char *digest);

/* The 64 hex characters of a valid digest (a pointer into digest). */
const char *img_digest_hex(const char *digest);

struct img_sha256 {
        void *ctx; /* EVP_MD_CTX, kept opaque so callers do not include OpenSSL headers */
};

int img_sha256_init(struct img_sha256 *h);
void img_sha256_update(struct img_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out and frees the context. */
void img_sha256_final(struct img_sha256 *h, char out[static IMG_DIGEST_MAX]);
/* Frees the context without a result (error paths); safe to call twice. */
void img_sha256_free(struct img_sha256 *h);

int img_sha256_buf(const void *data, size_t len, char out[static IMG_DIGEST_MAX]);

/* Returns 0 if data hashes to expected, else -EBADMSG with "digest mismatch on <what>...". */
int img_digest_verify_buf(const void *data, size_t len, const char *expected, const char *what,
                          struct cella_error *err);
