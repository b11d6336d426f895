/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup v1 backend: one directory per hierarchy (cpu, memory, name=systemd, ...). Hybrid mode
 * uses the same operations, the cgroup2 mount being one more hierarchy that only tracks
 * membership; freezing prefers the v1 freezer there, as runc does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "internal.h"

static bool is_blank(const char *s)
{
        return s[strspn(s, " \n")] == '\0';
}

/*
 * A new v1 cpuset cgroup starts with empty cpuset.cpus/mems, and the kernel refuses to add a
 * task to it (ENOSPC). Fill every level from the top down with its parent's values, as runc
 * does, unless they are already set (or the mount uses clone_children).
 */
static int cpuset_fill(const struct cg_hierarchy *h, struct cella_error *err)
{
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
        size_t mlen = strlen(h->mount);
        _cleanup_free_ char *dir = strdup(h->path);
        if (!dir)
                return cella_err(err, ENOMEM, "out of memory");
        for (size_t i = mlen + 1; i <= strlen(h->path); i++) {
                if (h->path[i] != '/' && h->path[i] != '\0')
                        continue;
                dir[i] = '\0';
                _cleanup_free_ char *parent = strndup(dir, strrchr(dir, '/') - dir);
                if (!parent)
                        return cella_err(err, ENOMEM, "out of memory");
                for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
                        _cleanup_free_ char *cur = NULL, *up = NULL;
                        int r = cg_read(dir, files[f], &cur, err);
                        if (r < 0)
                                return r;
                        if (!is_blank(cur))
                                continue;
                        r = cg_read(parent, files[f], &up, err);
                        if (r < 0)
                                return r;
                        up[strcspn(up, "\n")] = '\0';
                        r = cg_write(dir, files[f], up, err);
                        if (r < 0)
                                return r;
                }
                dir[i] = h->path[i];
        }
        return 0;
}

static int v1_create(struct cgroup *cg, struct cella_error *err)
{
        for (size_t i = 0; i < cg->n_h; i++) {
                int r = cg_mkdir_hierarchy(&cg->h[i], err);
                if (r < 0)
                        return r;
        }
        struct cg_hierarchy *cpuset = cg_find_hierarchy(cg, "cpuset");
        return cpuset ? cpuset_fill(cpuset, err) : 0;
}

static int v1_enter(struct cgroup *cg, pid_t pid, struct cella_error *err)
{
        for (size_t i = 0; i < cg->n_h; i++) {
                int r = cg_enter_hierarchy(&cg->h[i], pid, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Tries every hierarchy even after a failure, so as little as possible stays behind. */
static int v1_destroy(struct cgroup *cg, struct cella_error *err)
{
        int ret = 0;
        for (size_t i = 0; i < cg->n_h; i++) {
                struct cella_error e = {0};
                int r = cg_rmdir_hierarchy(&cg->h[i], &e);
                if (r < 0 && ret == 0) {
                        ret = r;
                        if (err)
                                *err = e;
                }
        }
        return ret;
}

/*
 * Every process of the container is in each hierarchy, so one is enough; the cgroup2 one (in
 * hybrid mode) or "pids" are the natural choices, and they avoid duplicates across hierarchies.
 */
static int v1_pids(struct cgroup *cg, pid_t **ret_pids, size_t *ret_n, struct cella_error *err)
{
        struct cg_hierarchy *h = cg_unified(cg);
        if (!h)
                h = cg_find_hierarchy(cg, "pids");
        if (!h)
                h = cg_find_hierarchy(cg, "freezer");
        if (!h && cg->n_h > 0)
                h = &cg->h[0];
        if (!h)
                return cella_err(err, ENOENT, "no cgroup hierarchy");
        return cg_read_pids_tree(h->path, ret_pids, ret_n, err);
}

static int freezer_state(const char *dir, char **ret, struct cella_error *err)
{
        int r = cg_read(dir, "freezer.state", ret, err);
        if (r == 0)
                (*ret)[strcspn(*ret, "\n")] = '\0';
        return r;
}

int cg_v1_freeze_dir(const char *dir, bool frozen, struct cella_error *err)
{
        const char *want = frozen ? "FROZEN" : "THAWED";
        for (int i = 0; i < 1000; i++) {
                /*
                 * A freeze can stay in FREEZING when tasks fork or enter meanwhile; like runc,
                 * thaw and retry now and then instead of waiting forever.
                 */
                if (frozen && i % 50 == 49) {
                        int q = cg_write(dir, "freezer.state", "THAWED", err);
                        if (q < 0)
                                return q;
                }
                int r = cg_write(dir, "freezer.state", want, err);
                if (r < 0)
                        return r;
                _cleanup_free_ char *state = NULL;
                r = freezer_state(dir, &state, err);
                if (r < 0)
                        return r;
                if (strcmp(state, want) == 0)
                        return 0;
                cg_sleep_ms(i < 10 ? 1 : 10);
        }
        if (frozen)
                cg_write(dir, "freezer.state", "THAWED", NULL);
        return cella_err(err, ETIMEDOUT, "%s \"%s/freezer.state\": timed out", want, dir);
}

static int v1_freeze(struct cgroup *cg, bool frozen, struct cella_error *err)
{
        struct cg_hierarchy *h = cg_find_hierarchy(cg, "freezer");
        if (h)
                return cg_v1_freeze_dir(h->path, frozen, err);
        h = cg_unified(cg);
        if (h)
                return cg_v2_freeze_dir(h->path, frozen, err);
        return cella_err(err, ENOTSUP, "cannot %s: no freezer cgroup hierarchy is mounted",
                         frozen ? "freeze" : "thaw");
}

static int v1_frozen(struct cgroup *cg, bool *ret, struct cella_error *err)
{
        struct cg_hierarchy *h = cg_find_hierarchy(cg, "freezer");
        if (h) {
                _cleanup_free_ char *state = NULL;
                int r = freezer_state(h->path, &state, err);
                if (r < 0)
                        return r;
                *ret = strcmp(state, "THAWED") != 0;
                return 0;
        }
        h = cg_unified(cg);
        if (h)
                return cg_v2_frozen_dir(h->path, ret, err);
        *ret = false;
        return 0;
}

const struct cg_ops cg_v1_ops = {
    .name = "v1",
    .create = v1_create,
    .enter = v1_enter,
    .destroy = v1_destroy,
    .pids = v1_pids,
    .freeze = v1_freeze,
    .frozen = v1_frozen,
};

const struct cg_ops cg_hybrid_ops = {
    .name = "hybrid",
    .create = v1_create,
    .enter = v1_enter,
    .destroy = v1_destroy,
    .pids = v1_pids,
    .freeze = v1_freeze,
    .frozen = v1_frozen,
};
