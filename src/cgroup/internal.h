/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Shared by the cgroup backends (v1.c, v2.c, ...) and cgroup.c; not part of the public
 * interface. The pure functions (discovery from mountinfo text, path arithmetic) are exported
 * so unit tests can feed them fabricated host layouts.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"
#include "cgroup.h"

/* One hierarchy the calling process belongs to, as found in /proc/self/{cgroup,mountinfo}. */
struct cg_mount_info {
        char *controllers; /* "cpu,cpuacct", "name=systemd", "" for cgroup2 */
        char *mount;       /* mount point */
        char *own;         /* own cgroup path relative to the mount point, "/" at the root */
};

void cg_mount_infos_free(struct cg_mount_info *infos, size_t n);

/*
 * Finds every hierarchy that mode uses: the v1 hierarchies (V1, HYBRID) and the cgroup2 one
 * (HYBRID, V2). mountinfo and proc_cgroup are the texts of /proc/self/mountinfo and
 * /proc/self/cgroup. A hierarchy listed in proc_cgroup but mounted nowhere is skipped.
 */
int cg_discover(enum cg_mode mode, const char *mountinfo, const char *proc_cgroup,
                struct cg_mount_info **ret_infos, size_t *ret_n, struct cella_error *err);

/*
 * Lexically normalises a cgroup path: drops "." and empty components, resolves "..", keeps a
 * leading "/" for absolute paths. -EINVAL (err names the path) if ".." climbs above the start
 * or nothing remains.
 */
int cg_normalize_path(const char *path, char **ret, struct cella_error *err);

/* cg_init() without reading the host: the layout comes from the arguments. */
int cg_init_from(struct cgroup *cg, enum cg_mode mode, const struct cg_mount_info *infos, size_t n,
                 const char *cgroups_path, const char *id, struct cella_error *err);

/* "a" + "/" + "b" with exactly one slash between them. */
char *cg_path_join(const char *a, const char *b);

/* Reads dir/file (trailing newline kept); -errno, err names the full path. */
int cg_read(const char *dir, const char *file, char **ret, struct cella_error *err);
/* Writes value to dir/file; err: `write "dir/file": strerror`. */
int cg_write(const char *dir, const char *file, const char *value, struct cella_error *err);
/* cg_write in two steps, for several values in a row: open dir/file for writing, ... */
int cg_open_file(const char *dir, const char *file, struct cella_error *err);
/* ... and write one value to it (each write(2) is one command to cgroupfs). */
int cg_write_fd(int fd, const char *dir, const char *file, const char *value,
                struct cella_error *err);
/* Does dir/file exist? */
bool cg_has_file(const char *dir, const char *file);

/* mkdir -p of h->path below h->mount, recording the topmost directory made in h->created. */
int cg_mkdir_hierarchy(struct cg_hierarchy *h, struct cella_error *err);
/* Removes h->path with any child cgroups (deepest first), then the parents cella created. */
int cg_rmdir_hierarchy(struct cg_hierarchy *h, struct cella_error *err);
/* Writes pid to h->path/cgroup.procs. */
int cg_enter_hierarchy(const struct cg_hierarchy *h, pid_t pid, struct cella_error *err);
/* Every pid in dir/cgroup.procs and in the child cgroups below dir. */
int cg_read_pids_tree(const char *dir, pid_t **ret_pids, size_t *ret_n, struct cella_error *err);

/* The hierarchy with this controller (exact token match in a "cpu,cpuacct" list), or NULL. */
struct cg_hierarchy *cg_find_hierarchy(struct cgroup *cg, const char *controller);
/* The cgroup2 hierarchy (controllers ""), or NULL. */
struct cg_hierarchy *cg_unified(struct cgroup *cg);

/* EACCES, EPERM, EROFS: what a rootless caller meets in a cgroup it does not own. */
bool cg_permission_error(int r);

/* Sleeps for ms milliseconds (retry loops on EBUSY / freezing). */
void cg_sleep_ms(unsigned ms);

extern const struct cg_ops cg_v1_ops;     /* v1 and hybrid */
extern const struct cg_ops cg_hybrid_ops; /* v1 controllers + cgroup2 for membership */
extern const struct cg_ops cg_v2_ops;
extern const struct cg_ops cg_systemd_ops;

/* systemd driver helpers (systemd.c); the parsers are pure. */
/* runc's "slice:prefix:name" -> slice ("system.slice") and unit ("prefix-name.scope"). */
int cg_systemd_parse(const char *cgroups_path, const char *id, bool rootless, char **ret_slice,
                     char **ret_unit, struct cella_error *err);
/* "a-b.slice" -> "/a.slice/a-b.slice"; "-.slice" -> "". */
int cg_systemd_slice_path(const char *slice, char **ret, struct cella_error *err);

/* v2 helpers shared with hybrid mode. */
/* Enables controller in every ancestor of h->path (hybrid: only on demand). */
int cg_v2_enable_controller(const struct cg_hierarchy *h, const char *controller,
                            struct cella_error *err);
/* Is word in the space-separated list (cgroup.controllers)? */
bool cg_has_word(const char *list, const char *word);
int cg_v2_freeze_dir(const char *dir, bool frozen, struct cella_error *err);
int cg_v2_frozen_dir(const char *dir, bool *ret_frozen, struct cella_error *err);
int cg_v1_freeze_dir(const char *dir, bool frozen, struct cella_error *err);
