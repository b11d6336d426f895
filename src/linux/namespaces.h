/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Namespaces: which to create, which to join (by path), user-namespace id maps, time offsets. */

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "oci/spec.h"

struct lnx_ns_plan {
        int clone_flags;           /* CLONE_NEW* for namespaces to create (time excluded) */
        bool new_time;             /* unshare(CLONE_NEWTIME) in the child (offsets need it) */
        bool new_cgroup;           /* unshare(CLONE_NEWCGROUP) after the cgroup is joined */
        int join_fd[OCI_NS_COUNT]; /* fds of namespaces to join by path, -1 otherwise */
        bool any_join;
};

/* Builds the plan from linux.namespaces and opens every ns path (errors name the field). */
int lnx_ns_plan_init(const struct oci_spec *spec, struct lnx_ns_plan *ret_plan,
                     struct cella_error *err);
void lnx_ns_plan_close(struct lnx_ns_plan *plan);

/*
 * A new network namespace, owned by our user namespace, as an fd; we stay in ours. Creating one
 * costs ~0.3 ms, which create spends while the init sets up, not in clone (create.c).
 */
int lnx_netns_new(struct cella_error *err);

/* Child side: setns() into every namespace joined by path, user namespace first. */
int lnx_ns_join(struct lnx_ns_plan *plan, struct cella_error *err);

/* Parent side: writes uid_map/gid_map (and setgroups when needed) for pid. */
int lnx_write_id_maps(pid_t pid, const struct oci_spec *spec, struct cella_error *err);

/*
 * A user namespace with these maps (root only), held by no process: its fd, e.g. for an
 * idmapped mount (MOUNT_ATTR_IDMAP). field names the mappings in errors ("mounts[2]").
 */
int lnx_userns_with_maps(const struct oci_id_mapping *uids, size_t n_uids,
                         const struct oci_id_mapping *gids, size_t n_gids, const char *field,
                         struct cella_error *err);

/* Child side, after unshare(CLONE_NEWTIME): writes linux.timeOffsets to timens_offsets. */
int lnx_write_time_offsets(const struct oci_spec *spec, struct cella_error *err);

/* Are we in a user namespace other than the initial one (whose uid_map is "0 0 4294967295")?
 * Rootless podman runs the runtime so, as root of its own user namespace. */
bool lnx_in_user_namespace(void);
