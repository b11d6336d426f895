/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The container's filesystem view, built in the child inside its new mount namespace:
 *   lnx_rootfs_prepare   propagation, rootfs bind, every config mount in order, devices
 *   lnx_rootfs_protect   maskedPaths and readonlyPaths
 *   lnx_rootfs_pivot     pivot_root (or MS_MOVE + chroot), then readonly root
 * Every target is resolved inside the rootfs with openat2(RESOLVE_IN_ROOT) and mounted through
 * its /proc/self/fd path, so symlinks planted in the rootfs cannot redirect a mount outside it.
 */

#include <stdbool.h>

#include "base/error.h"
#include "oci/spec.h"

/* A host cgroup hierarchy, for "cgroup" mounts (what the container sees under /sys/fs/cgroup). */
struct lnx_cgroup_mount {
        const char *name; /* directory below the mount point: "memory", "unified", ... */
        const char
            *options; /* superblock options for a cgroup ns mount: "memory", "none,name=systemd" */
        const char *host_dir; /* the container's cgroup directory on the host (no cgroupns) */
        bool v2;
};

struct lnx_rootfs {
        const struct oci_spec *spec;
        const char *rootfs; /* absolute host path */
        const char *bundle; /* absolute; relative bind sources are taken from here */
        int root_fd;        /* O_PATH fd of the rootfs, valid after prepare */
        dev_t root_dev;     /* root_fd's identity, for check_not_root */
        ino_t root_ino;
        int dev_null_fd; /* the host's /dev/null (O_PATH, verified char 1:3) */
        bool userns;     /* a new user namespace: devices are bind-mounted, not made */
        bool cgroupns;
        const struct lnx_cgroup_mount *cgroups;
        size_t n_cgroups;
        const int *idmapped; /* per spec mount: lnx_rootfs_idmapped_sources' fd, or -1 */
        /*
         * Called once, before the first "cgroup" or "sysfs" mount (NULL: nothing to wait
         * for). The runtime joins the container's cgroup, and may make its network namespace
         * (which a sysfs mount shows), while the mounts before it are made.
         */
        int (*await_runtime)(void *arg, struct cella_error *err);
        void *hook_arg;
};

/*
 * Parent side, before the init exists, as root on the host: for each idmapped bind mount
 * (idmap, ridmap, or uidMappings/gidMappings), a detached clone of its source with the id
 * mapping applied: the mount's own mappings, else the container's (linux.uidMappings). The
 * init cannot do this itself: its user namespace has no say over the host filesystem.
 * ret_fds gets one entry per spec mount (-1 where not idmapped); close them with
 * lnx_rootfs_idmapped_close.
 */
int lnx_rootfs_idmapped_sources(const struct oci_spec *spec, const char *bundle, int **ret_fds,
                                struct cella_error *err);
void lnx_rootfs_idmapped_close(int *fds, size_t n);

int lnx_rootfs_prepare(struct lnx_rootfs *r, struct cella_error *err);
int lnx_rootfs_protect(struct lnx_rootfs *r, struct cella_error *err);
int lnx_rootfs_pivot(struct lnx_rootfs *r, bool no_pivot, struct cella_error *err);
