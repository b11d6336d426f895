/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cg_stats(): the "data" object of runc's `events --stats` (runc types.Stats): cpu, cpuset,
 * memory, pids, blkio, hugetlb, intel_rdt, network_interfaces. Missing controllers or files
 * leave zeros, as in runc.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/cleanup.h"
#include "internal.h"

static uint64_t read_u64(const char *dir, const char *file)
{
        _cleanup_free_ char *s = NULL;
        if (!dir || cg_read(dir, file, &s, NULL) < 0)
                return 0;
        if (strncmp(s, "max", 3) == 0)
                return UINT64_MAX;
        return strtoull(s, NULL, 10);
}

/* The value of "key N" in a flat-keyed file text (cpu.stat, memory.stat, memory.events). */
static uint64_t kv(const char *text, const char *key)
{
        size_t n = strlen(key);
        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, key, n) == 0 && p[n] == ' ')
                        return strtoull(p + n + 1, NULL, 10);
        return 0;
}

static void put(struct json_object *o, const char *key, uint64_t v)
{
        json_object_object_add(o, key, json_object_new_uint64(v));
}

static struct json_object *obj_in(struct json_object *parent, const char *key)
{
        struct json_object *o = json_object_new_object();
        json_object_object_add(parent, key, o);
        return o;
}

static struct json_object *u64_array(const char *text)
{
        struct json_object *a = json_object_new_array();
        for (const char *p = text; p && *p;) {
                char *end;
                uint64_t v = strtoull(p, &end, 10);
                if (end == p)
                        break;
                json_object_array_add(a, json_object_new_uint64(v));
                p = end + strspn(end, " \n");
        }
        return a;
}

static const char *dir_of(struct cgroup *cg, const char *v1, bool *v2)
{
        struct cg_hierarchy *h = cg->mode == CG_MODE_V2 ? NULL : cg_find_hierarchy(cg, v1);
        *v2 = !h;
        if (!h)
                h = cg_unified(cg);
        return h ? h->path : NULL;
}

static void cpu_stats(struct cgroup *cg, struct json_object *data)
{
        struct json_object *cpu = obj_in(data, "cpu"), *usage = obj_in(cpu, "usage");
        struct json_object *thr = obj_in(cpu, "throttling");
        bool v2;
        const char *dir = dir_of(cg, "cpuacct", &v2);
        _cleanup_free_ char *stat = NULL;
        if (v2) {
                if (dir && cg_read(dir, "cpu.stat", &stat, NULL) == 0) {
                        put(usage, "total", kv(stat, "usage_usec") * 1000);
                        put(usage, "kernel", kv(stat, "system_usec") * 1000);
                        put(usage, "user", kv(stat, "user_usec") * 1000);
                        put(thr, "periods", kv(stat, "nr_periods"));
                        put(thr, "throttledPeriods", kv(stat, "nr_throttled"));
                        put(thr, "throttledTime", kv(stat, "throttled_usec") * 1000);
                }
                return;
        }
        put(usage, "total", read_u64(dir, "cpuacct.usage"));
        static const char *const percpu[][2] = {{"cpuacct.usage_percpu", "percpu"},
                                                {"cpuacct.usage_percpu_sys", "percpu_kernel"},
                                                {"cpuacct.usage_percpu_user", "percpu_user"}};
        for (size_t i = 0; i < ARRAY_SIZE(percpu); i++) {
                _cleanup_free_ char *s = NULL;
                if (dir && cg_read(dir, percpu[i][0], &s, NULL) == 0)
                        json_object_object_add(usage, percpu[i][1], u64_array(s));
        }
        /* cpuacct.stat counts USER_HZ ticks; runc reports nanoseconds. */
        uint64_t hz = (uint64_t)sysconf(_SC_CLK_TCK);
        if (dir && cg_read(dir, "cpuacct.stat", &stat, NULL) == 0 && hz > 0) {
                put(usage, "kernel", kv(stat, "system") * (1000000000ULL / hz));
                put(usage, "user", kv(stat, "user") * (1000000000ULL / hz));
        }
        _cleanup_free_ char *cs = NULL;
        const char *cdir = dir_of(cg, "cpu", &v2);
        if (cdir && !v2 && cg_read(cdir, "cpu.stat", &cs, NULL) == 0) {
                put(thr, "periods", kv(cs, "nr_periods"));
                put(thr, "throttledPeriods", kv(cs, "nr_throttled"));
                put(thr, "throttledTime", kv(cs, "throttled_time"));
        }
}

static void mem_entry(struct json_object *mem, const char *key, const char *dir, const char *prefix)
{
        struct json_object *e = obj_in(mem, key);
        char f[80];
        snprintf(f, sizeof(f), "%s.limit_in_bytes", prefix);
        put(e, "limit", read_u64(dir, f));
        snprintf(f, sizeof(f), "%s.usage_in_bytes", prefix);
        put(e, "usage", read_u64(dir, f));
        snprintf(f, sizeof(f), "%s.max_usage_in_bytes", prefix);
        put(e, "max", read_u64(dir, f));
        snprintf(f, sizeof(f), "%s.failcnt", prefix);
        put(e, "failcnt", read_u64(dir, f));
}

static void raw_stats(struct json_object *mem, const char *text)
{
        struct json_object *raw = obj_in(mem, "raw");
        for (const char *p = text; p && *p;) {
                const char *sp = strchr(p, ' '), *nl = strchr(p, '\n');
                if (!sp || (nl && sp > nl))
                        break;
                char key[64];
                snprintf(key, sizeof(key), "%.*s", (int)(sp - p), p);
                put(raw, key, strtoull(sp + 1, NULL, 10));
                p = nl ? nl + 1 : NULL;
        }
}

static void memory_stats(struct cgroup *cg, struct json_object *data)
{
        struct json_object *mem = obj_in(data, "memory");
        bool v2;
        const char *dir = dir_of(cg, "memory", &v2);
        _cleanup_free_ char *stat = NULL;
        if (dir && cg_read(dir, "memory.stat", &stat, NULL) < 0)
                stat = NULL;
        put(mem, "cache", stat ? kv(stat, v2 ? "file" : "cache") : 0);
        if (!v2) {
                mem_entry(mem, "usage", dir, "memory");
                mem_entry(mem, "swap", dir, "memory.memsw");
                mem_entry(mem, "kernel", dir, "memory.kmem");
                mem_entry(mem, "kernelTCP", dir, "memory.kmem.tcp");
        } else {
                _cleanup_free_ char *events = NULL;
                if (!dir || cg_read(dir, "memory.events", &events, NULL) < 0)
                        events = NULL;
                struct json_object *u = obj_in(mem, "usage"), *s = obj_in(mem, "swap");
                uint64_t cur = read_u64(dir, "memory.current");
                uint64_t swap = read_u64(dir, "memory.swap.current");
                put(u, "limit", read_u64(dir, "memory.max"));
                put(u, "usage", cur);
                put(u, "max", read_u64(dir, "memory.peak"));
                put(u, "failcnt", events ? kv(events, "max") : 0);
                /* runc reports v2 swap as memory+swap, the v1 meaning. */
                uint64_t smax = read_u64(dir, "memory.swap.max");
                uint64_t mmax = read_u64(dir, "memory.max");
                put(s, "limit",
                    smax == UINT64_MAX || mmax == UINT64_MAX ? UINT64_MAX : smax + mmax);
                put(s, "usage", cur + swap);
                put(s, "failcnt", 0);
                obj_in(mem, "kernel");
                obj_in(mem, "kernelTCP");
        }
        if (stat)
                raw_stats(mem, stat);
}

static void pids_stats(struct cgroup *cg, struct json_object *data)
{
        struct json_object *p = obj_in(data, "pids");
        bool v2;
        const char *dir = dir_of(cg, "pids", &v2);
        put(p, "current", read_u64(dir, "pids.current"));
        uint64_t max = read_u64(dir, "pids.max");
        put(p, "limit", max == UINT64_MAX ? 0 : max);
}

static void add_entry(struct json_object *a, unsigned maj, unsigned min, const char *op, uint64_t v)
{
        struct json_object *e = json_object_new_object();
        put(e, "major", maj);
        put(e, "minor", min);
        json_object_object_add(e, "op", json_object_new_string(op));
        put(e, "value", v);
        json_object_array_add(a, e);
}

/* v1 "8:0 Read 123" lines -> [{"major":8,"minor":0,"op":"Read","value":123}] */
static struct json_object *blkio_v1_entries(const char *text)
{
        struct json_object *a = json_object_new_array();
        for (const char *p = text; p && *p;) {
                unsigned maj, min;
                char op[16];
                uint64_t v;
                if (sscanf(p, "%u:%u %15s %" SCNu64, &maj, &min, op, &v) == 4)
                        add_entry(a, maj, min, op, v);
                p = strchr(p, '\n');
                p = p ? p + 1 : NULL;
        }
        return a;
}

static void blkio_stats(struct cgroup *cg, struct json_object *data)
{
        struct json_object *b = obj_in(data, "blkio");
        bool v2;
        const char *dir = dir_of(cg, "blkio", &v2);
        if (!dir)
                return;
        if (!v2) {
                static const char *const files[][3] = {
                    {"blkio.io_service_bytes_recursive",
                     "blkio.throttle.io_service_bytes_recursive", "ioServiceBytesRecursive"},
                    {"blkio.io_serviced_recursive", "blkio.throttle.io_serviced_recursive",
                     "ioServicedRecursive"},
                };
                for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                        _cleanup_free_ char *s = NULL;
                        if (cg_read(dir, files[i][0], &s, NULL) == 0 ||
                            cg_read(dir, files[i][1], &s, NULL) == 0)
                                json_object_object_add(b, files[i][2], blkio_v1_entries(s));
                }
                return;
        }
        _cleanup_free_ char *s = NULL;
        if (cg_read(dir, "io.stat", &s, NULL) < 0)
                return;
        struct json_object *bytes = json_object_new_array(), *ios = json_object_new_array();
        for (const char *p = s; p && *p;) {
                unsigned maj, min;
                if (sscanf(p, "%u:%u", &maj, &min) == 2) {
                        _cleanup_free_ char *line = strndup(p, strcspn(p, "\n"));
                        const char *f;
                        uint64_t v;
                        if ((f = strstr(line, "rbytes=")) && sscanf(f + 7, "%" SCNu64, &v) == 1)
                                add_entry(bytes, maj, min, "Read", v);
                        if ((f = strstr(line, "wbytes=")) && sscanf(f + 7, "%" SCNu64, &v) == 1)
                                add_entry(bytes, maj, min, "Write", v);
                        if ((f = strstr(line, "rios=")) && sscanf(f + 5, "%" SCNu64, &v) == 1)
                                add_entry(ios, maj, min, "Read", v);
                        if ((f = strstr(line, "wios=")) && sscanf(f + 5, "%" SCNu64, &v) == 1)
                                add_entry(ios, maj, min, "Write", v);
                }
                p = strchr(p, '\n');
                p = p ? p + 1 : NULL;
        }
        json_object_object_add(b, "ioServiceBytesRecursive", bytes);
        json_object_object_add(b, "ioServicedRecursive", ios);
}

/* Page sizes the kernel offers, named like the cgroup files: hugepages-2048kB -> "2MB". */
static void hugetlb_stats(struct cgroup *cg, struct json_object *data)
{
        struct json_object *h = obj_in(data, "hugetlb");
        bool v2;
        const char *dir = dir_of(cg, "hugetlb", &v2);
        _cleanup_closedir_ DIR *d = opendir("/sys/kernel/mm/hugepages");
        if (!dir || !d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                unsigned long kb;
                if (sscanf(de->d_name, "hugepages-%lukB", &kb) != 1)
                        continue;
                char size[32], f[96];
                if (kb >= 1024 * 1024)
                        snprintf(size, sizeof(size), "%luGB", kb / (1024 * 1024));
                else if (kb >= 1024)
                        snprintf(size, sizeof(size), "%luMB", kb / 1024);
                else
                        snprintf(size, sizeof(size), "%luKB", kb);
                struct json_object *e = obj_in(h, size);
                snprintf(f, sizeof(f), v2 ? "hugetlb.%s.current" : "hugetlb.%s.usage_in_bytes",
                         size);
                put(e, "usage", read_u64(dir, f));
                snprintf(f, sizeof(f), v2 ? "hugetlb.%s.max" : "hugetlb.%s.max_usage_in_bytes",
                         size);
                put(e, "max", read_u64(dir, f));
                _cleanup_free_ char *ev = NULL;
                snprintf(f, sizeof(f), v2 ? "hugetlb.%s.events" : "hugetlb.%s.failcnt", size);
                put(e, "failcnt",
                    v2 ? (cg_read(dir, f, &ev, NULL) == 0 ? kv(ev, "max") : 0) : read_u64(dir, f));
        }
}

static void cpuset_stats(struct cgroup *cg, struct json_object *data)
{
        struct json_object *c = obj_in(data, "cpuset");
        bool v2;
        const char *dir = dir_of(cg, "cpuset", &v2);
        static const char *const flags[][2] = {
            {"cpuset.cpu_exclusive", "cpu_exclusive"},
            {"cpuset.mem_hardwall", "mem_hardwall"},
            {"cpuset.mem_exclusive", "mem_exclusive"},
            {"cpuset.memory_migrate", "memory_migrate"},
            {"cpuset.memory_spread_page", "memory_spread_page"},
            {"cpuset.memory_spread_slab", "memory_spread_slab"},
            {"cpuset.memory_pressure", "memory_pressure"},
            {"cpuset.sched_load_balance", "sched_load_balance"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
                put(c, flags[i][1], v2 ? 0 : read_u64(dir, flags[i][0]));
        _cleanup_free_ char *rd = NULL;
        int64_t level = 0;
        if (!v2 && dir && cg_read(dir, "cpuset.sched_relax_domain_level", &rd, NULL) == 0)
                level = strtoll(rd, NULL, 10);
        json_object_object_add(c, "sched_relax_domain_level", json_object_new_int64(level));
}

int cg_stats(struct cgroup *cg, struct json_object **ret)
{
        struct json_object *data = json_object_new_object();
        if (!data)
                return -ENOMEM;
        cpu_stats(cg, data);
        cpuset_stats(cg, data);
        memory_stats(cg, data);
        pids_stats(cg, data);
        blkio_stats(cg, data);
        hugetlb_stats(cg, data);
        obj_in(data, "intel_rdt");
        json_object_object_add(data, "network_interfaces", NULL);
        *ret = data;
        return 0;
}

int cg_oom_kills(struct cgroup *cg, uint64_t *ret, struct cella_error *err)
{
        *ret = 0;
        bool v2;
        const char *dir = dir_of(cg, "memory", &v2);
        if (!dir)
                return cella_err(err, ENOENT, "no memory cgroup controller");
        _cleanup_free_ char *text = NULL;
        int r = cg_read(dir, v2 ? "memory.events" : "memory.oom_control", &text, err);
        if (r < 0)
                return r;
        *ret = kv(text, "oom_kill");
        return 0;
}
