/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Internal to the runtime: the context shared by the parent and child sides of create. */

#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "linux/lsm.h"
#include "linux/namespaces.h"
#include "linux/rootfs.h"
#include "oci/spec.h"
#include "runtime/runtime.h"

struct rt_ctx {
        const char *id;
        const struct rt_create_opts *opts;
        struct oci_spec *spec;
        char bundle[PATH_MAX];
        char rootfs[PATH_MAX];
        char created[64];
        int root_fd; /* the state root */
        int dir_fd;  /* <root>/<id>, flock'ed for the whole create */
        struct lnx_ns_plan ns;
        struct cgroup cg;
        bool cg_created;
        bool cg_early;   /* made before clone (rootless), not while the init sets up */
        int cg_clone_fd; /* cgroup2 directory for clone3(CLONE_INTO_CGROUP), or -1 */
        bool net_later;  /* the new network namespace comes with CGROUP, not from clone */
        struct lnx_cgroup_mount cg_mounts[CG_MAX_HIERARCHIES];
        char cg_names[CG_MAX_HIERARCHIES][64];
        char cg_options[CG_MAX_HIERARCHIES][256];
        size_t n_cg_mounts;
        int sync_fd[2]; /* [0] parent end, [1] child end */
        int console_fd; /* connected console socket, -1 if none */
        int fifo_fd;    /* exec.fifo, O_RDONLY|O_NONBLOCK, inherited by the init */
        bool setgroups_allowed;
        unsigned long long sig_ignored; /* what the init resets before execve */
        struct lnx_lsm lsm;
        struct lnx_seccomp *seccomp; /* compiled before clone, loaded by the child; NULL if none */
        int *idmapped; /* per mount: detached idmapped source tree (or -1); NULL if none */
        pid_t pid;     /* the container init, in the host pid namespace */
        unsigned long long start_time; /* of the init: who the pid is (state.h) */
        pid_t intermediate; /* slow path only: the process that joined namespaces by path */
};

/*
 * GO tells the init its user namespace's id maps are written (the parent does that after
 * clone); with none to write, the init has nothing to wait for and starts at once.
 */
static inline bool rt_init_waits_for_go(const struct rt_ctx *c)
{
        return !c->ns.any_join && (c->ns.clone_flags & CLONE_NEWUSER);
}

/* The OCI state ("creating") of a container being created, for hooks and seccomp agents. */
struct json_object *rt_ctx_oci_state(const struct rt_ctx *c);

/* Child side: never returns. Runs in the cloned process. */
_Noreturn void rt_child_main(struct rt_ctx *c);

/* Does the spec have hooks the parent must run while the child waits before pivot_root? */
bool rt_has_create_hooks(const struct oci_spec *spec);
