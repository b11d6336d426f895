/* SPDX-License-Identifier: Apache-2.0 */
#include "store.h"

#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"
#include "snapshot.h"
#include "strset.h"

#define IMAGE_NAME_ANN "io.containerd.image.name"
#define REF_NAME_ANN   "org.opencontainers.image.ref.name"
#define CREATED_ANN    "io.cella.image.created"

struct store_source {
        struct img_source base;
        struct img_store *st;
};

struct img_store {
        char *dir;
        int dfd;
        int blobs_fd;
        int gc_lock_fd;
        struct store_source source;
};

char *img_store_default_root(void)
{
        char *p = NULL;
        if (geteuid() == 0)
                return strdup("/var/lib/cella");
        const char *xdg = getenv("XDG_DATA_HOME");
        if (xdg && xdg[0] == '/')
                return asprintf(&p, "%s/cella", xdg) < 0 ? NULL : p;
        const char *home = getenv("HOME");
        return asprintf(&p, "%s/.local/share/cella", home ? home : "/") < 0 ? NULL : p;
}

static int mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int store_open_blob(struct img_source *src, const char *digest, int *ret_fd,
                           struct cella_error *err)
{
        return img_store_open_blob(((struct store_source *)src)->st, digest, ret_fd, err);
}

static int open_lock(int dfd, const char *name, int how, struct cella_error *err)
{
        int fd = openat(dfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return cella_errno(err, errno, "open lock \"%s\"", name);
        while (flock(fd, how) < 0) {
                if (errno != EINTR) {
                        int e = errno;
                        close(fd);
                        return cella_errno(err, e, "lock \"%s\"", name);
                }
        }
        return fd;
}

static int init_layout(int dfd, const char *dir, struct cella_error *err)
{
        static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
        if (mkdirat(dfd, "blobs", 0755) < 0 && errno != EEXIST)
                return cella_errno(err, errno, "create \"%s/blobs\"", dir);
        if (mkdirat(dfd, "blobs/sha256", 0755) < 0 && errno != EEXIST)
                return cella_errno(err, errno, "create \"%s/blobs/sha256\"", dir);
        if (mkdirat(dfd, "ingest", 0700) < 0 && errno != EEXIST)
                return cella_errno(err, errno, "create \"%s/ingest\"", dir);
        if (faccessat(dfd, "oci-layout", F_OK, 0) < 0) {
                int r = fs_write_atomic_at(dfd, "oci-layout", layout, sizeof(layout) - 1, 0644);
                if (r < 0)
                        return cella_errno(err, -r, "write \"%s/oci-layout\"", dir);
        }
        return 0;
}

int img_store_open(const char *root, struct img_store **ret, struct cella_error *err)
{
        _cleanup_free_ char *dir = NULL;
        if (asprintf(&dir, "%s/image", root) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        int r = mkdir_p(dir, 0700);
        if (r < 0)
                return cella_errno(err, -r, "create image store \"%s\"%s", dir,
                                   r == -EACCES ? " (use --root to choose another place)" : "");
        struct img_store *st = calloc(1, sizeof(*st));
        if (!st)
                return cella_err(err, ENOMEM, "out of memory");
        st->blobs_fd = st->gc_lock_fd = -1;
        st->dir = TAKE_PTR(dir);
        st->dfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (st->dfd < 0)
                r = cella_errno(err, errno, "open image store \"%s\"", st->dir);
        if (r == 0)
                r = init_layout(st->dfd, st->dir, err);
        if (r == 0) {
                st->blobs_fd = openat(st->dfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (st->blobs_fd < 0)
                        r = cella_errno(err, errno, "open \"%s/blobs/sha256\"", st->dir);
        }
        if (r == 0) {
                st->gc_lock_fd = open_lock(st->dfd, "gc.lock", LOCK_SH, err);
                r = st->gc_lock_fd < 0 ? st->gc_lock_fd : 0;
        }
        if (r < 0) {
                img_store_free(st);
                return r;
        }
        st->source.base.open_blob = store_open_blob;
        st->source.st = st;
        *ret = st;
        return 0;
}

void img_store_free(struct img_store *st)
{
        if (!st)
                return;
        if (st->dfd >= 0)
                close(st->dfd);
        if (st->blobs_fd >= 0)
                close(st->blobs_fd);
        if (st->gc_lock_fd >= 0)
                close(st->gc_lock_fd);
        free(st->dir);
        free(st);
}

const char *img_store_dir(const struct img_store *st)
{
        return st->dir;
}

struct img_source *img_store_source(struct img_store *st)
{
        return &st->source.base;
}

/* ---- blobs ---- */

int img_ingest_begin(struct img_store *st, struct img_ingest *ig, struct cella_error *err)
{
        memset(ig, 0, sizeof(*ig));
        if (img_sha256_init(&ig->hash) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        /* Unnamed until complete: a crash leaves nothing to clean up. */
        ig->fd = openat(st->blobs_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
        if (ig->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
                static unsigned counter;
                snprintf(ig->tmpname, sizeof(ig->tmpname), "ingest/blob.%d.%u.%ld", getpid(),
                         counter++, (long)time(NULL));
                ig->fd = openat(st->dfd, ig->tmpname, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        }
        if (ig->fd < 0) {
                int e = errno;
                img_sha256_free(&ig->hash);
                return cella_errno(err, e, "create a temporary blob in \"%s\"", st->dir);
        }
        return 0;
}

int img_ingest_write(struct img_ingest *ig, const void *buf, size_t len, struct cella_error *err)
{
        int r = fs_write_all(ig->fd, buf, len);
        if (r < 0)
                return cella_errno(err, -r, "write blob");
        img_sha256_update(&ig->hash, buf, len);
        ig->size += len;
        return 0;
}

int img_ingest_reset(struct img_ingest *ig)
{
        if (ftruncate(ig->fd, 0) < 0 || lseek(ig->fd, 0, SEEK_SET) < 0)
                return -errno;
        img_sha256_free(&ig->hash);
        ig->size = 0;
        return img_sha256_init(&ig->hash);
}

void img_ingest_abort(struct img_store *st, struct img_ingest *ig)
{
        if (ig->fd >= 0)
                close(ig->fd);
        ig->fd = -1;
        if (ig->tmpname[0])
                unlinkat(st->dfd, ig->tmpname, 0);
        ig->tmpname[0] = '\0';
        img_sha256_free(&ig->hash);
}

static int link_blob(struct img_store *st, struct img_ingest *ig, const char *hex)
{
        if (ig->tmpname[0]) {
                int r = renameat(st->dfd, ig->tmpname, st->blobs_fd, hex) < 0 ? -errno : 0;
                if (r == 0)
                        ig->tmpname[0] = '\0';
                return r;
        }
        char p[32];
        if (linkat(AT_FDCWD, fs_fd_path(ig->fd, p), st->blobs_fd, hex, AT_SYMLINK_FOLLOW) < 0 &&
            errno != EEXIST)
                return -errno;
        return 0;
}

int img_ingest_commit(struct img_store *st, struct img_ingest *ig, const char *expected,
                      char *ret_digest, struct cella_error *err)
{
        char digest[IMG_DIGEST_MAX];
        int r = 0;
        if (fsync(ig->fd) < 0)
                r = cella_errno(err, errno, "fsync blob");
        img_sha256_final(&ig->hash, digest);
        if (r == 0 && expected && strcmp(expected, digest) != 0)
                r = cella_err(err, EBADMSG,
                              "blob content hashes to %s, expected %s: refusing to store it",
                              digest, expected);
        /* Another writer may have stored the same content meanwhile: the first one wins. */
        if (r == 0 && !img_store_has_blob(st, digest)) {
                r = link_blob(st, ig, img_digest_hex(digest));
                if (r == 0 && fsync(st->blobs_fd) < 0)
                        r = -errno;
                if (r < 0)
                        cella_errno(err, -r, "store blob %s", digest);
        }
        img_ingest_abort(st, ig);
        if (r == 0 && ret_digest)
                strcpy(ret_digest, digest);
        return r;
}

int img_store_put_blob(struct img_store *st, const void *buf, size_t len, const char *expected,
                       char *ret_digest, struct cella_error *err)
{
        struct img_ingest ig;
        int r = img_ingest_begin(st, &ig, err);
        if (r < 0)
                return r;
        r = img_ingest_write(&ig, buf, len, err);
        if (r < 0) {
                img_ingest_abort(st, &ig);
                return r;
        }
        return img_ingest_commit(st, &ig, expected, ret_digest, err);
}

bool img_store_has_blob(struct img_store *st, const char *digest)
{
        return img_digest_valid(digest) &&
               faccessat(st->blobs_fd, img_digest_hex(digest), F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int img_store_open_blob(struct img_store *st, const char *digest, int *ret_fd,
                        struct cella_error *err)
{
        int r = img_digest_check(digest, err);
        if (r < 0)
                return r;
        int fd = openat(st->blobs_fd, img_digest_hex(digest), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return cella_errno(err, errno, "open blob %s in the image store", digest);
        *ret_fd = fd;
        return 0;
}

/* ---- the index ---- */

static int index_load(struct img_store *st, struct json_object **ret, struct cella_error *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r = fs_read_file_at(st->dfd, "index.json", 64u << 20, &buf, &len);
        if (r == -ENOENT) {
                struct json_object *idx = json_object_new_object();
                json_object_object_add(idx, "schemaVersion", json_object_new_int(2));
                json_object_object_add(idx, "mediaType", json_object_new_string(IMG_MT_OCI_INDEX));
                json_object_object_add(idx, "manifests", json_object_new_array());
                *ret = idx;
                return 0;
        }
        if (r < 0)
                return cella_errno(err, -r, "read \"%s/index.json\"", st->dir);
        struct json_object *idx;
        r = json_parse_text(buf, len, &idx, err);
        if (r < 0)
                return cella_err_prefix(err, "\"%s/index.json\"", st->dir);
        struct json_object *m;
        if (!json_object_object_get_ex(idx, "manifests", &m) ||
            !json_object_is_type(m, json_type_array)) {
                json_object_put(idx);
                return cella_err(err, EINVAL, "\"%s/index.json\" has no manifests array", st->dir);
        }
        *ret = idx;
        return 0;
}

static int index_save(struct img_store *st, struct json_object *idx, struct cella_error *err)
{
        const char *text = json_to_string(idx, 0);
        int r = fs_write_atomic_at(st->dfd, "index.json", text, strlen(text), 0644);
        if (r == 0 && fsync(st->dfd) < 0)
                r = -errno;
        if (r < 0)
                return cella_errno(err, -r, "write \"%s/index.json\"", st->dir);
        return 0;
}

static const char *entry_name(struct json_object *entry)
{
        struct json_object *ann, *name;
        if (!json_object_object_get_ex(entry, "annotations", &ann) ||
            !json_object_object_get_ex(ann, IMAGE_NAME_ANN, &name))
                return NULL;
        return json_object_get_string(name);
}

/* Removes entries named name; returns how many. */
static size_t index_remove(struct json_object *idx, const char *name)
{
        struct json_object *m = json_object_object_get(idx, "manifests");
        size_t removed = 0;
        for (size_t i = json_object_array_length(m); i-- > 0;) {
                const char *n = entry_name(json_object_array_get_idx(m, i));
                if (n && strcmp(n, name) == 0) {
                        json_object_array_del_idx(m, i, 1);
                        removed++;
                }
        }
        return removed;
}

static struct json_object *entry_new(const char *name, const struct img_descriptor *d,
                                     const struct img_ref *ref)
{
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "mediaType", json_object_new_string(d->media_type));
        json_object_object_add(e, "digest", json_object_new_string(d->digest));
        json_object_object_add(e, "size", json_object_new_int64(d->size));
        struct json_object *ann = json_object_new_object();
        json_object_object_add(ann, IMAGE_NAME_ANN, json_object_new_string(name));
        if (ref->tag[0])
                json_object_object_add(ann, REF_NAME_ANN, json_object_new_string(ref->tag));
        char now[40];
        time_t t = time(NULL);
        struct tm tm;
        strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        json_object_object_add(ann, CREATED_ANN, json_object_new_string(now));
        json_object_object_add(e, "annotations", ann);
        return e;
}

int img_store_tag(struct img_store *st, const char *name, const struct img_descriptor *desc,
                  struct cella_error *err)
{
        struct img_ref ref;
        char full[IMG_REF_NAME_MAX];
        int r = img_ref_parse(name, &ref, err);
        if (r < 0)
                return r;
        img_ref_format(&ref, full);
        _cleanup_close_ int lock = open_lock(st->dfd, "index.lock", LOCK_EX, err);
        if (lock < 0)
                return lock;
        struct json_object *idx;
        r = index_load(st, &idx, err);
        if (r < 0)
                return r;
        index_remove(idx, full);
        json_object_array_add(json_object_object_get(idx, "manifests"),
                              entry_new(full, desc, &ref));
        r = index_save(st, idx, err);
        json_object_put(idx);
        return r;
}

int img_store_untag(struct img_store *st, const char *name, struct cella_error *err)
{
        char full[IMG_REF_NAME_MAX];
        int r = img_ref_normalize(name, full, err);
        if (r < 0)
                return r;
        _cleanup_close_ int lock = open_lock(st->dfd, "index.lock", LOCK_EX, err);
        if (lock < 0)
                return lock;
        struct json_object *idx;
        r = index_load(st, &idx, err);
        if (r < 0)
                return r;
        if (index_remove(idx, full) == 0)
                r = cella_err(err, ENOENT, "image \"%s\" not found in the store", name);
        else
                r = index_save(st, idx, err);
        json_object_put(idx);
        return r;
}

int img_store_list(struct img_store *st, struct img_store_image **ret, size_t *ret_n,
                   struct cella_error *err)
{
        struct json_object *idx;
        int r = index_load(st, &idx, err);
        if (r < 0)
                return r;
        struct json_object *m = json_object_object_get(idx, "manifests");
        size_t n = json_object_array_length(m), k = 0;
        struct img_store_image *v = calloc(n ? n : 1, sizeof(*v));
        if (!v) {
                json_object_put(idx);
                return cella_err(err, ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(m, i);
                const char *name = entry_name(e);
                struct json_object *ann, *created;
                /* Entries without our name annotation (added by other tools) are skipped. */
                if (!name || strlen(name) >= IMG_REF_NAME_MAX)
                        continue;
                if (img_descriptor_parse(e, &v[k].desc, "index entry", NULL) < 0)
                        continue;
                strcpy(v[k].name, name);
                if (json_object_object_get_ex(e, "annotations", &ann) &&
                    json_object_object_get_ex(ann, CREATED_ANN, &created))
                        snprintf(v[k].created, sizeof(v[k].created), "%s",
                                 json_object_get_string(created));
                k++;
        }
        json_object_put(idx);
        *ret = v;
        *ret_n = k;
        return 0;
}

int img_store_lookup(struct img_store *st, const char *name, struct img_store_image *ret,
                     struct cella_error *err)
{
        char full[IMG_REF_NAME_MAX] = "";
        bool by_digest = img_digest_valid(name);
        if (!by_digest && img_ref_normalize(name, full, err) < 0)
                return -EINVAL;
        struct img_store_image *v;
        size_t n;
        int r = img_store_list(st, &v, &n, err);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (size_t i = 0; i < n && r < 0; i++) {
                if (by_digest ? strcmp(v[i].desc.digest, name) == 0
                              : strcmp(v[i].name, full) == 0) {
                        *ret = v[i];
                        r = 0;
                }
        }
        free(v);
        if (r < 0)
                return cella_err(err, ENOENT, "image \"%s\" not found in the store", name);
        return 0;
}

/* ---- garbage collection ---- */

/* Snapshots are named by chain id: mark those of this image's layers as "snap:<hex>". */
static int gc_mark_snapshots(struct img_store *st, struct strset *live,
                             const struct img_manifest *m, struct cella_error *err)
{
        _cleanup_free_ char *cfg = NULL;
        size_t len;
        struct json_object *root = NULL, *rootfs, *ids;
        if (!img_store_has_blob(st, m->config.digest) || m->n_layers == 0)
                return 0;
        int r = img_read_blob(img_store_source(st), &m->config, &cfg, &len, err);
        if (r == 0 && json_parse_text(cfg, len, &root, NULL) == 0 &&
            json_object_object_get_ex(root, "rootfs", &rootfs) &&
            json_object_object_get_ex(rootfs, "diff_ids", &ids) &&
            json_object_is_type(ids, json_type_array) &&
            json_object_array_length(ids) == m->n_layers) {
                char **v = calloc(m->n_layers, sizeof(char *));
                char(*chain)[IMG_DIGEST_MAX] = calloc(m->n_layers, IMG_DIGEST_MAX);
                for (size_t i = 0; v && i < m->n_layers; i++)
                        v[i] = (char *)json_object_get_string(json_object_array_get_idx(ids, i));
                if (v && chain && img_chain_ids(v, m->n_layers, chain) == 0) {
                        for (size_t i = 0; i < m->n_layers; i++) {
                                char key[IMG_DIGEST_MAX + 8];
                                snprintf(key, sizeof(key), "snap:%s", img_digest_hex(chain[i]));
                                img_strset_add(live, key, strlen(key));
                        }
                }
                free(v);
                free(chain);
        }
        json_object_put(root);
        return r < 0 ? cella_err_prefix(err, "garbage collection stopped, nothing was removed") : 0;
}

static int gc_mark(struct img_store *st, struct strset *live, const struct img_descriptor *d,
                   int depth, struct cella_error *err)
{
        if (img_strset_add(live, d->digest, strlen(d->digest)) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        bool is_index = img_media_type_is_index(d->media_type);
        if ((!is_index && !img_media_type_is_manifest(d->media_type)) || depth > 3 ||
            !img_store_has_blob(st, d->digest))
                return 0; /* a leaf, or a platform that was never pulled */
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r = img_read_blob(img_store_source(st), d, &buf, &len, err);
        if (r < 0)
                return cella_err_prefix(err, "garbage collection stopped, nothing was removed");
        if (is_index) {
                struct img_index idx;
                r = img_index_parse(buf, len, &idx, err);
                for (size_t i = 0; r == 0 && i < idx.n_manifests; i++)
                        r = gc_mark(st, live, &idx.manifests[i], depth + 1, err);
                if (r == 0 || idx.manifests)
                        img_index_free(&idx);
                return r;
        }
        struct img_manifest m;
        r = img_manifest_parse(buf, len, &m, err);
        if (r < 0)
                return r;
        img_strset_add(live, m.config.digest, strlen(m.config.digest));
        r = gc_mark_snapshots(st, live, &m, err);
        for (size_t i = 0; i < m.n_layers; i++)
                if (img_strset_add(live, m.layers[i].digest, strlen(m.layers[i].digest)) < 0)
                        r = cella_err(err, ENOMEM, "out of memory");
        img_manifest_free(&m);
        return r;
}

static int gc_sweep_dir(int dfd, const char *prefix, const struct strset *live,
                        struct img_gc_stats *stats)
{
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                char digest[300];
                if (de->d_name[0] == '.' && (!de->d_name[1] || strcmp(de->d_name, "..") == 0))
                        continue;
                snprintf(digest, sizeof(digest), "%s%s", prefix, de->d_name);
                if (live && img_strset_contains(live, digest, strlen(digest)))
                        continue;
                struct stat sb;
                if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(sb.st_mode))
                        continue;
                if (unlinkat(fd, de->d_name, 0) == 0) {
                        stats->blobs_removed += live ? 1 : 0;
                        stats->bytes_freed += (uint64_t)sb.st_size;
                }
        }
        return 0;
}

int img_store_note_bundle(struct img_store *st, const char *dir, char *const *lowers,
                          struct cella_error *err)
{
        char d[IMG_DIGEST_MAX];
        int r = img_sha256_buf(dir, strlen(dir), d);
        if (r < 0)
                return cella_errno(err, -r, "hash \"%s\"", dir);
        size_t len = strlen(dir) + 2;
        for (char *const *l = lowers; *l; l++)
                len += strlen(*l) + 1;
        _cleanup_free_ char *text = calloc(1, len);
        if (!text)
                return cella_err(err, ENOMEM, "out of memory");
        strcat(strcat(text, dir), "\n");
        for (char *const *l = lowers; *l; l++)
                strcat(strcat(text, *l), "\n");
        if (mkdirat(st->dfd, "bundles", 0700) < 0 && errno != EEXIST)
                return cella_errno(err, errno, "create \"%s/bundles\"", st->dir);
        _cleanup_close_ int bfd = openat(st->dfd, "bundles", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (bfd < 0)
                return cella_errno(err, errno, "open \"%s/bundles\"", st->dir);
        r = fs_write_atomic_at(bfd, img_digest_hex(d), text, strlen(text), 0600);
        if (r < 0)
                return cella_errno(err, -r, "write \"%s/bundles/%s\"", st->dir, img_digest_hex(d));
        return 0;
}

/*
 * Appends to *text what the live bundle records name (a record whose DIR/.upper is gone is
 * stale and removed). On error *text is left as it was.
 */
static void append_bundle_uses(struct img_store *st, char **text)
{
        _cleanup_close_ int fd = openat(st->dfd, "bundles", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_closedir_ DIR *d = fd < 0 ? NULL : fdopendir(fd);
        if (d)
                fd = -1;
        struct dirent *de;
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *rec = NULL, *upper = NULL, *joined = NULL;
                size_t len;
                if (de->d_name[0] == '.' ||
                    fs_read_file_at(dirfd(d), de->d_name, 1u << 20, &rec, &len) < 0)
                        continue;
                if (asprintf(&upper, "%.*s/.upper", (int)strcspn(rec, "\n"), rec) < 0)
                        continue;
                if (!fs_is_dir(upper)) {
                        unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (asprintf(&joined, "%s\n%s", *text, rec) < 0)
                        continue;
                free(*text);
                *text = TAKE_PTR(joined);
        }
}

static void gc_sweep_snapshots(struct img_store *st, const struct strset *live,
                               struct img_gc_stats *stats)
{
        _cleanup_free_ char *dir = NULL;
        if (asprintf(&dir, "%s/snapshots", st->dir) < 0)
                return;
        _cleanup_closedir_ DIR *d = opendir(dir);
        /* A snapshot an overlay mount or a bundle still uses stays, named or not. */
        _cleanup_free_ char *mounts = NULL;
        size_t mlen;
        if (fs_read_file("/proc/self/mountinfo", 64u << 20, &mounts, &mlen) < 0)
                return; /* cannot tell what is in use: remove nothing */
        append_bundle_uses(st, &mounts);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                char key[300];
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                /* "<hex>" and "<hex>.user" are one chain id; ".tmp-*" are unfinished. */
                snprintf(key, sizeof(key), "snap:%.*s", (int)strcspn(de->d_name, "."), de->d_name);
                if (de->d_name[0] != '.' && img_strset_contains(live, key, strlen(key)))
                        continue;
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s/", dir, de->d_name) < 0 || strstr(mounts, p))
                        continue;
                if (fs_rm_rf(p) == 0)
                        stats->snapshots_removed++;
        }
}

static int gc_locked(struct img_store *st, struct img_gc_stats *stats, struct cella_error *err)
{
        struct img_store_image *v = NULL;
        size_t n;
        struct strset live = {0};
        int r = img_store_list(st, &v, &n, err);
        for (size_t i = 0; r == 0 && i < n; i++)
                r = gc_mark(st, &live, &v[i].desc, 0, err);
        free(v);
        if (r == 0) {
                r = gc_sweep_dir(st->blobs_fd, "sha256:", &live, stats);
                if (r < 0)
                        cella_errno(err, -r, "clean \"%s/blobs/sha256\"", st->dir);
        }
        if (r == 0)
                gc_sweep_snapshots(st, &live, stats);
        if (r == 0) {
                _cleanup_close_ int ingest =
                    openat(st->dfd, "ingest", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (ingest >= 0)
                        gc_sweep_dir(ingest, "", NULL, stats);
        }
        img_strset_free(&live);
        return r;
}

static int gc(struct img_store *st, bool wait, struct img_gc_stats *ret, struct cella_error *err)
{
        struct img_gc_stats stats = {0};
        /* Shared -> exclusive: wait until no other store user is between writing a blob and
         * naming it. flock converts by dropping the shared lock first, so two collectors
         * cannot deadlock. */
        if (flock(st->gc_lock_fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
                int e = errno;
                flock(st->gc_lock_fd, LOCK_SH);
                return cella_errno(err, e, "lock \"%s/gc.lock\"", st->dir);
        }
        _cleanup_close_ int lock = open_lock(st->dfd, "index.lock", LOCK_EX, err);
        int r = lock < 0 ? lock : gc_locked(st, &stats, err);
        flock(st->gc_lock_fd, LOCK_SH);
        if (r == 0 && ret)
                *ret = stats;
        return r;
}

int img_store_gc(struct img_store *st, struct img_gc_stats *ret, struct cella_error *err)
{
        return gc(st, true, ret, err);
}

void img_store_gc_if_idle(struct img_store *st)
{
        gc(st, false, NULL, NULL);
}

int img_store_image_size(struct img_store *st, const struct img_descriptor *top, int64_t *ret_size,
                         struct cella_error *err)
{
        struct img_manifest m;
        _cleanup_free_ char *cfg = NULL;
        size_t len;
        int r = img_resolve(img_store_source(st), top, NULL, &m, &cfg, &len, err);
        if (r < 0)
                return r;
        int64_t size = m.config.size;
        for (size_t i = 0; i < m.n_layers; i++)
                size += m.layers[i].size;
        img_manifest_free(&m);
        *ret_size = size;
        return 0;
}
