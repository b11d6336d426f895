/* SPDX-License-Identifier: Apache-2.0 */
/* linux.resources on cgroup v2, with the runtime-spec's v1 values converted (convert.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "convert.h"
#include "internal.h"
#include "resources.h"

static int unsupported(const char *field, struct cella_error *err)
{
        return cella_err(err, ENOTSUP, "linux.resources.%s: not supported on cgroup v2", field);
}

int cg_v2_set_memory(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        const __typeof__(r->memory) *m = &r->memory;
        char buf[24];
        int q;
        /* Refuse what v2 cannot express before changing anything. */
        if (m->has_kernel && m->kernel != 0)
                return unsupported("memory.kernel", err);
        if (m->has_kernel_tcp && m->kernel_tcp != 0)
                return unsupported("memory.kernelTCP", err);
        if (m->has_swappiness && m->swappiness != 0 && m->swappiness <= 100)
                return unsupported("memory.swappiness", err);
        if (m->has_disable_oom_killer && m->disable_oom_killer)
                return unsupported("memory.disableOOMKiller", err);
        if (m->has_use_hierarchy && !m->use_hierarchy)
                return cella_err(err, ENOTSUP,
                                 "linux.resources.memory.useHierarchy: cgroup v2 is always "
                                 "hierarchical");
        if (m->has_check_before_update && m->check_before_update && m->has_limit &&
            (q = cg_check_usage(dir, "memory.current", m->limit, err)) < 0)
                return q;
        int64_t limit = m->has_limit ? m->limit : 0;
        if (m->has_swap || (m->has_limit && m->limit == -1)) {
                int64_t swap;
                q = cg_swap_to_v2(m->has_swap ? m->swap : 0, limit, &swap, err);
                if (q < 0)
                        return q;
                /* Without swap accounting there is no memory.swap.max; unlimited needs none. */
                if (swap != 0 &&
                    !(swap == -1 && !m->has_swap && !cg_has_file(dir, "memory.swap.max")) &&
                    (q = cg_set(dir, "memory.swap.max", cg_v2_limit(swap, buf), "memory.swap",
                                err)) < 0)
                        return q;
        }
        if (m->has_limit && m->limit != 0 &&
            (q = cg_set(dir, "memory.max", cg_v2_limit(m->limit, buf), "memory.limit", err)) < 0)
                return q;
        if (m->has_reservation && m->reservation != 0 &&
            (q = cg_set(dir, "memory.low", cg_v2_limit(m->reservation, buf), "memory.reservation",
                        err)) < 0)
                return q;
        return 0;
}

int cg_v2_set_cpu(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        const __typeof__(r->cpu) *c = &r->cpu;
        int q;
        if ((c->has_realtime_runtime && c->realtime_runtime != 0) ||
            (c->has_realtime_period && c->realtime_period != 0))
                return unsupported("cpu.realtimeRuntime/realtimePeriod", err);
        if (c->has_shares && c->shares != 0 &&
            (q = cg_set_i64(dir, "cpu.weight", (int64_t)cg_shares_to_weight(c->shares),
                            "cpu.shares", err)) < 0)
                return q;
        if ((c->has_quota && c->quota != 0) || (c->has_period && c->period != 0)) {
                char buf[64];
                cg_cpu_max(c->has_quota, c->quota, c->has_period, c->period, buf, sizeof(buf));
                if ((q = cg_set(dir, "cpu.max", buf, "cpu.quota", err)) < 0)
                        return q;
        }
        if (c->has_burst &&
            (q = cg_set_i64(dir, "cpu.max.burst", (int64_t)c->burst, "cpu.burst", err)) < 0)
                return q;
        if (c->has_idle && (q = cg_set_i64(dir, "cpu.idle", c->idle, "cpu.idle", err)) < 0)
                return q;
        return 0;
}

/* One io.max line per device: "MAJ:MIN rbps=N" (0 lifts the limit: "max"). */
static int v2_throttle(const char *dir, const char *key, const struct oci_throttle_device *t,
                       size_t n, const char *field, struct cella_error *err)
{
        for (size_t i = 0; i < n; i++) {
                char buf[96];
                if (t[i].rate == 0)
                        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %s=max", t[i].major,
                                 t[i].minor, key);
                else
                        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %s=%" PRIu64,
                                 t[i].major, t[i].minor, key, t[i].rate);
                int q = cg_set(dir, "io.max", buf, field, err);
                if (q < 0)
                        return q;
        }
        return 0;
}

/*
 * Weights: io.bfq.weight takes the v1 value range (1-1000) as is; io.weight (the cost model)
 * needs the converted 1-10000 range.
 */
static int v2_io_weights(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        const __typeof__(r->block_io) *b = &r->block_io;
        bool bfq = cg_has_file(dir, "io.bfq.weight");
        const char *file = bfq ? "io.bfq.weight" : "io.weight";
        int q;
        if (b->has_leaf_weight && b->leaf_weight != 0)
                return unsupported("blockIO.leafWeight", err);
        if (b->has_weight && b->weight != 0) {
                uint64_t w = bfq ? b->weight : cg_blkio_to_io_weight(b->weight);
                char buf[32];
                snprintf(buf, sizeof(buf), "default %" PRIu64, w);
                if ((q = cg_set(dir, file, buf, "blockIO.weight", err)) < 0)
                        return q;
        }
        for (size_t i = 0; i < b->n_weight_device; i++) {
                const struct oci_weight_device *d = &b->weight_device[i];
                if (d->has_leaf_weight)
                        return unsupported("blockIO.weightDevice.leafWeight", err);
                if (!d->has_weight)
                        continue;
                uint64_t w = bfq ? d->weight : cg_blkio_to_io_weight(d->weight);
                char buf[80];
                snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
                         w);
                if ((q = cg_set(dir, file, buf, "blockIO.weightDevice", err)) < 0)
                        return q;
        }
        return 0;
}

int cg_v2_set_io(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        const __typeof__(r->block_io) *b = &r->block_io;
        int q;
        if ((q = v2_io_weights(dir, r, err)) < 0 ||
            (q = v2_throttle(dir, "rbps", b->throttle_read_bps, b->n_throttle_read_bps,
                             "blockIO.throttleReadBpsDevice", err)) < 0 ||
            (q = v2_throttle(dir, "wbps", b->throttle_write_bps, b->n_throttle_write_bps,
                             "blockIO.throttleWriteBpsDevice", err)) < 0 ||
            (q = v2_throttle(dir, "riops", b->throttle_read_iops, b->n_throttle_read_iops,
                             "blockIO.throttleReadIOPSDevice", err)) < 0 ||
            (q = v2_throttle(dir, "wiops", b->throttle_write_iops, b->n_throttle_write_iops,
                             "blockIO.throttleWriteIOPSDevice", err)) < 0)
                return q;
        return 0;
}

int cg_v2_set_hugetlb(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        return cg_set_hugetlb_limits(dir, r, "max", err);
}

int cg_v2_set_unified(const char *dir, const struct oci_resources *r, struct cella_error *err)
{
        _cleanup_free_ char *controllers = NULL;
        int q = cg_read(dir, "cgroup.controllers", &controllers, err);
        if (q < 0) {
                if (err)
                        cella_err_prefix(err, "linux.resources.unified");
                return q;
        }
        for (size_t i = 0; i < r->n_unified; i++) {
                const struct oci_kv *kv = &r->unified[i];
                if ((q = cg_unified_key_check(kv->key, err)) < 0)
                        return q;
                char ctrl[64];
                snprintf(ctrl, sizeof(ctrl), "%.*s", (int)(strchr(kv->key, '.') - kv->key),
                         kv->key);
                if (strcmp(ctrl, "cgroup") != 0 && !cg_has_word(controllers, ctrl))
                        return cella_err(err, ENOTSUP,
                                         "linux.resources.unified: \"%s\": controller \"%s\" is "
                                         "not available in \"%s\"",
                                         kv->key, ctrl, dir);
                char field[128];
                snprintf(field, sizeof(field), "unified[\"%s\"]", kv->key);
                if ((q = cg_set(dir, kv->key, kv->value, field, err)) < 0)
                        return q;
        }
        return 0;
}
