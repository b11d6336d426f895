/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Registry credentials in Docker's config.json format: {"auths": {"HOST": {"auth":
 * base64("user:password")}}}. The file is --authfile, else $REGISTRY_AUTH_FILE, else
 * $DOCKER_CONFIG/config.json, else ~/.docker/config.json, so `docker login` and `cella image
 * login` share credentials. Docker Hub's key is "https://index.docker.io/v1/".
 */

#include "base/error.h"

/* The credentials file to use (malloc'd). */
char *img_auth_path(const char *authfile);

/* The config.json key for a registry host ("docker.io" -> Docker Hub's legacy key). */
const char *img_auth_key(const char *registry);

/* Finds credentials for registry; -ENOENT if none (not an error for anonymous access). */
int img_auth_get(const char *path, const char *registry, char **ret_user, char **ret_pass,
                 struct cella_error *err);

/* Stores (user != NULL) or removes (user == NULL) credentials; the file is replaced atomically
 * with mode 0600 and other keys in it are kept. Removing absent credentials is -ENOENT. */
int img_auth_set(const char *path, const char *registry, const char *user, const char *pass,
                 struct cella_error *err);
