/* SPDX-License-Identifier: Apache-2.0 */
#include "convert.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

uint64_t cg_shares_to_weight(uint64_t shares)
{
        if (shares == 0)
                return 0;
        if (shares <= 2)
                return 1;
        if (shares >= 262144)
                return 10000;
        /*
         * weight = 10^((l^2 + 125 l) / 612 - 7/34), l = log2(shares). Written over one
         * denominator (7/34 = 126/612) so that powers of two give exact exponents: 1024 -> 100.
         */
        double l = log2((double)shares);
        double w = ceil(pow(10.0, (l * l + 125.0 * l - 126.0) / 612.0));
        if (w < 1)
                return 1;
        if (w > 10000)
                return 10000;
        return (uint64_t)w;
}

uint64_t cg_blkio_to_io_weight(uint64_t weight)
{
        if (weight == 0)
                return 0;
        if (weight < 10)
                weight = 10;
        if (weight > 1000)
                weight = 1000;
        return 1 + (weight - 10) * 9999 / 990;
}

int cg_swap_to_v2(int64_t swap, int64_t limit, int64_t *ret, struct cella_error *err)
{
        if (limit == -1 && swap == 0) {
                *ret = -1; /* both unlimited, as on v1 */
                return 0;
        }
        if (swap == -1 || swap == 0) {
                *ret = swap;
                return 0;
        }
        if (swap < 0)
                return cella_err(err, EINVAL, "linux.resources.memory.swap: invalid value %" PRId64,
                                 swap);
        if (limit <= 0)
                return cella_err(err, EINVAL,
                                 "linux.resources.memory.swap: %" PRId64
                                 " cannot be set without a memory limit",
                                 swap);
        if (swap < limit)
                return cella_err(err, EINVAL,
                                 "linux.resources.memory.swap: %" PRId64
                                 " is below memory.limit %" PRId64
                                 " (swap is memory+swap, so it must be >= limit)",
                                 swap, limit);
        *ret = swap - limit;
        return 0;
}

const char *cg_v2_limit(int64_t v, char buf[static 24])
{
        if (v < 0)
                return "max";
        snprintf(buf, 24, "%" PRId64, v);
        return buf;
}

void cg_cpu_max(bool has_quota, int64_t quota, bool has_period, uint64_t period, char *buf,
                size_t size)
{
        int n;
        if (has_quota && quota > 0)
                n = snprintf(buf, size, "%" PRId64, quota);
        else
                n = snprintf(buf, size, "max");
        if (has_period && period > 0 && n > 0 && (size_t)n < size)
                snprintf(buf + n, size - (size_t)n, " %" PRIu64, period);
}

const char *cg_devnum(int64_t major, int64_t minor, char buf[static 48])
{
        char ma[24], mi[24];
        if (major < 0)
                strcpy(ma, "*");
        else
                snprintf(ma, sizeof(ma), "%" PRId64, major);
        if (minor < 0)
                strcpy(mi, "*");
        else
                snprintf(mi, sizeof(mi), "%" PRId64, minor);
        snprintf(buf, 48, "%s:%s", ma, mi);
        return buf;
}

int cg_unified_key_check(const char *key, struct cella_error *err)
{
        const char *dot = strchr(key, '.');
        bool ok = dot && dot != key && dot[1] != '\0';
        for (const char *p = key; ok && *p; p++)
                /* Upper case only past the controller name: "hugetlb.2MB.max". */
                ok = (*p >= 'a' && *p <= 'z') || (p > dot && *p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-';
        if (!ok)
                return cella_err(
                    err, EINVAL,
                    "linux.resources.unified: \"%s\" is not a cgroup interface file "
                    "name (controller.key, e.g. \"memory.high\" or \"hugetlb.2MB.max\")",
                    key);
        static const char *const forbidden[] = {"cgroup.procs", "cgroup.threads", "cgroup.kill",
                                                "cgroup.freeze", "cgroup.type"};
        for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
                if (strcmp(key, forbidden[i]) == 0)
                        return cella_err(err, EINVAL,
                                         "linux.resources.unified: \"%s\" may not be set: the "
                                         "runtime manages it",
                                         key);
        return 0;
}
