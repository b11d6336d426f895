/* SPDX-License-Identifier: Apache-2.0 */
/* linux.resources on cgroup v1 controllers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "convert.h"
#include "internal.h"
#include "resources.h"

int cg_set(const char *dir, const char *file, const char *value, const char *field,
           struct cella_error *err)
{
        int r = cg_write(dir, file, value, err);
        if (r < 0 && err)
                cella_err_prefix(err, "linux.resources.%s%s", field,
                                 r == -ENOENT ? " (not supported by this host)" : "");
        return r;
}

int cg_set_i64(const char *dir, const char *file, int64_t v, const char *field,
               struct cella_error *err)
{
        char buf[24];
        snprintf(buf, sizeof(buf), "%" PRId64, v);
        return cg_set(dir, file, buf, field, err);
}

static int read_i64(const char *dir, const char *file, int64_t *ret, struct cella_error *err)
{
        _cleanup_free_ char *s = NULL;
        int r = cg_read(dir, file, &s, err);
        if (r < 0)
                return r;
        *ret = strncmp(s, "max", 3) == 0 ? INT64_MAX : strtoll(s, NULL, 10);
        return 0;
}

int cg_check_usage(const char *dir, const char *usage_file, int64_t limit, struct cella_error *err)
{
        if (limit < 0)
                return 0;
        int64_t usage;
        int r = read_i64(dir, usage_file, &usage, err);
        if (r < 0) {
                if (err)
                        cella_err_prefix(err, "linux.resources.memory.checkBeforeUpdate");
                return r;
        }
        if (usage > limit)
                return cella_err(err, EBUSY,
                                 "linux.resources.memory.limit: %" PRId64
                                 " is below the current usage %" PRId64 " (checkBeforeUpdate)",
                                 limit, usage);
        return 0;
}

/*
 * memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes, so which one goes first
 * depends on whether the swap limit grows or shrinks (as in runc).
 */
static int v1_memory_limits(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        const __typeof__(r->memory) *m = &r->memory;
        bool set_swap = m->has_swap && m->swap != 0;
        int64_t swap = m->swap;
        /* limit -1 with swap unset: both unlimited, where the kernel accounts swap. */
        if (m->has_limit && m->limit == -1 && !set_swap &&
            cg_has_file(dir, "memory.memsw.limit_in_bytes")) {
                set_swap = true;
                swap = -1;
        }
        bool swap_first = false;
        if (set_swap) {
                int64_t cur;
                if (read_i64(dir, "memory.memsw.limit_in_bytes", &cur, NULL) < 0)
                        return cg_set_i64(dir, "memory.memsw.limit_in_bytes", swap, "memory.swap",
                                          err);
                swap_first = swap == -1 || swap > cur;
        }
        int q;
        if (swap_first &&
            (q = cg_set_i64(dir, "memory.memsw.limit_in_bytes", swap, "memory.swap", err)) < 0)
                return q;
        if (m->has_limit &&
            (q = cg_set_i64(dir, "memory.limit_in_bytes", m->limit, "memory.limit", err)) < 0)
                return q;
        if (set_swap && !swap_first &&
            (q = cg_set_i64(dir, "memory.memsw.limit_in_bytes", swap, "memory.swap", err)) < 0)
                return q;
        return 0;
}

int cg_v1_set_memory(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        const __typeof__(r->memory) *m = &r->memory;
        int q;
        if (m->has_check_before_update && m->check_before_update && m->has_limit &&
            (q = cg_check_usage(dir, "memory.usage_in_bytes", m->limit, err)) < 0)
                return q;
        if ((q = v1_memory_limits(dir, r, err)) < 0)
                return q;
        if (m->has_reservation && (q = cg_set_i64(dir, "memory.soft_limit_in_bytes", m->reservation,
                                                  "memory.reservation", err)) < 0)
                return q;
        if (m->has_kernel && (q = cg_set_i64(dir, "memory.kmem.limit_in_bytes", m->kernel,
                                             "memory.kernel", err)) < 0)
                return q;
        if (m->has_kernel_tcp && (q = cg_set_i64(dir, "memory.kmem.tcp.limit_in_bytes",
                                                 m->kernel_tcp, "memory.kernelTCP", err)) < 0)
                return q;
        if (m->has_swappiness) {
                if (m->swappiness > 100)
                        return cella_err(err, EINVAL,
                                         "linux.resources.memory.swappiness: %" PRIu64
                                         " is out of range 0-100",
                                         m->swappiness);
                if ((q = cg_set_i64(dir, "memory.swappiness", (int64_t)m->swappiness,
                                    "memory.swappiness", err)) < 0)
                        return q;
        }
        if (m->has_disable_oom_killer &&
            (q = cg_set(dir, "memory.oom_control", m->disable_oom_killer ? "1" : "0",
                        "memory.disableOOMKiller", err)) < 0)
                return q;
        if (m->has_use_hierarchy &&
            (q = cg_set(dir, "memory.use_hierarchy", m->use_hierarchy ? "1" : "0",
                        "memory.useHierarchy", err)) < 0)
                return q;
        return 0;
}

int cg_v1_set_cpu(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        const __typeof__(r->cpu) *c = &r->cpu;
        int q;
        if (c->has_shares && c->shares != 0 &&
            (q = cg_set_i64(dir, "cpu.shares", (int64_t)c->shares, "cpu.shares", err)) < 0)
                return q;
        /* A new period can be refused while the old quota does not fit it: retry after. */
        bool period_failed = false;
        if (c->has_period && c->period != 0 &&
            cg_set_i64(dir, "cpu.cfs_period_us", (int64_t)c->period, "cpu.period", err) < 0)
                period_failed = true;
        if (c->has_quota && c->quota != 0 &&
            (q = cg_set_i64(dir, "cpu.cfs_quota_us", c->quota, "cpu.quota", err)) < 0)
                return q;
        if (period_failed &&
            (q = cg_set_i64(dir, "cpu.cfs_period_us", (int64_t)c->period, "cpu.period", err)) < 0)
                return q;
        if (c->has_burst &&
            (q = cg_set_i64(dir, "cpu.cfs_burst_us", (int64_t)c->burst, "cpu.burst", err)) < 0)
                return q;
        if (c->has_realtime_period && c->realtime_period != 0 &&
            (q = cg_set_i64(dir, "cpu.rt_period_us", (int64_t)c->realtime_period,
                            "cpu.realtimePeriod", err)) < 0)
                return q;
        if (c->has_realtime_runtime && c->realtime_runtime != 0 &&
            (q = cg_set_i64(dir, "cpu.rt_runtime_us", c->realtime_runtime, "cpu.realtimeRuntime",
                            err)) < 0)
                return q;
        if (c->has_idle && (q = cg_set_i64(dir, "cpu.idle", c->idle, "cpu.idle", err)) < 0)
                return q;
        return 0;
}

int cg_set_cpuset(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        int q;
        /* mems first: a task must always have somewhere to allocate memory. */
        if (r->cpu.mems && *r->cpu.mems &&
            (q = cg_set(dir, "cpuset.mems", r->cpu.mems, "cpu.mems", err)) < 0)
                return q;
        if (r->cpu.cpus && *r->cpu.cpus &&
            (q = cg_set(dir, "cpuset.cpus", r->cpu.cpus, "cpu.cpus", err)) < 0)
                return q;
        return 0;
}

int cg_set_pids(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        /* runc: 0 leaves the limit alone, a negative value is "max". */
        if (!r->pids.has_limit || r->pids.limit == 0)
                return 0;
        if (r->pids.limit < 0)
                return cg_set(dir, "pids.max", "max", "pids.limit", err);
        return cg_set_i64(dir, "pids.max", r->pids.limit, "pids.limit", err);
}

int cg_set_rdma(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        for (size_t i = 0; i < r->n_rdma; i++) {
                const struct oci_rdma_limit *l = &r->rdma[i];
                char buf[256], field[48];
                int n = snprintf(buf, sizeof(buf), "%s", l->device);
                if (l->has_hca_handles)
                        n += snprintf(buf + n, sizeof(buf) - (size_t)n, " hca_handle=%u",
                                      l->hca_handles);
                if (l->has_hca_objects && (size_t)n < sizeof(buf))
                        snprintf(buf + n, sizeof(buf) - (size_t)n, " hca_object=%u",
                                 l->hca_objects);
                snprintf(field, sizeof(field), "rdma.%s", l->device);
                int q = cg_set(dir, "rdma.max", buf, field, err);
                if (q < 0)
                        return q;
        }
        return 0;
}

static int v1_throttle(const char *dir, const char *file, const struct oci_throttle_device *t,
                       size_t n, const char *field, struct cella_error *err)
{
        for (size_t i = 0; i < n; i++) {
                char buf[80];
                snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %" PRIu64, t[i].major,
                         t[i].minor, t[i].rate);
                int q = cg_set(dir, file, buf, field, err);
                if (q < 0)
                        return q;
        }
        return 0;
}

int cg_v1_set_blkio(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        const __typeof__(r->block_io) *b = &r->block_io;
        /* With the BFQ scheduler (no CFQ since 5.0) the weights live in blkio.bfq.*. */
        bool bfq = !cg_has_file(dir, "blkio.weight") && cg_has_file(dir, "blkio.bfq.weight");
        int q;
        if (b->has_weight && b->weight != 0 &&
            (q = cg_set_i64(dir, bfq ? "blkio.bfq.weight" : "blkio.weight", b->weight,
                            "blockIO.weight", err)) < 0)
                return q;
        if (b->has_leaf_weight && b->leaf_weight != 0 &&
            (q = cg_set_i64(dir, "blkio.leaf_weight", b->leaf_weight, "blockIO.leafWeight", err)) <
                0)
                return q;
        for (size_t i = 0; i < b->n_weight_device; i++) {
                const struct oci_weight_device *w = &b->weight_device[i];
                char buf[80];
                if (w->has_weight) {
                        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %u", w->major, w->minor,
                                 w->weight);
                        q = cg_set(dir, bfq ? "blkio.bfq.weight_device" : "blkio.weight_device",
                                   buf, "blockIO.weightDevice", err);
                        if (q < 0)
                                return q;
                }
                if (w->has_leaf_weight) {
                        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %u", w->major, w->minor,
                                 w->leaf_weight);
                        q = cg_set(dir, "blkio.leaf_weight_device", buf,
                                   "blockIO.weightDevice.leafWeight", err);
                        if (q < 0)
                                return q;
                }
        }
        if ((q = v1_throttle(dir, "blkio.throttle.read_bps_device", b->throttle_read_bps,
                             b->n_throttle_read_bps, "blockIO.throttleReadBpsDevice", err)) < 0 ||
            (q = v1_throttle(dir, "blkio.throttle.write_bps_device", b->throttle_write_bps,
                             b->n_throttle_write_bps, "blockIO.throttleWriteBpsDevice", err)) < 0 ||
            (q = v1_throttle(dir, "blkio.throttle.read_iops_device", b->throttle_read_iops,
                             b->n_throttle_read_iops, "blockIO.throttleReadIOPSDevice", err)) < 0 ||
            (q = v1_throttle(dir, "blkio.throttle.write_iops_device", b->throttle_write_iops,
                             b->n_throttle_write_iops, "blockIO.throttleWriteIOPSDevice", err)) < 0)
                return q;
        return 0;
}

int cg_check_page_size(const char *size, struct cella_error *err)
{
        bool ok = size && *size;
        for (const char *p = size; ok && *p; p++)
                ok = (*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= 'a' && *p <= 'z');
        return ok ? 0
                  : cella_err(err, EINVAL, "linux.resources.hugepageLimits: bad pageSize \"%s\"",
                              size ? size : "");
}

int cg_set_hugetlb_limits(const char *dir, const struct oci_resources *r, const char *suffix,
                          struct cella_error *err)
{
        for (size_t i = 0; i < r->n_hugepage_limits; i++) {
                const struct oci_hugepage_limit *h = &r->hugepage_limits[i];
                int q = cg_check_page_size(h->page_size, err);
                if (q < 0)
                        return q;
                char file[64], field[64];
                snprintf(file, sizeof(file), "hugetlb.%s.%s", h->page_size, suffix);
                snprintf(field, sizeof(field), "hugepageLimits[%zu] (%s)", i, h->page_size);
                q = cg_set_i64(dir, file, (int64_t)h->limit, field, err);
                if (q < 0)
                        return q;
        }
        return 0;
}

int cg_v1_set_hugetlb(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        return cg_set_hugetlb_limits(dir, r, "limit_in_bytes", err);
}

int cg_v1_set_net_cls(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        if (!r->network.has_class_id)
                return 0;
        return cg_set_i64(dir, "net_cls.classid", r->network.class_id, "network.classID", err);
}

int cg_v1_set_net_prio(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        for (size_t i = 0; i < r->network.n_priorities; i++) {
                char buf[128];
                snprintf(buf, sizeof(buf), "%s %u", r->network.priorities[i].name,
                         r->network.priorities[i].priority);
                int q = cg_set(dir, "net_prio.ifpriomap", buf, "network.priorities", err);
                if (q < 0)
                        return q;
        }
        return 0;
}
