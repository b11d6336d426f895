/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Image references as Docker and the distribution spec write them:
 *   [registry[:port]/]repository[:tag][@sha256:hex]
 * normalised like Docker: no registry means docker.io, a one-component repository on docker.io
 * gets "library/", no tag and no digest means ":latest". The first component is a registry if
 * it contains '.' or ':' or is "localhost".
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "digest.h"

#define IMG_REF_DOMAIN_MAX 256
#define IMG_REF_PATH_MAX   256
#define IMG_REF_TAG_MAX    129
#define IMG_REF_NAME_MAX   (IMG_REF_DOMAIN_MAX + IMG_REF_PATH_MAX + IMG_REF_TAG_MAX + IMG_DIGEST_MAX)

struct img_ref {
        char domain[IMG_REF_DOMAIN_MAX]; /* "docker.io", "localhost:5000" */
        char path[IMG_REF_PATH_MAX];     /* "library/busybox" */
        char tag[IMG_REF_TAG_MAX];       /* "" when only a digest was given */
        char digest[IMG_DIGEST_MAX];     /* "" when none */
};

int img_ref_parse(const char *s, struct img_ref *ret, struct cella_error *err);

/* "domain/path:tag", "domain/path@digest" or "domain/path:tag@digest". */
void img_ref_format(const struct img_ref *ref, char buf[static IMG_REF_NAME_MAX]);
/* "domain/path" */
void img_ref_repository(const struct img_ref *ref, char buf[static IMG_REF_NAME_MAX]);
/* The short form Docker prints: "busybox:latest" for docker.io/library/busybox:latest. */
void img_ref_familiar(const struct img_ref *ref, char buf[static IMG_REF_NAME_MAX]);

/* Normalises s into buf (img_ref_parse + img_ref_format). */
int img_ref_normalize(const char *s, char buf[static IMG_REF_NAME_MAX], struct cella_error *err);
