/* SPDX-License-Identifier: Apache-2.0 */
#include "bundle.h"

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
#include "linux/overlay.h" /* the annotation name only */
#include "oci/defaults.h"
#include "overlay.h"
#include "snapshot.h"
#include "store.h"
#include "unpack.h"
#include "user.h"

struct json_object *img_default_spec(bool rootless)
{
        struct json_object *spec = oci_default_spec(rootless);
        struct json_object *root;
        /* Like `docker run` and `umoci unpack`: the container may write to its own copy. */
        if (spec && json_object_object_get_ex(spec, "root", &root))
                json_object_object_add(root, "readonly", json_object_new_boolean(0));
        return spec;
}

static struct json_object *get(struct json_object *o, const char *key, enum json_type type)
{
        struct json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
                return NULL;
        return v;
}

static int check_string_array(struct json_object *a, const char *what, struct cella_error *err)
{
        size_t n = json_object_array_length(a);
        for (size_t i = 0; i < n; i++)
                if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string))
                        return cella_err(err, EINVAL, "image config %s[%zu] is not a string", what,
                                         i);
        return 0;
}

static int build_args(struct json_object *process, struct json_object *cfg,
                      const struct img_bundle_opts *opts, struct cella_error *err)
{
        struct json_object *args = json_object_new_array();
        struct json_object *ep = get(cfg, "Entrypoint", json_type_array);
        struct json_object *cmd = get(cfg, "Cmd", json_type_array);
        json_object_object_add(process, "args", args);
        for (int pass = 0; pass < 2; pass++) {
                struct json_object *src = pass == 0 ? ep : cmd;
                if (pass == 1 && opts->args && opts->args[0]) {
                        for (char *const *a = opts->args; *a; a++)
                                json_object_array_add(args, json_object_new_string(*a));
                        continue;
                }
                if (!src)
                        continue;
                int r = check_string_array(src, pass == 0 ? "Entrypoint" : "Cmd", err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < json_object_array_length(src); i++)
                        json_object_array_add(args,
                                              json_object_get(json_object_array_get_idx(src, i)));
        }
        if (json_object_array_length(args) == 0)
                return cella_err(err, EINVAL,
                                 "the image has neither Entrypoint nor Cmd: give a "
                                 "command after \"--\"");
        return 0;
}

/* Image Env entries replace defaults with the same name and add the rest, in order. */
static int merge_env(struct json_object *process, struct json_object *cfg, struct cella_error *err)
{
        struct json_object *img = get(cfg, "Env", json_type_array);
        struct json_object *env = get(process, "env", json_type_array);
        if (!img)
                return 0;
        int r = check_string_array(img, "Env", err);
        if (r < 0)
                return r;
        if (!env) {
                env = json_object_new_array();
                json_object_object_add(process, "env", env);
        }
        for (size_t i = 0; i < json_object_array_length(img); i++) {
                const char *kv = json_object_get_string(json_object_array_get_idx(img, i));
                const char *eq = strchr(kv, '=');
                size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
                size_t j, n = json_object_array_length(env);
                for (j = 0; j < n; j++) {
                        const char *old = json_object_get_string(json_object_array_get_idx(env, j));
                        if (old && strncmp(old, kv, klen) == 0 && old[klen] == '=')
                                break;
                }
                struct json_object *s = json_object_new_string(kv);
                if (j < n)
                        json_object_array_put_idx(env, j, s);
                else
                        json_object_array_add(env, s);
        }
        return 0;
}

static char *read_image_file(int rootfs_fd, const char *path)
{
        if (rootfs_fd < 0)
                return NULL;
        _cleanup_close_ int fd = fs_open_in_root(rootfs_fd, path, O_RDONLY, 0);
        if (fd < 0)
                return NULL;
        char *buf = NULL;
        size_t len;
        struct stat st;
        /* Only a regular file: a FIFO or device planted as /etc/passwd must not block us. */
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fs_read_fd(fd, 1 << 20, &buf, &len) < 0)
                return NULL;
        return buf;
}

static int set_user(struct json_object *process, struct json_object *cfg, int rootfs_fd,
                    struct cella_error *err)
{
        struct json_object *u = get(cfg, "User", json_type_string);
        const char *spec = u ? json_object_get_string(u) : "";
        _cleanup_free_ char *passwd = read_image_file(rootfs_fd, "/etc/passwd");
        _cleanup_free_ char *group = read_image_file(rootfs_fd, "/etc/group");
        struct img_user user;
        int r = img_user_resolve(spec, passwd, group, &user, err);
        if (r < 0)
                return cella_err_prefix(err, "image config User \"%s\"", spec);
        struct json_object *ju = json_object_new_object();
        json_object_object_add(ju, "uid", json_object_new_int64(user.uid));
        json_object_object_add(ju, "gid", json_object_new_int64(user.gid));
        if (user.n_groups > 0) {
                struct json_object *g = json_object_new_array();
                for (size_t i = 0; i < user.n_groups; i++)
                        json_object_array_add(g, json_object_new_int64(user.groups[i]));
                json_object_object_add(ju, "additionalGids", g);
        }
        json_object_object_add(process, "user", ju);
        return 0;
}

static void annotate(struct json_object *ann, const char *key, struct json_object *val)
{
        if (val && json_object_is_type(val, json_type_string) && *json_object_get_string(val))
                json_object_object_add(ann, key,
                                       json_object_new_string(json_object_get_string(val)));
}

/* A JSON object's keys joined with ',' (ExposedPorts and Volumes are sets written as maps). */
static void annotate_keys(struct json_object *ann, const char *key, struct json_object *set)
{
        if (!set || !json_object_is_type(set, json_type_object) ||
            json_object_object_length(set) == 0)
                return;
        size_t len = 0;
        json_object_object_foreach(set, k, v)
        {
                (void)v;
                len += strlen(k) + 1;
        }
        _cleanup_free_ char *s = calloc(1, len + 1);
        if (!s)
                return;
        json_object_object_foreach(set, k2, v2)
        {
                (void)v2;
                if (*s)
                        strcat(s, ",");
                strcat(s, k2);
        }
        json_object_object_add(ann, key, json_object_new_string(s));
}

/* Annotations as the image spec's conversion.md lays them out; Labels go in as they are. */
static void set_annotations(struct json_object *spec, struct json_object *image,
                            struct json_object *cfg)
{
        struct json_object *ann = get(spec, "annotations", json_type_object);
        if (!ann) {
                ann = json_object_new_object();
                json_object_object_add(spec, "annotations", ann);
        }
        annotate(ann, "org.opencontainers.image.os", get(image, "os", json_type_string));
        annotate(ann, "org.opencontainers.image.architecture",
                 get(image, "architecture", json_type_string));
        annotate(ann, "org.opencontainers.image.variant", get(image, "variant", json_type_string));
        annotate(ann, "org.opencontainers.image.author", get(image, "author", json_type_string));
        annotate(ann, "org.opencontainers.image.created", get(image, "created", json_type_string));
        annotate(ann, "org.opencontainers.image.stopSignal",
                 get(cfg, "StopSignal", json_type_string));
        annotate_keys(ann, "org.opencontainers.image.exposedPorts",
                      get(cfg, "ExposedPorts", json_type_object));
        annotate_keys(ann, "io.cella.image.volumes", get(cfg, "Volumes", json_type_object));
        struct json_object *labels = get(cfg, "Labels", json_type_object);
        if (labels) {
                json_object_object_foreach(labels, k, v)
                {
                        if (json_object_is_type(v, json_type_string))
                                json_object_object_add(ann, k, json_object_get(v));
                }
        }
        if (json_object_object_length(ann) == 0)
                json_object_object_del(spec, "annotations");
}

int img_spec_apply_config(struct json_object *spec, struct json_object *image, int rootfs_fd,
                          const struct img_bundle_opts *opts, struct cella_error *err)
{
        if (!json_object_is_type(image, json_type_object))
                return cella_err(err, EINVAL, "image config is not a JSON object");
        struct json_object *cfg = get(image, "config", json_type_object);
        struct json_object *process = get(spec, "process", json_type_object);
        if (!process)
                return cella_err(err, EINVAL, "base spec has no process");
        int r = build_args(process, cfg, opts, err);
        if (r == 0)
                r = merge_env(process, cfg, err);
        if (r == 0)
                r = set_user(process, cfg, rootfs_fd, err);
        if (r < 0)
                return r;
        struct json_object *wd = get(cfg, "WorkingDir", json_type_string);
        const char *cwd = wd && *json_object_get_string(wd) ? json_object_get_string(wd) : "/";
        if (cwd[0] != '/')
                return cella_err(err, EINVAL, "image config WorkingDir \"%s\" is not absolute",
                                 cwd);
        json_object_object_add(process, "cwd", json_object_new_string(cwd));
        json_object_object_add(process, "terminal", json_object_new_boolean(opts->terminal));
        set_annotations(spec, image, cfg);
        return 0;
}

static bool is_layer_type(const char *mt)
{
        static const char *const types[] = {
            IMG_MT_OCI_LAYER,
            IMG_MT_OCI_LAYER_GZIP,
            IMG_MT_OCI_LAYER_ZSTD,
            IMG_MT_DOCKER_LAYER,
            "application/vnd.oci.image.layer.nondistributable.v1.tar",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        };
        for (size_t i = 0; i < ARRAY_SIZE(types); i++)
                if (strcmp(mt, types[i]) == 0)
                        return true;
        return false;
}

static int unpack_layers(struct img_source *src, const struct img_manifest *m,
                         struct json_object *image, int rootfs_fd,
                         const struct img_bundle_opts *opts, struct cella_error *err)
{
        struct json_object *rootfs = get(image, "rootfs", json_type_object);
        struct json_object *diff_ids = get(rootfs, "diff_ids", json_type_array);
        if (!diff_ids || json_object_array_length(diff_ids) != m->n_layers)
                return cella_err(err, EINVAL, "image config lists %zu diff_ids for %zu layers",
                                 diff_ids ? json_object_array_length(diff_ids) : 0, m->n_layers);
        for (size_t i = 0; i < m->n_layers; i++) {
                const struct img_descriptor *d = &m->layers[i];
                if (!is_layer_type(d->media_type))
                        return cella_err(err, ENOTSUP, "layer %s has unsupported media type \"%s\"",
                                         d->digest, d->media_type);
                const char *diff_id =
                    json_object_get_string(json_object_array_get_idx(diff_ids, i));
                if (!diff_id || img_digest_check(diff_id, err) < 0)
                        return cella_err(err, EINVAL, "image config diff_ids[%zu] is invalid", i);
                _cleanup_close_ int fd = -1;
                int r = src->open_blob(src, d->digest, &fd, err);
                if (r < 0)
                        return r;
                char name[IMG_DIGEST_MAX + 16];
                snprintf(name, sizeof(name), "layer %s", d->digest);
                struct img_unpack_opts uo = {
                    .rootless = opts->rootless,
                    .digest = d->digest,
                    .diff_id = diff_id,
                    .name = name,
                };
                r = img_unpack_layer(rootfs_fd, fd, &uo, NULL, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int write_spec_fd(int dfd, int rootfs_fd, struct json_object *image,
                         const struct img_bundle_opts *opts, const char *overlay,
                         struct cella_error *err)
{
        struct json_object *spec = img_default_spec(opts->rootless);
        if (!spec)
                return cella_err(err, ENOMEM, "out of memory");
        int r = img_spec_apply_config(spec, image, rootfs_fd, opts, err);
        if (r == 0 && overlay) {
                struct json_object *ann = get(spec, "annotations", json_type_object);
                if (!ann) {
                        ann = json_object_new_object();
                        json_object_object_add(spec, "annotations", ann);
                }
                json_object_object_add(ann, LNX_OVERLAY_ANNOTATION,
                                       json_object_new_string(overlay));
        }
        if (r == 0) {
                const char *text = json_to_string(spec, 1);
                r = fs_write_atomic_at(dfd, "config.json", text, strlen(text), 0644);
                if (r < 0)
                        cella_errno(err, -r, "write config.json");
        }
        json_object_put(spec);
        return r;
}

static int write_spec(int dfd, const char *tmp, struct json_object *image,
                      const struct img_bundle_opts *opts, struct cella_error *err)
{
        _cleanup_close_ int rootfs_fd = openat(dfd, tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfs_fd < 0)
                return cella_errno(err, errno, "open \"%s\"", tmp);
        return write_spec_fd(dfd, rootfs_fd, image, opts, NULL, err);
}

static int bundle_into(struct img_source *src, const struct img_descriptor *top, int dfd,
                       const char *tmp, const struct img_bundle_opts *opts, struct cella_error *err)
{
        struct img_manifest m;
        _cleanup_free_ char *cfg_text = NULL;
        size_t cfg_len;
        int r = img_resolve(src, top, opts->platform, &m, &cfg_text, &cfg_len, err);
        if (r < 0)
                return r;
        struct json_object *image = NULL;
        r = json_parse_text(cfg_text, cfg_len, &image, err);
        if (r < 0)
                cella_err_prefix(err, "image config %s", m.config.digest);
        if (r == 0 && mkdirat(dfd, tmp, 0755) < 0)
                r = cella_errno(err, errno, "mkdir \"%s\"", tmp);
        if (r == 0) {
                _cleanup_close_ int rootfs_fd =
                    openat(dfd, tmp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (rootfs_fd < 0)
                        r = cella_errno(err, errno, "open \"%s\"", tmp);
                else
                        r = unpack_layers(src, &m, image, rootfs_fd, opts, err);
        }
        if (r == 0)
                r = write_spec(dfd, tmp, image, opts, err);
        if (r == 0 && renameat(dfd, tmp, dfd, "rootfs") < 0) {
                r = cella_errno(err, errno, "rename \"%s\" to \"rootfs\"", tmp);
                unlinkat(dfd, "config.json", 0);
        }
        json_object_put(image);
        img_manifest_free(&m);
        return r;
}

/* Creates the parents of path (not path itself), like `mkdir -p $(dirname path)`. */
static void mkdir_parents(const char *path)
{
        _cleanup_free_ char *p = strdup(path);
        for (char *s = p ? p + 1 : NULL; s && *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                (void)mkdir(p, 0755);
                *s = '/';
        }
}

int img_bundle_create(struct img_source *src, const struct img_descriptor *top, const char *dir,
                      const struct img_bundle_opts *opts, struct cella_error *err)
{
        bool made = mkdir(dir, 0755) == 0;
        if (!made && errno == ENOENT) {
                mkdir_parents(dir);
                made = mkdir(dir, 0755) == 0;
        }
        if (!made && errno != EEXIST)
                return cella_errno(err, errno, "create bundle directory \"%s\"", dir);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return cella_errno(err, errno, "open bundle directory \"%s\"", dir);
        static const char *const outputs[] = {"rootfs", "config.json"};
        for (size_t i = 0; i < ARRAY_SIZE(outputs); i++) {
                if (faccessat(dfd, outputs[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                        return cella_err(err, EEXIST,
                                         "\"%s/%s\" already exists: remove it or "
                                         "choose another bundle directory",
                                         dir, outputs[i]);
        }
        char tmp[64];
        snprintf(tmp, sizeof(tmp), ".rootfs.partial.%d", (int)getpid());
        int r = bundle_into(src, top, dfd, tmp, opts, err);
        if (r < 0) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", dir, tmp) >= 0)
                        fs_rm_rf(p);
                if (made)
                        rmdir(dir);
        }
        return r;
}

static const char *const snapshotter_names[] = {
    [IMG_SNAPSHOTTER_COPY] = "copy",
    [IMG_SNAPSHOTTER_OVERLAY] = "overlay",
    [IMG_SNAPSHOTTER_FUSE_OVERLAYFS] = "fuse-overlayfs",
    [IMG_SNAPSHOTTER_AUTO] = "auto",
};

const char *img_snapshotter_name(enum img_snapshotter s)
{
        return (size_t)s < ARRAY_SIZE(snapshotter_names) ? snapshotter_names[s] : "?";
}

int img_snapshotter_from_name(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(snapshotter_names); i++)
                if (strcmp(name, snapshotter_names[i]) == 0)
                        return (int)i;
        return -1;
}

static const char *const overlay_dirs[] = {"rootfs", ".upper", ".work"};

static int check_outputs(int dfd, const char *dir, struct cella_error *err)
{
        static const char *const outputs[] = {"rootfs", "config.json", ".upper", ".work"};
        for (size_t i = 0; i < ARRAY_SIZE(outputs); i++) {
                if (faccessat(dfd, outputs[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                        return cella_err(err, EEXIST,
                                         "\"%s/%s\" already exists: remove it or "
                                         "choose another bundle directory",
                                         dir, outputs[i]);
        }
        return 0;
}

/* Unmounts DIR/rootfs if mounted and removes DIR/rootfs, DIR/.upper and DIR/.work. */
static int remove_overlay_dirs(const char *dir, struct cella_error *err)
{
        _cleanup_free_ char *target = NULL;
        if (asprintf(&target, "%s/rootfs", dir) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        int r = img_rootfs_unmount(target, err);
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(overlay_dirs); i++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", dir, overlay_dirs[i]) < 0)
                        return cella_err(err, ENOMEM, "out of memory");
                r = fs_rm_rf(p);
                if (r < 0)
                        cella_errno(err, -r, "remove \"%s\"", p);
        }
        return r;
}

/* Fresh DIR/rootfs, DIR/.upper and DIR/.work: a refused mount may leave overlay's work/work. */
static int make_overlay_dirs(const char *dir, struct cella_error *err)
{
        int r = remove_overlay_dirs(dir, err);
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(overlay_dirs); i++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", dir, overlay_dirs[i]) < 0)
                        return cella_err(err, ENOMEM, "out of memory");
                if (mkdir(p, 0755) < 0)
                        r = cella_errno(err, errno, "create \"%s\"", p);
        }
        return r;
}

struct snap_try {
        const char *dir; /* absolute */
        char *const *lowers;
        bool rootless;
        int rootfs_fd;    /* out: the merged view, to read the image's /etc/passwd */
        char *annotation; /* out: rootless overlay, for the runtime to mount */
};

static int open_mounted(const char *target, int *ret_fd, struct cella_error *err)
{
        *ret_fd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (*ret_fd >= 0)
                return 0;
        int r = cella_errno(err, errno, "open \"%s\"", target);
        img_rootfs_unmount(target, NULL);
        return r;
}

static int try_overlay(struct snap_try *t, struct cella_error *err)
{
        _cleanup_free_ char *opts = NULL, *target = NULL;
        if (asprintf(&target, "%s/rootfs", t->dir) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        int r = img_overlay_options(t->lowers, t->dir, t->rootless, &opts, err);
        if (r < 0)
                return r;
        if (t->rootless) {
                r = img_overlay_mount_userns(opts, target, &t->rootfs_fd, err);
                if (r == 0)
                        t->annotation = TAKE_PTR(opts);
                return r;
        }
        r = img_overlay_mount_native(opts, target, err);
        return r < 0 ? r : open_mounted(target, &t->rootfs_fd, err);
}

static int try_fuse(struct snap_try *t, struct cella_error *err)
{
        _cleanup_free_ char *opts = NULL, *target = NULL;
        if (asprintf(&target, "%s/rootfs", t->dir) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        int r = img_overlay_options(t->lowers, t->dir, false, &opts, err);
        if (r == 0)
                r = img_overlay_mount_fuse(opts, target, err);
        return r < 0 ? r : open_mounted(target, &t->rootfs_fd, err);
}

/* Tries the snapshotters want stands for; returns 1 when auto found none that works. */
static int mount_snapshot(struct snap_try *t, enum img_snapshotter want,
                          struct img_bundle_result *res, struct cella_error *err)
{
        static const enum img_snapshotter chain[] = {IMG_SNAPSHOTTER_OVERLAY,
                                                     IMG_SNAPSHOTTER_FUSE_OVERLAYFS};
        for (size_t i = 0; i < ARRAY_SIZE(chain); i++) {
                if (want != IMG_SNAPSHOTTER_AUTO && want != chain[i])
                        continue;
                struct cella_error e = {0};
                int r = make_overlay_dirs(t->dir, err);
                if (r < 0)
                        return r;
                r = chain[i] == IMG_SNAPSHOTTER_OVERLAY ? try_overlay(t, &e) : try_fuse(t, &e);
                if (r == 0) {
                        res->used = chain[i];
                        res->in_container = t->annotation != NULL;
                        return 0;
                }
                if (want != IMG_SNAPSHOTTER_AUTO) {
                        if (err)
                                *err = e;
                        return r;
                }
                snprintf(res->skipped[i], sizeof(res->skipped[i]), "%s",
                         e.msg[0] ? e.msg : strerror(-r));
        }
        res->used = IMG_SNAPSHOTTER_COPY;
        return 1;
}

static int snapshot_into(struct img_store *st, struct img_source *src,
                         const struct img_descriptor *top, const char *dir, int dfd,
                         const struct img_bundle_opts *opts, enum img_snapshotter want,
                         struct img_bundle_result *res, struct cella_error *err)
{
        struct img_manifest m;
        _cleanup_free_ char *cfg_text = NULL;
        size_t cfg_len;
        int r = img_resolve(src, top, opts->platform, &m, &cfg_text, &cfg_len, err);
        if (r < 0)
                return r;
        img_manifest_free(&m);
        struct json_object *image = NULL;
        char **lowers = NULL;
        struct snap_try t = {
            .dir = dir, .rootless = opts->rootless || geteuid() != 0, .rootfs_fd = -1};
        r = json_parse_text(cfg_text, cfg_len, &image, err);
        if (r == 0)
                r = img_snapshot_prepare(st, src, top, opts->platform, t.rootless, &lowers, err);
        t.lowers = lowers;
        if (r == 0)
                r = mount_snapshot(&t, want, res, err);
        if (r == 0)
                r = write_spec_fd(dfd, t.rootfs_fd, image, opts, t.annotation, err);
        if (r == 0)
                r = img_store_note_bundle(st, dir, lowers, err);
        if (t.rootfs_fd >= 0)
                close(t.rootfs_fd);
        free(t.annotation);
        for (char **l = lowers; l && *l; l++)
                free(*l);
        free(lowers);
        json_object_put(image);
        return r;
}

int img_bundle_create_snapshot(struct img_store *st, struct img_source *src,
                               const struct img_descriptor *top, const char *dir,
                               const struct img_bundle_opts *opts, enum img_snapshotter want,
                               struct img_bundle_result *res, struct cella_error *err)
{
        *res = (struct img_bundle_result){.used = IMG_SNAPSHOTTER_COPY};
        if (want == IMG_SNAPSHOTTER_COPY)
                return img_bundle_create(src, top, dir, opts, err);
        bool made = mkdir(dir, 0755) == 0;
        if (!made && errno == ENOENT) {
                mkdir_parents(dir);
                made = mkdir(dir, 0755) == 0;
        }
        if (!made && errno != EEXIST)
                return cella_errno(err, errno, "create bundle directory \"%s\"", dir);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return cella_errno(err, errno, "open bundle directory \"%s\"", dir);
        int r = check_outputs(dfd, dir, err);
        if (r < 0)
                return r;
        /* The overlay options (and the runtime's annotation) take absolute paths only. */
        _cleanup_free_ char *abs = realpath(dir, NULL);
        if (!abs)
                return cella_errno(err, errno, "resolve \"%s\"", dir);
        r = snapshot_into(st, src, top, abs, dfd, opts, want, res, err);
        if (r != 0) {
                remove_overlay_dirs(abs, NULL);
                if (made)
                        rmdir(dir);
        }
        /* auto, and neither overlay nor fuse-overlayfs could mount: a copy. */
        if (r == 1)
                r = img_bundle_create(src, top, dir, opts, err);
        return r;
}

int img_bundle_remove(const char *dir, struct cella_error *err)
{
        int r = remove_overlay_dirs(dir, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *cfg = NULL;
        if (asprintf(&cfg, "%s/config.json", dir) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        if (unlink(cfg) < 0 && errno != ENOENT)
                return cella_errno(err, errno, "remove \"%s\"", cfg);
        (void)rmdir(dir);
        return 0;
}
