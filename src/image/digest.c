/* SPDX-License-Identifier: Apache-2.0 */
#include "digest.h"

#include <openssl/evp.h>
#include <string.h>

int img_digest_check(const char *digest, struct cella_error *err)
{
        if (!digest || !*digest)
                return cella_err(err, EINVAL, "empty digest");
        const char *colon = strchr(digest, ':');
        if (!colon)
                return cella_err(err, EINVAL, "invalid digest \"%.80s\": expected \"sha256:<hex>\"",
                                 digest);
        if ((size_t)(colon - digest) != 6 || strncmp(digest, "sha256", 6) != 0)
                return cella_err(
                    err, ENOTSUP,
                    "unsupported digest algorithm in \"%.80s\": only sha256 is supported", digest);
        const char *hex = colon + 1;
        size_t n = strlen(hex);
        if (n != 64)
                return cella_err(
                    err, EINVAL,
                    "invalid digest \"%.80s\": sha256 needs 64 hex characters, got %zu", digest, n);
        for (size_t i = 0; i < n; i++) {
                if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
                        return cella_err(
                            err, EINVAL,
                            "invalid digest \"%.80s\": not lowercase hex at position %zu", digest,
                            i);
        }
        return 0;
}

bool img_digest_valid(const char *digest)
{
        return img_digest_check(digest, NULL) == 0;
}

const char *img_digest_hex(const char *digest)
{
        const char *colon = strchr(digest, ':');
        return colon ? colon + 1 : digest;
}

int img_sha256_init(struct img_sha256 *h)
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(ctx);
                return -EIO;
        }
        h->ctx = ctx;
        return 0;
}

void img_sha256_update(struct img_sha256 *h, const void *data, size_t len)
{
        if (h->ctx && len > 0)
                EVP_DigestUpdate(h->ctx, data, len);
}

void img_sha256_final(struct img_sha256 *h, char out[static IMG_DIGEST_MAX])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        static const char xd[] = "0123456789abcdef";
        EVP_DigestFinal_ex(h->ctx, md, &n);
        memcpy(out, "sha256:", 7);
        for (unsigned int i = 0; i < n && i < 32; i++) {
                out[7 + 2 * i] = xd[md[i] >> 4];
                out[8 + 2 * i] = xd[md[i] & 15];
        }
        out[7 + 64] = '\0';
        img_sha256_free(h);
}

void img_sha256_free(struct img_sha256 *h)
{
        if (h->ctx)
                EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
}

int img_sha256_buf(const void *data, size_t len, char out[static IMG_DIGEST_MAX])
{
        struct img_sha256 h;
        int r = img_sha256_init(&h);
        if (r < 0)
                return r;
        img_sha256_update(&h, data, len);
        img_sha256_final(&h, out);
        return 0;
}

int img_digest_verify_buf(const void *data, size_t len, const char *expected, const char *what,
                          struct cella_error *err)
{
        char got[IMG_DIGEST_MAX];
        int r = img_sha256_buf(data, len, got);
        if (r < 0)
                return cella_errno(err, -r, "hash %s", what);
        if (strcmp(got, expected) != 0)
                return cella_err(err, EBADMSG,
                                 "digest mismatch on %s: expected %s, got %s (the content is "
                                 "corrupt or was tampered with)",
                                 what, expected, got);
        return 0;
}
