/* SPDX-License-Identifier: Apache-2.0 */
/* Public cgroup API: mode detection, the per-container object, dispatch to the backend. */
#include "cgroup.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/log.h"
#include "internal.h"

#define CG_ROOT "/sys/fs/cgroup"

int cg_detect(enum cg_mode *ret_mode)
{
        struct statfs fs;
        if (statfs(CG_ROOT, &fs) < 0)
                return -errno;
        if (fs.f_type == CGROUP2_SUPER_MAGIC) {
                *ret_mode = CG_MODE_V2;
                return 0;
        }
        if (fs.f_type != TMPFS_MAGIC)
                return -ENOMEDIUM;
        /* systemd's hybrid layout mounts cgroup2 at .../unified next to the v1 controllers. */
        if (statfs(CG_ROOT "/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
                *ret_mode = CG_MODE_HYBRID;
        else
                *ret_mode = CG_MODE_V1;
        return 0;
}

/* Are we in the initial user namespace with real root? */
static bool is_rootless(void)
{
        if (geteuid() != 0)
                return true;
        _cleanup_free_ char *map = NULL;
        if (fs_read_file("/proc/self/uid_map", 4096, &map, NULL) < 0)
                return false;
        unsigned long inside, outside, count;
        return sscanf(map, "%lu %lu %lu", &inside, &outside, &count) != 3 || inside != 0 ||
               outside != 0 || count != 4294967295UL;
}

/* Discovers the host's hierarchies and places the container's cgroup at cgroups_path. */
static int init_fs(struct cgroup *cg, const char *cgroups_path, const char *id,
                   struct cella_error *err)
{
        memset(cg, 0, sizeof(*cg));
        enum cg_mode mode;
        int r = cg_detect(&mode);
        if (r < 0)
                return cella_errno(err, -r, "detect cgroup layout at \"" CG_ROOT "\"");
        _cleanup_free_ char *mountinfo = NULL, *proc_cgroup = NULL;
        r = fs_read_file("/proc/self/mountinfo", 16 << 20, &mountinfo, NULL);
        if (r < 0)
                return cella_errno(err, -r, "read \"/proc/self/mountinfo\"");
        r = fs_read_file("/proc/self/cgroup", 1 << 20, &proc_cgroup, NULL);
        if (r < 0)
                return cella_errno(err, -r, "read \"/proc/self/cgroup\"");
        struct cg_mount_info *infos = NULL;
        size_t n = 0;
        r = cg_discover(mode, mountinfo, proc_cgroup, &infos, &n, err);
        if (r < 0)
                return r;
        r = cg_init_from(cg, mode, infos, n, cgroups_path, id, err);
        cg_mount_infos_free(infos, n);
        if (r == 0)
                cg->rootless = is_rootless();
        return r;
}

int cg_init(struct cgroup *cg, const char *cgroups_path, const char *id, struct cella_error *err)
{
        int r = init_fs(cg, cgroups_path, id, err);
        if (r < 0 && err && cgroups_path && *cgroups_path)
                cella_err_prefix(err, "linux.cgroupsPath");
        return r;
}

int cg_init_systemd(struct cgroup *cg, const char *cgroups_path, const char *id,
                    struct cella_error *err)
{
        memset(cg, 0, sizeof(*cg));
        if (access("/run/systemd/system", F_OK) < 0)
                return cella_err(err, ENOMEDIUM,
                                 "--systemd-cgroup: systemd is not running as init on this host "
                                 "(no /run/systemd/system); use the default cgroupfs driver");
        if (is_rootless())
                return cella_err(err, ENOTSUP,
                                 "--systemd-cgroup: rootless containers under the user's systemd "
                                 "instance are not supported");
        _cleanup_free_ char *slice = NULL, *unit = NULL, *slice_path = NULL, *path = NULL;
        int r = cg_systemd_parse(cgroups_path, id, false, &slice, &unit, err);
        if (r == 0)
                r = cg_systemd_slice_path(slice, &slice_path, err);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/%s", slice_path, unit) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        r = init_fs(cg, path, id, err);
        if (r < 0)
                return r;
        cg->unit = TAKE_PTR(unit);
        cg->slice = TAKE_PTR(slice);
        cg->ops = &cg_systemd_ops;
        return 0;
}

bool cg_permission_error(int r)
{
        return r == -EACCES || r == -EPERM || r == -EROFS;
}

/* Rootless: forget hierarchy i, which we may not use, and say what that costs. */
static void drop_hierarchy(struct cgroup *cg, size_t i, const char *why)
{
        struct cg_hierarchy *h = &cg->h[i];
        /* Limits that needed it get their own warning from cg_apply_resources(). */
        log_debug("rootless: %s; not using the %s hierarchy", why,
                  h->controllers[0] ? h->controllers : "cgroup2");
        free(h->controllers);
        free(h->path);
        free(h->mount);
        free(h->created);
        memmove(h, h + 1, (cg->n_h - i - 1) * sizeof(*h));
        cg->n_h--;
        memset(&cg->h[cg->n_h], 0, sizeof(*h));
}

int cg_create(struct cgroup *cg, struct cella_error *err)
{
        if (!cg->rootless)
                return cg->ops->create(cg, err);
        /* Rootless: create what we may (delegated subtrees), drop the rest. */
        for (size_t i = 0; i < cg->n_h;) {
                struct cella_error e = {0};
                int r = cg_mkdir_hierarchy(&cg->h[i], &e);
                if (r < 0 && !cg_permission_error(r)) {
                        if (err)
                                *err = e;
                        return r;
                }
                if (r < 0)
                        drop_hierarchy(cg, i, e.msg);
                else
                        i++;
        }
        return cg->n_h > 0 ? cg->ops->create(cg, err) : 0;
}

int cg_enter(struct cgroup *cg, pid_t pid, struct cella_error *err)
{
        if (!cg->rootless)
                return cg->ops->enter(cg, pid, err);
        for (size_t i = 0; i < cg->n_h;) {
                struct cella_error e = {0};
                int r = cg_enter_hierarchy(&cg->h[i], pid, &e);
                if (r < 0 && !cg_permission_error(r)) {
                        if (err)
                                *err = e;
                        return r;
                }
                if (r < 0) {
                        /* Made but unusable: remove it again before forgetting it. */
                        cg_rmdir_hierarchy(&cg->h[i], NULL);
                        drop_hierarchy(cg, i, e.msg);
                } else {
                        i++;
                }
        }
        return 0;
}

/* A rootless container may have no usable hierarchy at all (n_h == 0): nothing to do then. */
int cg_pids(struct cgroup *cg, pid_t **ret_pids, size_t *ret_n, struct cella_error *err)
{
        if (cg->n_h == 0) {
                *ret_pids = NULL;
                *ret_n = 0;
                return 0;
        }
        return cg->ops->pids(cg, ret_pids, ret_n, err);
}

int cg_freeze(struct cgroup *cg, bool frozen, struct cella_error *err)
{
        if (cg->n_h == 0)
                return cella_err(err, ENOTSUP, "cannot %s: the container has no cgroup (rootless)",
                                 frozen ? "pause" : "resume");
        return cg->ops->freeze(cg, frozen, err);
}

int cg_is_frozen(struct cgroup *cg, bool *ret_frozen, struct cella_error *err)
{
        *ret_frozen = false;
        return cg->n_h == 0 ? 0 : cg->ops->frozen(cg, ret_frozen, err);
}

static bool pid_in(const pid_t *v, size_t n, pid_t pid)
{
        for (size_t i = 0; i < n; i++)
                if (v[i] == pid)
                        return true;
        return false;
}

/*
 * SIGKILL without cgroup.kill: a dying process cannot fork any more, so signalling every pid
 * until a pass finds none that was not already signalled reaches everything, forks included.
 */
static int kill_loop(struct cgroup *cg, struct cella_error *err)
{
        _cleanup_free_ pid_t *done = NULL;
        size_t n_done = 0;
        for (int pass = 0; pass < 100; pass++) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;
                int r = cg_pids(cg, &pids, &n, err);
                if (r < 0)
                        return r;
                bool fresh = false;
                for (size_t i = 0; i < n; i++) {
                        if (pid_in(done, n_done, pids[i]))
                                continue;
                        fresh = true;
                        if (kill(pids[i], SIGKILL) < 0 && errno != ESRCH)
                                return cella_errno(err, errno, "kill %d", (int)pids[i]);
                }
                if (!fresh)
                        return 0;
                free(done);
                done = TAKE_PTR(pids);
                n_done = n;
        }
        return cella_err(err, EAGAIN, "kill cgroup \"%s\": processes keep appearing", cg->rel_path);
}

/*
 * Other signals: freeze first so no process forks a child that misses the signal, like runc;
 * a cgroup that was already frozen (paused) stays frozen.
 */
static int signal_frozen(struct cgroup *cg, int sig, struct cella_error *err)
{
        bool was_frozen = false;
        bool froze = cg_is_frozen(cg, &was_frozen, NULL) == 0 && !was_frozen &&
                     cg_freeze(cg, true, NULL) == 0;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = cg_pids(cg, &pids, &n, err);
        for (size_t i = 0; r == 0 && i < n; i++)
                if (kill(pids[i], sig) < 0 && errno != ESRCH)
                        r = cella_errno(err, errno, "kill %d", (int)pids[i]);
        if (froze) {
                int q = cg_freeze(cg, false, r < 0 ? NULL : err);
                if (r == 0)
                        r = q;
        }
        return r;
}

int cg_kill_all(struct cgroup *cg, int sig, struct cella_error *err)
{
        if (sig == SIGKILL) {
                /* cgroup.kill (5.14+) kills the whole subtree atomically, forks included. */
                struct cg_hierarchy *u = cg_unified(cg);
                if (u && cg_has_file(u->path, "cgroup.kill"))
                        return cg_write(u->path, "cgroup.kill", "1", err);
                return kill_loop(cg, err);
        }
        return signal_frozen(cg, sig, err);
}

/*
 * Nothing runs in the container's cgroup2 subtree (cgroup.events says "populated 0"): the
 * kill and the wait below act on that same subtree (cgroup.kill, or the pids read from it), so
 * they would find nobody. One read instead of ~15 syscalls on every delete, `run`'s included.
 */
static bool unified_unpopulated(struct cgroup *cg)
{
        struct cg_hierarchy *u = cg_unified(cg);
        _cleanup_free_ char *events = NULL;
        return u && cg_read(u->path, "cgroup.events", &events, NULL) == 0 &&
               strstr(events, "populated 0\n");
}

/* After SIGKILL: v1-frozen tasks die only once thawed; then wait for the cgroup to empty. */
static int kill_and_wait(struct cgroup *cg, struct cella_error *err)
{
        if (unified_unpopulated(cg))
                return 0;
        int r = cg_kill_all(cg, SIGKILL, err);
        if (r == -ENOENT) {
                /* Not (fully) created: nothing can run in it. */
                cella_error_clear(err);
                return 0;
        }
        if (r < 0)
                return r;
        bool frozen = false;
        if (cg_is_frozen(cg, &frozen, NULL) == 0 && frozen) {
                r = cg_freeze(cg, false, err);
                if (r < 0)
                        return r;
        }
        for (int i = 0; i < 500; i++) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;
                r = cg_pids(cg, &pids, &n, err);
                if (r == -ENOENT) {
                        /* Gone with its last process (systemd removes an emptied scope). */
                        cella_error_clear(err);
                        return 0;
                }
                if (r < 0)
                        return r;
                if (n == 0)
                        return 0;
                if (i % 50 == 49)
                        cg_kill_all(cg, SIGKILL, NULL);
                cg_sleep_ms(i < 20 ? 1 : 10);
        }
        return cella_err(err, EBUSY, "cgroup \"%s\": processes still running after SIGKILL",
                         cg->rel_path);
}

int cg_destroy(struct cgroup *cg, bool kill_first, struct cella_error *err)
{
        if (!cg->ops || cg->n_h == 0)
                return 0;
        if (kill_first) {
                int r = kill_and_wait(cg, err);
                if (r < 0)
                        return r;
        }
        return cg->ops->destroy(cg, err);
}

int cg_v2_fd(struct cgroup *cg)
{
        /* systemd makes the directory only when the scope starts with the init's PID. */
        if (cg->mode != CG_MODE_V2 || cg->n_h != 1 || cg->unit)
                return -ENOTSUP;
        int fd = open(cg->h[0].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static bool fast_join_possible(const struct cgroup *cg)
{
        return cg->ops && !cg->rootless && !cg->unit;
}

int cg_open_clone_into(struct cgroup *cg, struct cella_error *err)
{
        struct cg_hierarchy *h = fast_join_possible(cg) ? cg_unified(cg) : NULL;
        if (!h)
                return -ENOTSUP;
        /* v2 also enables the controllers along the path; hybrid's cgroup2 only tracks. */
        int r = cg->mode == CG_MODE_V2 ? cg->ops->create(cg, err) : cg_mkdir_hierarchy(h, err);
        if (r < 0)
                return r;
        int fd = open(h->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? cella_errno(err, errno, "open cgroup \"%s\"", h->path) : fd;
}

void cg_cloned_into(struct cgroup *cg)
{
        struct cg_hierarchy *h = cg_unified(cg);
        if (h)
                h->joined = true;
}

bool cg_joins_itself(const struct cgroup *cg, size_t i)
{
        return fast_join_possible(cg) && cg->mode != CG_MODE_V2 && cg->h[i].controllers[0];
}

int cg_open_self_join(struct cgroup *cg, int *fds, struct cella_error *err)
{
        int n = 0;
        for (size_t i = 0; i < cg->n_h; i++) {
                if (!cg_joins_itself(cg, i))
                        continue;
                _cleanup_free_ char *p = cg_path_join(cg->h[i].path, "tasks");
                int fd = p ? open(p, O_WRONLY | O_CLOEXEC) : -1;
                if (fd < 0) {
                        int e = p ? errno : ENOMEM;
                        while (n > 0)
                                close(fds[--n]);
                        return cella_errno(err, e, "open \"%s/tasks\"", cg->h[i].path);
                }
                fds[n++] = fd;
                cg->h[i].joined = true;
        }
        return n;
}

int cg_join_self(const struct cgroup *cg, size_t i, int fd, struct cella_error *err)
{
        if (write(fd, "0", 1) != 1)
                return cella_errno(err, errno, "join cgroup \"%s\" (write \"0\" to its tasks)",
                                   cg->h[i].path);
        return 0;
}

void cg_free(struct cgroup *cg)
{
        if (!cg)
                return;
        for (size_t i = 0; i < cg->n_h; i++) {
                free(cg->h[i].controllers);
                free(cg->h[i].path);
                free(cg->h[i].mount);
                free(cg->h[i].created);
        }
        free(cg->rel_path);
        free(cg->unit);
        free(cg->slice);
        memset(cg, 0, sizeof(*cg));
}
