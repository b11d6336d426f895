/* SPDX-License-Identifier: Apache-2.0 */
/* config.json "linux" object (config-linux.md): namespaces, id maps, devices, resources, seccomp.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/json.h"
#include "oci/spec-internal.h"

/* The kernel accepts at most this many lines in /proc/PID/{uid,gid}_map (since 4.15). */
#define IDMAP_MAX_LINES 340
/* dev_t: 12-bit major, 20-bit minor. */
#define DEV_MAJOR_MAX 4095
#define DEV_MINOR_MAX 1048575

static int parse_namespaces(struct json_object *lo, struct oci_linux *lx, struct cella_error *err)
{
        char p[JSON_PATH_MAX], q[JSON_PATH_MAX], show[JSON_VALUE_SHOW_MAX];
        struct json_object *arr, *o;
        void *elems;
        size_t n;
        bool seen[OCI_NS_COUNT] = {false};
        _cleanup_free_ char *type = NULL;
        int r = spec_get_array(lo, "linux", "namespaces", sizeof(*lx->namespaces), &arr, &elems, &n,
                               err);
        if (r < 0 || !arr)
                return r;
        lx->namespaces = elems;
        n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
                struct oci_namespace *ns = &lx->namespaces[i];
                if ((r = spec_array_obj(arr, "linux.namespaces", i, p, &o, err)) < 0)
                        return r;
                lx->n_namespaces = i + 1;
                free(type);
                type = NULL;
                if ((r = json_field_string(o, p, "type", true, &type, err)) < 0)
                        return r;
                json_path_key(q, p, "type");
                int t = oci_ns_type_from_name(type);
                if (t < 0)
                        return cella_err(err, EINVAL, "%s: unknown namespace %s", q,
                                         json_show_str(type, show));
                if (seen[t])
                        return cella_err(err, EINVAL, "%s: duplicate namespace %s", q,
                                         json_show_str(type, show));
                seen[t] = true;
                ns->type = (enum oci_ns_type)t;
                if ((r = json_field_string(o, p, "path", false, &ns->path, err)) < 0)
                        return r;
                if (ns->path &&
                    (r = spec_check_abs(ns->path, json_path_key(q, p, "path"), err)) < 0)
                        return r;
        }
        return 0;
}

/* The kernel refuses overlapping ranges in one map; say which entries collide. */
static int check_id_map(const struct oci_id_mapping *m, size_t n, const char *path,
                        struct cella_error *err)
{
        if (n > IDMAP_MAX_LINES)
                return cella_err(err, E2BIG, "%s: %zu entries, the kernel allows at most %d", path,
                                 n, IDMAP_MAX_LINES);
        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < i; j++) {
                        uint64_t ci = m[i].container_id, cj = m[j].container_id;
                        uint64_t hi = m[i].host_id, hj = m[j].host_id;
                        if (ci < cj + m[j].size && cj < ci + m[i].size)
                                return cella_err(err, EINVAL,
                                                 "%s[%zu]: containerID range %llu-%llu overlaps "
                                                 "%s[%zu]",
                                                 path, i, (unsigned long long)ci,
                                                 (unsigned long long)(ci + m[i].size - 1), path, j);
                        if (hi < hj + m[j].size && hj < hi + m[i].size)
                                return cella_err(err, EINVAL,
                                                 "%s[%zu]: hostID range %llu-%llu overlaps %s[%zu]",
                                                 path, i, (unsigned long long)hi,
                                                 (unsigned long long)(hi + m[i].size - 1), path, j);
                }
        }
        return 0;
}

static int parse_id_maps(struct json_object *lo, struct oci_linux *lx, struct cella_error *err)
{
        int r;
        if ((r = spec_parse_id_mappings(lo, "linux", "uidMappings", &lx->uid_mappings,
                                        &lx->n_uid_mappings, err)) < 0 ||
            (r = spec_parse_id_mappings(lo, "linux", "gidMappings", &lx->gid_mappings,
                                        &lx->n_gid_mappings, err)) < 0 ||
            (r = check_id_map(lx->uid_mappings, lx->n_uid_mappings, "linux.uidMappings", err)) <
                0 ||
            (r = check_id_map(lx->gid_mappings, lx->n_gid_mappings, "linux.gidMappings", err)) < 0)
                return r;
        bool userns = false;
        for (size_t i = 0; i < lx->n_namespaces; i++)
                userns |= lx->namespaces[i].type == OCI_NS_USER;
        /* Same rule as runc: mappings without a user namespace are a config mistake. */
        if (!userns && (lx->n_uid_mappings || lx->n_gid_mappings))
                return cella_err(err, EINVAL,
                                 "linux.%s: id mappings given but linux.namespaces has no "
                                 "\"user\" namespace",
                                 lx->n_uid_mappings ? "uidMappings" : "gidMappings");
        return 0;
}

static int parse_time_offsets(struct json_object *lo, struct oci_linux *lx, struct cella_error *err)
{
        static const char *const clocks[2] = {"monotonic", "boottime"};
        char p[JSON_PATH_MAX], show[JSON_VALUE_SHOW_MAX];
        struct json_object *o;
        int r = json_field(lo, "linux", "timeOffsets", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        json_object_object_foreach(o, key, val)
        {
                int c = strcmp(key, clocks[0]) == 0 ? 0 : strcmp(key, clocks[1]) == 0 ? 1 : -1;
                if (c < 0)
                        return cella_err(err, EINVAL,
                                         "linux.timeOffsets: unknown clock %s (expected "
                                         "monotonic or boottime)",
                                         json_show_str(key, show));
                json_path_key(p, "linux.timeOffsets", clocks[c]);
                if (!json_object_is_type(val, json_type_object))
                        return json_err_type(err, p, "an object", val);
                struct oci_time_offset *t = &lx->time_offsets[c];
                uint64_t ns = 0;
                if ((r = json_field_int(val, p, "secs", INT64_MIN, INT64_MAX, &t->secs, NULL,
                                        err)) < 0 ||
                    (r = json_field_uint(val, p, "nanosecs", 999999999, &ns, NULL, err)) < 0)
                        return r;
                t->nanosecs = (uint32_t)ns;
                t->present = true;
        }
        return 0;
}

/*
 * A device path: absolute, naming a file (config-linux.md lets it be anywhere, "notably
 * outside of /dev"); it is created with openat2(RESOLVE_IN_ROOT), so ".." cannot escape.
 */
static int check_dev_path(const char *path, const char *jp, struct cella_error *err)
{
        char show[JSON_VALUE_SHOW_MAX];
        size_t n = strlen(path);
        if (path[0] != '/' || n < 2 || path[n - 1] == '/')
                return cella_err(err, EINVAL, "%s: must be an absolute path to a file, got %s", jp,
                                 json_show_str(path, show));
        return 0;
}

static int parse_device(struct json_object *o, const char *p, struct oci_device *d,
                        struct cella_error *err)
{
        char q[JSON_PATH_MAX], show[JSON_VALUE_SHOW_MAX];
        _cleanup_free_ char *type = NULL;
        uint64_t v = 0;
        int r;
        if ((r = json_field_string(o, p, "path", true, &d->path, err)) < 0 ||
            (r = check_dev_path(d->path, json_path_key(q, p, "path"), err)) < 0 ||
            (r = json_field_string(o, p, "type", true, &type, err)) < 0)
                return r;
        if (strlen(type) != 1 || !strchr("cbup", type[0]))
                return cella_err(err, EINVAL,
                                 "%s.type: unknown device type %s (expected c, b, u or p)", p,
                                 json_show_str(type, show));
        d->type = type[0];
        if (d->type == 'p') {
                /* A FIFO has no numbers; ignore any given. */
        } else if ((r = spec_req_int(o, p, "major", 0, DEV_MAJOR_MAX, &d->major, err)) < 0 ||
                   (r = spec_req_int(o, p, "minor", 0, DEV_MINOR_MAX, &d->minor, err)) < 0) {
                return r;
        }
        if ((r = json_field_uint(o, p, "fileMode", 07777, &v, &d->has_file_mode, err)) < 0)
                return r;
        d->file_mode = (uint32_t)v;
        if ((r = json_field_uint(o, p, "uid", UINT32_MAX, &v, &d->has_uid, err)) < 0)
                return r;
        d->uid = d->has_uid ? (uint32_t)v : 0;
        if ((r = json_field_uint(o, p, "gid", UINT32_MAX, &v, &d->has_gid, err)) < 0)
                return r;
        d->gid = d->has_gid ? (uint32_t)v : 0;
        return 0;
}

static int parse_devices(struct json_object *lo, struct oci_linux *lx, struct cella_error *err)
{
        char p[JSON_PATH_MAX];
        struct json_object *arr, *o;
        void *elems;
        size_t n;
        int r = spec_get_array(lo, "linux", "devices", sizeof(*lx->devices), &arr, &elems, &n, err);
        if (r < 0 || !arr)
                return r;
        lx->devices = elems;
        n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
                if ((r = spec_array_obj(arr, "linux.devices", i, p, &o, err)) < 0)
                        return r;
                lx->n_devices = i + 1;
                if ((r = parse_device(o, p, &lx->devices[i], err)) < 0)
                        return r;
        }
        return 0;
}

static int parse_cgroup_device(struct json_object *o, const char *p, struct oci_device_cgroup *d,
                               struct cella_error *err)
{
        char show[JSON_VALUE_SHOW_MAX];
        _cleanup_free_ char *type = NULL;
        struct json_object *v;
        bool has;
        int r;
        if ((r = json_field(o, p, "allow", json_type_boolean, true, &v, err)) < 0)
                return r;
        d->allow = json_object_get_boolean(v);
        if ((r = json_field_string(o, p, "type", false, &type, err)) < 0)
                return r;
        d->type = 'a';
        if (type) {
                if (strlen(type) != 1 || !strchr("acb", type[0]))
                        return cella_err(err, EINVAL,
                                         "%s.type: unknown device type %s (expected a, c or b)", p,
                                         json_show_str(type, show));
                d->type = type[0];
        }
        if ((r = json_field_int(o, p, "major", -1, DEV_MAJOR_MAX, &d->major, &has, err)) < 0)
                return r;
        if (!has)
                d->major = -1;
        if ((r = json_field_int(o, p, "minor", -1, DEV_MINOR_MAX, &d->minor, &has, err)) < 0)
                return r;
        if (!has)
                d->minor = -1;
        if ((r = json_field_string(o, p, "access", false, &d->access, err)) < 0)
                return r;
        if (d->access && (strspn(d->access, "rwm") != strlen(d->access)))
                return cella_err(err, EINVAL,
                                 "%s.access: invalid access %s (expected a combination of r, w "
                                 "and m)",
                                 p, json_show_str(d->access, show));
        return 0;
}

static int parse_cgroup_devices(struct json_object *ro, const char *rp, struct oci_resources *res,
                                struct cella_error *err)
{
        char ap[JSON_PATH_MAX], p[JSON_PATH_MAX];
        struct json_object *arr, *o;
        void *elems;
        size_t n;
        int r = spec_get_array(ro, rp, "devices", sizeof(*res->devices), &arr, &elems, &n, err);
        if (r < 0 || !arr)
                return r;
        res->devices = elems;
        n = json_object_array_length(arr);
        json_path_key(ap, rp, "devices");
        for (size_t i = 0; i < n; i++) {
                if ((r = spec_array_obj(arr, ap, i, p, &o, err)) < 0)
                        return r;
                res->n_devices = i + 1;
                if ((r = parse_cgroup_device(o, p, &res->devices[i], err)) < 0)
                        return r;
        }
        return 0;
}

static int parse_memory(struct json_object *ro, const char *rp, struct oci_resources *res,
                        struct cella_error *err)
{
        char p[JSON_PATH_MAX];
        struct json_object *o;
        int r = json_field(ro, rp, "memory", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        json_path_key(p, rp, "memory");
        __typeof__(res->memory) *m = &res->memory;
        m->present = true;
        /* -1 means unlimited; other negative values mean nothing. */
        if ((r = json_field_int(o, p, "limit", -1, INT64_MAX, &m->limit, &m->has_limit, err)) < 0 ||
            (r = json_field_int(o, p, "reservation", -1, INT64_MAX, &m->reservation,
                                &m->has_reservation, err)) < 0 ||
            (r = json_field_int(o, p, "swap", -1, INT64_MAX, &m->swap, &m->has_swap, err)) < 0 ||
            (r = json_field_int(o, p, "kernel", -1, INT64_MAX, &m->kernel, &m->has_kernel, err)) <
                0 ||
            (r = json_field_int(o, p, "kernelTCP", -1, INT64_MAX, &m->kernel_tcp,
                                &m->has_kernel_tcp, err)) < 0 ||
            (r = json_field_uint(o, p, "swappiness", 100, &m->swappiness, &m->has_swappiness,
                                 err)) < 0 ||
            (r = json_field_bool(o, p, "disableOOMKiller", &m->disable_oom_killer,
                                 &m->has_disable_oom_killer, err)) < 0 ||
            (r = json_field_bool(o, p, "useHierarchy", &m->use_hierarchy, &m->has_use_hierarchy,
                                 err)) < 0 ||
            (r = json_field_bool(o, p, "checkBeforeUpdate", &m->check_before_update,
                                 &m->has_check_before_update, err)) < 0)
                return r;
        return 0;
}

static int parse_cpu(struct json_object *ro, const char *rp, struct oci_resources *res,
                     struct cella_error *err)
{
        char p[JSON_PATH_MAX];
        struct json_object *o;
        int r = json_field(ro, rp, "cpu", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        json_path_key(p, rp, "cpu");
        __typeof__(res->cpu) *c = &res->cpu;
        c->present = true;
        if ((r = json_field_uint(o, p, "shares", UINT64_MAX, &c->shares, &c->has_shares, err)) <
                0 ||
            (r = json_field_int(o, p, "quota", -1, INT64_MAX, &c->quota, &c->has_quota, err)) < 0 ||
            (r = json_field_uint(o, p, "burst", UINT64_MAX, &c->burst, &c->has_burst, err)) < 0 ||
            (r = json_field_uint(o, p, "period", UINT64_MAX, &c->period, &c->has_period, err)) <
                0 ||
            (r = json_field_int(o, p, "realtimeRuntime", INT64_MIN, INT64_MAX, &c->realtime_runtime,
                                &c->has_realtime_runtime, err)) < 0 ||
            (r = json_field_uint(o, p, "realtimePeriod", UINT64_MAX, &c->realtime_period,
                                 &c->has_realtime_period, err)) < 0 ||
            (r = json_field_string(o, p, "cpus", false, &c->cpus, err)) < 0 ||
            (r = json_field_string(o, p, "mems", false, &c->mems, err)) < 0 ||
            (r = json_field_int(o, p, "idle", INT64_MIN, INT64_MAX, &c->idle, &c->has_idle, err)) <
                0)
                return r;
        return 0;
}

static int parse_pids(struct json_object *ro, const char *rp, struct oci_resources *res,
                      struct cella_error *err)
{
        char p[JSON_PATH_MAX];
        struct json_object *o;
        int r = json_field(ro, rp, "pids", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        json_path_key(p, rp, "pids");
        res->pids.present = true;
        /* Required before runtime-spec 1.3, optional since; -1 or 0 mean unlimited. */
        return json_field_int(o, p, "limit", -1, INT64_MAX, &res->pids.limit, &res->pids.has_limit,
                              err);
}

static int parse_throttle(struct json_object *bo, const char *bp, const char *key,
                          struct oci_throttle_device **ret, size_t *ret_n, struct cella_error *err)
{
        char ap[JSON_PATH_MAX], p[JSON_PATH_MAX];
        struct json_object *arr, *o;
        void *elems;
        size_t n;
        int r = spec_get_array(bo, bp, key, sizeof(**ret), &arr, &elems, &n, err);
        if (r < 0 || !arr)
                return r;
        *ret = elems;
        n = json_object_array_length(arr);
        json_path_key(ap, bp, key);
        for (size_t i = 0; i < n; i++) {
                struct oci_throttle_device *t = &(*ret)[i];
                if ((r = spec_array_obj(arr, ap, i, p, &o, err)) < 0)
                        return r;
                *ret_n = i + 1;
                if ((r = spec_req_int(o, p, "major", 0, DEV_MAJOR_MAX, &t->major, err)) < 0 ||
                    (r = spec_req_int(o, p, "minor", 0, DEV_MINOR_MAX, &t->minor, err)) < 0 ||
                    (r = spec_req_uint(o, p, "rate", UINT64_MAX, &t->rate, err)) < 0)
                        return r;
        }
        return 0;
}

static int parse_weight_devices(struct json_object *bo, const char *bp, struct oci_resources *res,
                                struct cella_error *err)
{
        char ap[JSON_PATH_MAX], p[JSON_PATH_MAX];
        struct json_object *arr, *o;
        void *elems;
        size_t n;
        uint64_t v = 0;
        int r = spec_get_array(bo, bp, "weightDevice", sizeof(struct oci_weight_device), &arr,
                               &elems, &n, err);
        if (r < 0 || !arr)
                return r;
        res->block_io.weight_device = elems;
        n = json_object_array_length(arr);
        json_path_key(ap, bp, "weightDevice");
        for (size_t i = 0; i < n; i++) {
                struct oci_weight_device *w = &res->block_io.weight_device[i];
                if ((r = spec_array_obj(arr, ap, i, p, &o, err)) < 0)
                        return r;
                res->block_io.n_weight_device = i + 1;
                if ((r = spec_req_int(o, p, "major", 0, DEV_MAJOR_MAX, &w->major, err)) < 0 ||
                    (r = spec_req_int(o, p, "minor", 0, DEV_MINOR_MAX, &w->minor, err)) < 0 ||
                    (r = json_field_uint(o, p, "weight", UINT16_MAX, &v, &w->has_weight, err)) < 0)
                        return r;
                w->weight = (uint16_t)v;
                if ((r = json_field_uint(o, p, "leafWeight", UINT16_MAX, &v, &w->has_leaf_weight,
                                         err)) < 0)
                        return r;
                w->leaf_weight = (uint16_t)v;
        }
        return 0;
}

static int parse_block_io(struct json_object *ro, const char *rp, struct oci_resources *res,
                          struct cella_error *err)
{
        char p[JSON_PATH_MAX];
        struct json_object *o;
        uint64_t v = 0;
        int r = json_field(ro, rp, "blockIO", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        json_path_key(p, rp, "blockIO");
        __typeof__(res->block_io) *b = &res->block_io;
        b->present = true;
        if ((r = json_field_uint(o, p, "weight", UINT16_MAX, &v, &b->has_weight, err)) < 0)
                return r;
        b->weight = (uint16_t)v;
        if ((r = json_field_uint(o, p, "leafWeight", UINT16_MAX, &v, &b->has_leaf_weight, err)) < 0)
                return r;
        b->leaf_weight = (uint16_t)v;
        if ((r = parse_weight_devices(o, p, res, err)) < 0 ||
            (r = parse_throttle(o, p, "throttleReadBpsDevice", &b->throttle_read_bps,
                                &b->n_throttle_read_bps, err)) < 0 ||
            (r = parse_throttle(o, p, "throttleWriteBpsDevice", &b->throttle_write_bps,
                                &b->n_throttle_write_bps, err)) < 0 ||
            (r = parse_throttle(o, p, "throttleReadIOPSDevice", &b->throttle_read_iops,
                                &b->n_throttle_read_iops, err)) < 0 ||
            (r = parse_throttle(o, p, "throttleWriteIOPSDevice", &b->throttle_write_iops,
                                &b->n_throttle_write_iops, err)) < 0)
                return r;
        return 0;
}

static int parse_hugepages(struct json_object *ro, const char *rp, struct oci_resources *res,
                           struct cella_error *err)
{
        char ap[JSON_PATH_MAX], p[JSON_PATH_MAX];
        struct json_object *arr, *o;
        void *elems;
        size_t n;
        int r = spec_get_array(ro, rp, "hugepageLimits", sizeof(*res->hugepage_limits), &arr,
                               &elems, &n, err);
        if (r < 0 || !arr)
                return r;
        res->hugepage_limits = elems;
        n = json_object_array_length(arr);
        json_path_key(ap, rp, "hugepageLimits");
        for (size_t i = 0; i < n; i++) {
                struct oci_hugepage_limit *h = &res->hugepage_limits[i];
                if ((r = spec_array_obj(arr, ap, i, p, &o, err)) < 0)
                        return r;
                res->n_hugepage_limits = i + 1;
                if ((r = json_field_string(o, p, "pageSize", true, &h->page_size, err)) < 0 ||
                    (r = spec_req_uint(o, p, "limit", UINT64_MAX, &h->limit, err)) < 0)
                        return r;
        }
        return 0;
}

static int parse_network(struct json_object *ro, const char *rp, struct oci_resources *res,
                         struct cella_error *err)
{
        char p[JSON_PATH_MAX], ap[JSON_PATH_MAX], q[JSON_PATH_MAX];
        struct json_object *o, *arr, *e;
        void *elems;
        size_t n;
        uint64_t v = 0;
        int r = json_field(ro, rp, "network", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        json_path_key(p, rp, "network");
        res->network.present = true;
        if ((r = json_field_uint(o, p, "classID", UINT32_MAX, &v, &res->network.has_class_id,
                                 err)) < 0)
                return r;
        res->network.class_id = (uint32_t)v;
        r = spec_get_array(o, p, "priorities", sizeof(struct oci_net_priority), &arr, &elems, &n,
                           err);
        if (r < 0 || !arr)
                return r;
        res->network.priorities = elems;
        n = json_object_array_length(arr);
        json_path_key(ap, p, "priorities");
        for (size_t i = 0; i < n; i++) {
                struct oci_net_priority *np = &res->network.priorities[i];
                if ((r = spec_array_obj(arr, ap, i, q, &e, err)) < 0)
                        return r;
                res->network.n_priorities = i + 1;
                if ((r = json_field_string(e, q, "name", true, &np->name, err)) < 0 ||
                    (r = spec_req_uint(e, q, "priority", UINT32_MAX, &v, err)) < 0)
                        return r;
                np->priority = (uint32_t)v;
        }
        return 0;
}

static int parse_rdma(struct json_object *ro, const char *rp, struct oci_resources *res,
                      struct cella_error *err)
{
        char p[JSON_PATH_MAX], q[JSON_PATH_MAX];
        struct json_object *o;
        uint64_t v = 0;
        int r = json_field(ro, rp, "rdma", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        json_path_key(p, rp, "rdma");
        size_t n = (size_t)json_object_object_length(o), i = 0;
        res->rdma = calloc(n ? n : 1, sizeof(*res->rdma));
        if (!res->rdma)
                return cella_err(err, ENOMEM, "%s: out of memory", p);
        json_object_object_foreach(o, dev, val)
        {
                struct oci_rdma_limit *l = &res->rdma[i];
                json_path_mapkey(q, p, dev);
                res->n_rdma = ++i;
                if (!(l->device = strdup(dev)))
                        return cella_err(err, ENOMEM, "%s: out of memory", q);
                if (!json_object_is_type(val, json_type_object))
                        return json_err_type(err, q, "an object", val);
                if ((r = json_field_uint(val, q, "hcaHandles", UINT32_MAX, &v, &l->has_hca_handles,
                                         err)) < 0)
                        return r;
                l->hca_handles = (uint32_t)v;
                if ((r = json_field_uint(val, q, "hcaObjects", UINT32_MAX, &v, &l->has_hca_objects,
                                         err)) < 0)
                        return r;
                l->hca_objects = (uint32_t)v;
        }
        return 0;
}

static int parse_resources_obj(struct json_object *ro, const char *rp, struct oci_resources *res,
                               struct cella_error *err)
{
        int r;
        if ((r = parse_cgroup_devices(ro, rp, res, err)) < 0 ||
            (r = parse_memory(ro, rp, res, err)) < 0 || (r = parse_cpu(ro, rp, res, err)) < 0 ||
            (r = parse_pids(ro, rp, res, err)) < 0 || (r = parse_block_io(ro, rp, res, err)) < 0 ||
            (r = parse_hugepages(ro, rp, res, err)) < 0 ||
            (r = parse_network(ro, rp, res, err)) < 0 || (r = parse_rdma(ro, rp, res, err)) < 0 ||
            (r = spec_parse_kv(ro, rp, "unified", false, &res->unified, &res->n_unified, err)) < 0)
                return r;
        return 0;
}

static int parse_resources(struct json_object *lo, struct oci_linux *lx, struct cella_error *err)
{
        struct json_object *ro;
        int r = json_field(lo, "linux", "resources", json_type_object, false, &ro, err);
        if (r < 0 || !ro)
                return r;
        lx->has_resources = true;
        return parse_resources_obj(ro, "linux.resources", &lx->resources, err);
}

static int parse_seccomp_arg(struct json_object *o, const char *p, struct oci_seccomp_arg *a,
                             struct cella_error *err)
{
        char q[JSON_PATH_MAX];
        uint64_t idx;
        int r;
        /* Syscalls have at most six arguments. */
        if ((r = spec_req_uint(o, p, "index", 5, &idx, err)) < 0 ||
            (r = spec_req_uint(o, p, "value", UINT64_MAX, &a->value, err)) < 0 ||
            (r = json_field_uint(o, p, "valueTwo", UINT64_MAX, &a->value_two, NULL, err)) < 0 ||
            (r = json_field_string(o, p, "op", true, &a->op, err)) < 0 ||
            (r = spec_check_enum(a->op, json_path_key(q, p, "op"), "seccomp operator",
                                 oci_seccomp_operators(), err)) < 0)
                return r;
        a->index = (uint32_t)idx;
        return 0;
}

static int parse_syscall(struct json_object *o, const char *p, struct oci_seccomp_syscall *sc,
                         struct cella_error *err)
{
        char q[JSON_PATH_MAX], ap[JSON_PATH_MAX];
        struct json_object *arr, *e;
        void *elems;
        size_t n;
        uint64_t v = 0;
        int r;
        if ((r = json_field_strv(o, p, "names", true, &sc->names, &sc->n_names, err)) < 0)
                return r;
        if (sc->n_names == 0)
                return cella_err(err, EINVAL, "%s.names: must not be empty", p);
        if ((r = json_field_string(o, p, "action", true, &sc->action, err)) < 0 ||
            (r = spec_check_enum(sc->action, json_path_key(q, p, "action"), "seccomp action",
                                 oci_seccomp_actions(), err)) < 0 ||
            (r = json_field_uint(o, p, "errnoRet", UINT32_MAX, &v, &sc->has_errno_ret, err)) < 0)
                return r;
        sc->errno_ret = (uint32_t)v;
        r = spec_get_array(o, p, "args", sizeof(*sc->args), &arr, &elems, &n, err);
        if (r < 0 || !arr)
                return r;
        sc->args = elems;
        n = json_object_array_length(arr);
        json_path_key(ap, p, "args");
        for (size_t i = 0; i < n; i++) {
                if ((r = spec_array_obj(arr, ap, i, q, &e, err)) < 0)
                        return r;
                sc->n_args = i + 1;
                if ((r = parse_seccomp_arg(e, q, &sc->args[i], err)) < 0)
                        return r;
        }
        return 0;
}

static int parse_seccomp(struct json_object *lo, struct oci_linux *lx, struct cella_error *err)
{
        static const char *p = "linux.seccomp";
        char q[JSON_PATH_MAX];
        struct json_object *o, *arr, *e;
        void *elems;
        size_t n;
        uint64_t v = 0;
        int r = json_field(lo, "linux", "seccomp", json_type_object, false, &o, err);
        if (r < 0 || !o)
                return r;
        struct oci_seccomp *s = lx->seccomp = calloc(1, sizeof(*s));
        if (!s)
                return cella_err(err, ENOMEM, "%s: out of memory", p);
        if ((r = json_field_string(o, p, "defaultAction", true, &s->default_action, err)) < 0 ||
            (r = spec_check_enum(s->default_action, "linux.seccomp.defaultAction", "seccomp action",
                                 oci_seccomp_actions(), err)) < 0 ||
            (r = json_field_uint(o, p, "defaultErrnoRet", UINT32_MAX, &v, &s->has_default_errno_ret,
                                 err)) < 0)
                return r;
        s->default_errno_ret = (uint32_t)v;
        if ((r = json_field_strv(o, p, "architectures", false, &s->architectures,
                                 &s->n_architectures, err)) < 0 ||
            (r = spec_check_enum_strv(s->architectures, "linux.seccomp.architectures",
                                      "seccomp architecture", oci_seccomp_archs(), err)) < 0 ||
            (r = json_field_strv(o, p, "flags", false, &s->flags, &s->n_flags, err)) < 0 ||
            (r = spec_check_enum_strv(s->flags, "linux.seccomp.flags", "seccomp flag",
                                      oci_seccomp_flags(), err)) < 0 ||
            (r = json_field_string(o, p, "listenerPath", false, &s->listener_path, err)) < 0 ||
            (r = json_field_string(o, p, "listenerMetadata", false, &s->listener_metadata, err)) <
                0)
                return r;
        if (s->listener_metadata && !s->listener_path)
                return cella_err(err, EINVAL,
                                 "linux.seccomp.listenerMetadata: set without listenerPath");
        r = spec_get_array(o, p, "syscalls", sizeof(*s->syscalls), &arr, &elems, &n, err);
        if (r < 0 || !arr)
                return r;
        s->syscalls = elems;
        n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
                if ((r = spec_array_obj(arr, "linux.seccomp.syscalls", i, q, &e, err)) < 0)
                        return r;
                s->n_syscalls = i + 1;
                if ((r = parse_syscall(e, q, &s->syscalls[i], err)) < 0)
                        return r;
        }
        return 0;
}

static int parse_paths(struct json_object *lo, const char *key, char ***ret, size_t *ret_n,
                       struct cella_error *err)
{
        char p[JSON_PATH_MAX], q[JSON_PATH_MAX];
        int r = json_field_strv(lo, "linux", key, false, ret, ret_n, err);
        if (r < 0)
                return r;
        json_path_key(p, "linux", key);
        for (size_t i = 0; i < *ret_n; i++)
                if ((r = spec_check_abs((*ret)[i], json_path_idx(q, p, i), err)) < 0)
                        return r;
        return 0;
}

static int parse_misc(struct json_object *lo, struct oci_linux *lx, struct cella_error *err)
{
        static const char *const propagations[] = {"shared",     "slave",       "private",
                                                   "unbindable", "rshared",     "rslave",
                                                   "rprivate",   "runbindable", NULL};
        static const char *const domains[] = {"LINUX", "LINUX32", NULL};
        struct json_object *o;
        int r;
        if ((r = json_field_string(lo, "linux", "cgroupsPath", false, &lx->cgroups_path, err)) <
                0 ||
            (r = spec_parse_kv(lo, "linux", "sysctl", false, &lx->sysctl, &lx->n_sysctl, err)) <
                0 ||
            (r = json_field_string(lo, "linux", "rootfsPropagation", false, &lx->rootfs_propagation,
                                   err)) < 0 ||
            (r = spec_check_enum(lx->rootfs_propagation, "linux.rootfsPropagation", "propagation",
                                 propagations, err)) < 0 ||
            (r = parse_paths(lo, "maskedPaths", &lx->masked_paths, &lx->n_masked_paths, err)) < 0 ||
            (r = parse_paths(lo, "readonlyPaths", &lx->readonly_paths, &lx->n_readonly_paths,
                             err)) < 0 ||
            (r = json_field_string(lo, "linux", "mountLabel", false, &lx->mount_label, err)) < 0)
                return r;
        if ((r = json_field(lo, "linux", "personality", json_type_object, false, &o, err)) < 0)
                return r;
        if (o) {
                struct oci_personality *pe = lx->personality = calloc(1, sizeof(*pe));
                if (!pe)
                        return cella_err(err, ENOMEM, "linux.personality: out of memory");
                if ((r = json_field_string(o, "linux.personality", "domain", true, &pe->domain,
                                           err)) < 0 ||
                    (r = spec_check_enum(pe->domain, "linux.personality.domain",
                                         "personality domain", domains, err)) < 0 ||
                    (r = json_field_strv(o, "linux.personality", "flags", false, &pe->flags, NULL,
                                         err)) < 0)
                        return r;
        }
        if ((r = json_field(lo, "linux", "intelRdt", json_type_object, false, &o, err)) < 0)
                return r;
        if (o && (r = json_field_string(o, "linux.intelRdt", "closID", false,
                                        &lx->intel_rdt_clos_id, err)) < 0)
                return r;
        lx->has_intel_rdt = o != NULL;
        return 0;
}

int spec_parse_linux(struct json_object *lo, struct oci_linux *lx, struct cella_error *err)
{
        int r;
        if ((r = parse_namespaces(lo, lx, err)) < 0 || (r = parse_id_maps(lo, lx, err)) < 0 ||
            (r = parse_time_offsets(lo, lx, err)) < 0 || (r = parse_devices(lo, lx, err)) < 0 ||
            (r = parse_resources(lo, lx, err)) < 0 || (r = parse_seccomp(lo, lx, err)) < 0 ||
            (r = parse_misc(lo, lx, err)) < 0)
                return r;
        return 0;
}

static void free_kv(struct oci_kv *kv, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(kv[i].key);
                free(kv[i].value);
        }
        free(kv);
}

static void free_resources(struct oci_resources *res);

int oci_resources_parse(const char *json, size_t len, struct oci_resources **ret,
                        struct cella_error *err)
{
        struct json_object *o = NULL;
        int r = json_parse_text(json, len, &o, err);
        if (r < 0)
                return cella_err_prefix(err, "resources");
        struct oci_resources *res = calloc(1, sizeof(*res));
        if (!res) {
                json_object_put(o);
                return cella_err(err, ENOMEM, "out of memory");
        }
        if (!json_object_is_type(o, json_type_object))
                r = cella_err(err, EINVAL, "resources: expected a JSON object");
        else
                r = parse_resources_obj(o, "resources", res, err);
        json_object_put(o);
        if (r < 0) {
                oci_resources_free(res);
                return r;
        }
        *ret = res;
        return 0;
}

void oci_resources_free(struct oci_resources *res)
{
        if (!res)
                return;
        free_resources(res);
        free(res);
}

static void free_resources(struct oci_resources *res)
{
        for (size_t i = 0; i < res->n_devices; i++)
                free(res->devices[i].access);
        free(res->devices);
        free(res->cpu.cpus);
        free(res->cpu.mems);
        free(res->block_io.weight_device);
        free(res->block_io.throttle_read_bps);
        free(res->block_io.throttle_write_bps);
        free(res->block_io.throttle_read_iops);
        free(res->block_io.throttle_write_iops);
        for (size_t i = 0; i < res->n_hugepage_limits; i++)
                free(res->hugepage_limits[i].page_size);
        free(res->hugepage_limits);
        for (size_t i = 0; i < res->network.n_priorities; i++)
                free(res->network.priorities[i].name);
        free(res->network.priorities);
        for (size_t i = 0; i < res->n_rdma; i++)
                free(res->rdma[i].device);
        free(res->rdma);
        free_kv(res->unified, res->n_unified);
}

static void free_seccomp(struct oci_seccomp *s)
{
        if (!s)
                return;
        free(s->default_action);
        json_strv_free(s->architectures);
        json_strv_free(s->flags);
        free(s->listener_path);
        free(s->listener_metadata);
        for (size_t i = 0; i < s->n_syscalls; i++) {
                json_strv_free(s->syscalls[i].names);
                free(s->syscalls[i].action);
                for (size_t j = 0; j < s->syscalls[i].n_args; j++)
                        free(s->syscalls[i].args[j].op);
                free(s->syscalls[i].args);
        }
        free(s->syscalls);
        free(s);
}

void spec_free_linux(struct oci_linux *lx)
{
        for (size_t i = 0; i < lx->n_namespaces; i++)
                free(lx->namespaces[i].path);
        free(lx->namespaces);
        free(lx->uid_mappings);
        free(lx->gid_mappings);
        for (size_t i = 0; i < lx->n_devices; i++)
                free(lx->devices[i].path);
        free(lx->devices);
        free(lx->cgroups_path);
        free_resources(&lx->resources);
        free_kv(lx->sysctl, lx->n_sysctl);
        free_seccomp(lx->seccomp);
        free(lx->rootfs_propagation);
        json_strv_free(lx->masked_paths);
        json_strv_free(lx->readonly_paths);
        free(lx->mount_label);
        if (lx->personality) {
                free(lx->personality->domain);
                json_strv_free(lx->personality->flags);
                free(lx->personality);
        }
        free(lx->intel_rdt_clos_id);
}
