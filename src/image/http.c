/* SPDX-License-Identifier: Apache-2.0 */
#include "http.h"

#include <curl/curl.h>
#include <dirent.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "base/cleanup.h"
#include "base/json.h"

#define MAX_TOKENS 16

struct token {
        char *scope;
        char *header; /* "Authorization: Bearer ..." */
};

struct reg_client {
        CURL *curl;
        char registry[256];
        char base[300];
        bool verify;
        char *ca_file;
        char *user, *pass;
        bool basic;            /* the registry asked for Basic auth */
        char *realm, *service; /* the registry asked for Bearer tokens */
        struct token tokens[MAX_TOKENS];
        size_t n_tokens;
        char www_auth[1024]; /* the last challenge seen */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
}

void img_reg_resp_clear(struct reg_resp *r)
{
        free(r->body);
        memset(r, 0, sizeof(*r));
}

const char *img_reg_client_base(const struct reg_client *c)
{
        return c->base;
}

void img_reg_client_free(struct reg_client *c)
{
        if (!c)
                return;
        if (c->curl)
                curl_easy_cleanup(c->curl);
        for (size_t i = 0; i < c->n_tokens; i++) {
                free(c->tokens[i].scope);
                free(c->tokens[i].header);
        }
        free(c->ca_file);
        free(c->user);
        if (c->pass)
                explicit_bzero(c->pass, strlen(c->pass));
        free(c->pass);
        free(c->realm);
        free(c->service);
        free(c);
}

/* ---- one transfer ---- */

struct xfer {
        const struct reg_request *rq;
        struct reg_resp *resp;
        struct reg_client *c;
        int sink_error;
        bool too_big;
        int64_t body_off;
};

static void copy_header_value(char *dst, size_t cap, const char *v, size_t n)
{
        while (n > 0 && (*v == ' ' || *v == '\t')) {
                v++;
                n--;
        }
        while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
                n--;
        if (n >= cap)
                n = cap - 1;
        memcpy(dst, v, n);
        dst[n] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *data)
{
        struct xfer *x = data;
        size_t n = size * nitems;
        static const struct {
                const char *name;
                size_t off, cap;
        } want[] = {
            {"location:", offsetof(struct reg_resp, location), 2048},
            {"docker-content-digest:", offsetof(struct reg_resp, digest), 80},
            {"content-type:", offsetof(struct reg_resp, content_type), 128},
            {"range:", offsetof(struct reg_resp, range), 64},
        };
        /* A new status line (after a redirect or 100-continue) starts a new response. */
        if (n > 5 && strncmp(buf, "HTTP/", 5) == 0) {
                x->resp->location[0] = x->resp->digest[0] = x->resp->content_type[0] = '\0';
                x->resp->range[0] = '\0';
        }
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                size_t k = strlen(want[i].name);
                if (n > k && strncasecmp(buf, want[i].name, k) == 0)
                        copy_header_value((char *)x->resp + want[i].off, want[i].cap, buf + k,
                                          n - k);
        }
        if (n > 17 && strncasecmp(buf, "www-authenticate:", 17) == 0)
                copy_header_value(x->c->www_auth, sizeof(x->c->www_auth), buf + 17, n - 17);
        return n;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *data)
{
        struct xfer *x = data;
        size_t n = size * nmemb;
        long status = 0;
        curl_easy_getinfo(x->c->curl, CURLINFO_RESPONSE_CODE, &status);
        /* Only successful bodies go to the sink; error bodies are kept for the message. */
        if (x->rq->sink && status >= 200 && status < 300) {
                int r = x->rq->sink(x->rq->sink_ctx, status, buf, n);
                if (r < 0) {
                        x->sink_error = r;
                        return 0;
                }
                return n;
        }
        size_t max = x->rq->sink ? 64 * 1024 : x->rq->max_body;
        struct reg_resp *resp = x->resp;
        if (resp->body_len + n > max) {
                x->too_big = true;
                return 0;
        }
        char *nb = realloc(resp->body, resp->body_len + n + 1);
        if (!nb)
                return 0;
        memcpy(nb + resp->body_len, buf, n);
        resp->body = nb;
        resp->body_len += n;
        nb[resp->body_len] = '\0';
        return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *data)
{
        struct xfer *x = data;
        size_t want = size * nitems;
        int64_t left = x->rq->body_len - x->body_off;
        if (left <= 0)
                return 0;
        if ((int64_t)want > left)
                want = (size_t)left;
        if (x->rq->body) {
                memcpy(buf, (const char *)x->rq->body + x->body_off, want);
                x->body_off += (int64_t)want;
                return want;
        }
        ssize_t n = read(x->rq->body_fd, buf, want);
        if (n < 0)
                return CURL_READFUNC_ABORT;
        x->body_off += n;
        return (size_t)n;
}

static void build_url(const struct reg_client *c, const char *url, char *out, size_t cap)
{
        if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
                snprintf(out, cap, "%s", url);
        else
                snprintf(out, cap, "%s%s", c->base, url);
}

static void setup_tls(CURL *h, const struct reg_client *c)
{
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->verify ? 1L : 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->verify ? 2L : 0L);
        if (c->ca_file)
                curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
}

static int perform(struct reg_client *c, const struct reg_request *rq, const char *auth,
                   struct reg_resp *resp, struct cella_error *err)
{
        CURL *h = c->curl;
        char url[4096];
        build_url(c, rq->url, url, sizeof(url));
        curl_easy_reset(h);
        setup_tls(h, c);
        struct xfer x = {.rq = rq, .resp = resp, .c = c};
        struct curl_slist *hdrs = NULL;
        char line[300];
        if (auth)
                hdrs = curl_slist_append(hdrs, auth);
        if (rq->accept) {
                snprintf(line, sizeof(line), "Accept: %s", rq->accept);
                hdrs = curl_slist_append(hdrs, line);
        }
        if (rq->content_type) {
                snprintf(line, sizeof(line), "Content-Type: %s", rq->content_type);
                hdrs = curl_slist_append(hdrs, line);
        }
        if (rq->extra_header)
                hdrs = curl_slist_append(hdrs, rq->extra_header);
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "cella/" CELLA_VERSION);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, strcmp(rq->method, "GET") == 0 ? 1L : 0L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
        /* A stalled transfer (under 1 byte/s for a minute) fails and may be resumed. */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (strcmp(rq->method, "HEAD") == 0)
                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        if (rq->body || rq->body_fd > 0 || strcmp(rq->method, "PUT") == 0 ||
            strcmp(rq->method, "PATCH") == 0 || strcmp(rq->method, "POST") == 0) {
                curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
                curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
                curl_easy_setopt(h, CURLOPT_READDATA, &x);
                curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
        }
        CURLcode cr = curl_easy_perform(h);
        curl_slist_free_all(hdrs);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        curl_off_t cl = -1;
        curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        resp->content_length = cl;
        if (x.sink_error)
                return x.sink_error; /* the sink filled err itself */
        if (x.too_big)
                return cella_err(err, EFBIG, "%s %s: response too big", rq->method, url);
        if (cr != CURLE_OK)
                return cella_err(err, cr == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO, "%s %s: %s",
                                 rq->method, url, curl_easy_strerror(cr));
        return 0;
}

/* ---- authentication ---- */

/* Extracts key="value" from a WWW-Authenticate challenge. */
static char *challenge_param(const char *ch, const char *key)
{
        size_t k = strlen(key);
        for (const char *p = ch; (p = strstr(p, key)); p += k) {
                if ((p != ch && p[-1] != ' ' && p[-1] != ',') || p[k] != '=')
                        continue;
                const char *v = p + k + 1;
                if (*v == '"') {
                        const char *end = strchr(++v, '"');
                        return end ? strndup(v, (size_t)(end - v)) : NULL;
                }
                return strndup(v, strcspn(v, ", "));
        }
        return NULL;
}

static void learn_challenge(struct reg_client *c)
{
        if (strncasecmp(c->www_auth, "basic", 5) == 0) {
                c->basic = true;
        } else if (strncasecmp(c->www_auth, "bearer", 6) == 0) {
                free(c->realm);
                free(c->service);
                c->realm = challenge_param(c->www_auth, "realm");
                c->service = challenge_param(c->www_auth, "service");
        }
}

static int url_escape(CURL *h, const char *s, char **ret)
{
        char *e = curl_easy_escape(h, s, 0);
        if (!e)
                return -ENOMEM;
        *ret = strdup(e);
        curl_free(e);
        return *ret ? 0 : -ENOMEM;
}

static int basic_header(const struct reg_client *c, char **ret)
{
        _cleanup_free_ char *plain = NULL;
        if (asprintf(&plain, "%s:%s", c->user, c->pass) < 0)
                return -ENOMEM;
        size_t n = strlen(plain);
        _cleanup_free_ char *b64 = malloc(4 * ((n + 2) / 3) + 1);
        if (!b64)
                return -ENOMEM;
        static const char tbl[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t o = 0;
        for (size_t i = 0; i < n; i += 3) {
                unsigned v = (unsigned char)plain[i] << 16;
                if (i + 1 < n)
                        v |= (unsigned char)plain[i + 1] << 8;
                if (i + 2 < n)
                        v |= (unsigned char)plain[i + 2];
                b64[o++] = tbl[(v >> 18) & 63];
                b64[o++] = tbl[(v >> 12) & 63];
                b64[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
                b64[o++] = i + 2 < n ? tbl[v & 63] : '=';
        }
        b64[o] = '\0';
        explicit_bzero(plain, n);
        return asprintf(ret, "Authorization: Basic %s", b64) < 0 ? -ENOMEM : 0;
}

/* GET realm?service=..&scope=.. (with Basic credentials if we have them) for a Bearer token. */
static int fetch_token(struct reg_client *c, const char *scope, char **ret_header,
                       struct cella_error *err)
{
        _cleanup_free_ char *svc = NULL, *sc = NULL, *url = NULL, *basic = NULL;
        if ((c->service && url_escape(c->curl, c->service, &svc) < 0) ||
            (scope && url_escape(c->curl, scope, &sc) < 0))
                return cella_err(err, ENOMEM, "out of memory");
        if (asprintf(&url, "%s%sservice=%s%s%s", c->realm, strchr(c->realm, '?') ? "&" : "?",
                     svc ? svc : "", sc ? "&scope=" : "", sc ? sc : "") < 0)
                return cella_err(err, ENOMEM, "out of memory");
        if (c->user && basic_header(c, &basic) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        struct reg_request rq = {.method = "GET", .url = url, .max_body = 1 << 20};
        struct reg_resp resp = {0};
        int r = perform(c, &rq, basic, &resp, err);
        if (r == 0 && resp.status != 200)
                r = cella_err(err, resp.status == 401 ? EACCES : EIO,
                              "get a token from %s: HTTP %ld%s", c->realm, resp.status,
                              resp.status == 401 ? " (wrong or missing credentials: see `cella "
                                                   "image login`)"
                                                 : "");
        struct json_object *o = NULL;
        if (r == 0 && json_parse_text(resp.body, resp.body_len, &o, err) < 0)
                r = cella_err_prefix(err, "token from %s", c->realm);
        if (r == 0) {
                struct json_object *t;
                if (!json_object_object_get_ex(o, "token", &t) &&
                    !json_object_object_get_ex(o, "access_token", &t))
                        r = cella_err(err, EIO, "token response from %s has no token", c->realm);
                else if (asprintf(ret_header, "Authorization: Bearer %s",
                                  json_object_get_string(t)) < 0)
                        r = cella_err(err, ENOMEM, "out of memory");
        }
        json_object_put(o);
        img_reg_resp_clear(&resp);
        return r;
}

/* The Authorization header for a request with this scope (NULL: none needed or possible). */
static int auth_header(struct reg_client *c, const char *scope, char **ret, struct cella_error *err)
{
        *ret = NULL;
        if (c->basic)
                return c->user ? (basic_header(c, ret) < 0 ? -ENOMEM : 0) : 0;
        if (!c->realm)
                return 0;
        const char *key = scope ? scope : "";
        for (size_t i = 0; i < c->n_tokens; i++)
                if (strcmp(c->tokens[i].scope, key) == 0)
                        return (*ret = strdup(c->tokens[i].header)) ? 0 : -ENOMEM;
        char *hdr;
        int r = fetch_token(c, scope, &hdr, err);
        if (r < 0)
                return r;
        if (c->n_tokens < MAX_TOKENS) {
                c->tokens[c->n_tokens].scope = strdup(key);
                c->tokens[c->n_tokens].header = strdup(hdr);
                c->n_tokens++;
        }
        *ret = hdr;
        return 0;
}

static void forget_token(struct reg_client *c, const char *scope)
{
        const char *key = scope ? scope : "";
        for (size_t i = 0; i < c->n_tokens; i++) {
                if (strcmp(c->tokens[i].scope, key) == 0) {
                        free(c->tokens[i].scope);
                        free(c->tokens[i].header);
                        c->tokens[i] = c->tokens[--c->n_tokens];
                        return;
                }
        }
}

int img_reg_do(struct reg_client *c, const struct reg_request *rq, struct reg_resp *resp,
               struct cella_error *err)
{
        off_t body_start = rq->body_fd > 0 ? lseek(rq->body_fd, 0, SEEK_CUR) : 0;
        for (int attempt = 0;; attempt++) {
                _cleanup_free_ char *auth = NULL;
                int r = auth_header(c, rq->scope, &auth, err);
                if (r < 0)
                        return r;
                img_reg_resp_clear(resp);
                c->www_auth[0] = '\0';
                r = perform(c, rq, auth, resp, err);
                if (r < 0 || resp->status != 401 || attempt > 0)
                        return r;
                /* The registry may want another scheme or a fresh token: retry once, if the
                 * request body can be replayed. */
                if (rq->body_fd > 0 && lseek(rq->body_fd, body_start, SEEK_SET) < 0)
                        return 0;
                bool had_auth = auth != NULL;
                learn_challenge(c);
                forget_token(c, rq->scope);
                if (had_auth && c->basic)
                        return 0; /* the credentials were refused */
        }
}

void img_reg_error_text(const struct reg_resp *resp, char *buf, size_t size)
{
        struct json_object *o = NULL, *errs, *e0, *msg, *code;
        snprintf(buf, size, "HTTP %ld", resp->status);
        if (!resp->body || json_parse_text(resp->body, resp->body_len, &o, NULL) < 0)
                return;
        if (json_object_object_get_ex(o, "errors", &errs) &&
            json_object_is_type(errs, json_type_array) && json_object_array_length(errs) > 0) {
                e0 = json_object_array_get_idx(errs, 0);
                const char *c = json_object_object_get_ex(e0, "code", &code)
                                    ? json_object_get_string(code)
                                    : "";
                const char *m = json_object_object_get_ex(e0, "message", &msg)
                                    ? json_object_get_string(msg)
                                    : "";
                snprintf(buf, size, "HTTP %ld %s: %s", resp->status, c, m);
        }
        json_object_put(o);
}

/* ---- connecting ---- */

static bool is_loopback(const char *registry)
{
        return strncmp(registry, "localhost", 9) == 0 || strncmp(registry, "127.", 4) == 0 ||
               strncmp(registry, "[::1]", 5) == 0;
}

static int load_credentials(struct reg_client *c, const struct reg_opts *o, struct cella_error *err)
{
        if (o->username) {
                c->user = strdup(o->username);
                c->pass = strdup(o->password ? o->password : "");
                return 0;
        }
        _cleanup_free_ char *path = img_auth_path(o->authfile);
        if (!path)
                return cella_err(err, ENOMEM, "out of memory");
        int r = img_auth_get(path, c->registry, &c->user, &c->pass, err);
        return r == -ENOENT ? 0 : r;
}

/* GET /v2/ over HTTPS, or plain HTTP where that is allowed, and note the challenge. */
static int ping(struct reg_client *c, bool allow_http, struct cella_error *err)
{
        struct reg_request rq = {.method = "GET", .url = "/v2/", .max_body = 1 << 20};
        struct reg_resp resp = {0};
        snprintf(c->base, sizeof(c->base), "https://%s", c->registry);
        int r = perform(c, &rq, NULL, &resp, err);
        if (r < 0 && allow_http) {
                /* Plain HTTP only counts if a registry answers there; otherwise (nothing, or a
                 * TLS server answering 400) the HTTPS failure is the one to report. */
                struct cella_error https_err = err ? *err : (struct cella_error){0};
                int https_r = r;
                snprintf(c->base, sizeof(c->base), "http://%s", c->registry);
                img_reg_resp_clear(&resp);
                r = perform(c, &rq, NULL, &resp, err);
                if (r < 0 || (resp.status != 200 && resp.status != 401)) {
                        if (err)
                                *err = https_err;
                        r = https_r;
                        snprintf(c->base, sizeof(c->base), "https://%s", c->registry);
                }
        }
        if (r == 0 && resp.status == 401)
                learn_challenge(c);
        else if (r == 0 && resp.status != 200)
                r = cella_err(err, EIO, "%s/v2/ answered HTTP %ld: is it a registry?", c->base,
                              resp.status);
        img_reg_resp_clear(&resp);
        /* Point at the fix only when it is the certificate that failed. */
        bool tls = err && (strstr(err->msg, "SSL") || strstr(err->msg, "certificate"));
        if (r < 0)
                cella_err_prefix(err, "connect to registry %s%s", c->registry,
                                 tls && c->verify ? " (for a private CA give --ca-file or "
                                                    "--cert-dir; --tls-verify=false trusts any)"
                                                  : "");
        return r;
}

/* ca.crt in dir, else its first *.crt (malloc'd), or NULL. */
static char *find_ca(const char *dir)
{
        char *p = NULL;
        if (asprintf(&p, "%s/ca.crt", dir) < 0)
                return NULL;
        if (access(p, R_OK) == 0)
                return p;
        free(p);
        p = NULL;
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        while (d && !p && (de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if (n > 4 && strcmp(de->d_name + n - 4, ".crt") == 0 &&
                    asprintf(&p, "%s/%s", dir, de->d_name) < 0)
                        p = NULL;
        }
        return p;
}

static char *registry_ca(const char *registry, const struct reg_opts *o)
{
        if (o->ca_file)
                return strdup(o->ca_file);
        if (o->cert_dir)
                return find_ca(o->cert_dir);
        static const char *const roots[] = {"/etc/containers/certs.d", "/etc/docker/certs.d"};
        for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
                _cleanup_free_ char *dir = NULL;
                if (asprintf(&dir, "%s/%s", roots[i], registry) < 0)
                        return NULL;
                char *ca = find_ca(dir);
                if (ca)
                        return ca;
        }
        return NULL;
}

int img_reg_client_new(const char *registry, const struct reg_opts *o, struct reg_client **ret,
                       struct cella_error *err)
{
        pthread_once(&curl_once, curl_init_once);
        struct reg_client *c = calloc(1, sizeof(*c));
        if (!c)
                return cella_err(err, ENOMEM, "out of memory");
        /* Docker Hub's name is not its API endpoint. */
        snprintf(c->registry, sizeof(c->registry), "%s",
                 strcmp(registry, "docker.io") == 0 ? "registry-1.docker.io" : registry);
        c->verify = o->tls_verify_set ? o->tls_verify : true;
        c->ca_file = registry_ca(registry, o);
        if (o->cert_dir && !c->ca_file) {
                img_reg_client_free(c);
                return cella_err(err, ENOENT, "no ca.crt or *.crt in --cert-dir \"%s\"",
                                 o->cert_dir);
        }
        c->curl = curl_easy_init();
        int r = c->curl ? 0 : cella_err(err, ENOMEM, "cannot start libcurl");
        if (r == 0)
                r = load_credentials(c, o, err);
        if (r == 0)
                r = ping(c, !c->verify || is_loopback(c->registry), err);
        if (r < 0) {
                img_reg_client_free(c);
                return r;
        }
        /* Credentials are stored under the name the user wrote (docker.io). */
        *ret = c;
        return 0;
}

int img_reg_client_clone(const struct reg_client *c, struct reg_client **ret,
                         struct cella_error *err)
{
        struct reg_client *n = calloc(1, sizeof(*n));
        if (!n || !(n->curl = curl_easy_init())) {
                free(n);
                return cella_err(err, ENOMEM, "out of memory");
        }
        memcpy(n->registry, c->registry, sizeof(n->registry));
        memcpy(n->base, c->base, sizeof(n->base));
        n->verify = c->verify;
        n->basic = c->basic;
        n->ca_file = c->ca_file ? strdup(c->ca_file) : NULL;
        n->user = c->user ? strdup(c->user) : NULL;
        n->pass = c->pass ? strdup(c->pass) : NULL;
        n->realm = c->realm ? strdup(c->realm) : NULL;
        n->service = c->service ? strdup(c->service) : NULL;
        for (size_t i = 0; i < c->n_tokens; i++) {
                n->tokens[i].scope = strdup(c->tokens[i].scope);
                n->tokens[i].header = strdup(c->tokens[i].header);
        }
        n->n_tokens = c->n_tokens;
        *ret = n;
        return 0;
}

int img_reg_client_check_login(struct reg_client *c, struct cella_error *err)
{
        if (!c->user)
                return cella_err(err, EINVAL, "no credentials given");
        if (c->realm) {
                _cleanup_free_ char *hdr = NULL;
                return fetch_token(c, NULL, &hdr, err);
        }
        struct reg_request rq = {.method = "GET", .url = "/v2/", .max_body = 1 << 20};
        struct reg_resp resp = {0};
        c->basic = true;
        int r = img_reg_do(c, &rq, &resp, err);
        if (r == 0 && resp.status != 200)
                r = cella_err(err, EACCES, "log in to %s: HTTP %ld (wrong user name or password)",
                              c->registry, resp.status);
        img_reg_resp_clear(&resp);
        return r;
}
