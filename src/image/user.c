/* SPDX-License-Identifier: Apache-2.0 */
#include "user.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"

/* Parses a decimal id; false if s is not entirely a number in range. */
static bool parse_id(const char *s, uint32_t *ret)
{
        if (!*s || strlen(s) > 10)
                return false;
        uint64_t v = 0;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (uint64_t)(*p - '0');
        }
        if (v > UINT32_MAX - 1) /* (uid_t)-1 means "no change" to the kernel */
                return false;
        *ret = (uint32_t)v;
        return true;
}

/*
 * Finds a line of a colon-separated database whose field 0 (by name) or field 2 (by id)
 * matches and copies its fields into f (at most n). Returns true if found.
 */
static bool db_find(const char *text, const char *name, const uint32_t *id, char *line, size_t cap,
                    char **f, size_t n)
{
        for (const char *p = text; p && *p;) {
                const char *end = strchr(p, '\n');
                size_t len = end ? (size_t)(end - p) : strlen(p);
                const char *next = end ? end + 1 : NULL;
                if (len == 0 || len >= cap || *p == '#' || *p == '+' || *p == '-') {
                        p = next;
                        continue;
                }
                memcpy(line, p, len);
                line[len] = '\0';
                size_t k = 0;
                for (char *s = line; k < n; k++) {
                        f[k] = s;
                        char *c = strchr(s, ':');
                        if (!c) {
                                k++;
                                break;
                        }
                        *c = '\0';
                        s = c + 1;
                }
                uint32_t v;
                /* Every field the caller reads must be there: passwd needs 4, group 3. */
                if (k >= n &&
                    ((name && strcmp(f[0], name) == 0) || (id && parse_id(f[2], &v) && v == *id)))
                        return true;
                p = next;
        }
        return false;
}

static int resolve_group(const char *spec, const char *group, gid_t *ret, struct cella_error *err)
{
        uint32_t v;
        char line[4096], *f[3];
        if (parse_id(spec, &v)) {
                *ret = v;
                return 0;
        }
        if (!group || !db_find(group, spec, NULL, line, sizeof(line), f, 3) || !parse_id(f[2], &v))
                return cella_err(err, ENOENT, "group \"%s\" not found in the image's /etc/group",
                                 spec);
        *ret = v;
        return 0;
}

static bool member_of(const char *members, const char *name)
{
        size_t n = strlen(name);
        for (const char *p = members; *p;) {
                const char *c = strchr(p, ',');
                size_t len = c ? (size_t)(c - p) : strlen(p);
                if (len == n && strncmp(p, name, n) == 0)
                        return true;
                p = c ? c + 1 : p + len;
        }
        return false;
}

static void add_supplementary(const char *group, const char *name, struct img_user *u)
{
        char line[4096];
        for (const char *p = group; p && *p;) {
                const char *end = strchr(p, '\n');
                size_t len = end ? (size_t)(end - p) : strlen(p);
                const char *next = end ? end + 1 : NULL;
                if (len < sizeof(line)) {
                        memcpy(line, p, len);
                        line[len] = '\0';
                        char *f[4] = {0};
                        char *s = line;
                        size_t k = 0;
                        for (; k < 4 && s; k++) {
                                f[k] = s;
                                s = strchr(s, ':');
                                if (s)
                                        *s++ = '\0';
                        }
                        uint32_t gid;
                        if (k == 4 && f[3] && parse_id(f[2], &gid) && gid != u->gid &&
                            member_of(f[3], name) && u->n_groups < IMG_USER_MAX_GROUPS)
                                u->groups[u->n_groups++] = gid;
                }
                p = next;
        }
}

int img_user_resolve(const char *spec, const char *passwd, const char *group, struct img_user *ret,
                     struct cella_error *err)
{
        memset(ret, 0, sizeof(*ret));
        if (!spec || !*spec)
                spec = "0";
        _cleanup_free_ char *copy = strdup(spec);
        if (!copy)
                return cella_err(err, ENOMEM, "out of memory");
        char *gspec = strchr(copy, ':');
        if (gspec)
                *gspec++ = '\0';
        char line[4096], *f[4];
        uint32_t uid, v;
        bool numeric = parse_id(copy, &uid);
        bool found = passwd && db_find(passwd, numeric ? NULL : copy, numeric ? &uid : NULL, line,
                                       sizeof(line), f, 4);
        if (!numeric && !found)
                return cella_err(err, ENOENT, "user \"%s\" not found in the image's /etc/passwd",
                                 copy);
        if (found && (!parse_id(f[2], &uid) || !parse_id(f[3], &v)))
                return cella_err(err, EINVAL, "malformed /etc/passwd entry for user \"%s\"", copy);
        ret->uid = uid;
        ret->gid = found ? v : 0;
        if (gspec) {
                int r = resolve_group(gspec, group, &ret->gid, err);
                if (r < 0)
                        return r;
        }
        if (found && group)
                add_supplementary(group, f[0], ret);
        return 0;
}
