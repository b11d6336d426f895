/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/schedule.h"

#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"

/* The kernel's struct sched_attr (glibc 2.36 has no wrapper). */
struct kernel_sched_attr {
        uint32_t size, sched_policy;
        uint64_t sched_flags;
        int32_t sched_nice;
        uint32_t sched_priority;
        uint64_t sched_runtime, sched_deadline, sched_period;
};

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

static const struct {
        const char *name;
        int value;
} policies[] = {
    {"SCHED_OTHER", SCHED_OTHER},       {"SCHED_FIFO", SCHED_FIFO}, {"SCHED_RR", SCHED_RR},
    {"SCHED_BATCH", SCHED_BATCH},       {"SCHED_ISO", 4},           {"SCHED_IDLE", SCHED_IDLE},
    {"SCHED_DEADLINE", SCHED_DEADLINE},
};

static const struct {
        const char *name;
        uint64_t value;
} sched_flags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01},  {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},     {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},    {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

static const struct {
        const char *name;
        int value;
} io_classes[] = {{"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}};

static int policy_of(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(policies); i++)
                if (strcmp(policies[i].name, name) == 0)
                        return policies[i].value;
        return -1;
}

static int io_class_of(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(io_classes); i++)
                if (strcmp(io_classes[i].name, name) == 0)
                        return io_classes[i].value;
        return -1;
}

static int sched_attr_of(const struct oci_scheduler *s, struct kernel_sched_attr *a,
                         struct cella_error *err)
{
        memset(a, 0, sizeof(*a));
        a->size = sizeof(*a);
        int policy = policy_of(s->policy ? s->policy : "");
        if (policy < 0)
                return cella_err(err, EINVAL, "process.scheduler.policy: unknown policy \"%s\"",
                                 s->policy ? s->policy : "");
        a->sched_policy = (uint32_t)policy;
        for (size_t i = 0; s->flags && s->flags[i]; i++) {
                size_t j = 0;
                while (j < ARRAY_SIZE(sched_flags) && strcmp(sched_flags[j].name, s->flags[i]) != 0)
                        j++;
                if (j == ARRAY_SIZE(sched_flags))
                        return cella_err(err, EINVAL,
                                         "process.scheduler.flags[%zu]: unknown flag \"%s\"", i,
                                         s->flags[i]);
                a->sched_flags |= sched_flags[j].value;
        }
        if (s->nice < -20 || s->nice > 19)
                return cella_err(err, EINVAL, "process.scheduler.nice: %d is outside -20..19",
                                 s->nice);
        a->sched_nice = s->nice;
        a->sched_priority = (uint32_t)s->priority;
        a->sched_runtime = s->runtime;
        a->sched_deadline = s->deadline;
        a->sched_period = s->period;
        return 0;
}

int lnx_sched_validate(const struct oci_spec *spec, struct cella_error *err)
{
        const struct oci_process *p = &spec->process;
        struct kernel_sched_attr a;
        if (p->scheduler) {
                int r = sched_attr_of(p->scheduler, &a, err);
                if (r < 0)
                        return r;
        }
        if (p->io_priority) {
                if (io_class_of(p->io_priority->class_ ? p->io_priority->class_ : "") < 0)
                        return cella_err(err, EINVAL,
                                         "process.ioPriority.class: unknown class \"%s\"",
                                         p->io_priority->class_ ? p->io_priority->class_ : "");
                if (p->io_priority->priority < 0 || p->io_priority->priority > 7)
                        return cella_err(err, EINVAL,
                                         "process.ioPriority.priority: %d is outside 0..7",
                                         p->io_priority->priority);
        }
        const struct oci_personality *pers = spec->linux_.personality;
        if (pers && (!pers->domain ||
                     (strcmp(pers->domain, "LINUX") != 0 && strcmp(pers->domain, "LINUX32") != 0)))
                return cella_err(
                    err, EINVAL,
                    "linux.personality.domain: unknown domain \"%s\" (LINUX or LINUX32)",
                    pers->domain ? pers->domain : "");
        return 0;
}

int lnx_sched_apply(const struct oci_process *p, struct cella_error *err)
{
        if (p->scheduler) {
                struct kernel_sched_attr a;
                int r = sched_attr_of(p->scheduler, &a, err);
                if (r < 0)
                        return r;
                if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
                        return cella_errno(err, errno, "process.scheduler: set policy %s",
                                           p->scheduler->policy);
        }
        if (p->io_priority) {
                int cls = io_class_of(p->io_priority->class_);
                int value = (cls << 13) | p->io_priority->priority;
                if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, value) < 0)
                        return cella_errno(err, errno, "process.ioPriority: set %s/%d",
                                           p->io_priority->class_, p->io_priority->priority);
        }
        return 0;
}

int lnx_personality_apply(const struct oci_spec *spec, struct cella_error *err)
{
        const struct oci_personality *p = spec->linux_.personality;
        if (!p)
                return 0;
        unsigned long domain = strcmp(p->domain, "LINUX32") == 0 ? PER_LINUX32 : PER_LINUX;
        if (personality(domain) < 0)
                return cella_errno(err, errno, "linux.personality: set %s", p->domain);
        return 0;
}
