/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/overlay.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "oci/spec.h"

#define ANN "annotation \"" LNX_OVERLAY_ANNOTATION "\""

/*
 * A path the overlay option parser takes literally: ',' would start another option, ':' another
 * layer, '\' escapes either; "." and ".." components and empty ones are refused so what is
 * checked is what is mounted.
 */
static int check_path(const char *path, const char *what, size_t idx, struct cella_error *err)
{
        char name[32];
        if (strcmp(what, "lowerdir") == 0)
                snprintf(name, sizeof(name), "lowerdir[%zu]", idx);
        else
                snprintf(name, sizeof(name), "%s", what);
        if (path[0] != '/')
                return cella_err(err, EINVAL, ANN ": %s \"%s\" is not an absolute path", name,
                                 path);
        for (const char *p = path; *p; p++) {
                unsigned char ch = (unsigned char)*p;
                if (ch == ',' || ch == ':' || ch == '\\' || ch < 0x20 || ch == 0x7f)
                        return cella_err(err, EINVAL,
                                         ANN ": %s \"%s\" contains '%c' (not allowed in an "
                                             "overlay path)",
                                         name, path, ch < 0x20 || ch == 0x7f ? '?' : ch);
        }
        for (const char *c = path + 1; path[1];) {
                const char *end = strchrnul(c, '/');
                size_t len = (size_t)(end - c);
                if (len == 0 || (len == 1 && c[0] == '.') ||
                    (len == 2 && c[0] == '.' && c[1] == '.'))
                        return cella_err(err, EINVAL,
                                         ANN ": %s \"%s\" is not a normalised path (empty, \".\" "
                                             "or \"..\" component)",
                                         name, path);
                if (!*end)
                        break;
                c = end + 1;
        }
        return 0;
}

static int parse_lowers(char *list, struct lnx_overlay *o, struct cella_error *err)
{
        if (o->n_lowers > 0)
                return cella_err(err, EINVAL, ANN ": lowerdir is given twice");
        if (!*list)
                return cella_err(err, EINVAL, ANN ": lowerdir is empty");
        for (char *s = list;;) {
                char *colon = strchr(s, ':');
                if (colon)
                        *colon = '\0';
                if (o->n_lowers == LNX_OVERLAY_MAX_LOWERS)
                        return cella_err(err, E2BIG, ANN ": more than %d lower directories",
                                         LNX_OVERLAY_MAX_LOWERS);
                int r = check_path(s, "lowerdir", o->n_lowers, err);
                if (r < 0)
                        return r;
                o->lowers[o->n_lowers++] = s;
                if (!colon)
                        return 0;
                s = colon + 1;
        }
}

static int parse_item(char *item, struct lnx_overlay *o, struct cella_error *err)
{
        if (strcmp(item, "userxattr") == 0) {
                o->userxattr = true;
                return 0;
        }
        if (strncmp(item, "lowerdir=", 9) == 0)
                return parse_lowers(item + 9, o, err);
        const char **slot = strncmp(item, "upperdir=", 9) == 0  ? &o->upper
                            : strncmp(item, "workdir=", 8) == 0 ? &o->work
                                                                : NULL;
        if (!slot)
                return cella_err(err, EINVAL,
                                 ANN ": unknown option \"%s\" (allowed: lowerdir=, upperdir=, "
                                     "workdir=, userxattr)",
                                 item);
        const char *key = slot == &o->upper ? "upperdir" : "workdir";
        if (*slot)
                return cella_err(err, EINVAL, ANN ": %s is given twice", key);
        *slot = strchr(item, '=') + 1;
        return check_path(*slot, key, 0, err);
}

int lnx_overlay_parse(const char *value, bool userns, struct lnx_overlay *o,
                      struct cella_error *err)
{
        memset(o, 0, sizeof(*o));
        if (!*value)
                return cella_err(err, EINVAL,
                                 ANN " is empty (expected lowerdir=DIR[:DIR...][,upperdir=DIR,"
                                     "workdir=DIR][,userxattr])");
        if (strlen(value) >= sizeof(o->buf) - sizeof(",userxattr"))
                return cella_err(err, E2BIG,
                                 ANN ": the value exceeds the %zu bytes overlay "
                                     "options may take",
                                 sizeof(o->buf) - sizeof(",userxattr"));
        snprintf(o->buf, sizeof(o->buf), "%s", value);
        for (char *s = o->buf, *next; s; s = next) {
                next = strchr(s, ',');
                if (next)
                        *next++ = '\0';
                if (!*s)
                        return cella_err(err, EINVAL, ANN ": empty option in \"%s\"", value);
                int r = parse_item(s, o, err);
                if (r < 0)
                        return r;
        }
        if (o->n_lowers == 0)
                return cella_err(err, EINVAL, ANN ": lowerdir is missing");
        if (!o->upper != !o->work)
                return cella_err(err, EINVAL, ANN ": upperdir and workdir go together");
        o->userxattr = o->userxattr || userns;
        /* Rebuilt from the checked parts rather than copied, so it is exactly what was read. */
        size_t len = 0;
        len += (size_t)snprintf(o->data, sizeof(o->data), "lowerdir=");
        for (size_t i = 0; i < o->n_lowers && len < sizeof(o->data); i++)
                len += (size_t)snprintf(o->data + len, sizeof(o->data) - len, "%s%s", i ? ":" : "",
                                        o->lowers[i]);
        if (o->upper && len < sizeof(o->data))
                len += (size_t)snprintf(o->data + len, sizeof(o->data) - len,
                                        ",upperdir=%s,workdir=%s", o->upper, o->work);
        if (o->userxattr && len < sizeof(o->data))
                len += (size_t)snprintf(o->data + len, sizeof(o->data) - len, ",userxattr");
        if (len >= sizeof(o->data))
                return cella_err(err, E2BIG, ANN ": the options exceed %zu bytes",
                                 sizeof(o->data) - 1);
        return 0;
}

static int check_dir(const char *path, const char *what, size_t idx, struct cella_error *err)
{
        struct stat st;
        char name[32];
        if (strcmp(what, "lowerdir") == 0)
                snprintf(name, sizeof(name), "lowerdir[%zu]", idx);
        else
                snprintf(name, sizeof(name), "%s", what);
        if (stat(path, &st) < 0)
                return cella_errno(err, errno, ANN ": %s \"%s\"", name, path);
        if (!S_ISDIR(st.st_mode))
                return cella_err(err, ENOTDIR, ANN ": %s \"%s\" is not a directory", name, path);
        return 0;
}

static const char *annotation(const struct oci_spec *spec)
{
        for (size_t i = 0; i < spec->n_annotations; i++)
                if (strcmp(spec->annotations[i].key, LNX_OVERLAY_ANNOTATION) == 0)
                        return spec->annotations[i].value;
        return NULL;
}

int lnx_overlay_mount_rootfs(const struct oci_spec *spec, const char *rootfs, bool userns,
                             struct cella_error *err)
{
        const char *value = annotation(spec);
        if (!value)
                return 0;
        struct lnx_overlay o;
        int r = lnx_overlay_parse(value, userns, &o, err);
        for (size_t i = 0; r == 0 && i < o.n_lowers; i++)
                r = check_dir(o.lowers[i], "lowerdir", i, err);
        if (r == 0 && o.upper)
                r = check_dir(o.upper, "upperdir", 0, err);
        if (r == 0 && o.work)
                r = check_dir(o.work, "workdir", 0, err);
        if (r < 0)
                return r;
        if (mount("overlay", rootfs, "overlay", 0, o.data) < 0)
                return cella_errno(err, errno, ANN ": mount overlay on rootfs \"%s\"%s", rootfs,
                                   errno == EINVAL ? " (the kernel log says why)" : "");
        return 1;
}
