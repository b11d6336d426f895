/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup as stored in the container's state file, so later commands (kill -a, delete, ps,
 * pause) reopen exactly the directories create made, even if the host's mounts or the
 * caller's own cgroup differ by then:
 *   {"mode":"hybrid","path":"/cella/ID","hierarchies":[
 *     {"controllers":"memory","mount":"/sys/fs/cgroup/memory",
 *      "path":"/sys/fs/cgroup/memory/cella/ID","created":"/sys/fs/cgroup/memory/cella"}, ...]}
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "internal.h"

static const char *const mode_names[] = {
    [CG_MODE_V1] = "v1",
    [CG_MODE_HYBRID] = "hybrid",
    [CG_MODE_V2] = "v2",
};

static int add_str(struct json_object *o, const char *key, const char *val)
{
        struct json_object *s = json_object_new_string(val);
        if (!s)
                return -ENOMEM;
        return json_object_object_add(o, key, s) < 0 ? -ENOMEM : 0;
}

struct json_object *cg_to_json(const struct cgroup *cg)
{
        struct json_object *o = json_object_new_object();
        struct json_object *arr = json_object_new_array();
        if (!o || !arr)
                goto fail;
        if (add_str(o, "mode", mode_names[cg->mode]) < 0 || add_str(o, "path", cg->rel_path) < 0)
                goto fail;
        if (cg->rootless &&
            json_object_object_add(o, "rootless", json_object_new_boolean(true)) < 0)
                goto fail;
        if (cg->unit && (add_str(o, "unit", cg->unit) < 0 || add_str(o, "slice", cg->slice) < 0))
                goto fail;
        for (size_t i = 0; i < cg->n_h; i++) {
                const struct cg_hierarchy *h = &cg->h[i];
                struct json_object *e = json_object_new_object();
                if (!e || json_object_array_add(arr, e) < 0) {
                        json_object_put(e);
                        goto fail;
                }
                if (add_str(e, "controllers", h->controllers) < 0 ||
                    add_str(e, "mount", h->mount) < 0 || add_str(e, "path", h->path) < 0 ||
                    (h->created && add_str(e, "created", h->created) < 0))
                        goto fail;
        }
        if (json_object_object_add(o, "hierarchies", arr) < 0)
                goto fail;
        return o;
fail:
        json_object_put(arr);
        json_object_put(o);
        return NULL;
}

static int get_str(struct json_object *o, const char *key, bool required, const char *ctx,
                   char **ret, struct cella_error *err)
{
        struct json_object *v;
        *ret = NULL;
        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
                if (!required)
                        return 0;
                return cella_err(err, EINVAL, "cgroup state: %s%s missing", ctx, key);
        }
        if (!json_object_is_type(v, json_type_string))
                return cella_err(err, EINVAL, "cgroup state: %s%s is not a string", ctx, key);
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : cella_err(err, ENOMEM, "out of memory");
}

/* An absolute, already-normal path equal to or below base. The state file is trusted only so far.
 */
static bool path_below(const char *path, const char *base)
{
        if (path[0] != '/' || strstr(path, "/../") || strstr(path, "/./") || strstr(path, "//"))
                return false;
        size_t n = strlen(path), bn = strlen(base);
        if (n >= 3 && strcmp(path + n - 3, "/..") == 0)
                return false;
        if (strcmp(base, "/") == 0)
                return true;
        return strncmp(path, base, bn) == 0 && (path[bn] == '/' || path[bn] == '\0');
}

static int hierarchy_from_json(struct json_object *e, size_t i, struct cg_hierarchy *h,
                               struct cella_error *err)
{
        char ctx[48];
        snprintf(ctx, sizeof(ctx), "hierarchies[%zu].", i);
        if (!json_object_is_type(e, json_type_object))
                return cella_err(err, EINVAL, "cgroup state: hierarchies[%zu] is not an object", i);
        int r = get_str(e, "controllers", true, ctx, &h->controllers, err);
        if (r == 0)
                r = get_str(e, "mount", true, ctx, &h->mount, err);
        if (r == 0)
                r = get_str(e, "path", true, ctx, &h->path, err);
        if (r == 0)
                r = get_str(e, "created", false, ctx, &h->created, err);
        if (r < 0)
                return r;
        if (!path_below(h->mount, "/") || !path_below(h->path, h->mount) ||
            strcmp(h->path, h->mount) == 0 ||
            (h->created && (!path_below(h->created, h->mount) ||
                            strcmp(h->created, h->mount) == 0 || !path_below(h->path, h->created))))
                return cella_err(err, EINVAL,
                                 "cgroup state: %spath \"%s\" is not a cgroup below \"%s\"", ctx,
                                 h->path, h->mount);
        return 0;
}

int cg_from_json(struct json_object *obj, struct cgroup *cg, struct cella_error *err)
{
        memset(cg, 0, sizeof(*cg));
        if (!json_object_is_type(obj, json_type_object))
                return cella_err(err, EINVAL, "cgroup state: not an object");
        _cleanup_free_ char *mode = NULL;
        int r = get_str(obj, "mode", true, "", &mode, err);
        if (r < 0)
                return r;
        size_t m = 0;
        while (m < ARRAY_SIZE(mode_names) && strcmp(mode, mode_names[m]) != 0)
                m++;
        if (m == ARRAY_SIZE(mode_names))
                return cella_err(err, EINVAL, "cgroup state: unknown mode \"%s\"", mode);
        cg->mode = (enum cg_mode)m;
        cg->ops = cg->mode == CG_MODE_V2       ? &cg_v2_ops
                  : cg->mode == CG_MODE_HYBRID ? &cg_hybrid_ops
                                               : &cg_v1_ops;
        struct json_object *arr, *rl;
        cg->rootless =
            json_object_object_get_ex(obj, "rootless", &rl) && json_object_get_boolean(rl);
        if (!json_object_object_get_ex(obj, "hierarchies", &arr) ||
            !json_object_is_type(arr, json_type_array))
                r = cella_err(err, EINVAL, "cgroup state: hierarchies missing or not an array");
        else if ((json_object_array_length(arr) == 0 && !cg->rootless) ||
                 json_object_array_length(arr) > CG_MAX_HIERARCHIES ||
                 (cg->mode == CG_MODE_V2 && json_object_array_length(arr) > 1))
                r = cella_err(err, EINVAL, "cgroup state: bad number of hierarchies (%zu)",
                              json_object_array_length(arr));
        if (r == 0)
                r = get_str(obj, "path", true, "", &cg->rel_path, err);
        if (r == 0)
                r = get_str(obj, "unit", false, "", &cg->unit, err);
        if (r == 0 && cg->unit)
                r = get_str(obj, "slice", true, "", &cg->slice, err);
        if (r == 0 && cg->unit)
                cg->ops = &cg_systemd_ops;
        for (size_t i = 0; r == 0 && i < json_object_array_length(arr); i++) {
                r = hierarchy_from_json(json_object_array_get_idx(arr, i), i, &cg->h[i], err);
                cg->n_h++;
        }
        if (r < 0)
                cg_free(cg);
        return r;
}
