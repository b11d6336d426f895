/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup v2 (unified) backend: one hierarchy, controllers delegated via cgroup.subtree_control. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "internal.h"

/* Is word one of the space-separated words of list? */
static bool has_word(const char *list, const char *word, size_t n)
{
        for (const char *p = list; *p;) {
                p += strspn(p, " \n");
                size_t len = strcspn(p, " \n");
                if (len == n && memcmp(p, word, n) == 0)
                        return true;
                p += len;
        }
        return false;
}

/*
 * Enables in dir's subtree_control every controller dir has (or just `only`). One write per
 * controller: a controller that cannot be enabled (EBUSY: dir has processes of its own; or a
 * threaded subtree) must not keep the others off. A limit that then cannot be applied fails later
 * with an error naming it.
 */
static int enable_controllers(const char *dir, const char *only, struct cella_error *err)
{
        _cleanup_free_ char *avail = NULL, *enabled = NULL;
        int r = cg_read(dir, "cgroup.controllers", &avail, err);
        if (r < 0)
                return r;
        r = cg_read(dir, "cgroup.subtree_control", &enabled, err);
        if (r < 0)
                return r;
        for (const char *p = avail; *p;) {
                p += strspn(p, " \n");
                size_t len = strcspn(p, " \n");
                bool wanted = !only || (strlen(only) == len && memcmp(only, p, len) == 0);
                if (len > 0 && wanted && !has_word(enabled, p, len)) {
                        char buf[64];
                        snprintf(buf, sizeof(buf), "+%.*s", (int)len, p);
                        struct cella_error e = {0};
                        if (cg_write(dir, "cgroup.subtree_control", buf, &e) < 0)
                                log_debug("%s", e.msg);
                }
                p += len;
        }
        return 0;
}

/*
 * Enables controller (NULL: every available one) in the subtree_control of each ancestor of
 * h->path, top down: a controller can be enabled only where the parent enabled it.
 */
static int enable_along_path(const struct cg_hierarchy *h, const char *controller,
                             struct cella_error *err)
{
        size_t mlen = strlen(h->mount);
        _cleanup_free_ char *dir = strdup(h->path);
        if (!dir)
                return cella_err(err, ENOMEM, "out of memory");
        for (size_t i = mlen; i < strlen(h->path); i++) {
                if (i != mlen && h->path[i] != '/')
                        continue;
                dir[i] = '\0';
                int r = enable_controllers(i == mlen ? h->mount : dir, controller, err);
                dir[i] = h->path[i];
                if (r < 0)
                        return r;
        }
        return 0;
}

int cg_v2_enable_controller(const struct cg_hierarchy *h, const char *controller,
                            struct cella_error *err)
{
        return enable_along_path(h, controller, err);
}

static int v2_create(struct cgroup *cg, struct cella_error *err)
{
        int r = cg_mkdir_hierarchy(&cg->h[0], err);
        if (r < 0)
                return r;
        return enable_along_path(&cg->h[0], NULL, err);
}

static int v2_enter(struct cgroup *cg, pid_t pid, struct cella_error *err)
{
        return cg_enter_hierarchy(&cg->h[0], pid, err);
}

static int v2_destroy(struct cgroup *cg, struct cella_error *err)
{
        return cg_rmdir_hierarchy(&cg->h[0], err);
}

static int v2_pids(struct cgroup *cg, pid_t **ret_pids, size_t *ret_n, struct cella_error *err)
{
        return cg_read_pids_tree(cg->h[0].path, ret_pids, ret_n, err);
}

int cg_v2_frozen_dir(const char *dir, bool *ret_frozen, struct cella_error *err)
{
        _cleanup_free_ char *events = NULL;
        int r = cg_read(dir, "cgroup.events", &events, err);
        if (r < 0)
                return r;
        const char *p = strstr(events, "frozen ");
        *ret_frozen = p && (p == events || p[-1] == '\n') && p[7] == '1';
        return 0;
}

int cg_v2_freeze_dir(const char *dir, bool frozen, struct cella_error *err)
{
        if (!cg_has_file(dir, "cgroup.freeze"))
                return cella_err(err, ENOTSUP, "%s \"%s\": no cgroup.freeze (kernel < 5.2)",
                                 frozen ? "freeze" : "thaw", dir);
        int r = cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", err);
        if (r < 0)
                return r;
        /* The write only starts the transition; "frozen 1" in cgroup.events ends it. */
        for (int i = 0; i < 500; i++) {
                bool now;
                r = cg_v2_frozen_dir(dir, &now, err);
                if (r < 0)
                        return r;
                if (now == frozen)
                        return 0;
                cg_sleep_ms(i < 10 ? 1 : 10);
        }
        if (frozen)
                cg_write(dir, "cgroup.freeze", "0", NULL);
        return cella_err(err, ETIMEDOUT, "%s \"%s/cgroup.freeze\": timed out",
                         frozen ? "freeze" : "thaw", dir);
}

static int v2_freeze(struct cgroup *cg, bool frozen, struct cella_error *err)
{
        return cg_v2_freeze_dir(cg->h[0].path, frozen, err);
}

static int v2_frozen(struct cgroup *cg, bool *ret, struct cella_error *err)
{
        return cg_v2_frozen_dir(cg->h[0].path, ret, err);
}

const struct cg_ops cg_v2_ops = {
    .name = "v2",
    .create = v2_create,
    .enter = v2_enter,
    .destroy = v2_destroy,
    .pids = v2_pids,
    .freeze = v2_freeze,
    .frozen = v2_frozen,
};

bool cg_has_word(const char *list, const char *word)
{
        return has_word(list, word, strlen(word));
}
