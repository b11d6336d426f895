/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a container's cgroup lives: hierarchy discovery from /proc/self/{mountinfo,cgroup} and
 * the cgroupsPath arithmetic of runc's cgroupfs driver. Pure functions over text, so the unit
 * tests can describe any host layout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "internal.h"

char *cg_path_join(const char *a, const char *b)
{
        size_t la = strlen(a);
        while (la > 0 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        char *s = NULL;
        if (asprintf(&s, "%.*s%s%s", (int)la, a, *b ? "/" : "", b) < 0)
                return NULL;
        if (!*s) {
                free(s);
                return strdup("/");
        }
        return s;
}

int cg_normalize_path(const char *path, char **ret, struct cella_error *err)
{
        size_t len = strlen(path);
        _cleanup_free_ char *out = malloc(len + 2);
        if (!out)
                return cella_err(err, ENOMEM, "out of memory");
        bool absolute = path[0] == '/';
        size_t o = 0; /* out holds "/c1/c2..." while building */
        const char *p = path;
        while (*p) {
                while (*p == '/')
                        p++;
                const char *start = p;
                while (*p && *p != '/')
                        p++;
                size_t n = (size_t)(p - start);
                if (n == 0 || (n == 1 && start[0] == '.'))
                        continue;
                if (n == 2 && start[0] == '.' && start[1] == '.') {
                        if (o == 0)
                                return cella_err(err, EINVAL,
                                                 "cgroup path \"%s\": \"..\" climbs above the %s",
                                                 path, absolute ? "cgroup root" : "parent cgroup");
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        o--; /* the slash */
                        continue;
                }
                out[o++] = '/';
                memcpy(out + o, start, n);
                o += n;
        }
        if (o == 0)
                return cella_err(err, EINVAL, "cgroup path \"%s\": names the %s itself", path,
                                 absolute ? "root cgroup" : "parent cgroup");
        out[o] = '\0';
        if (absolute) {
                *ret = TAKE_PTR(out);
                return 0;
        }
        char *rel = strdup(out + 1);
        if (!rel)
                return cella_err(err, ENOMEM, "out of memory");
        *ret = rel;
        return 0;
}

void cg_mount_infos_free(struct cg_mount_info *infos, size_t n)
{
        if (!infos)
                return;
        for (size_t i = 0; i < n; i++) {
                free(infos[i].controllers);
                free(infos[i].mount);
                free(infos[i].own);
        }
        free(infos);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. In place. */
static void unescape_octal(char *s)
{
        char *w = s;
        for (char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 4;
                } else {
                        *w++ = *r++;
                }
        }
        *w = '\0';
}

/* Is tok one of the comma-separated items of list? */
static bool list_has(const char *list, const char *tok, size_t tok_len)
{
        for (const char *p = list; *p;) {
                const char *e = strchr(p, ',');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (n == tok_len && memcmp(p, tok, n) == 0)
                        return true;
                if (!e)
                        break;
                p = e + 1;
        }
        return false;
}

/* Every controller of ctrls appears among the mount's super options. */
static bool superopts_match(const char *superopts, const char *ctrls)
{
        for (const char *p = ctrls; *p;) {
                const char *e = strchr(p, ',');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (n > 0 && !list_has(superopts, p, n))
                        return false;
                if (!e)
                        break;
                p = e + 1;
        }
        return true;
}

struct mi_line {
        char *root, *mountpoint, *fstype, *superopts;
};

/* Splits one mountinfo line in place; false if it is malformed. */
static bool parse_mountinfo_line(char *line, struct mi_line *ml)
{
        char *f[6] = {0};
        char *save = NULL, *tok = strtok_r(line, " ", &save);
        int i = 0;
        for (; tok && i < 6; i++, tok = strtok_r(NULL, " ", &save))
                f[i] = tok;
        if (i < 6)
                return false;
        while (tok && strcmp(tok, "-") != 0)
                tok = strtok_r(NULL, " ", &save); /* optional fields */
        if (!tok)
                return false;
        ml->fstype = strtok_r(NULL, " ", &save);
        char *source = strtok_r(NULL, " ", &save);
        ml->superopts = strtok_r(NULL, " ", &save);
        if (!ml->fstype || !source || !ml->superopts)
                return false;
        ml->root = f[3];
        ml->mountpoint = f[4];
        unescape_octal(ml->root);
        unescape_octal(ml->mountpoint);
        return true;
}

/*
 * The own cgroup seen through a mount whose root is `root`: "/docker/x" seen through a mount of
 * "/docker/x" is "/". NULL when the mount does not contain it.
 */
static const char *own_below_root(const char *own, const char *root)
{
        if (strcmp(root, "/") == 0)
                return own;
        size_t n = strlen(root);
        if (strncmp(own, root, n) != 0 || (own[n] != '/' && own[n] != '\0'))
                return NULL;
        return own[n] ? own + n : "/";
}

/* Finds the mount for one /proc/self/cgroup entry; fills info. 0 found, -ENOENT none. */
static int find_mount(const char *mountinfo, const char *ctrls, const char *own,
                      struct cg_mount_info *info)
{
        _cleanup_free_ char *copy = strdup(mountinfo);
        if (!copy)
                return -ENOMEM;
        bool v2 = !*ctrls;
        char *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                struct mi_line ml;
                if (!parse_mountinfo_line(line, &ml))
                        continue;
                if (strcmp(ml.fstype, v2 ? "cgroup2" : "cgroup") != 0)
                        continue;
                if (!v2 && !superopts_match(ml.superopts, ctrls))
                        continue;
                const char *rel = own_below_root(own, ml.root);
                if (!rel)
                        continue; /* a bind mount of some other subtree */
                info->controllers = strdup(ctrls);
                info->mount = strdup(ml.mountpoint);
                info->own = strdup(rel);
                if (!info->controllers || !info->mount || !info->own)
                        return -ENOMEM;
                return 0;
        }
        return -ENOENT;
}

int cg_discover(enum cg_mode mode, const char *mountinfo, const char *proc_cgroup,
                struct cg_mount_info **ret_infos, size_t *ret_n, struct cella_error *err)
{
        _cleanup_free_ char *copy = strdup(proc_cgroup);
        struct cg_mount_info *infos = calloc(CG_MAX_HIERARCHIES, sizeof(*infos));
        size_t n = 0;
        int r = 0;
        if (!copy || !infos) {
                r = cella_err(err, ENOMEM, "out of memory");
                goto fail;
        }
        char *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                /* "ID:controllers:path"; the path may itself contain ':' */
                char *c1 = strchr(line, ':');
                char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c1 = *c2 = '\0';
                const char *ctrls = c1 + 1, *own = c2 + 1;
                bool v2 = !*ctrls;
                if ((v2 && mode == CG_MODE_V1) || (!v2 && mode == CG_MODE_V2))
                        continue;
                if (n == CG_MAX_HIERARCHIES) {
                        r = cella_err(err, E2BIG, "more than %d cgroup hierarchies",
                                      CG_MAX_HIERARCHIES);
                        goto fail;
                }
                r = find_mount(mountinfo, ctrls, own, &infos[n]);
                if (r == -ENOENT)
                        continue; /* e.g. a named hierarchy nobody mounted */
                n++;              /* so a partial entry is freed on failure */
                if (r < 0) {
                        r = cella_err(err, -r, "out of memory");
                        goto fail;
                }
        }
        if (n == 0) {
                r = cella_err(err, ENOENT, "no cgroup hierarchy is mounted for this process");
                goto fail;
        }
        *ret_infos = infos;
        *ret_n = n;
        return 0;
fail:
        cg_mount_infos_free(infos, n);
        return r;
}

static char *parent_dir(const char *path)
{
        const char *slash = strrchr(path, '/');
        if (!slash || slash == path)
                return strdup("/");
        return strndup(path, (size_t)(slash - path));
}

/* The container directory in one hierarchy; see cg_init() in cgroup.h for the rules. */
static int hierarchy_path(enum cg_mode mode, const struct cg_mount_info *info, const char *rel,
                          char **ret, struct cella_error *err)
{
        if (rel[0] == '/') {
                *ret = cg_path_join(info->mount, rel);
                return *ret ? 0 : cella_err(err, ENOMEM, "out of memory");
        }
        _cleanup_free_ char *base = mode == CG_MODE_V2 ? parent_dir(info->own) : strdup(info->own);
        _cleanup_free_ char *below = base ? cg_path_join(base, rel) : NULL;
        if (!below)
                return cella_err(err, ENOMEM, "out of memory");
        /* The kernel shows "/.." prefixes for cgroups outside our cgroup namespace. */
        _cleanup_free_ char *norm = NULL;
        int r = cg_normalize_path(below, &norm, err);
        if (r < 0)
                return r;
        *ret = cg_path_join(info->mount, norm);
        return *ret ? 0 : cella_err(err, ENOMEM, "out of memory");
}

int cg_init_from(struct cgroup *cg, enum cg_mode mode, const struct cg_mount_info *infos, size_t n,
                 const char *cgroups_path, const char *id, struct cella_error *err)
{
        memset(cg, 0, sizeof(*cg));
        const char *want = cgroups_path && *cgroups_path ? cgroups_path : id;
        if (!want || !*want)
                return cella_err(err, EINVAL, "no cgroupsPath and no container id");
        if (n == 0 || n > CG_MAX_HIERARCHIES)
                return cella_err(err, EINVAL, "no usable cgroup hierarchy");
        int r = cg_normalize_path(want, &cg->rel_path, err);
        if (r < 0)
                return r;
        cg->mode = mode;
        cg->ops = mode == CG_MODE_V2       ? &cg_v2_ops
                  : mode == CG_MODE_HYBRID ? &cg_hybrid_ops
                                           : &cg_v1_ops;
        for (size_t i = 0; i < n; i++) {
                struct cg_hierarchy *h = &cg->h[cg->n_h];
                h->controllers = strdup(infos[i].controllers);
                h->mount = strdup(infos[i].mount);
                cg->n_h++;
                if (!h->controllers || !h->mount) {
                        cg_free(cg);
                        return cella_err(err, ENOMEM, "out of memory");
                }
                r = hierarchy_path(mode, &infos[i], cg->rel_path, &h->path, err);
                if (r < 0) {
                        cg_free(cg);
                        return r;
                }
        }
        return 0;
}
