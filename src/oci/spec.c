/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.json parser: the top level, process, mounts, hooks and annotations. The "linux"
 * object lives in spec_linux.c. Unknown properties are ignored (config.md: "implementations
 * MUST ignore unknown properties"), everything cella knows is type- and value-checked.
 */
#include "oci/spec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/log.h"
#include "oci/spec-internal.h"

/* config.json is small; anything above this is not a config. */
#define CONFIG_MAX_SIZE (16u << 20)

int spec_get_array(struct json_object *obj, const char *path, const char *key, size_t elem_size,
                   struct json_object **ret_arr, void **ret_elems, size_t *ret_n,
                   struct cella_error *err)
{
        char p[JSON_PATH_MAX];
        struct json_object *arr;
        *ret_elems = NULL;
        *ret_n = 0;
        *ret_arr = NULL;
        int r = json_field(obj, path, key, json_type_array, false, &arr, err);
        if (r < 0 || !arr)
                return r;
        size_t n = json_object_array_length(arr);
        void *elems = calloc(n ? n : 1, elem_size);
        if (!elems)
                return cella_err(err, ENOMEM, "%s: out of memory", json_path_key(p, path, key));
        *ret_elems = elems;
        *ret_arr = arr;
        *ret_n = n;
        return 0;
}

int spec_array_obj(struct json_object *arr, const char *arrpath, size_t i,
                   char pbuf[static JSON_PATH_MAX], struct json_object **ret,
                   struct cella_error *err)
{
        struct json_object *o = json_object_array_get_idx(arr, i);
        json_path_idx(pbuf, arrpath, i);
        if (!json_object_is_type(o, json_type_object))
                return json_err_type(err, pbuf, "an object", o);
        *ret = o;
        return 0;
}

int spec_req_uint(struct json_object *obj, const char *path, const char *key, uint64_t max,
                  uint64_t *ret, struct cella_error *err)
{
        struct json_object *v;
        int r = json_field(obj, path, key, json_type_int, true, &v, err);
        if (r < 0)
                return r;
        return json_field_uint(obj, path, key, max, ret, NULL, err);
}

int spec_req_int(struct json_object *obj, const char *path, const char *key, int64_t min,
                 int64_t max, int64_t *ret, struct cella_error *err)
{
        struct json_object *v;
        int r = json_field(obj, path, key, json_type_int, true, &v, err);
        if (r < 0)
                return r;
        return json_field_int(obj, path, key, min, max, ret, NULL, err);
}

int spec_check_abs(const char *value, const char *path, struct cella_error *err)
{
        char show[JSON_VALUE_SHOW_MAX];
        if (value[0] != '/')
                return cella_err(err, EINVAL, "%s: must be an absolute path, got %s", path,
                                 json_show_str(value, show));
        return 0;
}

int spec_parse_kv(struct json_object *obj, const char *path, const char *key, bool allow_empty_key,
                  struct oci_kv **ret, size_t *ret_n, struct cella_error *err)
{
        char p[JSON_PATH_MAX], pk[JSON_PATH_MAX];
        struct json_object *map;
        int r = json_field(obj, path, key, json_type_object, false, &map, err);
        if (r < 0 || !map)
                return r;
        json_path_key(p, path, key);
        size_t n = (size_t)json_object_object_length(map), i = 0;
        struct oci_kv *kv = calloc(n ? n : 1, sizeof(*kv));
        if (!kv)
                return cella_err(err, ENOMEM, "%s: out of memory", p);
        *ret = kv;
        json_object_object_foreach(map, k, v)
        {
                json_path_mapkey(pk, p, k);
                if (!allow_empty_key && !*k)
                        return cella_err(err, EINVAL, "%s: empty key", pk);
                *ret_n = i + 1;
                kv[i].key = strdup(k);
                if (!kv[i].key)
                        return cella_err(err, ENOMEM, "%s: out of memory", pk);
                r = json_value_string(v, pk, &kv[i].value, err);
                if (r < 0)
                        return r;
                i++;
        }
        return 0;
}

int spec_parse_id_mappings(struct json_object *obj, const char *path, const char *key,
                           struct oci_id_mapping **ret, size_t *ret_n, struct cella_error *err)
{
        char ap[JSON_PATH_MAX], p[JSON_PATH_MAX];
        struct json_object *arr, *m;
        void *elems;
        size_t n;
        int r = spec_get_array(obj, path, key, sizeof(**ret), &arr, &elems, &n, err);
        if (r < 0 || !arr)
                return r;
        *ret = elems;
        n = json_object_array_length(arr);
        *ret_n = n;
        json_path_key(ap, path, key);
        for (size_t i = 0; i < n; i++) {
                struct oci_id_mapping *im = &(*ret)[i];
                uint64_t c, h, s;
                r = spec_array_obj(arr, ap, i, p, &m, err);
                if (r < 0)
                        return r;
                if ((r = spec_req_uint(m, p, "containerID", UINT32_MAX, &c, err)) < 0 ||
                    (r = spec_req_uint(m, p, "hostID", UINT32_MAX, &h, err)) < 0 ||
                    (r = spec_req_uint(m, p, "size", UINT32_MAX, &s, err)) < 0)
                        return r;
                if (s == 0)
                        return cella_err(err, EINVAL, "%s.size: must be greater than 0", p);
                if (c + s - 1 > UINT32_MAX || h + s - 1 > UINT32_MAX)
                        return cella_err(err, ERANGE,
                                         "%s: range containerID %llu / hostID %llu + size %llu "
                                         "exceeds the 32-bit id space",
                                         p, (unsigned long long)c, (unsigned long long)h,
                                         (unsigned long long)s);
                *im = (struct oci_id_mapping){(uint32_t)c, (uint32_t)h, (uint32_t)s};
        }
        return 0;
}

static int parse_version(struct json_object *root, char **ret, struct cella_error *err)
{
        char show[JSON_VALUE_SHOW_MAX];
        int r = json_field_string(root, "", "ociVersion", true, ret, err);
        if (r < 0)
                return r;
        const char *v = *ret;
        /* Semantic version MAJOR.MINOR.PATCH[-pre][+build]; cella speaks every 1.x. */
        const char *q = v;
        int parts = 0;
        for (;;) {
                if (!isdigit((unsigned char)*q))
                        break;
                while (isdigit((unsigned char)*q))
                        q++;
                parts++;
                if (parts == 3 || *q != '.')
                        break;
                q++;
        }
        if (parts != 3 || (*q && *q != '-' && *q != '+'))
                return cella_err(err, EINVAL,
                                 "ociVersion: invalid version %s (expected MAJOR.MINOR.PATCH, "
                                 "e.g. \"1.2.0\")",
                                 json_show_str(v, show));
        if (strncmp(v, "1.", 2) != 0)
                return cella_err(err, EINVAL,
                                 "ociVersion: unsupported version %s (cella supports 1.x, "
                                 "runtime-spec 1.0.0 to 1.3)",
                                 json_show_str(v, show));
        return 0;
}

static int parse_root(struct json_object *root, struct oci_spec *s, struct cella_error *err)
{
        struct json_object *o;
        int r = json_field(root, "", "root", json_type_object, true, &o, err);
        if (r < 0)
                return r;
        r = json_field_string(o, "root", "path", true, &s->root.path, err);
        if (r < 0)
                return r;
        if (!*s->root.path)
                return cella_err(err, EINVAL, "root.path: must not be empty");
        s->has_root = true;
        return json_field_bool(o, "root", "readonly", &s->root.readonly, NULL, err);
}

/*
 * A relative mount destination is relative to the container's root: allowed since
 * runtime-spec 1.2.0; runc 1.1 already accepts it for older documents with a warning, and so
 * does cella. Normalised to an absolute path so later code has one form.
 */
static int normalize_destination(struct oci_mount *m, const char *path, bool warn,
                                 struct cella_error *err)
{
        char show[JSON_VALUE_SHOW_MAX];
        if (m->destination[0] == '/')
                return 0;
        if (!m->destination[0])
                return cella_err(err, EINVAL, "%s.destination: must not be empty", path);
        if (warn)
                log_warn(
                    "%s.destination: mount destination %s is not absolute; treating it as relative "
                    "to the container root (like runc)",
                    path, json_show_str(m->destination, show));
        size_t len = strlen(m->destination);
        char *abs = malloc(len + 2);
        if (!abs)
                return cella_err(err, ENOMEM, "%s.destination: out of memory", path);
        abs[0] = '/';
        memcpy(abs + 1, m->destination, len + 1);
        free(m->destination);
        m->destination = abs;
        return 0;
}

static int parse_mount(struct json_object *o, const char *p, struct oci_mount *m, bool old_spec,
                       struct cella_error *err)
{
        int r;
        if ((r = json_field_string(o, p, "destination", true, &m->destination, err)) < 0 ||
            (r = normalize_destination(m, p, old_spec, err)) < 0 ||
            (r = json_field_string(o, p, "type", false, &m->type, err)) < 0 ||
            (r = json_field_string(o, p, "source", false, &m->source, err)) < 0 ||
            (r = json_field_strv(o, p, "options", false, &m->options, &m->n_options, err)) < 0 ||
            (r = spec_parse_id_mappings(o, p, "uidMappings", &m->uid_mappings, &m->n_uid_mappings,
                                        err)) < 0 ||
            (r = spec_parse_id_mappings(o, p, "gidMappings", &m->gid_mappings, &m->n_gid_mappings,
                                        err)) < 0)
                return r;
        if ((m->n_uid_mappings > 0) != (m->n_gid_mappings > 0))
                return cella_err(err, EINVAL,
                                 "%s: uidMappings and gidMappings must be given together", p);
        return 0;
}

static int parse_mounts(struct json_object *root, struct oci_spec *s, struct cella_error *err)
{
        char p[JSON_PATH_MAX];
        struct json_object *arr, *o;
        void *elems;
        size_t n;
        int r = spec_get_array(root, "", "mounts", sizeof(*s->mounts), &arr, &elems, &n, err);
        if (r < 0 || !arr)
                return r;
        s->mounts = elems;
        n = json_object_array_length(arr);
        bool old_spec =
            strncmp(s->oci_version, "1.0.", 4) == 0 || strncmp(s->oci_version, "1.1.", 4) == 0;
        for (size_t i = 0; i < n; i++) {
                if ((r = spec_array_obj(arr, "mounts", i, p, &o, err)) < 0)
                        return r;
                s->n_mounts = i + 1;
                if ((r = parse_mount(o, p, &s->mounts[i], old_spec, err)) < 0)
                        return r;
        }
        return 0;
}

static int parse_user(struct json_object *proc, const char *pp, struct oci_user *u,
                      struct cella_error *err)
{
        char p[JSON_PATH_MAX], pa[JSON_PATH_MAX], pi[JSON_PATH_MAX];
        struct json_object *o, *arr;
        uint64_t v;
        int r = json_field(proc, pp, "user", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        json_path_key(p, pp, "user");
        if ((r = json_field_uint(o, p, "uid", UINT32_MAX, &v, NULL, err)) < 0)
                return r;
        u->uid = (uint32_t)v;
        v = 0;
        if ((r = json_field_uint(o, p, "gid", UINT32_MAX, &v, NULL, err)) < 0)
                return r;
        u->gid = (uint32_t)v;
        v = 0;
        if ((r = json_field_uint(o, p, "umask", 07777, &v, &u->has_umask, err)) < 0)
                return r;
        u->umask = (uint32_t)v;
        if ((r = json_field_string(o, p, "username", false, &u->username, err)) < 0)
                return r;
        void *elems;
        size_t n;
        r = spec_get_array(o, p, "additionalGids", sizeof(uint32_t), &arr, &elems, &n, err);
        if (r < 0 || !arr)
                return r;
        u->additional_gids = elems;
        u->n_additional_gids = json_object_array_length(arr);
        json_path_key(pa, p, "additionalGids");
        for (size_t i = 0; i < u->n_additional_gids; i++) {
                r = json_value_uint(json_object_array_get_idx(arr, i), json_path_idx(pi, pa, i),
                                    UINT32_MAX, &v, err);
                if (r < 0)
                        return r;
                u->additional_gids[i] = (uint32_t)v;
        }
        return 0;
}

static const char *const cap_set_names[OCI_CAP_SET_COUNT] = {
    [OCI_CAP_BOUNDING] = "bounding",       [OCI_CAP_EFFECTIVE] = "effective",
    [OCI_CAP_INHERITABLE] = "inheritable", [OCI_CAP_PERMITTED] = "permitted",
    [OCI_CAP_AMBIENT] = "ambient",
};

static int parse_capabilities(struct json_object *proc, const char *pp, struct oci_process *pr,
                              struct cella_error *err)
{
        char p[JSON_PATH_MAX], ps[JSON_PATH_MAX], pi[JSON_PATH_MAX], show[JSON_VALUE_SHOW_MAX];
        struct json_object *o, *arr;
        int r = json_field(proc, pp, "capabilities", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        json_path_key(p, pp, "capabilities");
        pr->has_capabilities = true;
        for (int set = 0; set < OCI_CAP_SET_COUNT; set++) {
                r = json_field(o, p, cap_set_names[set], json_type_array, false, &arr, err);
                if (r < 0)
                        return r;
                if (!arr)
                        continue;
                pr->capabilities.present[set] = true;
                json_path_key(ps, p, cap_set_names[set]);
                size_t n = json_object_array_length(arr);
                for (size_t i = 0; i < n; i++) {
                        struct json_object *v = json_object_array_get_idx(arr, i);
                        json_path_idx(pi, ps, i);
                        if (!json_object_is_type(v, json_type_string))
                                return json_err_type(err, pi, "a string", v);
                        int cap = oci_cap_from_name(json_object_get_string(v));
                        if (cap < 0)
                                return cella_err(err, EINVAL, "%s: unknown capability %s", pi,
                                                 json_show(v, show));
                        pr->capabilities.sets[set] |= UINT64_C(1) << cap;
                }
        }
        return 0;
}

static int parse_rlimit(struct json_object *o, const char *p, struct oci_rlimit *rl, uint32_t *seen,
                        struct cella_error *err)
{
        char show[JSON_VALUE_SHOW_MAX];
        int r;
        if ((r = json_field_string(o, p, "type", true, &rl->type, err)) < 0)
                return r;
        rl->resource = oci_rlimit_from_name(rl->type);
        if (rl->resource < 0)
                return cella_err(err, EINVAL, "%s.type: unknown rlimit %s", p,
                                 json_show_str(rl->type, show));
        if (*seen & (1u << rl->resource))
                return cella_err(err, EINVAL, "%s.type: duplicate rlimit %s", p,
                                 json_show_str(rl->type, show));
        *seen |= 1u << rl->resource;
        if ((r = spec_req_uint(o, p, "hard", UINT64_MAX, &rl->hard, err)) < 0 ||
            (r = spec_req_uint(o, p, "soft", UINT64_MAX, &rl->soft, err)) < 0)
                return r;
        if (rl->soft > rl->hard)
                return cella_err(err, EINVAL, "%s: %s soft limit %llu exceeds hard limit %llu", p,
                                 rl->type, (unsigned long long)rl->soft,
                                 (unsigned long long)rl->hard);
        return 0;
}

static int parse_rlimits(struct json_object *proc, const char *pp, struct oci_process *pr,
                         struct cella_error *err)
{
        char ap[JSON_PATH_MAX], p[JSON_PATH_MAX];
        struct json_object *arr, *o;
        void *elems;
        size_t n;
        uint32_t seen = 0;
        int r = spec_get_array(proc, pp, "rlimits", sizeof(*pr->rlimits), &arr, &elems, &n, err);
        if (r < 0 || !arr)
                return r;
        pr->rlimits = elems;
        n = json_object_array_length(arr);
        json_path_key(ap, pp, "rlimits");
        for (size_t i = 0; i < n; i++) {
                if ((r = spec_array_obj(arr, ap, i, p, &o, err)) < 0)
                        return r;
                pr->n_rlimits = i + 1;
                if ((r = parse_rlimit(o, p, &pr->rlimits[i], &seen, err)) < 0)
                        return r;
        }
        return 0;
}

int spec_check_enum(const char *value, const char *path, const char *what,
                    const char *const *allowed, struct cella_error *err)
{
        char show[JSON_VALUE_SHOW_MAX];
        if (!value || oci_name_in(allowed, value))
                return 0;
        return cella_err(err, EINVAL, "%s: unknown %s %s", path, what, json_show_str(value, show));
}

int spec_check_enum_strv(char **values, const char *path, const char *what,
                         const char *const *allowed, struct cella_error *err)
{
        char p[JSON_PATH_MAX];
        for (size_t i = 0; values && values[i]; i++) {
                int r = spec_check_enum(values[i], json_path_idx(p, path, i), what, allowed, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_scheduler(struct json_object *proc, const char *pp, struct oci_process *pr,
                           struct cella_error *err)
{
        static const char *const policies[] = {"SCHED_OTHER",    "SCHED_FIFO", "SCHED_RR",
                                               "SCHED_BATCH",    "SCHED_ISO",  "SCHED_IDLE",
                                               "SCHED_DEADLINE", NULL};
        static const char *const flags[] = {
            "SCHED_FLAG_RESET_ON_FORK",  "SCHED_FLAG_RECLAIM",
            "SCHED_FLAG_DL_OVERRUN",     "SCHED_FLAG_KEEP_POLICY",
            "SCHED_FLAG_KEEP_PARAMS",    "SCHED_FLAG_UTIL_CLAMP_MIN",
            "SCHED_FLAG_UTIL_CLAMP_MAX", NULL};
        char p[JSON_PATH_MAX], q[JSON_PATH_MAX];
        struct json_object *o;
        int64_t v = 0;
        int r = json_field(proc, pp, "scheduler", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        json_path_key(p, pp, "scheduler");
        struct oci_scheduler *sc = calloc(1, sizeof(*sc));
        if (!sc)
                return cella_err(err, ENOMEM, "%s: out of memory", p);
        pr->scheduler = sc;
        if ((r = json_field_string(o, p, "policy", true, &sc->policy, err)) < 0 ||
            (r = spec_check_enum(sc->policy, json_path_key(q, p, "policy"), "scheduler policy",
                                 policies, err)) < 0 ||
            (r = json_field_int(o, p, "nice", -20, 19, &v, NULL, err)) < 0)
                return r;
        sc->nice = (int32_t)v;
        v = 0;
        if ((r = json_field_int(o, p, "priority", INT32_MIN, INT32_MAX, &v, NULL, err)) < 0)
                return r;
        sc->priority = (int32_t)v;
        if ((r = json_field_strv(o, p, "flags", false, &sc->flags, NULL, err)) < 0 ||
            (r = spec_check_enum_strv(sc->flags, json_path_key(q, p, "flags"), "scheduler flag",
                                      flags, err)) < 0 ||
            (r = json_field_uint(o, p, "runtime", UINT64_MAX, &sc->runtime, NULL, err)) < 0 ||
            (r = json_field_uint(o, p, "deadline", UINT64_MAX, &sc->deadline, NULL, err)) < 0 ||
            (r = json_field_uint(o, p, "period", UINT64_MAX, &sc->period, NULL, err)) < 0)
                return r;
        return 0;
}

static int parse_io_priority(struct json_object *proc, const char *pp, struct oci_process *pr,
                             struct cella_error *err)
{
        static const char *const classes[] = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
                                              "IOPRIO_CLASS_IDLE", NULL};
        char p[JSON_PATH_MAX], q[JSON_PATH_MAX];
        struct json_object *o;
        int64_t v = 0;
        int r = json_field(proc, pp, "ioPriority", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        json_path_key(p, pp, "ioPriority");
        struct oci_io_priority *io = calloc(1, sizeof(*io));
        if (!io)
                return cella_err(err, ENOMEM, "%s: out of memory", p);
        pr->io_priority = io;
        if ((r = json_field_string(o, p, "class", true, &io->class_, err)) < 0 ||
            (r = spec_check_enum(io->class_, json_path_key(q, p, "class"), "I/O priority class",
                                 classes, err)) < 0 ||
            (r = json_field_int(o, p, "priority", 0, 7, &v, NULL, err)) < 0)
                return r;
        io->priority = (int32_t)v;
        return 0;
}

static int parse_console_size(struct json_object *proc, const char *pp, struct oci_process *pr,
                              struct cella_error *err)
{
        char p[JSON_PATH_MAX];
        struct json_object *o;
        uint64_t h, w;
        int r = json_field(proc, pp, "consoleSize", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        json_path_key(p, pp, "consoleSize");
        /* struct winsize holds unsigned shorts. */
        if ((r = spec_req_uint(o, p, "height", UINT16_MAX, &h, err)) < 0 ||
            (r = spec_req_uint(o, p, "width", UINT16_MAX, &w, err)) < 0)
                return r;
        pr->has_console_size = true;
        pr->console_size = (struct oci_console_size){(uint32_t)h, (uint32_t)w};
        return 0;
}

/* Like runc: every entry must be NAME=VALUE with a non-empty NAME. */
static int check_env(char **env, const char *path, struct cella_error *err)
{
        char p[JSON_PATH_MAX], show[JSON_VALUE_SHOW_MAX];
        for (size_t i = 0; env && env[i]; i++) {
                const char *eq = strchr(env[i], '=');
                if (!eq || eq == env[i])
                        return cella_err(err, EINVAL,
                                         "%s: invalid environment variable %s (expected "
                                         "NAME=VALUE)",
                                         json_path_idx(p, path, i), json_show_str(env[i], show));
        }
        return 0;
}

static int parse_process_fields(struct json_object *o, const char *p, struct oci_process *pr,
                                struct cella_error *err)
{
        char q[JSON_PATH_MAX];
        int64_t v = 0;
        int r;
        if ((r = json_field_bool(o, p, "terminal", &pr->terminal, NULL, err)) < 0 ||
            (r = parse_console_size(o, p, pr, err)) < 0 ||
            (r = parse_user(o, p, &pr->user, err)) < 0 ||
            (r = json_field_strv(o, p, "args", false, &pr->args, &pr->n_args, err)) < 0 ||
            (r = json_field_string(o, p, "commandLine", false, &pr->command_line, err)) < 0 ||
            (r = json_field_strv(o, p, "env", false, &pr->env, &pr->n_env, err)) < 0 ||
            (r = check_env(pr->env, json_path_key(q, p, "env"), err)) < 0 ||
            (r = json_field_string(o, p, "cwd", true, &pr->cwd, err)) < 0 ||
            (r = spec_check_abs(pr->cwd, json_path_key(q, p, "cwd"), err)) < 0 ||
            (r = parse_capabilities(o, p, pr, err)) < 0 || (r = parse_rlimits(o, p, pr, err)) < 0 ||
            (r = json_field_bool(o, p, "noNewPrivileges", &pr->no_new_privileges, NULL, err)) < 0 ||
            (r = json_field_string(o, p, "apparmorProfile", false, &pr->apparmor_profile, err)) <
                0 ||
            (r = json_field_int(o, p, "oomScoreAdj", -1000, 1000, &v, &pr->has_oom_score_adj,
                                err)) < 0)
                return r;
        pr->oom_score_adj = (int)v;
        if ((r = json_field_string(o, p, "selinuxLabel", false, &pr->selinux_label, err)) < 0 ||
            (r = parse_scheduler(o, p, pr, err)) < 0 || (r = parse_io_priority(o, p, pr, err)) < 0)
                return r;
        if (!pr->args || pr->n_args == 0)
                return cella_err(err, EINVAL, "%s: must not be empty (the program to run)",
                                 json_path_key(q, p, "args"));
        if (!pr->args[0][0])
                return cella_err(err, EINVAL, "%s[0]: must not be an empty string",
                                 json_path_key(q, p, "args"));
        return 0;
}

static void free_process_fields(struct oci_process *pr)
{
        free(pr->user.additional_gids);
        free(pr->user.username);
        json_strv_free(pr->args);
        free(pr->command_line);
        json_strv_free(pr->env);
        free(pr->cwd);
        for (size_t i = 0; i < pr->n_rlimits; i++)
                free(pr->rlimits[i].type);
        free(pr->rlimits);
        free(pr->apparmor_profile);
        free(pr->selinux_label);
        if (pr->scheduler) {
                free(pr->scheduler->policy);
                json_strv_free(pr->scheduler->flags);
                free(pr->scheduler);
        }
        if (pr->io_priority) {
                free(pr->io_priority->class_);
                free(pr->io_priority);
        }
}

static int parse_hook(struct json_object *o, const char *p, struct oci_hook *h,
                      struct cella_error *err)
{
        char q[JSON_PATH_MAX];
        int64_t t = 0;
        int r;
        if ((r = json_field_string(o, p, "path", true, &h->path, err)) < 0 ||
            (r = spec_check_abs(h->path, json_path_key(q, p, "path"), err)) < 0 ||
            (r = json_field_strv(o, p, "args", false, &h->args, NULL, err)) < 0 ||
            (r = json_field_strv(o, p, "env", false, &h->env, NULL, err)) < 0 ||
            (r = check_env(h->env, json_path_key(q, p, "env"), err)) < 0 ||
            (r = json_field_int(o, p, "timeout", INT32_MIN, INT32_MAX, &t, &h->has_timeout, err)) <
                0)
                return r;
        if (h->has_timeout && t <= 0)
                return cella_err(err, EINVAL, "%s.timeout: must be greater than 0, got %lld", p,
                                 (long long)t);
        h->timeout = (int)t;
        return 0;
}

static int parse_hooks(struct json_object *root, struct oci_hooks *hooks, struct cella_error *err)
{
        char ap[JSON_PATH_MAX], p[JSON_PATH_MAX], show[JSON_VALUE_SHOW_MAX];
        struct json_object *o, *arr, *h;
        int r = json_field(root, "", "hooks", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        json_object_object_foreach(o, key, val)
        {
                (void)val;
                int kind = oci_hook_kind_from_name(key);
                if (kind < 0)
                        return cella_err(err, EINVAL,
                                         "hooks: unknown hook kind %s (expected prestart, "
                                         "createRuntime, createContainer, startContainer, "
                                         "poststart or poststop)",
                                         json_show_str(key, show));
                void *elems;
                size_t n;
                r = spec_get_array(o, "hooks", key, sizeof(struct oci_hook), &arr, &elems, &n, err);
                if (r < 0)
                        return r;
                if (!arr)
                        continue;
                hooks->hooks[kind] = elems;
                json_path_key(ap, "hooks", key);
                n = json_object_array_length(arr);
                for (size_t i = 0; i < n; i++) {
                        if ((r = spec_array_obj(arr, ap, i, p, &h, err)) < 0)
                                return r;
                        hooks->n_hooks[kind] = i + 1;
                        if ((r = parse_hook(h, p, &hooks->hooks[kind][i], err)) < 0)
                                return r;
                }
        }
        return 0;
}

static int parse_document(struct json_object *root, struct oci_spec *s, struct cella_error *err)
{
        struct json_object *o;
        int r;
        if (!json_object_is_type(root, json_type_object))
                return json_err_type(err, "config", "an object", root);
        if ((r = parse_version(root, &s->oci_version, err)) < 0 ||
            (r = parse_root(root, s, err)) < 0 || (r = parse_mounts(root, s, err)) < 0)
                return r;
        if ((r = json_field(root, "", "process", json_type_object, false, &o, err)) < 0)
                return r;
        if (o) {
                s->has_process = true;
                if ((r = parse_process_fields(o, "process", &s->process, err)) < 0)
                        return r;
        }
        if ((r = json_field_string(root, "", "hostname", false, &s->hostname, err)) < 0 ||
            (r = json_field_string(root, "", "domainname", false, &s->domainname, err)) < 0 ||
            (r = parse_hooks(root, &s->hooks, err)) < 0 ||
            (r = spec_parse_kv(root, "", "annotations", false, &s->annotations, &s->n_annotations,
                               err)) < 0)
                return r;
        if ((r = json_field(root, "", "linux", json_type_object, false, &o, err)) < 0)
                return r;
        if (o) {
                s->has_linux = true;
                if ((r = spec_parse_linux(o, &s->linux_, err)) < 0)
                        return r;
        }
        /* windows, solaris, vm, zos: other platforms' sections, accepted and ignored. */
        return 0;
}

int oci_spec_parse(const char *json, size_t len, struct oci_spec **ret_spec,
                   struct cella_error *err)
{
        struct json_object *root = NULL;
        int r = json_parse_text(json, len, &root, err);
        if (r < 0)
                return r;
        struct oci_spec *s = calloc(1, sizeof(*s));
        if (!s) {
                json_object_put(root);
                return cella_err(err, ENOMEM, "out of memory");
        }
        r = parse_document(root, s, err);
        json_object_put(root);
        if (r < 0) {
                oci_spec_free(s);
                return r;
        }
        *ret_spec = s;
        return 0;
}

int oci_spec_load(const char *path, struct oci_spec **ret_spec, struct cella_error *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = fs_read_file(path, CONFIG_MAX_SIZE, &buf, &len);
        if (r == -ENOENT)
                return cella_err(err, ENOENT, "%s: no such file; run `cella spec` to create one",
                                 path);
        if (r < 0)
                return cella_errno(err, -r, "read %s", path);
        if (len == 0)
                return cella_err(err, EINVAL, "%s: file is empty", path);
        r = oci_spec_parse(buf, len, ret_spec, err);
        if (r < 0)
                return cella_err_prefix(err, "%s", path);
        return 0;
}

void oci_spec_free(struct oci_spec *s)
{
        if (!s)
                return;
        free(s->oci_version);
        free(s->root.path);
        for (size_t i = 0; i < s->n_mounts; i++) {
                struct oci_mount *m = &s->mounts[i];
                free(m->destination);
                free(m->type);
                free(m->source);
                json_strv_free(m->options);
                free(m->uid_mappings);
                free(m->gid_mappings);
        }
        free(s->mounts);
        free_process_fields(&s->process);
        free(s->hostname);
        free(s->domainname);
        for (int k = 0; k < OCI_HOOK_KIND_COUNT; k++) {
                for (size_t i = 0; i < s->hooks.n_hooks[k]; i++) {
                        free(s->hooks.hooks[k][i].path);
                        json_strv_free(s->hooks.hooks[k][i].args);
                        json_strv_free(s->hooks.hooks[k][i].env);
                }
                free(s->hooks.hooks[k]);
        }
        for (size_t i = 0; i < s->n_annotations; i++) {
                free(s->annotations[i].key);
                free(s->annotations[i].value);
        }
        free(s->annotations);
        spec_free_linux(&s->linux_);
        free(s);
}

int oci_process_parse(const char *json, size_t len, struct oci_process **ret_process,
                      struct cella_error *err)
{
        struct json_object *root = NULL;
        int r = json_parse_text(json, len, &root, err);
        if (r < 0)
                return r;
        struct oci_process *pr = calloc(1, sizeof(*pr));
        if (!pr) {
                json_object_put(root);
                return cella_err(err, ENOMEM, "out of memory");
        }
        if (!json_object_is_type(root, json_type_object))
                r = json_err_type(err, "process", "an object", root);
        else
                r = parse_process_fields(root, "process", pr, err);
        json_object_put(root);
        if (r < 0) {
                oci_process_free(pr);
                return r;
        }
        *ret_process = pr;
        return 0;
}

void oci_process_free(struct oci_process *process)
{
        if (!process)
                return;
        free_process_fields(process);
        free(process);
}

const struct oci_namespace *oci_spec_namespace(const struct oci_spec *spec, enum oci_ns_type type)
{
        for (size_t i = 0; i < spec->linux_.n_namespaces; i++)
                if (spec->linux_.namespaces[i].type == type)
                        return &spec->linux_.namespaces[i];
        return NULL;
}
