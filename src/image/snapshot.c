/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot.h"

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

int img_chain_ids(char *const *diff_ids, size_t n, char (*ret)[IMG_DIGEST_MAX])
{
        for (size_t i = 0; i < n; i++) {
                if (i == 0) {
                        snprintf(ret[0], IMG_DIGEST_MAX, "%s", diff_ids[0]);
                        continue;
                }
                char buf[2 * IMG_DIGEST_MAX + 2];
                int len = snprintf(buf, sizeof(buf), "%s %s", ret[i - 1], diff_ids[i]);
                int r = img_sha256_buf(buf, (size_t)len, ret[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void strv_free(char **v)
{
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

static int diff_ids_of(const char *cfg, size_t len, size_t n_layers, char ***ret,
                       struct cella_error *err)
{
        struct json_object *root = NULL, *rootfs, *ids;
        int r = json_parse_text(cfg, len, &root, err);
        if (r < 0)
                return cella_err_prefix(err, "image config");
        if (!json_object_object_get_ex(root, "rootfs", &rootfs) ||
            !json_object_object_get_ex(rootfs, "diff_ids", &ids) ||
            !json_object_is_type(ids, json_type_array) ||
            json_object_array_length(ids) != n_layers) {
                json_object_put(root);
                return cella_err(err, EINVAL, "image config has no diff_id for every layer");
        }
        char **v = calloc(n_layers + 1, sizeof(char *));
        for (size_t i = 0; v && i < n_layers; i++) {
                const char *d = json_object_get_string(json_object_array_get_idx(ids, i));
                if (!d || !img_digest_valid(d) || !(v[i] = strdup(d))) {
                        strv_free(v);
                        v = NULL;
                        r = cella_err(err, EINVAL, "image config diff_ids[%zu] is invalid", i);
                }
        }
        json_object_put(root);
        if (r == 0 && !v)
                r = cella_err(err, ENOMEM, "out of memory");
        if (r == 0)
                *ret = v;
        return r;
}

/* Unpacks one layer into snapshots/<name>, via a temp directory renamed into place. */
static int make_snapshot(struct img_store *st, struct img_source *src, int snaps_fd,
                         const char *name, const struct img_descriptor *layer, const char *diff_id,
                         const int *lower_fds, size_t n_lower, bool rootless,
                         struct cella_error *err)
{
        char tmp[96];
        snprintf(tmp, sizeof(tmp), ".tmp-%d-%.16s", (int)getpid(), name);
        if (mkdirat(snaps_fd, tmp, 0700) < 0)
                return cella_errno(err, errno, "create snapshot directory");
        _cleanup_close_ int tfd = openat(snaps_fd, tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int r = tfd < 0 || mkdirat(tfd, "fs", 0755) < 0 ? -errno : 0;
        _cleanup_close_ int root =
            r == 0 ? openat(tfd, "fs", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
        _cleanup_close_ int fd = -1;
        if (r < 0 || root < 0)
                r = cella_errno(err, errno, "create snapshot directory");
        if (r == 0)
                r = src->open_blob(src, layer->digest, &fd, err);
        if (r == 0) {
                char what[IMG_DIGEST_MAX + 8];
                snprintf(what, sizeof(what), "layer %s", layer->digest);
                struct img_unpack_opts uo = {
                    .rootless = rootless,
                    .digest = layer->digest,
                    .diff_id = diff_id,
                    .name = what,
                    .overlay_xattr_prefix = rootless ? "user." : "trusted.",
                    .lower_fds = lower_fds,
                    .n_lower = n_lower,
                };
                r = img_unpack_layer(root, fd, &uo, NULL, err);
        }
        if (r == 0 && renameat(snaps_fd, tmp, snaps_fd, name) < 0 && errno != EEXIST &&
            errno != ENOTEMPTY)
                r = cella_errno(err, errno, "rename snapshot %s into place", name);
        /* Failed, or another process made the same snapshot first: drop ours. */
        if (faccessat(snaps_fd, tmp, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/snapshots/%s", img_store_dir(st), tmp) >= 0)
                        fs_rm_rf(p);
        }
        return r;
}

static int prepare_layers(struct img_store *st, struct img_source *src, int snaps_fd,
                          const struct img_manifest *m, char **diff_ids, bool rootless,
                          char **lowers, struct cella_error *err)
{
        size_t n = m->n_layers;
        _cleanup_free_ char(*chain)[IMG_DIGEST_MAX] = calloc(n, IMG_DIGEST_MAX);
        _cleanup_free_ int *fds = calloc(n, sizeof(int));
        if (!chain || !fds)
                return cella_err(err, ENOMEM, "out of memory");
        int r = img_chain_ids(diff_ids, n, chain);
        for (size_t i = 0; i < n; i++)
                fds[i] = -1;
        for (size_t i = 0; r == 0 && i < n; i++) {
                char name[IMG_DIGEST_MAX + 8];
                snprintf(name, sizeof(name), "%s%s", img_digest_hex(chain[i]),
                         rootless ? ".user" : "");
                if (faccessat(snaps_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
                        /* lower_fds: the layers below this one, top first */
                        _cleanup_free_ int *below = calloc(i + 1, sizeof(int));
                        for (size_t k = 0; below && k < i; k++)
                                below[k] = fds[i - 1 - k];
                        r = below ? make_snapshot(st, src, snaps_fd, name, &m->layers[i],
                                                  diff_ids[i], below, i, rootless, err)
                                  : cella_err(err, ENOMEM, "out of memory");
                }
                char fsdir[IMG_DIGEST_MAX + 16];
                snprintf(fsdir, sizeof(fsdir), "%s/fs", name);
                if (r == 0 &&
                    (fds[i] = openat(snaps_fd, fsdir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
                        r = cella_errno(err, errno, "open snapshot %s", name);
                if (r == 0 &&
                    asprintf(&lowers[n - 1 - i], "%s/snapshots/%s", img_store_dir(st), fsdir) < 0)
                        r = cella_err(err, ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        return r;
}

int img_snapshot_prepare(struct img_store *st, struct img_source *src,
                         const struct img_descriptor *top, const struct img_platform *platform,
                         bool rootless, char ***ret_lowers, struct cella_error *err)
{
        struct img_manifest m;
        _cleanup_free_ char *cfg = NULL;
        size_t len;
        int r = img_resolve(src, top, platform, &m, &cfg, &len, err);
        if (r < 0)
                return r;
        char **diff_ids = NULL, **lowers = NULL;
        _cleanup_free_ char *snaps = NULL;
        _cleanup_close_ int snaps_fd = -1;
        if (m.n_layers == 0)
                r = cella_err(err, EINVAL, "the image has no layers to mount");
        if (r == 0)
                r = diff_ids_of(cfg, len, m.n_layers, &diff_ids, err);
        if (r == 0 && asprintf(&snaps, "%s/snapshots", img_store_dir(st)) < 0)
                r = cella_err(err, ENOMEM, "out of memory");
        if (r == 0 && mkdir(snaps, 0700) < 0 && errno != EEXIST)
                r = cella_errno(err, errno, "create \"%s\"", snaps);
        if (r == 0 && (snaps_fd = open(snaps, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                r = cella_errno(err, errno, "open \"%s\"", snaps);
        if (r == 0 && !(lowers = calloc(m.n_layers + 1, sizeof(char *))))
                r = cella_err(err, ENOMEM, "out of memory");
        if (r == 0)
                r = prepare_layers(st, src, snaps_fd, &m, diff_ids, rootless, lowers, err);
        strv_free(diff_ids);
        img_manifest_free(&m);
        if (r < 0) {
                strv_free(lowers);
                return r;
        }
        *ret_lowers = lowers;
        return 0;
}
