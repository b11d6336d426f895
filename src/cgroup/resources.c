/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cg_apply_resources(): finds, per controller, the directory holding it (a v1 hierarchy, or
 * the cgroup2 one on v2 and, for controllers bound to cgroup2, in hybrid mode) and applies the
 * matching part of linux.resources with the v1 or v2 writer.
 */
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/log.h"
#include "internal.h"
#include "oci/spec.h"
#include "resources.h"

struct where {
        const char *dir;
        bool v2;
};

/*
 * v1_name: the v1 controller ("blkio"), v2_name: its v2 name ("io", NULL if v2 has none).
 * -ENOENT with err naming field when the host has the controller nowhere.
 */
static int locate(struct cgroup *cg, const char *v1_name, const char *v2_name, const char *field,
                  struct where *ret, struct cella_error *err)
{
        if (cg->mode != CG_MODE_V2) {
                struct cg_hierarchy *h = cg_find_hierarchy(cg, v1_name);
                if (h) {
                        *ret = (struct where){h->path, false};
                        return 0;
                }
        }
        struct cg_hierarchy *u = cg_unified(cg);
        if (u && v2_name) {
                _cleanup_free_ char *avail = NULL;
                /* Hybrid: a controller bound to cgroup2 is enabled only when a limit needs it. */
                if (cg->mode == CG_MODE_HYBRID)
                        cg_v2_enable_controller(u, v2_name, NULL);
                if (cg_read(u->path, "cgroup.controllers", &avail, NULL) == 0 &&
                    cg_has_word(avail, v2_name)) {
                        *ret = (struct where){u->path, true};
                        return 0;
                }
        }
        return cella_err(err, ENOENT,
                         "linux.resources.%s: the %s cgroup controller is not available on this "
                         "host",
                         field, v2_name && cg->mode == CG_MODE_V2 ? v2_name : v1_name);
}

static bool has_memory(const struct oci_resources *r)
{
        const __typeof__(r->memory) *m = &r->memory;
        return m->has_limit || m->has_reservation || m->has_swap || m->has_kernel ||
               m->has_kernel_tcp || m->has_swappiness || m->has_disable_oom_killer ||
               m->has_use_hierarchy;
}

static bool has_cpu(const struct oci_resources *r)
{
        const __typeof__(r->cpu) *c = &r->cpu;
        return (c->has_shares && c->shares) || (c->has_quota && c->quota) ||
               (c->has_period && c->period) || c->has_burst ||
               (c->has_realtime_runtime && c->realtime_runtime) ||
               (c->has_realtime_period && c->realtime_period) || c->has_idle;
}

static bool has_io(const struct oci_resources *r)
{
        const __typeof__(r->block_io) *b = &r->block_io;
        return (b->has_weight && b->weight) || (b->has_leaf_weight && b->leaf_weight) ||
               b->n_weight_device || b->n_throttle_read_bps || b->n_throttle_write_bps ||
               b->n_throttle_read_iops || b->n_throttle_write_iops;
}

typedef int (*setter)(const char *dir, const struct oci_resources *r, struct cella_error *err);

/* Applies one controller's part if the spec sets it. */
static int apply_one_raw(struct cgroup *cg, const struct oci_resources *r, bool wanted,
                         const char *v1_name, const char *v2_name, const char *field, setter v1,
                         setter v2, struct cella_error *err)
{
        if (!wanted)
                return 0;
        struct where w;
        int q = locate(cg, v1_name, v2_name, field, &w, err);
        if (q < 0)
                return q;
        setter fn = w.v2 ? v2 : v1;
        if (!fn)
                return cella_err(err, ENOTSUP, "linux.resources.%s: not supported on cgroup %s",
                                 field, w.v2 ? "v2" : "v1");
        return fn(w.dir, r, err);
}

/*
 * Rootless: a limit that fails for want of a (writable) cgroup is skipped with a warning that
 * names it; any other failure (a bad value) is still an error.
 */
static int rootless_ok(struct cgroup *cg, int q, struct cella_error *e, struct cella_error *err)
{
        if (q >= 0)
                return q;
        if (cg->rootless && (q == -ENOENT || cg_permission_error(q))) {
                log_warn("rootless: %s: not applied", e->msg);
                return 0;
        }
        if (err)
                *err = *e;
        return q;
}

static int apply_one(struct cgroup *cg, const struct oci_resources *r, bool wanted,
                     const char *v1_name, const char *v2_name, const char *field, setter v1,
                     setter v2, struct cella_error *err)
{
        struct cella_error e = {0};
        int q = apply_one_raw(cg, r, wanted, v1_name, v2_name, field, v1, v2, &e);
        return rootless_ok(cg, q, &e, err);
}

static int apply_devices(struct cgroup *cg, const struct oci_resources *r, struct cella_error *err)
{
        struct where w;
        int q = locate(cg, "devices", NULL, "devices", &w, NULL);
        if (q < 0) {
                /* v2 has no devices controller: the filter is an eBPF program on the cgroup. */
                struct cg_hierarchy *u = cg_unified(cg);
                if (!u)
                        return cella_err(err, ENOENT,
                                         "linux.resources.devices: no devices cgroup controller "
                                         "and no cgroup2 hierarchy for an eBPF device filter");
                w = (struct where){u->path, true};
        }
        _cleanup_free_ struct oci_device_cgroup *rules = NULL;
        size_t n = 0;
        if (cg_device_rules(r, &rules, &n) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        return w.v2 ? cg_v2_set_devices(w.dir, rules, n, err)
                    : cg_v1_set_devices(w.dir, rules, n, err);
}

/*
 * Hybrid: cgroup2 controllers are enabled only when a limit needs them (see locate), so
 * enable the one of each linux.resources.unified key ("hugetlb.2MB.max" -> hugetlb) first.
 */
static void enable_unified_controllers(struct cgroup *cg, struct cg_hierarchy *u,
                                       const struct oci_resources *r)
{
        if (cg->mode != CG_MODE_HYBRID)
                return;
        for (size_t i = 0; i < r->n_unified; i++) {
                const char *key = r->unified[i].key, *dot = strchr(key, '.');
                char ctrl[64];
                if (!dot || (size_t)(dot - key) >= sizeof(ctrl))
                        continue; /* cg_v2_set_unified names the bad key */
                snprintf(ctrl, sizeof(ctrl), "%.*s", (int)(dot - key), key);
                if (strcmp(ctrl, "cgroup") != 0)
                        cg_v2_enable_controller(u, ctrl, NULL);
        }
}

static int apply_all(struct cgroup *cg, const struct oci_resources *res, bool devices,
                     struct cella_error *err)
{
        static const struct oci_resources none;
        const struct oci_resources *r = res ? res : &none;
        int q;
        /* systemd: the scope (and so the directories) appear only in cg_enter(). */
        if (cg->unit && cg->n_h > 0 && !fs_is_dir(cg->h[0].path)) {
                cg->pending = r;
                return 0;
        }
        if ((q = apply_one(cg, r, has_memory(r), "memory", "memory", "memory", cg_v1_set_memory,
                           cg_v2_set_memory, err)) < 0 ||
            (q = apply_one(cg, r, has_cpu(r), "cpu", "cpu", "cpu", cg_v1_set_cpu, cg_v2_set_cpu,
                           err)) < 0 ||
            (q = apply_one(cg, r, (r->cpu.cpus && *r->cpu.cpus) || (r->cpu.mems && *r->cpu.mems),
                           "cpuset", "cpuset", "cpu.cpus", cg_set_cpuset, cg_set_cpuset, err)) <
                0 ||
            (q = apply_one(cg, r, r->pids.has_limit && r->pids.limit != 0, "pids", "pids",
                           "pids.limit", cg_set_pids, cg_set_pids, err)) < 0 ||
            (q = apply_one(cg, r, has_io(r), "blkio", "io", "blockIO", cg_v1_set_blkio,
                           cg_v2_set_io, err)) < 0 ||
            (q = apply_one(cg, r, r->n_hugepage_limits > 0, "hugetlb", "hugetlb", "hugepageLimits",
                           cg_v1_set_hugetlb, cg_v2_set_hugetlb, err)) < 0 ||
            (q = apply_one(cg, r, r->network.has_class_id, "net_cls", NULL, "network.classID",
                           cg_v1_set_net_cls, NULL, err)) < 0 ||
            (q = apply_one(cg, r, r->network.n_priorities > 0, "net_prio", NULL,
                           "network.priorities", cg_v1_set_net_prio, NULL, err)) < 0 ||
            (q = apply_one(cg, r, r->n_rdma > 0, "rdma", "rdma", "rdma", cg_set_rdma, cg_set_rdma,
                           err)) < 0)
                return q;
        if (r->n_unified > 0) {
                struct cg_hierarchy *u = cg_unified(cg);
                struct cella_error e = {0};
                if (!u)
                        q = cella_err(&e, cg->rootless ? ENOENT : ENOTSUP,
                                      "linux.resources.unified: needs cgroup v2 (this host "
                                      "has only cgroup v1)");
                else {
                        enable_unified_controllers(cg, u, r);
                        q = cg_v2_set_unified(u->path, r, &e);
                }
                if ((q = rootless_ok(cg, q, &e, err)) < 0)
                        return q;
        }
        /* Rootless containers cannot make device nodes anyway; runc leaves devices alone. */
        if (cg->rootless || !devices)
                return 0;
        return apply_devices(cg, r, err);
}

int cg_apply_resources(struct cgroup *cg, const struct oci_resources *res, struct cella_error *err)
{
        return apply_all(cg, res, true, err);
}

int cg_update_resources(struct cgroup *cg, const struct oci_resources *res, struct cella_error *err)
{
        return apply_all(cg, res, res && res->n_devices > 0, err);
}
