/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cella image load`: OCI archives, OCI layout directories and docker-archives into the store.
 * Archive members may come in any order, so every file is streamed into the store as a blob
 * (verified against its name when it is named blobs/sha256/<hex>) and the metadata is read at
 * the end; images are named only when everything they reference is present and verified.
 */
#include "image_io.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"
#include "unpack.h"

struct member {
        char *path;
        char *link; /* a symlink member (docker-archive reuses layers that way), cleaned */
        char digest[IMG_DIGEST_MAX];
        int64_t size;
};

struct load_ctx {
        struct img_store *st;
        const char *name;
        struct member *m;
        size_t n, cap;
        char *index_json, *manifest_json;
        size_t index_len, manifest_len;
        struct img_loaded *out;
        size_t n_out;
};

static void load_ctx_free(struct load_ctx *c)
{
        for (size_t i = 0; i < c->n; i++) {
                free(c->m[i].path);
                free(c->m[i].link);
        }
        free(c->m);
        free(c->index_json);
        free(c->manifest_json);
        free(c->out);
}

static struct member *member_add(struct load_ctx *c, const char *path)
{
        if (c->n == c->cap) {
                size_t ncap = c->cap ? c->cap * 2 : 32;
                struct member *nm = realloc(c->m, ncap * sizeof(*nm));
                if (!nm)
                        return NULL;
                c->m = nm;
                c->cap = ncap;
        }
        struct member *m = &c->m[c->n];
        memset(m, 0, sizeof(*m));
        if (!(m->path = strdup(path)))
                return NULL;
        c->n++;
        return m;
}

static const struct member *member_find(const struct load_ctx *c, const char *raw)
{
        _cleanup_free_ char *path = NULL;
        if (img_path_clean(raw, &path) < 0)
                return NULL;
        for (int hops = 0; hops < 8; hops++) {
                const struct member *found = NULL;
                for (size_t i = 0; i < c->n && !found; i++)
                        if (strcmp(c->m[i].path, path) == 0)
                                found = &c->m[i];
                if (!found || !found->link)
                        return found;
                free(path);
                if (!(path = strdup(found->link)))
                        return NULL;
        }
        return NULL;
}

/* "blobs/sha256/<hex>" names its own digest. */
static bool blob_path_digest(const char *path, char out[static IMG_DIGEST_MAX])
{
        if (strncmp(path, "blobs/sha256/", 13) != 0)
                return false;
        snprintf(out, IMG_DIGEST_MAX, "sha256:%s", path + 13);
        return img_digest_valid(out);
}

static int read_small(struct archive *a, const char *path, char **ret, size_t *ret_len,
                      struct cella_error *err)
{
        size_t len = 0, cap = 4096;
        _cleanup_free_ char *buf = malloc(cap + 1);
        if (!buf)
                return cella_err(err, ENOMEM, "out of memory");
        for (;;) {
                if (len == cap) {
                        if (cap >= IMG_JSON_BLOB_MAX)
                                return cella_err(err, EFBIG, "archive member \"%s\" is too big",
                                                 path);
                        cap *= 2;
                        char *nb = realloc(buf, cap + 1);
                        if (!nb)
                                return cella_err(err, ENOMEM, "out of memory");
                        buf = nb;
                }
                la_ssize_t n = archive_read_data(a, buf + len, cap - len);
                if (n < 0)
                        return cella_err(err, EIO, "read archive member \"%s\": %s", path,
                                         archive_error_string(a));
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static int ingest_member(struct load_ctx *c, struct archive *a, const char *path,
                         struct cella_error *err)
{
        char expected[IMG_DIGEST_MAX];
        bool named = blob_path_digest(path, expected);
        struct img_ingest ig;
        int r = img_ingest_begin(c->st, &ig, err);
        if (r < 0)
                return r;
        for (;;) {
                const void *buf;
                size_t size;
                la_int64_t off;
                int ar = archive_read_data_block(a, &buf, &size, &off);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar < ARCHIVE_WARN || off != (la_int64_t)ig.size) {
                        img_ingest_abort(c->st, &ig);
                        return cella_err(err, EIO, "read archive member \"%s\": %s", path,
                                         ar < ARCHIVE_WARN ? archive_error_string(a)
                                                           : "sparse members are not supported");
                }
                r = img_ingest_write(&ig, buf, size, err);
                if (r < 0) {
                        img_ingest_abort(c->st, &ig);
                        return r;
                }
        }
        struct member *m = member_add(c, path);
        if (!m) {
                img_ingest_abort(c->st, &ig);
                return cella_err(err, ENOMEM, "out of memory");
        }
        m->size = (int64_t)ig.size;
        r = img_ingest_commit(c->st, &ig, named ? expected : NULL, m->digest, err);
        if (r < 0)
                return cella_err_prefix(err, "archive member \"%s\"", path);
        return 0;
}

static int add_symlink(struct load_ctx *c, const char *path, const char *target,
                       struct cella_error *err)
{
        _cleanup_free_ char *joined = NULL;
        const char *slash = strrchr(path, '/');
        if (asprintf(&joined, "%.*s%s%s", slash ? (int)(slash - path) : 0, path, slash ? "/" : "",
                     target) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        struct member *m = member_add(c, path);
        if (!m || img_path_clean(joined, &m->link) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        return 0;
}

static int read_member(struct load_ctx *c, struct archive *a, struct archive_entry *e,
                       struct cella_error *err)
{
        _cleanup_free_ char *path = NULL;
        const char *raw = archive_entry_pathname(e);
        if (!raw || img_path_clean(raw, &path) < 0)
                return cella_err(err, EINVAL, "archive member without a valid name");
        mode_t type = archive_entry_filetype(e);
        if (type == AE_IFLNK)
                return add_symlink(c, path, archive_entry_symlink(e), err);
        if (type != AE_IFREG)
                return 0;
        if (strcmp(path, "index.json") == 0)
                return read_small(a, path, &c->index_json, &c->index_len, err);
        if (strcmp(path, "manifest.json") == 0)
                return read_small(a, path, &c->manifest_json, &c->manifest_len, err);
        if (strcmp(path, "oci-layout") == 0 || strcmp(path, "repositories") == 0)
                return 0;
        return ingest_member(c, a, path, err);
}

static int read_archive(struct load_ctx *c, const char *path, struct cella_error *err)
{
        struct archive *a = archive_read_new();
        if (!a)
                return cella_err(err, ENOMEM, "out of memory");
        archive_read_support_format_tar(a);
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_filter_xz(a);
        archive_read_support_filter_bzip2(a);
        int r = 0;
        int ar = strcmp(path, "-") == 0 ? archive_read_open_fd(a, STDIN_FILENO, 1 << 20)
                                        : archive_read_open_filename(a, path, 1 << 20);
        if (ar != ARCHIVE_OK)
                r = cella_err(err, EIO, "open archive \"%s\": %s", path, archive_error_string(a));
        while (r == 0) {
                struct archive_entry *e;
                ar = archive_read_next_header(a, &e);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar < ARCHIVE_WARN)
                        r = cella_err(err, EINVAL, "read archive \"%s\": %s", path,
                                      archive_error_string(a));
                else
                        r = read_member(c, a, e, err);
        }
        archive_read_free(a);
        return r;
}

static int add_result(struct load_ctx *c, const char *name, const struct img_descriptor *d,
                      struct cella_error *err)
{
        struct img_loaded *n = realloc(c->out, (c->n_out + 1) * sizeof(*n));
        if (!n)
                return cella_err(err, ENOMEM, "out of memory");
        c->out = n;
        snprintf(n[c->n_out].name, sizeof(n[c->n_out].name), "%s", name);
        n[c->n_out].desc = *d;
        c->n_out++;
        return img_store_tag(c->st, name, d, err);
}

/* Checks that everything an index or manifest needs is in the store (reading verifies it). */
static int check_complete(struct img_store *st, const struct img_descriptor *d, int depth,
                          struct cella_error *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        if (depth > 2)
                return cella_err(err, ELOOP, "image index nested too deeply");
        int r = img_read_blob(img_store_source(st), d, &buf, &len, err);
        if (r < 0)
                return r;
        if (img_media_type_is_index(d->media_type)) {
                struct img_index idx;
                size_t complete = 0;
                r = img_index_parse(buf, len, &idx, err);
                for (size_t i = 0; r == 0 && i < idx.n_manifests; i++)
                        if (img_store_has_blob(st, idx.manifests[i].digest) &&
                            check_complete(st, &idx.manifests[i], depth + 1, err) == 0)
                                complete++;
                img_index_free(&idx);
                if (r == 0 && complete == 0)
                        r = cella_err(err, ENOENT, "index %s: no complete image in it", d->digest);
                return r;
        }
        struct img_manifest m;
        r = img_manifest_parse(buf, len, &m, err);
        if (r < 0)
                return r;
        if (!img_store_has_blob(st, m.config.digest))
                r = cella_err(err, ENOENT, "config %s is missing", m.config.digest);
        for (size_t i = 0; r == 0 && i < m.n_layers; i++)
                if (!img_store_has_blob(st, m.layers[i].digest))
                        r = cella_err(err, ENOENT, "layer %s is missing", m.layers[i].digest);
        _cleanup_free_ char *cfg = NULL;
        if (r == 0)
                r = img_read_blob(img_store_source(st), &m.config, &cfg, &len, err);
        img_manifest_free(&m);
        return r;
}

static int oci_entry_name(struct load_ctx *c, const struct img_descriptor *d, size_t n,
                          char out[static IMG_REF_NAME_MAX], struct cella_error *err)
{
        const char *name = c->name;
        if (name && n != 1)
                return cella_err(err, EINVAL, "--name needs an archive with exactly one image");
        if (!name && d->image_name[0])
                name = d->image_name;
        /* ref.name is often only a tag ("latest"); a full name has a '/' or a ':'. */
        if (!name && (strchr(d->ref_name, '/') || strchr(d->ref_name, ':')))
                name = d->ref_name;
        if (!name)
                return cella_err(err, EINVAL,
                                 "the archive gives it no full name (ref.name "
                                 "\"%s\"): give one with --name",
                                 d->ref_name);
        return img_ref_normalize(name, out, err);
}

static int load_oci_index(struct load_ctx *c, struct cella_error *err)
{
        struct img_index idx;
        int r = img_index_parse(c->index_json, c->index_len, &idx, err);
        if (r < 0)
                return cella_err_prefix(err, "index.json");
        for (size_t i = 0; r == 0 && i < idx.n_manifests; i++) {
                const struct img_descriptor *d = &idx.manifests[i];
                char name[IMG_REF_NAME_MAX];
                r = oci_entry_name(c, d, idx.n_manifests, name, err);
                if (r == 0 && !img_store_has_blob(c->st, d->digest))
                        r = cella_err(err, ENOENT, "manifest %s is missing", d->digest);
                if (r == 0)
                        r = check_complete(c->st, d, 0, err);
                if (r == 0)
                        r = add_result(c, name, d, err);
                if (r < 0)
                        cella_err_prefix(err, "image %s", d->digest);
        }
        img_index_free(&idx);
        return r;
}

static const char *layer_media_type(struct img_store *st, const char *digest)
{
        unsigned char magic[4] = {0};
        _cleanup_close_ int fd = -1;
        if (img_store_open_blob(st, digest, &fd, NULL) == 0 && read(fd, magic, 4) == 4) {
                if (magic[0] == 0x1f && magic[1] == 0x8b)
                        return IMG_MT_OCI_LAYER_GZIP;
                if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
                        return IMG_MT_OCI_LAYER_ZSTD;
        }
        return IMG_MT_OCI_LAYER;
}

static struct json_object *desc_json(const char *mt, const char *digest, int64_t size)
{
        struct json_object *d = json_object_new_object();
        json_object_object_add(d, "mediaType", json_object_new_string(mt));
        json_object_object_add(d, "digest", json_object_new_string(digest));
        json_object_object_add(d, "size", json_object_new_int64(size));
        return d;
}

static const struct member *docker_member(struct load_ctx *c, struct json_object *v,
                                          const char *what, struct cella_error *err)
{
        const char *path =
            json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        const struct member *m = path ? member_find(c, path) : NULL;
        if (!m)
                cella_err(err, ENOENT, "manifest.json: %s \"%s\" is not in the archive", what,
                          path ? path : "(not a string)");
        return m;
}

/* A docker-archive's manifest.json item becomes an OCI manifest stored as a blob. */
static int docker_manifest(struct load_ctx *c, struct json_object *item, struct img_descriptor *ret,
                           struct cella_error *err)
{
        struct json_object *cfg = json_object_object_get(item, "Config");
        struct json_object *layers = json_object_object_get(item, "Layers");
        if (!json_object_is_type(layers, json_type_array))
                return cella_err(err, EINVAL, "manifest.json: \"Layers\" is not an array");
        const struct member *cm = docker_member(c, cfg, "config", err);
        if (!cm)
                return -ENOENT;
        /* Classic archives name the config "<sha256 hex>.json": hold it to that. */
        const char *base = strrchr(cm->path, '/');
        base = base ? base + 1 : cm->path;
        if (strlen(base) == 69 && strcmp(base + 64, ".json") == 0 &&
            strncmp(base, img_digest_hex(cm->digest), 64) != 0)
                return cella_err(err, EBADMSG,
                                 "config \"%s\" hashes to %s: the archive is "
                                 "corrupt",
                                 cm->path, cm->digest);
        struct json_object *m = json_object_new_object();
        json_object_object_add(m, "schemaVersion", json_object_new_int(2));
        json_object_object_add(m, "mediaType", json_object_new_string(IMG_MT_OCI_MANIFEST));
        json_object_object_add(m, "config", desc_json(IMG_MT_OCI_CONFIG, cm->digest, cm->size));
        struct json_object *ls = json_object_new_array();
        json_object_object_add(m, "layers", ls);
        int r = 0;
        for (size_t i = 0; r == 0 && i < json_object_array_length(layers); i++) {
                const struct member *lm =
                    docker_member(c, json_object_array_get_idx(layers, i), "layer", err);
                if (!lm)
                        r = -ENOENT;
                else
                        json_object_array_add(ls, desc_json(layer_media_type(c->st, lm->digest),
                                                            lm->digest, lm->size));
        }
        if (r == 0) {
                const char *text = json_to_string(m, 0);
                memset(ret, 0, sizeof(*ret));
                strcpy(ret->media_type, IMG_MT_OCI_MANIFEST);
                ret->size = (int64_t)strlen(text);
                r = img_store_put_blob(c->st, text, strlen(text), NULL, ret->digest, err);
        }
        json_object_put(m);
        return r;
}

static int load_docker_item(struct load_ctx *c, struct json_object *item, size_t n_items,
                            struct cella_error *err)
{
        struct img_descriptor d;
        int r = docker_manifest(c, item, &d, err);
        if (r == 0)
                r = check_complete(c->st, &d, 0, err);
        if (r < 0)
                return r;
        struct json_object *tags = json_object_object_get(item, "RepoTags");
        size_t n = json_object_is_type(tags, json_type_array) ? json_object_array_length(tags) : 0;
        if (c->name || n == 0) {
                if (!c->name)
                        return cella_err(err, EINVAL,
                                         "image %s in the archive has no RepoTags: "
                                         "give a name with --name",
                                         d.digest);
                if (n_items != 1)
                        return cella_err(err, EINVAL,
                                         "--name needs an archive with exactly one image");
                char name[IMG_REF_NAME_MAX];
                r = img_ref_normalize(c->name, name, err);
                return r < 0 ? r : add_result(c, name, &d, err);
        }
        for (size_t i = 0; r == 0 && i < n; i++) {
                char name[IMG_REF_NAME_MAX];
                const char *tag = json_object_get_string(json_object_array_get_idx(tags, i));
                r = img_ref_normalize(tag ? tag : "", name, err);
                if (r == 0)
                        r = add_result(c, name, &d, err);
        }
        return r;
}

static int load_docker(struct load_ctx *c, struct cella_error *err)
{
        struct json_object *root;
        int r = json_parse_text(c->manifest_json, c->manifest_len, &root, err);
        if (r < 0)
                return cella_err_prefix(err, "manifest.json");
        if (!json_object_is_type(root, json_type_array) || json_object_array_length(root) == 0)
                r = cella_err(err, EINVAL, "manifest.json: expected a non-empty array");
        size_t n = r == 0 ? json_object_array_length(root) : 0;
        for (size_t i = 0; r == 0 && i < n; i++) {
                struct json_object *item = json_object_array_get_idx(root, i);
                if (!json_object_is_type(item, json_type_object))
                        r = cella_err(err, EINVAL, "manifest.json[%zu] is not an object", i);
                else
                        r = load_docker_item(c, item, n, err);
                if (r < 0)
                        cella_err_prefix(err, "docker-archive image %zu", i);
        }
        json_object_put(root);
        return r;
}

/* ---- OCI layout directories ---- */

static int copy_blob(struct img_store *st, struct img_source *src, const char *digest,
                     struct cella_error *err)
{
        if (img_store_has_blob(st, digest))
                return 0;
        _cleanup_close_ int fd = -1;
        int r = src->open_blob(src, digest, &fd, err);
        if (r < 0)
                return r;
        struct img_ingest ig;
        r = img_ingest_begin(st, &ig, err);
        if (r < 0)
                return r;
        static char buf[1 << 16];
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        if (n < 0)
                                r = cella_errno(err, errno, "read blob %s", digest);
                        break;
                }
                r = img_ingest_write(&ig, buf, (size_t)n, err);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                img_ingest_abort(st, &ig);
                return r;
        }
        return img_ingest_commit(st, &ig, digest, NULL, err);
}

static int copy_tree(struct img_store *st, struct img_source *src, const struct img_descriptor *d,
                     int depth, struct cella_error *err)
{
        int r = copy_blob(st, src, d->digest, err);
        if (r < 0 || depth > 2)
                return r;
        bool is_index = img_media_type_is_index(d->media_type);
        if (!is_index && !img_media_type_is_manifest(d->media_type))
                return 0;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        r = img_read_blob(img_store_source(st), d, &buf, &len, err);
        if (r < 0)
                return r;
        if (is_index) {
                struct img_index idx;
                r = img_index_parse(buf, len, &idx, err);
                for (size_t i = 0; r == 0 && i < idx.n_manifests; i++) {
                        struct cella_error ignore = {0};
                        /* A layout may hold only some platforms of an index. */
                        copy_tree(st, src, &idx.manifests[i], depth + 1, &ignore);
                }
                img_index_free(&idx);
                return r;
        }
        struct img_manifest m;
        r = img_manifest_parse(buf, len, &m, err);
        if (r == 0)
                r = copy_blob(st, src, m.config.digest, err);
        for (size_t i = 0; r == 0 && i < m.n_layers; i++)
                r = copy_blob(st, src, m.layers[i].digest, err);
        img_manifest_free(&m);
        return r;
}

static int read_layout(struct load_ctx *c, const char *dir, struct cella_error *err)
{
        struct img_source *src _cleanup_(img_source_freep) = NULL;
        struct img_descriptor top;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return cella_errno(err, errno, "open \"%s\"", dir);
        int r =
            fs_read_file_at(dfd, "index.json", IMG_JSON_BLOB_MAX, &c->index_json, &c->index_len);
        if (r < 0)
                return cella_errno(err, -r, "read \"%s/index.json\" (is it an OCI layout?)", dir);
        /* Any ref will do to open the source; the whole index is walked below. */
        struct img_index idx;
        r = img_index_parse(c->index_json, c->index_len, &idx, err);
        if (r < 0)
                return cella_err_prefix(err, "\"%s/index.json\"", dir);
        if (idx.n_manifests > 0)
                r = img_source_oci_layout(dir, idx.manifests[0].ref_name, &src, &top, err);
        for (size_t i = 0; r == 0 && i < idx.n_manifests; i++)
                r = copy_tree(c->st, src, &idx.manifests[i], 0, err);
        img_index_free(&idx);
        return r;
}

int img_load(struct img_store *st, const char *path, const char *name, struct img_loaded **ret,
             size_t *ret_n, struct cella_error *err)
{
        struct load_ctx c = {.st = st, .name = name};
        struct stat sb;
        bool dir = strcmp(path, "-") != 0 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
        int r = dir ? read_layout(&c, path, err) : read_archive(&c, path, err);
        if (r == 0) {
                if (c.manifest_json)
                        r = load_docker(&c, err);
                else if (c.index_json)
                        r = load_oci_index(&c, err);
                else
                        r = cella_err(err, EINVAL,
                                      "\"%s\" is neither an OCI archive (no "
                                      "index.json) nor a docker-archive (no manifest.json)",
                                      path);
        }
        if (r == 0) {
                *ret = TAKE_PTR(c.out);
                *ret_n = c.n_out;
        } else {
                /* Names already given stay (each is complete); unnamed blobs go. */
                img_store_gc_if_idle(st);
        }
        load_ctx_free(&c);
        return r;
}
