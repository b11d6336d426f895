/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * OCI image manifests and indexes and their Docker v2 schema 2 equivalents (manifest lists):
 * parsed into small validated structs so that nothing downstream touches untrusted JSON.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "digest.h"

#define IMG_MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define IMG_MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define IMG_MT_OCI_CONFIG      "application/vnd.oci.image.config.v1+json"
#define IMG_MT_OCI_LAYER       "application/vnd.oci.image.layer.v1.tar"
#define IMG_MT_OCI_LAYER_GZIP  "application/vnd.oci.image.layer.v1.tar+gzip"
#define IMG_MT_OCI_LAYER_ZSTD  "application/vnd.oci.image.layer.v1.tar+zstd"
#define IMG_MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IMG_MT_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"
#define IMG_MT_DOCKER_LAYER    "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Manifests and configs are small; anything bigger is refused before it is read. */
#define IMG_JSON_BLOB_MAX (8u << 20)

struct img_platform {
        char os[32];
        char arch[32];
        char variant[32];
};

struct img_descriptor {
        char media_type[128];
        char digest[IMG_DIGEST_MAX];
        int64_t size;
        bool has_platform;
        struct img_platform platform;
        char ref_name[256];   /* annotation org.opencontainers.image.ref.name, "" if none */
        char image_name[256]; /* annotation io.containerd.image.name, "" if none */
};

struct img_manifest {
        struct img_descriptor config;
        struct img_descriptor *layers;
        size_t n_layers;
};

struct img_index {
        struct img_descriptor *manifests;
        size_t n_manifests;
};

struct json_object;

bool img_media_type_is_index(const char *media_type);

/* One descriptor object; what names it in error messages. */
int img_descriptor_parse(struct json_object *o, struct img_descriptor *d, const char *what,
                         struct cella_error *err);
bool img_media_type_is_manifest(const char *media_type);

int img_manifest_parse(const char *buf, size_t len, struct img_manifest *ret,
                       struct cella_error *err);
void img_manifest_free(struct img_manifest *m);

int img_index_parse(const char *buf, size_t len, struct img_index *ret, struct cella_error *err);
void img_index_free(struct img_index *idx);

/* The media type a manifest or index document declares (or implies by its fields). */
int img_document_media_type(const char *buf, size_t len, char ret[static 128],
                            struct cella_error *err);

/* "os/arch[/variant]"; arch aliases (x86_64, aarch64) are normalised. */
int img_platform_parse(const char *s, struct img_platform *ret, struct cella_error *err);
/* The platform this program runs on. */
void img_platform_host(struct img_platform *ret);
/* Index entry i matching want (variant optional; arm64 defaults to v8); -ENOENT if none. */
int img_index_select(const struct img_index *idx, const struct img_platform *want, size_t *ret_i,
                     struct cella_error *err);
