/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cella image save`: images from the store to an OCI archive, an OCI layout directory or a
 * docker-archive (classic layout: "<config hex>.json", "<diff_id hex>/layer.tar" with the
 * layer uncompressed, manifest.json), which every docker version and skopeo load.
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
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"
#include "layer_stream.h"
#include "strset.h"

struct sink {
        struct archive *a; /* archive formats */
        int dirfd;         /* OCI layout directory */
        struct strset written;
};

int img_save_format_parse(const char *s, enum img_save_format *ret, struct cella_error *err)
{
        if (strcmp(s, "oci-archive") == 0)
                *ret = IMG_SAVE_OCI_ARCHIVE;
        else if (strcmp(s, "oci") == 0 || strcmp(s, "oci-dir") == 0)
                *ret = IMG_SAVE_OCI_DIR;
        else if (strcmp(s, "docker-archive") == 0 || strcmp(s, "docker") == 0)
                *ret = IMG_SAVE_DOCKER_ARCHIVE;
        else
                return cella_err(err, EINVAL,
                                 "unknown format \"%s\" (oci-archive, oci, "
                                 "docker-archive)",
                                 s);
        return 0;
}

static int sink_header(struct sink *s, const char *name, int64_t size, bool dir,
                       struct cella_error *err)
{
        struct archive_entry *e = archive_entry_new();
        if (!e)
                return cella_err(err, ENOMEM, "out of memory");
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
        archive_entry_set_perm(e, dir ? 0755 : 0644);
        archive_entry_set_size(e, dir ? 0 : size);
        archive_entry_set_mtime(e, 0, 0);
        int ar = archive_write_header(s->a, e);
        archive_entry_free(e);
        if (ar != ARCHIVE_OK)
                return cella_err(err, EIO, "write \"%s\": %s", name, archive_error_string(s->a));
        return 0;
}

static int sink_dir(struct sink *s, const char *name, struct cella_error *err)
{
        if (s->a)
                return sink_header(s, name, 0, true, err);
        if (mkdirat(s->dirfd, name, 0755) < 0 && errno != EEXIST)
                return cella_errno(err, errno, "create \"%s\"", name);
        return 0;
}

static int sink_write(struct sink *s, int out_fd, const void *buf, size_t len, const char *name,
                      struct cella_error *err)
{
        if (s->a) {
                if (archive_write_data(s->a, buf, len) != (la_ssize_t)len)
                        return cella_err(err, EIO, "write \"%s\": %s", name,
                                         archive_error_string(s->a));
                return 0;
        }
        int r = fs_write_all(out_fd, buf, len);
        return r < 0 ? cella_errno(err, -r, "write \"%s\"", name) : 0;
}

static int sink_open(struct sink *s, const char *name, int64_t size, int *ret_fd,
                     struct cella_error *err)
{
        *ret_fd = -1;
        if (s->a)
                return sink_header(s, name, size, false, err);
        *ret_fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        return *ret_fd < 0 ? cella_errno(err, errno, "create \"%s\"", name) : 0;
}

static int sink_buf(struct sink *s, const char *name, const void *buf, size_t len,
                    struct cella_error *err)
{
        _cleanup_close_ int fd = -1;
        int r = sink_open(s, name, (int64_t)len, &fd, err);
        return r < 0 ? r : sink_write(s, fd, buf, len, name, err);
}

/* Copies fd (exactly size bytes from its current offset) into the sink as name. */
static int sink_fd(struct sink *s, const char *name, int fd, int64_t size, struct cella_error *err)
{
        _cleanup_close_ int out = -1;
        int r = sink_open(s, name, size, &out, err);
        static char buf[1 << 17];
        while (r == 0 && size > 0) {
                ssize_t n = read(fd, buf, size < (int64_t)sizeof(buf) ? (size_t)size : sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? cella_errno(err, errno, "read for \"%s\"", name)
                                     : cella_err(err, EIO, "\"%s\" is shorter than expected", name);
                r = sink_write(s, out, buf, (size_t)n, name, err);
                size -= n;
        }
        return r;
}

static int sink_blob(struct img_store *st, struct sink *s, const char *digest,
                     struct cella_error *err)
{
        if (img_strset_contains(&s->written, digest, strlen(digest)))
                return 0;
        _cleanup_close_ int fd = -1;
        int r = img_store_open_blob(st, digest, &fd, err);
        if (r < 0)
                return r;
        struct stat sb;
        if (fstat(fd, &sb) < 0)
                return cella_errno(err, errno, "stat blob %s", digest);
        char name[IMG_DIGEST_MAX + 16];
        snprintf(name, sizeof(name), "blobs/sha256/%s", img_digest_hex(digest));
        r = sink_fd(s, name, fd, sb.st_size, err);
        if (r == 0 && img_strset_add(&s->written, digest, strlen(digest)) < 0)
                r = cella_err(err, ENOMEM, "out of memory");
        return r;
}

/* The image's blobs: an index with the platforms that are present, or one manifest. */
static int sink_tree(struct img_store *st, struct sink *s, const struct img_descriptor *d,
                     int depth, struct cella_error *err)
{
        int r = sink_blob(st, s, d->digest, err);
        if (r < 0 || depth > 2)
                return r;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        r = img_read_blob(img_store_source(st), d, &buf, &len, err);
        if (r < 0)
                return r;
        if (img_media_type_is_index(d->media_type)) {
                struct img_index idx;
                r = img_index_parse(buf, len, &idx, err);
                for (size_t i = 0; r == 0 && i < idx.n_manifests; i++)
                        if (img_store_has_blob(st, idx.manifests[i].digest))
                                r = sink_tree(st, s, &idx.manifests[i], depth + 1, err);
                img_index_free(&idx);
                return r;
        }
        struct img_manifest m;
        r = img_manifest_parse(buf, len, &m, err);
        if (r == 0)
                r = sink_blob(st, s, m.config.digest, err);
        for (size_t i = 0; r == 0 && i < m.n_layers; i++)
                r = sink_blob(st, s, m.layers[i].digest, err);
        img_manifest_free(&m);
        return r;
}

static int save_oci(struct img_store *st, struct sink *s, const struct img_store_image *imgs,
                    size_t n, struct cella_error *err)
{
        static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
        int r = sink_buf(s, "oci-layout", layout, sizeof(layout) - 1, err);
        if (r == 0)
                r = sink_dir(s, "blobs", err);
        if (r == 0)
                r = sink_dir(s, "blobs/sha256", err);
        struct json_object *idx = json_object_new_object();
        struct json_object *arr = json_object_new_array();
        json_object_object_add(idx, "schemaVersion", json_object_new_int(2));
        json_object_object_add(idx, "mediaType", json_object_new_string(IMG_MT_OCI_INDEX));
        json_object_object_add(idx, "manifests", arr);
        for (size_t i = 0; r == 0 && i < n; i++) {
                r = sink_tree(st, s, &imgs[i].desc, 0, err);
                struct img_ref ref;
                img_ref_parse(imgs[i].name, &ref, NULL);
                struct json_object *d = json_object_new_object();
                json_object_object_add(d, "mediaType",
                                       json_object_new_string(imgs[i].desc.media_type));
                json_object_object_add(d, "digest", json_object_new_string(imgs[i].desc.digest));
                json_object_object_add(d, "size", json_object_new_int64(imgs[i].desc.size));
                struct json_object *ann = json_object_new_object();
                json_object_object_add(ann, "io.containerd.image.name",
                                       json_object_new_string(imgs[i].name));
                if (ref.tag[0])
                        json_object_object_add(ann, "org.opencontainers.image.ref.name",
                                               json_object_new_string(ref.tag));
                json_object_object_add(d, "annotations", ann);
                json_object_array_add(arr, d);
        }
        if (r == 0) {
                const char *text = json_to_string(idx, 0);
                r = sink_buf(s, "index.json", text, strlen(text), err);
        }
        json_object_put(idx);
        return r;
}

/* Decompresses a layer into an unnamed temp file (a tar header needs the size up front). */
static int layer_to_tar(struct img_store *st, const struct img_descriptor *d, int *ret_fd,
                        int64_t *ret_size, char diff_id[static IMG_DIGEST_MAX],
                        struct cella_error *err)
{
        _cleanup_close_ int in = -1;
        int r = img_store_open_blob(st, d->digest, &in, err);
        if (r < 0)
                return r;
        struct layer_stream *ls;
        if (img_layer_stream_new(in, &ls) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        struct img_ingest ig;
        r = img_ingest_begin(st, &ig, err);
        bool begun = r == 0;
        while (r == 0) {
                const void *buf;
                ssize_t n = img_layer_stream_read(ls, &buf, err);
                if (n <= 0) {
                        r = (int)n;
                        break;
                }
                r = img_ingest_write(&ig, buf, (size_t)n, err);
        }
        char digest[IMG_DIGEST_MAX];
        if (r == 0)
                r = img_layer_stream_finish(ls, digest, diff_id, err);
        if (r == 0 && strcmp(digest, d->digest) != 0)
                r = cella_err(err, EBADMSG, "blob %s in the store is corrupt", d->digest);
        img_layer_stream_free(ls);
        if (r == 0 && lseek(ig.fd, 0, SEEK_SET) < 0)
                r = cella_errno(err, errno, "seek");
        if (r == 0) {
                *ret_fd = TAKE_FD(ig.fd);
                *ret_size = (int64_t)ig.size;
        }
        if (begun)
                img_ingest_abort(st, &ig); /* the data stays readable through *ret_fd */
        return r;
}

static int docker_layers(struct img_store *st, struct sink *s, const struct img_manifest *m,
                         struct json_object *layers, struct cella_error *err)
{
        for (size_t i = 0; i < m->n_layers; i++) {
                _cleanup_close_ int fd = -1;
                int64_t size = 0;
                char diff_id[IMG_DIGEST_MAX], name[IMG_DIGEST_MAX + 32];
                int r = layer_to_tar(st, &m->layers[i], &fd, &size, diff_id, err);
                if (r < 0)
                        return cella_err_prefix(err, "layer %s", m->layers[i].digest);
                snprintf(name, sizeof(name), "%s/layer.tar", img_digest_hex(diff_id));
                json_object_array_add(layers, json_object_new_string(name));
                if (img_strset_contains(&s->written, diff_id, strlen(diff_id)))
                        continue;
                name[64] = '\0';
                r = sink_dir(s, name, err);
                name[64] = '/';
                if (r == 0)
                        r = sink_fd(s, name, fd, size, err);
                if (r == 0 && img_strset_add(&s->written, diff_id, strlen(diff_id)) < 0)
                        r = cella_err(err, ENOMEM, "out of memory");
                if (r < 0)
                        return r;
        }
        return 0;
}

static int docker_image(struct img_store *st, struct sink *s, const struct img_store_image *img,
                        const struct img_platform *platform, struct json_object *item,
                        struct cella_error *err)
{
        struct img_manifest m;
        _cleanup_free_ char *cfg = NULL;
        size_t len;
        int r = img_resolve(img_store_source(st), &img->desc, platform, &m, &cfg, &len, err);
        if (r < 0)
                return cella_err_prefix(err, "image \"%s\"", img->name);
        char name[IMG_DIGEST_MAX + 8];
        snprintf(name, sizeof(name), "%s.json", img_digest_hex(m.config.digest));
        json_object_object_add(item, "Config", json_object_new_string(name));
        if (!img_strset_contains(&s->written, m.config.digest, strlen(m.config.digest))) {
                r = sink_buf(s, name, cfg, len, err);
                if (r == 0)
                        img_strset_add(&s->written, m.config.digest, strlen(m.config.digest));
        }
        struct json_object *layers = json_object_new_array();
        json_object_object_add(item, "Layers", layers);
        if (r == 0)
                r = docker_layers(st, s, &m, layers, err);
        img_manifest_free(&m);
        return r;
}

static int save_docker(struct img_store *st, struct sink *s, const struct img_store_image *imgs,
                       size_t n, const struct img_platform *platform, struct cella_error *err)
{
        struct json_object *manifest = json_object_new_array();
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++) {
                /* Names of one image share one manifest.json item, as docker writes them. */
                bool seen = false;
                for (size_t k = 0; k < i; k++)
                        seen |= strcmp(imgs[k].desc.digest, imgs[i].desc.digest) == 0;
                if (seen)
                        continue;
                struct json_object *item = json_object_new_object();
                struct json_object *tags = json_object_new_array();
                json_object_array_add(manifest, item);
                for (size_t k = i; k < n; k++) {
                        struct img_ref ref;
                        char fam[IMG_REF_NAME_MAX];
                        if (strcmp(imgs[k].desc.digest, imgs[i].desc.digest) != 0 ||
                            img_ref_parse(imgs[k].name, &ref, NULL) < 0 || !ref.tag[0])
                                continue;
                        ref.digest[0] = '\0';
                        img_ref_familiar(&ref, fam);
                        json_object_array_add(tags, json_object_new_string(fam));
                }
                json_object_object_add(item, "RepoTags", tags);
                r = docker_image(st, s, &imgs[i], platform, item, err);
        }
        if (r == 0) {
                const char *text = json_to_string(manifest, 0);
                r = sink_buf(s, "manifest.json", text, strlen(text), err);
        }
        json_object_put(manifest);
        return r;
}

static int save_archive(struct img_store *st, const struct img_store_image *imgs, size_t n,
                        const char *path, enum img_save_format format,
                        const struct img_platform *platform, struct cella_error *err)
{
        bool to_stdout = strcmp(path, "-") == 0;
        _cleanup_free_ char *tmp = NULL;
        if (!to_stdout && asprintf(&tmp, "%s.partial.%d", path, (int)getpid()) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        struct sink s = {.a = archive_write_new(), .dirfd = -1};
        if (!s.a)
                return cella_err(err, ENOMEM, "out of memory");
        archive_write_set_format_pax_restricted(s.a);
        archive_write_set_bytes_in_last_block(s.a, 1);
        int ar = to_stdout ? archive_write_open_fd(s.a, STDOUT_FILENO)
                           : archive_write_open_filename(s.a, tmp);
        int r = 0;
        if (ar != ARCHIVE_OK)
                r = cella_err(err, EIO, "create \"%s\": %s", to_stdout ? "stdout" : tmp,
                              archive_error_string(s.a));
        if (r == 0)
                r = format == IMG_SAVE_DOCKER_ARCHIVE ? save_docker(st, &s, imgs, n, platform, err)
                                                      : save_oci(st, &s, imgs, n, err);
        if (r == 0 && archive_write_close(s.a) != ARCHIVE_OK)
                r = cella_err(err, EIO, "write \"%s\": %s", path, archive_error_string(s.a));
        archive_write_free(s.a);
        img_strset_free(&s.written);
        if (!to_stdout) {
                _cleanup_close_ int fd = r == 0 ? open(tmp, O_RDONLY | O_CLOEXEC) : -1;
                if (r == 0 && (fd < 0 || fsync(fd) < 0))
                        r = cella_errno(err, errno, "fsync \"%s\"", tmp);
                if (r == 0 && rename(tmp, path) < 0)
                        r = cella_errno(err, errno, "rename \"%s\" to \"%s\"", tmp, path);
                if (r < 0)
                        unlink(tmp);
        }
        return r;
}

static int save_dir(struct img_store *st, const struct img_store_image *imgs, size_t n,
                    const char *path, struct cella_error *err)
{
        if (mkdir(path, 0755) < 0)
                return cella_errno(err, errno, "create OCI layout \"%s\"%s", path,
                                   errno == EEXIST ? " (it must not exist yet)" : "");
        struct sink s = {.dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
        int r = s.dirfd < 0 ? cella_errno(err, errno, "open \"%s\"", path)
                            : save_oci(st, &s, imgs, n, err);
        if (s.dirfd >= 0)
                close(s.dirfd);
        img_strset_free(&s.written);
        if (r < 0)
                fs_rm_rf(path);
        return r;
}

int img_save(struct img_store *st, char *const *names, size_t n_names, const char *path,
             enum img_save_format format, const struct img_platform *platform,
             struct cella_error *err)
{
        if (n_names == 0)
                return cella_err(err, EINVAL, "no image to save");
        _cleanup_free_ struct img_store_image *imgs = calloc(n_names, sizeof(*imgs));
        if (!imgs)
                return cella_err(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < n_names; i++) {
                int r = img_store_lookup(st, names[i], &imgs[i], err);
                if (r < 0)
                        return r;
        }
        if (format == IMG_SAVE_OCI_DIR) {
                if (strcmp(path, "-") == 0)
                        return cella_err(err, EINVAL,
                                         "an OCI layout directory cannot go to stdout");
                return save_dir(st, imgs, n_names, path, err);
        }
        return save_archive(st, imgs, n_names, path, format, platform, err);
}
