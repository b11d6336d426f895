/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A registry HTTP client over libcurl (OCI distribution spec): HTTPS with optional CA file and
 * verification switch, fallback to plain HTTP only for loopback registries or --tls-verify=false,
 * Basic auth and Bearer token auth (the WWW-Authenticate challenge of GET /v2/ and of any 401,
 * with tokens cached per scope), credentials from the docker config.json file.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct reg_opts {
        bool tls_verify_set; /* false: default (verify) */
        bool tls_verify;
        const char *ca_file;
        /* A directory with the registry's CA certificate (ca.crt, else the first *.crt); by
         * default /etc/containers/certs.d/HOST:PORT, then /etc/docker/certs.d/HOST:PORT. */
        const char *cert_dir;
        const char *authfile;
        const char *username; /* explicit credentials override the auth file */
        const char *password;
};

struct reg_client;

/* Connects to registry ("host[:port]") with GET /v2/ and learns its auth scheme. */
int img_reg_client_new(const char *registry, const struct reg_opts *o, struct reg_client **ret,
                       struct cella_error *err);
void img_reg_client_free(struct reg_client *c);
static inline void img_reg_client_freep(struct reg_client **c)
{
        if (*c)
                img_reg_client_free(*c);
}
/* "https://host:port" (what was negotiated). */
const char *img_reg_client_base(const struct reg_client *c);
/* An independent client (own connection, same settings and tokens) for another thread. */
int img_reg_client_clone(const struct reg_client *c, struct reg_client **ret,
                         struct cella_error *err);
/* Checks that the configured credentials are accepted (for login). */
int img_reg_client_check_login(struct reg_client *c, struct cella_error *err);

struct reg_resp {
        long status;
        char location[2048];
        char digest[80]; /* Docker-Content-Digest */
        char content_type[128];
        char range[64];
        int64_t content_length;
        char *body; /* when no sink was given: the body, NUL-terminated (malloc'd) */
        size_t body_len;
};
void img_reg_resp_clear(struct reg_resp *r);

/* Called with successful (2xx) response body data; a negative return aborts the transfer. */
typedef int (*reg_sink_fn)(void *ctx, long status, const void *buf, size_t len);

struct reg_request {
        const char *method;
        const char *url;    /* a path below the base ("/v2/...") or an absolute URL */
        const char *scope;  /* token scope, e.g. "repository:library/busybox:pull" */
        const char *accept; /* Accept header, may be NULL */
        const char *content_type;
        const char *extra_header; /* e.g. "Range: bytes=10-", may be NULL */
        /* Request body: a buffer, or fd (read from its current offset, body_len bytes). */
        const void *body;
        int body_fd;
        int64_t body_len;
        reg_sink_fn sink;
        void *sink_ctx;
        size_t max_body; /* without a sink: refuse bigger bodies */
};

/* Performs the request (authenticating as needed). Any HTTP status is a success here; transport
 * failures are errors. */
int img_reg_do(struct reg_client *c, const struct reg_request *rq, struct reg_resp *resp,
               struct cella_error *err);

/* A short description of an error response body ({"errors":[{"code","message"}]}). */
void img_reg_error_text(const struct reg_resp *resp, char *buf, size_t size);
