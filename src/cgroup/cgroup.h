/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Container cgroups. One ops table (struct cg_ops) with a backend per driver: cgroup v1,
 * cgroup v2 (unified) and hybrid (v1 controllers plus a cgroup2 mount at
 * /sys/fs/cgroup/unified, as on the development machine). The backend is picked from what is
 * mounted (cg_detect). A struct cgroup records the per-hierarchy directories of one container
 * so later commands (kill -a, delete, ps, pause) can reopen it from the state file.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

struct oci_resources;
struct json_object;

enum cg_mode { CG_MODE_V1, CG_MODE_HYBRID, CG_MODE_V2 };

#define CG_MAX_HIERARCHIES 16

struct cg_hierarchy {
        char *controllers; /* "memory", "cpu,cpuacct", "" for the v2 unified hierarchy */
        char *path;        /* absolute directory of the container's cgroup in this hierarchy */
        char *mount;       /* where the hierarchy is mounted, e.g. "/sys/fs/cgroup/memory" */
        /*
         * The topmost directory cg_create() made (NULL: none). cg_destroy() removes the
         * container's own directory and its parents up to this one, never a parent that existed
         * before, so deleting "/cella/ID" keeps a pre-existing "/cella".
         */
        char *created;
        /*
         * The init is in it already or joins it itself (cg_open_clone_into, cg_open_self_join):
         * cg_enter() leaves it alone. Not serialised.
         */
        bool joined;
};

struct cgroup {
        enum cg_mode mode;
        char *rel_path; /* the cgroup path relative to each hierarchy root, e.g. "/cella/ID" */
        struct cg_hierarchy h[CG_MAX_HIERARCHIES];
        size_t n_h;
        /*
         * Not real root (euid != 0 or inside a user namespace): hierarchies that cannot be
         * written are dropped with a warning, and limits on them are skipped with a warning
         * naming the limit, instead of failing (runc's rootless behaviour).
         */
        bool rootless;
        /* systemd driver: the transient scope unit and its slice (NULL with cgroupfs). */
        char *unit, *slice;
        /*
         * systemd driver: resources given to cg_apply_resources() before the scope exists;
         * applied by cg_enter() once it does. Points into the caller's spec.
         */
        const struct oci_resources *pending;
        const struct cg_ops *ops;
};

struct cg_ops {
        const char *name;
        /* Creates the directories (mkdir -p) for every hierarchy. */
        int (*create)(struct cgroup *cg, struct cella_error *err);
        /* Moves pid into the cgroup in every hierarchy. */
        int (*enter)(struct cgroup *cg, pid_t pid, struct cella_error *err);
        /* Removes the directories (deepest first); fails with EBUSY if processes remain. */
        int (*destroy)(struct cgroup *cg, struct cella_error *err);
        /* Lists the pids in the cgroup (malloc'd array). */
        int (*pids)(struct cgroup *cg, pid_t **ret_pids, size_t *ret_n, struct cella_error *err);
        /* Freezes (frozen) or thaws the cgroup; returns when the kernel reports the new state. */
        int (*freeze)(struct cgroup *cg, bool frozen, struct cella_error *err);
        /* Whether the cgroup is frozen (or freezing). */
        int (*frozen)(struct cgroup *cg, bool *ret_frozen, struct cella_error *err);
};

/* Which layout the host has. */
int cg_detect(enum cg_mode *ret_mode);

/*
 * Builds (does not create) the container cgroup from linux.cgroupsPath, with the semantics of
 * runc's cgroupfs driver:
 *  - an absolute path is taken from each hierarchy's root: "/a/b" -> /sys/fs/cgroup/memory/a/b;
 *  - a relative path is placed below the calling process's own cgroup in each hierarchy (read
 *    from /proc/self/cgroup); on pure cgroup v2 below the *parent* of the own cgroup, because
 *    the own cgroup holds processes and so could not enable controllers for a child;
 *  - NULL/empty means the relative path "<id>" (runc's default: Name = id, Parent = "").
 * ".." components are resolved lexically; one that would climb above the root (or above the
 * own cgroup for a relative path) is an error naming the path, as is a path naming the root.
 */
int cg_init(struct cgroup *cg, const char *cgroups_path, const char *id, struct cella_error *err);

/*
 * The systemd driver (--systemd-cgroup): cgroups_path is runc's "slice:prefix:name" (NULL or
 * empty: "system.slice:cella:<id>"); the container gets the transient scope unit
 * "prefix-name.scope" in that slice, with Delegate=yes, started over D-Bus by cg_enter() (a
 * scope needs its first PID). cg_create() only checks that systemd answers; resources passed
 * to cg_apply_resources() before cg_enter() are applied right after the scope starts.
 * Without systemd as init: -ENOMEDIUM and a message that says so.
 */
int cg_init_systemd(struct cgroup *cg, const char *cgroups_path, const char *id,
                    struct cella_error *err);

int cg_create(struct cgroup *cg, struct cella_error *err);
int cg_enter(struct cgroup *cg, pid_t pid, struct cella_error *err);
/* Destroys the cgroup; with kill_first, SIGKILLs what remains and waits briefly for it to go. */
int cg_destroy(struct cgroup *cg, bool kill_first, struct cella_error *err);
int cg_pids(struct cgroup *cg, pid_t **ret_pids, size_t *ret_n, struct cella_error *err);
/* Sends sig to every process in the cgroup (kill --all). */
int cg_kill_all(struct cgroup *cg, int sig, struct cella_error *err);

/* Freezes or thaws every process (v1 freezer, v2 cgroup.freeze); waits for FROZEN/THAWED. */
int cg_freeze(struct cgroup *cg, bool frozen, struct cella_error *err);

/*
 * Applies linux.resources (res NULL: none) to a created cgroup: every controller the spec sets,
 * converted for cgroup v2 where needed, then the device rules (the spec's followed by runc's
 * default allow list: call this even without resources, or devices stay unrestricted).
 * A limit the host cannot apply is an error naming it ("linux.resources.memory.swap: ...").
 */
int cg_apply_resources(struct cgroup *cg, const struct oci_resources *res, struct cella_error *err);

/*
 * For `update`: applies only what res sets, and leaves the device rules alone unless res has
 * some (then they replace the old ones, followed by the defaults, as at create).
 */
int cg_update_resources(struct cgroup *cg, const struct oci_resources *res,
                        struct cella_error *err);

/*
 * Statistics as the "data" object of runc's `events --stats` output (cpu, cpuset, memory,
 * pids, blkio, hugetlb, intel_rdt, network_interfaces), read from whichever hierarchy holds
 * each controller. The caller owns *ret.
 */
int cg_stats(struct cgroup *cg, struct json_object **ret);

/*
 * How many processes of the container the OOM killer has killed so far (v2 memory.events,
 * v1 memory.oom_control "oom_kill"); `events` reports an "oom" event when it grows.
 */
int cg_oom_kills(struct cgroup *cg, uint64_t *ret, struct cella_error *err);

/* Is the container paused? (false when the host has no freezer) */
int cg_is_frozen(struct cgroup *cg, bool *ret_frozen, struct cella_error *err);

/*
 * An O_DIRECTORY fd of the v2 cgroup, for clone3(CLONE_INTO_CGROUP); -ENOTSUP when the
 * container's controllers are not all in the v2 hierarchy (v1, hybrid).
 */
int cg_v2_fd(struct cgroup *cg);

/*
 * Joining without the wait. Writing a pid to cgroup.procs takes cgroup_threadgroup_rwsem for
 * writing, and the first writer after a quiet spell waits for an RCU grace period (0.2-10 ms
 * measured, docs/benchmarks.md finding 10), unless the hierarchy is mounted with favordynmods.
 * Two ways into a cgroup do not take that lock at all:
 *  - clone3(CLONE_INTO_CGROUP) into a cgroup2 directory (the fork path only read-locks it);
 *  - a thread writing "0" (itself) to a v1 hierarchy's "tasks" file: moving one thread that is
 *    current needs no threadgroup stability (kernel/cgroup/cgroup.c, cgroup_procs_write_start),
 *    and for a single-threaded process that moves the whole process.
 * Only for the cgroupfs driver as real root: rootless cgroups are joined before clone and the
 * systemd driver needs the init's pid for its scope.
 */

/*
 * Creates the cgroup2 directory of the container (v2, or the unified hierarchy in hybrid mode)
 * and returns an O_DIRECTORY fd for clone3(CLONE_INTO_CGROUP); -ENOTSUP when that does not
 * apply. cg_create() later skips nothing and may be called as usual (mkdir is idempotent).
 */
int cg_open_clone_into(struct cgroup *cg, struct cella_error *err);
/* The child was born in the cgroup2 directory of cg_open_clone_into(): cg_enter() skips it. */
void cg_cloned_into(struct cgroup *cg);
/* Does the init join hierarchy i itself (cg_open_self_join)? The same answer on both sides. */
bool cg_joins_itself(const struct cgroup *cg, size_t i);
/*
 * Opens the "tasks" file (O_WRONLY) of every hierarchy the init joins itself, in hierarchy
 * order, into fds (room for CG_MAX_HIERARCHIES); marks them joined. Returns how many, or
 * -errno (fds opened so far are closed). The init writes "0" to each (cg_join_self).
 */
int cg_open_self_join(struct cgroup *cg, int *fds, struct cella_error *err);
/* In the init: moves the calling (single-threaded) process into hierarchy i through fd. */
int cg_join_self(const struct cgroup *cg, size_t i, int fd, struct cella_error *err);

/* Serialises to / restores from the state file (an object with mode, path, hierarchies). */
struct json_object *cg_to_json(const struct cgroup *cg);
int cg_from_json(struct json_object *obj, struct cgroup *cg, struct cella_error *err);

void cg_free(struct cgroup *cg);
