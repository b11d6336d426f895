/* SPDX-License-Identifier: Apache-2.0 */
#include "auth.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"

char *img_auth_path(const char *authfile)
{
        char *p = NULL;
        if (authfile && *authfile)
                return strdup(authfile);
        const char *env = getenv("REGISTRY_AUTH_FILE");
        if (env && *env)
                return strdup(env);
        env = getenv("DOCKER_CONFIG");
        if (env && *env)
                return asprintf(&p, "%s/config.json", env) < 0 ? NULL : p;
        const char *home = getenv("HOME");
        return asprintf(&p, "%s/.docker/config.json", home && *home ? home : "/root") < 0 ? NULL
                                                                                          : p;
}

const char *img_auth_key(const char *registry)
{
        if (strcmp(registry, "docker.io") == 0 || strcmp(registry, "registry-1.docker.io") == 0 ||
            strcmp(registry, "index.docker.io") == 0)
                return "https://index.docker.io/v1/";
        return registry;
}

static int load(const char *path, struct json_object **ret, struct cella_error *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r = fs_read_file(path, 4u << 20, &buf, &len);
        if (r == -ENOENT) {
                *ret = json_object_new_object();
                return 0;
        }
        if (r < 0)
                return cella_errno(err, -r, "read credentials \"%s\"", path);
        r = json_parse_text(buf, len, ret, err);
        if (r < 0)
                return cella_err_prefix(err, "credentials \"%s\"", path);
        if (!json_object_is_type(*ret, json_type_object)) {
                json_object_put(*ret);
                return cella_err(err, EINVAL, "credentials \"%s\" is not a JSON object", path);
        }
        return 0;
}

/* Keys may be written as "host", "https://host" or "https://host/v1/" by different tools. */
static struct json_object *find_entry(struct json_object *auths, const char *registry)
{
        const char *key = img_auth_key(registry);
        struct json_object *v;
        if (json_object_object_get_ex(auths, key, &v))
                return v;
        json_object_object_foreach(auths, k, val)
        {
                const char *h = k;
                if (strncmp(h, "https://", 8) == 0)
                        h += 8;
                else if (strncmp(h, "http://", 7) == 0)
                        h += 7;
                size_t n = strcspn(h, "/");
                if (n == strlen(registry) && strncmp(h, registry, n) == 0)
                        return val;
        }
        return NULL;
}

int img_auth_get(const char *path, const char *registry, char **ret_user, char **ret_pass,
                 struct cella_error *err)
{
        struct json_object *root, *auths, *entry, *auth;
        int r = load(path, &root, err);
        if (r < 0)
                return r;
        r = -ENOENT;
        if (json_object_object_get_ex(root, "auths", &auths) &&
            (entry = find_entry(auths, registry)) &&
            json_object_object_get_ex(entry, "auth", &auth)) {
                const char *b64 = json_object_get_string(auth);
                size_t n = strlen(b64);
                _cleanup_free_ unsigned char *dec = malloc(n / 4 * 3 + 4);
                int len = dec ? EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)n) : -1;
                if (len >= 0) {
                        while (len > 0 && n > 0 && b64[--n] == '=')
                                len--; /* EVP_DecodeBlock counts padding as zero bytes */
                        dec[len] = '\0';
                }
                char *colon = len >= 0 ? strchr((char *)dec, ':') : NULL;
                if (!colon) {
                        r = cella_err(err, EINVAL,
                                      "credentials for \"%s\" in \"%s\" are not "
                                      "base64(user:password)",
                                      registry, path);
                } else {
                        *colon = '\0';
                        *ret_user = strdup((char *)dec);
                        *ret_pass = strdup(colon + 1);
                        r = 0;
                }
        }
        json_object_put(root);
        return r;
}

int img_auth_set(const char *path, const char *registry, const char *user, const char *pass,
                 struct cella_error *err)
{
        struct json_object *root, *auths;
        int r = load(path, &root, err);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(root, "auths", &auths) ||
            !json_object_is_type(auths, json_type_object)) {
                auths = json_object_new_object();
                json_object_object_add(root, "auths", auths);
        }
        if (user) {
                _cleanup_free_ char *plain = NULL;
                if (asprintf(&plain, "%s:%s", user, pass) < 0)
                        return cella_err(err, ENOMEM, "out of memory");
                size_t n = strlen(plain);
                _cleanup_free_ char *b64 = malloc(4 * ((n + 2) / 3) + 1);
                EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)plain, (int)n);
                struct json_object *entry = json_object_new_object();
                json_object_object_add(entry, "auth", json_object_new_string(b64));
                json_object_object_add(auths, img_auth_key(registry), entry);
        } else {
                bool found = false;
                while (find_entry(auths, registry)) {
                        json_object_object_foreach(auths, k, v)
                        {
                                if (v == find_entry(auths, registry)) {
                                        json_object_object_del(auths, k);
                                        found = true;
                                        break;
                                }
                        }
                }
                if (!found) {
                        json_object_put(root);
                        return cella_err(err, ENOENT, "not logged in to \"%s\"", registry);
                }
        }
        /* The directory may not exist yet (~/.docker); create it private. */
        _cleanup_free_ char *dir = strdup(path);
        char *slash = dir ? strrchr(dir, '/') : NULL;
        if (slash && slash != dir) {
                *slash = '\0';
                mkdir(dir, 0700);
        }
        const char *text = json_to_string(root, 1);
        _cleanup_close_ int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                r = cella_errno(err, errno, "open directory of \"%s\"", path);
        else
                r = fs_write_atomic_at(dfd, slash ? slash + 1 : path, text, strlen(text), 0600);
        if (r < 0 && dfd >= 0)
                cella_errno(err, -r, "write credentials \"%s\"", path);
        json_object_put(root);
        return r;
}
