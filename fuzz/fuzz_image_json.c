/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the image layer's parsers of untrusted text: manifests, indexes (with
 * platform selection), the media type sniffing, image references, platforms and the user
 * lookup in an image's /etc/passwd and /etc/group. Any input gives a result or a clean error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/manifest.h"
#include "image/reference.h"
#include "image/user.h"

static void check_err(int r, const struct cella_error *err)
{
        if (r < 0 && err->msg[0] == '\0')
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        char *text = malloc(size);
        if (!text)
                return 0;
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        struct cella_error err = {0};
        int r;
        switch (data[0] % 5) {
        case 0: {
                struct img_manifest m;
                r = img_manifest_parse(text, size - 1 ? size - 1 : 1, &m, &err);
                if (r == 0)
                        img_manifest_free(&m);
                break;
        }
        case 1: {
                struct img_index idx;
                r = img_index_parse(text, size - 1 ? size - 1 : 1, &idx, &err);
                if (r == 0) {
                        struct img_platform p;
                        size_t i;
                        img_platform_host(&p);
                        if (img_index_select(&idx, &p, &i, &err) == 0 && i >= idx.n_manifests)
                                abort();
                        img_index_free(&idx);
                }
                break;
        }
        case 2: {
                char mt[128];
                r = img_document_media_type(text, size - 1 ? size - 1 : 1, mt, &err);
                break;
        }
        case 3: {
                struct img_ref ref;
                char buf[IMG_REF_NAME_MAX];
                r = img_ref_parse(text, &ref, &err);
                if (r == 0) {
                        img_ref_format(&ref, buf);
                        struct img_ref again;
                        /* A formatted reference parses back to itself. */
                        if (img_ref_parse(buf, &again, &err) != 0 ||
                            memcmp(&ref, &again, sizeof(ref)) != 0)
                                abort();
                }
                struct img_platform p;
                check_err(img_platform_parse(text, &p, &err), &err);
                break;
        }
        default: {
                /* "spec\npasswd\0group": split the input into the three strings */
                char *nl = strchr(text, '\n');
                const char *passwd = nl ? nl + 1 : "";
                if (nl)
                        *nl = '\0';
                const char *group = passwd + strlen(passwd);
                struct img_user u;
                r = img_user_resolve(text, passwd, group, &u, &err);
                if (r == 0 && u.n_groups > IMG_USER_MAX_GROUPS)
                        abort();
                break;
        }
        }
        check_err(r, &err);
        free(text);
        return 0;
}
