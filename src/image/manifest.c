/* SPDX-License-Identifier: Apache-2.0 */
#include "manifest.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "base/json.h"

bool img_media_type_is_index(const char *mt)
{
        return strcmp(mt, IMG_MT_OCI_INDEX) == 0 || strcmp(mt, IMG_MT_DOCKER_LIST) == 0;
}

bool img_media_type_is_manifest(const char *mt)
{
        return strcmp(mt, IMG_MT_OCI_MANIFEST) == 0 || strcmp(mt, IMG_MT_DOCKER_MANIFEST) == 0;
}

static const char *get_str(struct json_object *o, const char *key)
{
        struct json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int copy_str(char *dst, size_t cap, const char *src, const char *what,
                    struct cella_error *err)
{
        size_t n = strlen(src);
        if (n >= cap)
                return cella_err(err, EINVAL, "%s is too long (%zu bytes)", what, n);
        memcpy(dst, src, n + 1);
        return 0;
}

static int parse_platform(struct json_object *o, struct img_platform *p, struct cella_error *err)
{
        const char *os = get_str(o, "os"), *arch = get_str(o, "architecture");
        const char *variant = get_str(o, "variant");
        if (!os || !arch)
                return cella_err(err, EINVAL, "platform lacks \"os\" or \"architecture\"");
        int r = copy_str(p->os, sizeof(p->os), os, "platform os", err);
        if (r == 0)
                r = copy_str(p->arch, sizeof(p->arch), arch, "platform architecture", err);
        if (r == 0)
                r = copy_str(p->variant, sizeof(p->variant), variant ? variant : "",
                             "platform variant", err);
        return r;
}

int img_descriptor_parse(struct json_object *o, struct img_descriptor *d, const char *what,
                         struct cella_error *err)
{
        memset(d, 0, sizeof(*d));
        if (!json_object_is_type(o, json_type_object))
                return cella_err(err, EINVAL, "%s is not an object", what);
        const char *mt = get_str(o, "mediaType"), *digest = get_str(o, "digest");
        struct json_object *size;
        if (!mt || !digest)
                return cella_err(err, EINVAL, "%s lacks \"mediaType\" or \"digest\"", what);
        if (!json_object_object_get_ex(o, "size", &size) ||
            !json_object_is_type(size, json_type_int) || json_object_get_int64(size) < 0)
                return cella_err(err, EINVAL, "%s lacks a valid \"size\"", what);
        d->size = json_object_get_int64(size);
        int r = copy_str(d->media_type, sizeof(d->media_type), mt, "media type", err);
        if (r == 0 && img_digest_check(digest, err) < 0)
                r = cella_err_prefix(err, "%s", what);
        if (r < 0)
                return r;
        strcpy(d->digest, digest);
        struct json_object *plat, *ann;
        if (json_object_object_get_ex(o, "platform", &plat)) {
                r = parse_platform(plat, &d->platform, err);
                if (r < 0)
                        return cella_err_prefix(err, "%s", what);
                d->has_platform = true;
        }
        if (json_object_object_get_ex(o, "annotations", &ann) &&
            json_object_is_type(ann, json_type_object)) {
                const char *ref = get_str(ann, "org.opencontainers.image.ref.name");
                const char *name = get_str(ann, "io.containerd.image.name");
                if (ref && strlen(ref) < sizeof(d->ref_name))
                        strcpy(d->ref_name, ref);
                if (name && strlen(name) < sizeof(d->image_name))
                        strcpy(d->image_name, name);
        }
        return 0;
}

static int parse_descriptor_array(struct json_object *root, const char *key, bool required,
                                  struct img_descriptor **ret, size_t *ret_n,
                                  struct cella_error *err)
{
        struct json_object *arr;
        *ret = NULL;
        *ret_n = 0;
        if (!json_object_object_get_ex(root, key, &arr) || json_object_is_type(arr, json_type_null))
                return required ? cella_err(err, EINVAL, "missing \"%s\"", key) : 0;
        if (!json_object_is_type(arr, json_type_array))
                return cella_err(err, EINVAL, "\"%s\" is not an array", key);
        size_t n = json_object_array_length(arr);
        struct img_descriptor *v = calloc(n ? n : 1, sizeof(*v));
        if (!v)
                return cella_err(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                char what[64];
                snprintf(what, sizeof(what), "%s[%zu]", key, i);
                int r = img_descriptor_parse(json_object_array_get_idx(arr, i), &v[i], what, err);
                if (r < 0) {
                        free(v);
                        return r;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int check_schema(struct json_object *root, struct cella_error *err)
{
        struct json_object *v;
        if (!json_object_is_type(root, json_type_object))
                return cella_err(err, EINVAL, "not a JSON object");
        if (!json_object_object_get_ex(root, "schemaVersion", &v) || json_object_get_int(v) != 2)
                return cella_err(err, ENOTSUP, "unsupported schemaVersion (only 2 is supported)");
        return 0;
}

int img_manifest_parse(const char *buf, size_t len, struct img_manifest *ret,
                       struct cella_error *err)
{
        struct json_object *root = NULL;
        memset(ret, 0, sizeof(*ret));
        int r = json_parse_text(buf, len, &root, err);
        if (r < 0)
                return cella_err_prefix(err, "parse image manifest");
        r = check_schema(root, err);
        struct json_object *cfg;
        if (r == 0 && !json_object_object_get_ex(root, "config", &cfg))
                r = cella_err(err, EINVAL, "missing \"config\"");
        if (r == 0)
                r = img_descriptor_parse(cfg, &ret->config, "config", err);
        if (r == 0)
                r = parse_descriptor_array(root, "layers", true, &ret->layers, &ret->n_layers, err);
        json_object_put(root);
        if (r < 0)
                return cella_err_prefix(err, "image manifest");
        return 0;
}

void img_manifest_free(struct img_manifest *m)
{
        free(m->layers);
        m->layers = NULL;
        m->n_layers = 0;
}

int img_index_parse(const char *buf, size_t len, struct img_index *ret, struct cella_error *err)
{
        struct json_object *root = NULL;
        memset(ret, 0, sizeof(*ret));
        int r = json_parse_text(buf, len, &root, err);
        if (r < 0)
                return cella_err_prefix(err, "parse image index");
        r = check_schema(root, err);
        if (r == 0)
                r = parse_descriptor_array(root, "manifests", true, &ret->manifests,
                                           &ret->n_manifests, err);
        json_object_put(root);
        if (r < 0)
                return cella_err_prefix(err, "image index");
        return 0;
}

void img_index_free(struct img_index *idx)
{
        free(idx->manifests);
        idx->manifests = NULL;
        idx->n_manifests = 0;
}

int img_document_media_type(const char *buf, size_t len, char ret[static 128],
                            struct cella_error *err)
{
        struct json_object *root = NULL;
        int r = json_parse_text(buf, len, &root, err);
        if (r < 0)
                return r;
        const char *mt =
            json_object_is_type(root, json_type_object) ? get_str(root, "mediaType") : NULL;
        struct json_object *v;
        if (!mt && json_object_is_type(root, json_type_object))
                mt = json_object_object_get_ex(root, "manifests", &v) ? IMG_MT_OCI_INDEX
                     : json_object_object_get_ex(root, "config", &v)  ? IMG_MT_OCI_MANIFEST
                                                                      : NULL;
        if (mt)
                r = copy_str(ret, 128, mt, "media type", err);
        else
                r = cella_err(err, EINVAL, "document is neither an image manifest nor an index");
        json_object_put(root);
        return r;
}

static const char *normalize_arch(const char *arch)
{
        static const char *const alias[][2] = {
            {"x86_64", "amd64"}, {"x86-64", "amd64"}, {"aarch64", "arm64"}, {"armhf", "arm"},
            {"armel", "arm"},    {"i386", "386"},     {"i686", "386"},
        };
        for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
                if (strcmp(arch, alias[i][0]) == 0)
                        return alias[i][1];
        return arch;
}

int img_platform_parse(const char *s, struct img_platform *ret, struct cella_error *err)
{
        memset(ret, 0, sizeof(*ret));
        char os[32], arch[32], variant[32] = "";
        int n = sscanf(s, "%31[^/]/%31[^/]/%31[^/]", os, arch, variant);
        size_t slashes = 0;
        for (const char *p = s; *p; p++)
                slashes += *p == '/';
        if (n < 2 || slashes != (size_t)n - 1)
                return cella_err(err, EINVAL,
                                 "invalid platform \"%.64s\": expected os/arch[/variant], e.g. "
                                 "linux/amd64 or linux/arm/v7",
                                 s);
        strcpy(ret->os, os);
        strcpy(ret->arch, normalize_arch(arch));
        strcpy(ret->variant, variant);
        return 0;
}

void img_platform_host(struct img_platform *ret)
{
        struct utsname u;
        memset(ret, 0, sizeof(*ret));
        strcpy(ret->os, "linux");
        if (uname(&u) == 0)
                snprintf(ret->arch, sizeof(ret->arch), "%.31s", normalize_arch(u.machine));
        if (strcmp(ret->arch, "arm64") == 0)
                strcpy(ret->variant, "v8");
}

static bool variant_matches(const struct img_platform *have, const struct img_platform *want)
{
        if (!want->variant[0] || strcmp(have->variant, want->variant) == 0)
                return true;
        /* arm64 images usually omit their only variant, v8. */
        return strcmp(want->arch, "arm64") == 0 && strcmp(want->variant, "v8") == 0 &&
               !have->variant[0];
}

int img_index_select(const struct img_index *idx, const struct img_platform *want, size_t *ret_i,
                     struct cella_error *err)
{
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const struct img_descriptor *d = &idx->manifests[i];
                if (!img_media_type_is_manifest(d->media_type))
                        continue;
                if (!d->has_platform) {
                        /* An OCI layout's index lists images without platforms. */
                        if (idx->n_manifests == 1) {
                                *ret_i = i;
                                return 0;
                        }
                        continue;
                }
                if (strcmp(d->platform.os, want->os) == 0 &&
                    strcmp(normalize_arch(d->platform.arch), want->arch) == 0 &&
                    variant_matches(&d->platform, want)) {
                        *ret_i = i;
                        return 0;
                }
        }
        return cella_err(err, ENOENT,
                         "no image for platform %s/%s%s%s in the index (choose "
                         "another with --platform)",
                         want->os, want->arch, want->variant[0] ? "/" : "", want->variant);
}
