/* SPDX-License-Identifier: Apache-2.0 */
#include "registry.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "base/cleanup.h"
#include "base/json.h"

#define MANIFEST_ACCEPT                                                                            \
        IMG_MT_OCI_INDEX ", " IMG_MT_OCI_MANIFEST ", " IMG_MT_DOCKER_LIST                          \
                         ", " IMG_MT_DOCKER_MANIFEST

/* ---- progress ---- */

struct progress_item {
        char id[16];
        int64_t done, total;
        const char *state;
        double last_json;
};

struct progress {
        pthread_mutex_t lock;
        enum img_progress mode;
        struct progress_item *items;
        size_t n;
        double start, last_draw;
        bool drawn;
};

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw_locked(struct progress *p, bool force)
{
        double t = now();
        if (p->mode != IMG_PROGRESS_TTY || (!force && t - p->last_draw < 0.1))
                return;
        p->last_draw = t;
        if (p->drawn)
                fprintf(stderr, "\033[%zuA", p->n);
        for (size_t i = 0; i < p->n; i++) {
                struct progress_item *it = &p->items[i];
                double rate = (double)it->done / (t - p->start > 0.001 ? t - p->start : 0.001);
                fprintf(stderr, "\033[2K%s: %-11s %7.1f/%.1f MB  %6.1f MB/s\n", it->id, it->state,
                        (double)it->done / 1e6, (double)it->total / 1e6, rate / 1e6);
        }
        p->drawn = true;
        fflush(stderr);
}

static void json_line(struct progress_item *it)
{
        fprintf(stderr, "{\"id\":\"%s\",\"status\":\"%s\",\"current\":%lld,\"total\":%lld}\n",
                it->id, it->state, (long long)it->done, (long long)it->total);
        fflush(stderr);
}

static void progress_update(struct progress *p, size_t i, int64_t done, const char *state)
{
        if (p->mode == IMG_PROGRESS_NONE)
                return;
        pthread_mutex_lock(&p->lock);
        struct progress_item *it = &p->items[i];
        bool changed = state != it->state;
        it->done = done;
        it->state = state;
        if (p->mode == IMG_PROGRESS_JSON && (changed || now() - it->last_json > 0.5)) {
                it->last_json = now();
                json_line(it);
        }
        draw_locked(p, changed);
        pthread_mutex_unlock(&p->lock);
}

/* ---- manifests ---- */

struct remote {
        struct img_ref ref;
        char scope[IMG_REF_PATH_MAX + 32];
        struct reg_client *client;
};

static int remote_open(const char *ref, bool push, const struct img_registry_opts *o,
                       struct remote *ret, struct cella_error *err)
{
        memset(ret, 0, sizeof(*ret));
        int r = img_ref_parse(ref, &ret->ref, err);
        if (r < 0)
                return r;
        snprintf(ret->scope, sizeof(ret->scope), "repository:%s:%s", ret->ref.path,
                 push ? "pull,push" : "pull");
        return img_reg_client_new(ret->ref.domain, &o->reg, &ret->client, err);
}

static int http_fail(const struct remote *rm, const char *what, const struct reg_resp *resp,
                     struct cella_error *err)
{
        char text[300];
        img_reg_error_text(resp, text, sizeof(text));
        int code = resp->status == 404                          ? ENOENT
                   : resp->status == 401 || resp->status == 403 ? EACCES
                                                                : EIO;
        return cella_err(err, code, "%s %s/%s: %s%s", what, rm->ref.domain, rm->ref.path, text,
                         code == EACCES ? " (log in with `cella image login`)" : "");
}

/* GET a manifest by tag or digest; checks the digest of what arrived. */
static int get_manifest(struct remote *rm, const char *reference, char **ret_buf, size_t *ret_len,
                        struct img_descriptor *ret_desc, struct cella_error *err)
{
        _cleanup_free_ char *url = NULL;
        if (asprintf(&url, "/v2/%s/manifests/%s", rm->ref.path, reference) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        struct reg_request rq = {.method = "GET",
                                 .url = url,
                                 .scope = rm->scope,
                                 .accept = MANIFEST_ACCEPT,
                                 .max_body = IMG_JSON_BLOB_MAX};
        struct reg_resp resp = {0};
        int r = img_reg_do(rm->client, &rq, &resp, err);
        if (r == 0 && resp.status != 200)
                r = http_fail(rm, "get manifest", &resp, err);
        memset(ret_desc, 0, sizeof(*ret_desc));
        if (r == 0)
                r = img_sha256_buf(resp.body, resp.body_len, ret_desc->digest);
        if (r == 0 && img_digest_valid(reference) && strcmp(reference, ret_desc->digest) != 0)
                r = cella_err(err, EBADMSG, "manifest %s from %s hashes to %s: refusing it",
                              reference, rm->ref.domain, ret_desc->digest);
        if (r == 0 && resp.digest[0] && strcmp(resp.digest, ret_desc->digest) != 0)
                r = cella_err(err, EBADMSG,
                              "manifest from %s hashes to %s, but the registry says "
                              "%s: refusing it",
                              rm->ref.domain, ret_desc->digest, resp.digest);
        if (r == 0)
                r = img_document_media_type(resp.body, resp.body_len, ret_desc->media_type, err);
        if (r == 0) {
                ret_desc->size = (int64_t)resp.body_len;
                *ret_buf = TAKE_PTR(resp.body);
                *ret_len = resp.body_len;
        }
        img_reg_resp_clear(&resp);
        return r;
}

/* The manifest for the platform: top itself, or its index's entry. */
static int get_image_manifest(struct remote *rm, const struct img_platform *platform,
                              char **top_buf, size_t *top_len, struct img_descriptor *top,
                              char **m_buf, size_t *m_len, struct img_descriptor *m,
                              struct cella_error *err)
{
        const char *reference = rm->ref.digest[0] ? rm->ref.digest : rm->ref.tag;
        int r = get_manifest(rm, reference, top_buf, top_len, top, err);
        if (r < 0 || !img_media_type_is_index(top->media_type)) {
                *m = *top;
                return r;
        }
        struct img_index idx;
        r = img_index_parse(*top_buf, *top_len, &idx, err);
        if (r < 0)
                return r;
        struct img_platform host;
        if (!platform)
                img_platform_host(&host);
        size_t i;
        r = img_index_select(&idx, platform ? platform : &host, &i, err);
        char digest[IMG_DIGEST_MAX];
        if (r == 0)
                strcpy(digest, idx.manifests[i].digest);
        img_index_free(&idx);
        return r < 0 ? r : get_manifest(rm, digest, m_buf, m_len, m, err);
}

/* ---- blob downloads ---- */

struct blob_task {
        const struct remote *rm;
        struct img_store *st;
        struct img_descriptor desc;
        struct progress *progress;
        size_t index;
        struct img_ingest ig;
        int64_t start; /* bytes kept from earlier attempts when this response began */
        bool restart;
        int result;
        struct cella_error err;
};

static int blob_sink(void *ctx, long status, const void *buf, size_t len)
{
        struct blob_task *t = ctx;
        /* Asked for a range but got the whole blob: start over. */
        if (t->restart) {
                t->restart = false;
                if (status == 200 && t->ig.size > 0 && img_ingest_reset(&t->ig) < 0)
                        return cella_errno(&t->err, errno, "reset download of %s", t->desc.digest);
        }
        if ((int64_t)(t->ig.size + len) > t->desc.size)
                return cella_err(&t->err, EBADMSG,
                                 "blob %s is bigger than the %lld bytes its "
                                 "descriptor declares",
                                 t->desc.digest, (long long)t->desc.size);
        int r = img_ingest_write(&t->ig, buf, len, &t->err);
        if (r == 0)
                progress_update(t->progress, t->index, (int64_t)t->ig.size, "downloading");
        return r;
}

static int download_once(struct reg_client *c, struct blob_task *t, bool *retry)
{
        _cleanup_free_ char *url = NULL;
        char range[64] = "";
        if (asprintf(&url, "/v2/%s/blobs/%s", t->rm->ref.path, t->desc.digest) < 0)
                return cella_err(&t->err, ENOMEM, "out of memory");
        if (t->ig.size > 0)
                snprintf(range, sizeof(range), "Range: bytes=%llu-",
                         (unsigned long long)t->ig.size);
        t->restart = true;
        struct reg_request rq = {.method = "GET",
                                 .url = url,
                                 .scope = t->rm->scope,
                                 .extra_header = range[0] ? range : NULL,
                                 .sink = blob_sink,
                                 .sink_ctx = t};
        struct reg_resp resp = {0};
        t->err.code = 0;
        int r = img_reg_do(c, &rq, &resp, &t->err);
        *retry = r == -EIO || r == -ETIMEDOUT || resp.status >= 500 || resp.status == 429;
        if (r == 0 && resp.status != 200 && resp.status != 206)
                r = http_fail(t->rm, "get blob", &resp, &t->err);
        img_reg_resp_clear(&resp);
        return r;
}

static int download_blob(struct reg_client *c, struct blob_task *t)
{
        if (img_store_has_blob(t->st, t->desc.digest)) {
                progress_update(t->progress, t->index, t->desc.size, "exists");
                return 0;
        }
        int r = img_ingest_begin(t->st, &t->ig, &t->err);
        if (r < 0)
                return r;
        for (int attempt = 0; attempt < 4; attempt++) {
                bool retry = false;
                if (attempt > 0)
                        sleep((unsigned)attempt);
                r = download_once(c, t, &retry);
                if ((r == 0 && (int64_t)t->ig.size == t->desc.size) || !retry)
                        break;
                if (r == 0)
                        r = cella_err(&t->err, EIO, "download of %s ended early", t->desc.digest);
        }
        if (r == 0 && (int64_t)t->ig.size != t->desc.size)
                r = cella_err(&t->err, EBADMSG, "blob %s: got %llu bytes, expected %lld",
                              t->desc.digest, (unsigned long long)t->ig.size,
                              (long long)t->desc.size);
        if (r < 0) {
                img_ingest_abort(t->st, &t->ig);
                return r;
        }
        progress_update(t->progress, t->index, t->desc.size, "verifying");
        r = img_ingest_commit(t->st, &t->ig, t->desc.digest, NULL, &t->err);
        progress_update(t->progress, t->index, t->desc.size, r == 0 ? "done" : "failed");
        return r;
}

struct pool {
        pthread_mutex_t lock;
        struct blob_task *tasks;
        size_t n, next;
        const struct reg_client *proto;
};

static void *worker(void *data)
{
        struct pool *p = data;
        struct reg_client *c = NULL;
        for (;;) {
                pthread_mutex_lock(&p->lock);
                size_t i = p->next < p->n ? p->next++ : p->n;
                pthread_mutex_unlock(&p->lock);
                if (i == p->n)
                        break;
                struct blob_task *t = &p->tasks[i];
                if (!c && img_reg_client_clone(p->proto, &c, &t->err) < 0) {
                        t->result = -ENOMEM;
                        continue;
                }
                t->result = download_blob(c, t);
        }
        img_reg_client_free(c);
        return NULL;
}

static int download_all(struct blob_task *tasks, size_t n, const struct reg_client *proto,
                        int parallel, struct cella_error *err)
{
        struct pool p = {.lock = PTHREAD_MUTEX_INITIALIZER, .tasks = tasks, .n = n, .proto = proto};
        pthread_t th[16];
        size_t nt = parallel < 1 ? 3 : parallel > 16 ? 16 : (size_t)parallel;
        if (nt > n)
                nt = n;
        size_t started = 0;
        for (; started < nt; started++)
                if (pthread_create(&th[started], NULL, worker, &p) != 0)
                        break;
        if (started == 0)
                worker(&p);
        for (size_t i = 0; i < started; i++)
                pthread_join(th[i], NULL);
        for (size_t i = 0; i < n; i++) {
                if (tasks[i].result < 0) {
                        if (err)
                                *err = tasks[i].err;
                        return tasks[i].result;
                }
        }
        return 0;
}

static int pull_blobs(struct img_store *st, const struct remote *rm, const struct img_manifest *m,
                      const struct img_registry_opts *o, struct cella_error *err)
{
        size_t n = m->n_layers + 1;
        _cleanup_free_ struct blob_task *tasks = calloc(n, sizeof(*tasks));
        _cleanup_free_ struct progress_item *items = calloc(n, sizeof(*items));
        if (!tasks || !items)
                return cella_err(err, ENOMEM, "out of memory");
        struct progress prog = {.lock = PTHREAD_MUTEX_INITIALIZER,
                                .mode = o->progress,
                                .items = items,
                                .n = n,
                                .start = now()};
        for (size_t i = 0; i < n; i++) {
                tasks[i] = (struct blob_task){.rm = rm,
                                              .st = st,
                                              .progress = &prog,
                                              .index = i,
                                              .desc = i == 0 ? m->config : m->layers[i - 1]};
                snprintf(items[i].id, sizeof(items[i].id), "%.12s",
                         img_digest_hex(tasks[i].desc.digest));
                items[i].total = tasks[i].desc.size;
                items[i].state = "waiting";
        }
        pthread_mutex_lock(&prog.lock);
        draw_locked(&prog, true);
        pthread_mutex_unlock(&prog.lock);
        return download_all(tasks, n, rm->client, o->parallel, err);
}

static int pull_into(struct img_store *st, struct remote *rm, const struct img_registry_opts *o,
                     char ret_name[static IMG_REF_NAME_MAX], struct cella_error *err)
{
        _cleanup_free_ char *top_buf = NULL, *m_buf = NULL;
        size_t top_len = 0, m_len = 0;
        struct img_descriptor top, md;
        int r =
            get_image_manifest(rm, o->platform, &top_buf, &top_len, &top, &m_buf, &m_len, &md, err);
        if (r < 0)
                return r;
        const char *mtext = m_buf ? m_buf : top_buf;
        size_t mlen = m_buf ? m_len : top_len;
        struct img_manifest m;
        r = img_manifest_parse(mtext, mlen, &m, err);
        if (r < 0)
                return r;
        r = pull_blobs(st, rm, &m, o, err);
        img_manifest_free(&m);
        /* Only now, with every blob verified and stored, the manifests and then the name. */
        if (r == 0)
                r = img_store_put_blob(st, mtext, mlen, md.digest, NULL, err);
        if (r == 0 && m_buf)
                r = img_store_put_blob(st, top_buf, top_len, top.digest, NULL, err);
        if (r == 0) {
                img_ref_format(&rm->ref, ret_name);
                r = img_store_tag(st, ret_name, &top, err);
        }
        return r;
}

int img_pull(struct img_store *st, const char *ref, const struct img_registry_opts *o,
             char ret_name[static IMG_REF_NAME_MAX], struct cella_error *err)
{
        struct remote rm;
        int r = remote_open(ref, false, o, &rm, err);
        if (r < 0)
                return cella_err_prefix(err, "pull %s", ref);
        r = pull_into(st, &rm, o, ret_name, err);
        img_reg_client_free(rm.client);
        if (r < 0) {
                img_store_gc_if_idle(st); /* leave no unnamed blobs behind */
                return cella_err_prefix(err, "pull %s", ref);
        }
        return 0;
}

/* ---- push ---- */

static int blob_exists(struct remote *rm, const char *digest, bool *ret, struct cella_error *err)
{
        _cleanup_free_ char *url = NULL;
        if (asprintf(&url, "/v2/%s/blobs/%s", rm->ref.path, digest) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        struct reg_request rq = {.method = "HEAD", .url = url, .scope = rm->scope};
        struct reg_resp resp = {0};
        int r = img_reg_do(rm->client, &rq, &resp, err);
        if (r == 0 && resp.status != 200 && resp.status != 404)
                r = http_fail(rm, "check blob on", &resp, err);
        *ret = resp.status == 200;
        img_reg_resp_clear(&resp);
        return r;
}

/* Location headers may be relative; the digest goes into the query string. */
static char *upload_url(const char *location, const char *digest)
{
        char *u = NULL;
        if (digest)
                return asprintf(&u, "%s%sdigest=%s", location, strchr(location, '?') ? "&" : "?",
                                digest) < 0
                           ? NULL
                           : u;
        return strdup(location);
}

static int start_upload(struct remote *rm, const char *digest, const char *mount_from,
                        char location[static 2048], bool *ret_mounted, struct cella_error *err)
{
        _cleanup_free_ char *url = NULL;
        int n = mount_from ? asprintf(&url, "/v2/%s/blobs/uploads/?mount=%s&from=%s", rm->ref.path,
                                      digest, mount_from)
                           : asprintf(&url, "/v2/%s/blobs/uploads/", rm->ref.path);
        if (n < 0)
                return cella_err(err, ENOMEM, "out of memory");
        struct reg_request rq = {.method = "POST", .url = url, .scope = rm->scope};
        struct reg_resp resp = {0};
        int r = img_reg_do(rm->client, &rq, &resp, err);
        *ret_mounted = r == 0 && resp.status == 201;
        if (r == 0 && resp.status != 202 && resp.status != 201)
                r = http_fail(rm, "start upload to", &resp, err);
        if (r == 0 && !*ret_mounted && !resp.location[0])
                r = cella_err(err, EIO, "registry %s gave no upload location", rm->ref.domain);
        if (r == 0)
                memcpy(location, resp.location, 2048);
        img_reg_resp_clear(&resp);
        return r;
}

static int upload_chunks(struct remote *rm, int fd, int64_t size, size_t chunk,
                         char location[static 2048], struct cella_error *err)
{
        for (int64_t off = 0; off < size;) {
                int64_t n = size - off < (int64_t)chunk ? size - off : (int64_t)chunk;
                char range[80];
                snprintf(range, sizeof(range), "Content-Range: %lld-%lld", (long long)off,
                         (long long)(off + n - 1));
                _cleanup_free_ char *url = upload_url(location, NULL);
                struct reg_request rq = {.method = "PATCH",
                                         .url = url,
                                         .scope = rm->scope,
                                         .content_type = "application/octet-stream",
                                         .extra_header = range,
                                         .body_fd = fd,
                                         .body_len = n};
                struct reg_resp resp = {0};
                int r = url ? img_reg_do(rm->client, &rq, &resp, err)
                            : cella_err(err, ENOMEM, "out of memory");
                if (r == 0 && resp.status != 202)
                        r = http_fail(rm, "upload chunk to", &resp, err);
                if (r == 0 && resp.location[0])
                        memcpy(location, resp.location, 2048);
                img_reg_resp_clear(&resp);
                if (r < 0)
                        return r;
                off += n;
        }
        return 0;
}

static int upload_blob(struct img_store *st, struct remote *rm, const char *digest,
                       const char *mount_from, size_t chunk, struct progress *prog, size_t idx,
                       struct cella_error *err)
{
        bool exists = false, mounted = false;
        char location[2048];
        int64_t total = prog->items[idx].total;
        int r = blob_exists(rm, digest, &exists, err);
        if (r == 0 && exists)
                progress_update(prog, idx, total, "exists");
        if (r < 0 || exists)
                return r;
        r = start_upload(rm, digest, mount_from, location, &mounted, err);
        if (r == 0 && mounted)
                progress_update(prog, idx, total, "mounted");
        if (r < 0 || mounted)
                return r;
        progress_update(prog, idx, 0, "uploading");
        _cleanup_close_ int fd = -1;
        struct stat sb;
        r = img_store_open_blob(st, digest, &fd, err);
        if (r < 0)
                return r;
        if (fstat(fd, &sb) < 0)
                return cella_errno(err, errno, "stat blob %s", digest);
        if (chunk > 0) {
                r = upload_chunks(rm, fd, sb.st_size, chunk, location, err);
                if (r < 0)
                        return r;
        }
        _cleanup_free_ char *url = upload_url(location, digest);
        if (!url)
                return cella_err(err, ENOMEM, "out of memory");
        struct reg_request rq = {.method = "PUT",
                                 .url = url,
                                 .scope = rm->scope,
                                 .content_type = "application/octet-stream",
                                 .body_fd = fd,
                                 .body_len = chunk > 0 ? 0 : sb.st_size};
        struct reg_resp resp = {0};
        r = img_reg_do(rm->client, &rq, &resp, err);
        if (r == 0 && resp.status != 201)
                r = http_fail(rm, "upload blob to", &resp, err);
        img_reg_resp_clear(&resp);
        progress_update(prog, idx, r == 0 ? total : 0, r == 0 ? "done" : "failed");
        return r < 0 ? cella_err_prefix(err, "blob %s", digest) : 0;
}

static int put_manifest(struct remote *rm, const char *reference, const char *buf, size_t len,
                        const char *media_type, struct cella_error *err)
{
        _cleanup_free_ char *url = NULL;
        if (asprintf(&url, "/v2/%s/manifests/%s", rm->ref.path, reference) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        struct reg_request rq = {.method = "PUT",
                                 .url = url,
                                 .scope = rm->scope,
                                 .content_type = media_type,
                                 .body = buf,
                                 .body_len = (int64_t)len};
        struct reg_resp resp = {0};
        int r = img_reg_do(rm->client, &rq, &resp, err);
        if (r == 0 && resp.status != 201)
                r = http_fail(rm, "put manifest to", &resp, err);
        img_reg_resp_clear(&resp);
        return r;
}

/* Pushes one image manifest: its config and layers, then the manifest by digest or tag. */
static int push_manifest(struct img_store *st, struct remote *rm, const struct img_descriptor *d,
                         const char *reference, const char *mount_from,
                         const struct img_registry_opts *o, struct cella_error *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r = img_read_blob(img_store_source(st), d, &buf, &len, err);
        if (r < 0)
                return r;
        struct img_manifest m;
        r = img_manifest_parse(buf, len, &m, err);
        if (r < 0)
                return r;
        size_t n = m.n_layers + 1;
        _cleanup_free_ struct progress_item *items = calloc(n, sizeof(*items));
        struct progress prog = {.lock = PTHREAD_MUTEX_INITIALIZER,
                                .mode = o->progress,
                                .items = items,
                                .n = n,
                                .start = now()};
        for (size_t i = 0; items && i < n; i++) {
                const struct img_descriptor *b = i == 0 ? &m.config : &m.layers[i - 1];
                snprintf(items[i].id, sizeof(items[i].id), "%.12s", img_digest_hex(b->digest));
                items[i].total = b->size;
                items[i].state = "waiting";
        }
        if (!items)
                r = cella_err(err, ENOMEM, "out of memory");
        for (size_t i = 0; r == 0 && i < n; i++)
                r = upload_blob(st, rm, i == 0 ? m.config.digest : m.layers[i - 1].digest,
                                mount_from, o->chunk_size, &prog, i, err);
        img_manifest_free(&m);
        if (r == 0)
                r = put_manifest(rm, reference, buf, len, d->media_type, err);
        return r;
}

/* All platforms of an index if all are here, else the manifest for this platform alone. */
static int push_index(struct img_store *st, struct remote *rm, const struct img_descriptor *top,
                      const char *reference, const char *mount_from,
                      const struct img_registry_opts *o, struct cella_error *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r = img_read_blob(img_store_source(st), top, &buf, &len, err);
        struct img_index idx;
        if (r == 0)
                r = img_index_parse(buf, len, &idx, err);
        if (r < 0)
                return r;
        bool complete = true;
        for (size_t i = 0; i < idx.n_manifests; i++)
                complete &= img_store_has_blob(st, idx.manifests[i].digest);
        if (complete) {
                for (size_t i = 0; r == 0 && i < idx.n_manifests; i++)
                        r = push_manifest(st, rm, &idx.manifests[i], idx.manifests[i].digest,
                                          mount_from, o, err);
                if (r == 0)
                        r = put_manifest(rm, reference, buf, len, top->media_type, err);
        } else {
                struct img_platform host;
                img_platform_host(&host);
                size_t i;
                r = img_index_select(&idx, o->platform ? o->platform : &host, &i, err);
                if (r == 0)
                        r = push_manifest(st, rm, &idx.manifests[i], reference, mount_from, o, err);
        }
        img_index_free(&idx);
        return r;
}

int img_push(struct img_store *st, const char *src, const char *dest,
             const struct img_registry_opts *o, struct cella_error *err)
{
        struct img_store_image img;
        int r = img_store_lookup(st, src, &img, err);
        if (r < 0)
                return r;
        struct remote rm;
        r = remote_open(dest ? dest : img.name, true, o, &rm, err);
        if (r < 0)
                return cella_err_prefix(err, "push %s", dest ? dest : src);
        /* The source repository in the same registry can lend its blobs (cross-repo mount). */
        struct img_ref sref;
        const char *mount_from = NULL;
        if (img_ref_parse(img.name, &sref, NULL) == 0 && strcmp(sref.domain, rm.ref.domain) == 0 &&
            strcmp(sref.path, rm.ref.path) != 0)
                mount_from = sref.path;
        const char *reference = rm.ref.tag[0] ? rm.ref.tag : img.desc.digest;
        if (img_media_type_is_index(img.desc.media_type))
                r = push_index(st, &rm, &img.desc, reference, mount_from, o, err);
        else
                r = push_manifest(st, &rm, &img.desc, reference, mount_from, o, err);
        img_reg_client_free(rm.client);
        return r < 0 ? cella_err_prefix(err, "push %s", dest ? dest : src) : 0;
}

/* ---- remote queries, login ---- */

static int get_blob_small(struct remote *rm, const struct img_descriptor *d, char **ret,
                          size_t *ret_len, struct cella_error *err)
{
        _cleanup_free_ char *url = NULL;
        if (d->size > (int64_t)IMG_JSON_BLOB_MAX ||
            asprintf(&url, "/v2/%s/blobs/%s", rm->ref.path, d->digest) < 0)
                return cella_err(err, EFBIG, "config %s too big", d->digest);
        struct reg_request rq = {
            .method = "GET", .url = url, .scope = rm->scope, .max_body = IMG_JSON_BLOB_MAX};
        struct reg_resp resp = {0};
        int r = img_reg_do(rm->client, &rq, &resp, err);
        if (r == 0 && resp.status != 200)
                r = http_fail(rm, "get config", &resp, err);
        if (r == 0)
                r = img_digest_verify_buf(resp.body ? resp.body : "", resp.body_len, d->digest,
                                          d->digest, err);
        if (r == 0) {
                *ret_len = resp.body_len;
                *ret = TAKE_PTR(resp.body);
        }
        img_reg_resp_clear(&resp);
        return r;
}

static int remote_inspect(struct remote *rm, const struct img_registry_opts *o, char **ret_json,
                          struct cella_error *err)
{
        _cleanup_free_ char *top_buf = NULL, *m_buf = NULL, *cfg = NULL;
        size_t top_len = 0, m_len = 0, cfg_len = 0;
        struct img_descriptor top, md;
        struct img_manifest m;
        int r =
            get_image_manifest(rm, o->platform, &top_buf, &top_len, &top, &m_buf, &m_len, &md, err);
        if (r < 0)
                return r;
        r = img_manifest_parse(m_buf ? m_buf : top_buf, m_buf ? m_len : top_len, &m, err);
        if (r < 0)
                return r;
        r = get_blob_small(rm, &m.config, &cfg, &cfg_len, err);
        struct json_object *o_ = json_object_new_object(), *config = NULL, *layers;
        char name[IMG_REF_NAME_MAX];
        img_ref_format(&rm->ref, name);
        json_object_object_add(o_, "Name", json_object_new_string(name));
        json_object_object_add(o_, "Digest", json_object_new_string(top.digest));
        json_object_object_add(o_, "MediaType", json_object_new_string(top.media_type));
        json_object_object_add(o_, "ConfigDigest", json_object_new_string(m.config.digest));
        layers = json_object_new_array();
        for (size_t i = 0; i < m.n_layers; i++)
                json_object_array_add(layers, json_object_new_string(m.layers[i].digest));
        json_object_object_add(o_, "Layers", layers);
        if (r == 0 && json_parse_text(cfg, cfg_len, &config, err) == 0)
                json_object_object_add(o_, "Config", config);
        if (r == 0 && !(*ret_json = strdup(json_to_string(o_, 1))))
                r = cella_err(err, ENOMEM, "out of memory");
        json_object_put(o_);
        img_manifest_free(&m);
        return r;
}

int img_remote_inspect(const char *ref, const struct img_registry_opts *o, char **ret_json,
                       struct cella_error *err)
{
        struct remote rm;
        int r = remote_open(ref, false, o, &rm, err);
        if (r == 0)
                r = remote_inspect(&rm, o, ret_json, err);
        img_reg_client_free(rm.client);
        return r < 0 ? cella_err_prefix(err, "inspect %s", ref) : 0;
}

int img_remote_tags(const char *repo, const struct img_registry_opts *o, char **ret_text,
                    struct cella_error *err)
{
        struct remote rm;
        int r = remote_open(repo, false, o, &rm, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *url = NULL;
        struct reg_resp resp = {0};
        struct json_object *doc = NULL, *tags;
        if (asprintf(&url, "/v2/%s/tags/list", rm.ref.path) < 0)
                r = cella_err(err, ENOMEM, "out of memory");
        struct reg_request rq = {
            .method = "GET", .url = url, .scope = rm.scope, .max_body = 16u << 20};
        if (r == 0)
                r = img_reg_do(rm.client, &rq, &resp, err);
        if (r == 0 && resp.status != 200)
                r = http_fail(&rm, "list tags of", &resp, err);
        if (r == 0)
                r = json_parse_text(resp.body, resp.body_len, &doc, err);
        size_t cap = 1, len = 0;
        char *text = calloc(1, 1);
        if (r == 0 && json_object_object_get_ex(doc, "tags", &tags) &&
            json_object_is_type(tags, json_type_array)) {
                for (size_t i = 0; text && i < json_object_array_length(tags); i++) {
                        const char *t = json_object_get_string(json_object_array_get_idx(tags, i));
                        size_t n = strlen(t);
                        char *nt = realloc(text, cap + len + n + 1);
                        if (!nt)
                                break;
                        text = nt;
                        cap += n + 1;
                        memcpy(text + len, t, n);
                        len += n;
                        text[len++] = '\n';
                        text[len] = '\0';
                }
        }
        json_object_put(doc);
        img_reg_resp_clear(&resp);
        img_reg_client_free(rm.client);
        if (r < 0) {
                free(text);
                return r;
        }
        *ret_text = text;
        return 0;
}

int img_login(const char *registry, const char *user, const char *pass,
              const struct img_registry_opts *o, struct cella_error *err)
{
        struct reg_opts ro = o->reg;
        ro.username = user;
        ro.password = pass;
        struct reg_client *c = NULL;
        int r = img_reg_client_new(registry, &ro, &c, err);
        if (r == 0)
                r = img_reg_client_check_login(c, err);
        img_reg_client_free(c);
        if (r < 0)
                return cella_err_prefix(err, "login to %s", registry);
        _cleanup_free_ char *path = img_auth_path(o->reg.authfile);
        if (!path)
                return cella_err(err, ENOMEM, "out of memory");
        return img_auth_set(path, registry, user, pass, err);
}

int img_logout(const char *registry, const struct img_registry_opts *o, struct cella_error *err)
{
        _cleanup_free_ char *path = img_auth_path(o->reg.authfile);
        if (!path)
                return cella_err(err, ENOMEM, "out of memory");
        return img_auth_set(path, registry, NULL, NULL, err);
}
