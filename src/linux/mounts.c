/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/mounts.h"

#include <linux/mount.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "base/cleanup.h"
#include "oci/spec.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

enum opt_kind { OPT_FLAG, OPT_PROPAGATION, OPT_REC_ATTR, OPT_SPECIAL };

struct opt {
        const char *name;
        enum opt_kind kind;
        bool clear;
        unsigned long value; /* MS_* flag(s), or MOUNT_ATTR_* for OPT_REC_ATTR */
};

#define ATIME_MASK MOUNT_ATTR__ATIME

static const struct opt opts_table[] = {
    {"async", OPT_FLAG, true, MS_SYNCHRONOUS},
    {"atime", OPT_FLAG, true, MS_NOATIME},
    {"bind", OPT_SPECIAL, false, MS_BIND},
    {"defaults", OPT_FLAG, false, 0},
    {"dev", OPT_FLAG, true, MS_NODEV},
    {"diratime", OPT_FLAG, true, MS_NODIRATIME},
    {"dirsync", OPT_FLAG, false, MS_DIRSYNC},
    {"idmap", OPT_SPECIAL, false, 0},
    {"exec", OPT_FLAG, true, MS_NOEXEC},
    {"iversion", OPT_FLAG, false, MS_I_VERSION},
    {"lazytime", OPT_FLAG, false, MS_LAZYTIME},
    {"loud", OPT_FLAG, true, MS_SILENT},
    {"mand", OPT_FLAG, false, MS_MANDLOCK},
    {"noatime", OPT_FLAG, false, MS_NOATIME},
    {"nodev", OPT_FLAG, false, MS_NODEV},
    {"nodiratime", OPT_FLAG, false, MS_NODIRATIME},
    {"noexec", OPT_FLAG, false, MS_NOEXEC},
    {"noiversion", OPT_FLAG, true, MS_I_VERSION},
    {"nolazytime", OPT_FLAG, true, MS_LAZYTIME},
    {"nomand", OPT_FLAG, true, MS_MANDLOCK},
    {"norelatime", OPT_FLAG, true, MS_RELATIME},
    {"nostrictatime", OPT_FLAG, true, MS_STRICTATIME},
    {"nosuid", OPT_FLAG, false, MS_NOSUID},
    {"nosymfollow", OPT_FLAG, false, MS_NOSYMFOLLOW},
    {"private", OPT_PROPAGATION, false, MS_PRIVATE},
    {"rbind", OPT_SPECIAL, false, MS_BIND | MS_REC},
    {"relatime", OPT_FLAG, false, MS_RELATIME},
    {"remount", OPT_FLAG, false, MS_REMOUNT},
    {"ridmap", OPT_SPECIAL, false, 0},
    {"ro", OPT_FLAG, false, MS_RDONLY},
    {"rprivate", OPT_PROPAGATION, false, MS_PRIVATE | MS_REC},
    {"rshared", OPT_PROPAGATION, false, MS_SHARED | MS_REC},
    {"rslave", OPT_PROPAGATION, false, MS_SLAVE | MS_REC},
    {"runbindable", OPT_PROPAGATION, false, MS_UNBINDABLE | MS_REC},
    {"rw", OPT_FLAG, true, MS_RDONLY},
    {"shared", OPT_PROPAGATION, false, MS_SHARED},
    {"silent", OPT_FLAG, false, MS_SILENT},
    {"slave", OPT_PROPAGATION, false, MS_SLAVE},
    {"strictatime", OPT_FLAG, false, MS_STRICTATIME},
    {"suid", OPT_FLAG, true, MS_NOSUID},
    {"symfollow", OPT_FLAG, true, MS_NOSYMFOLLOW},
    {"sync", OPT_FLAG, false, MS_SYNCHRONOUS},
    {"unbindable", OPT_PROPAGATION, false, MS_UNBINDABLE},
    /* Recursive per-mount attributes (mount_setattr(2) with AT_RECURSIVE, Linux 5.12). */
    {"rro", OPT_REC_ATTR, false, MOUNT_ATTR_RDONLY},
    {"rrw", OPT_REC_ATTR, true, MOUNT_ATTR_RDONLY},
    {"rnosuid", OPT_REC_ATTR, false, MOUNT_ATTR_NOSUID},
    {"rsuid", OPT_REC_ATTR, true, MOUNT_ATTR_NOSUID},
    {"rnodev", OPT_REC_ATTR, false, MOUNT_ATTR_NODEV},
    {"rdev", OPT_REC_ATTR, true, MOUNT_ATTR_NODEV},
    {"rnoexec", OPT_REC_ATTR, false, MOUNT_ATTR_NOEXEC},
    {"rexec", OPT_REC_ATTR, true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", OPT_REC_ATTR, false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", OPT_REC_ATTR, true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", OPT_REC_ATTR, false, MOUNT_ATTR_RELATIME},
    {"rnorelatime", OPT_REC_ATTR, true, MOUNT_ATTR_RELATIME},
    {"rnoatime", OPT_REC_ATTR, false, MOUNT_ATTR_NOATIME},
    {"ratime", OPT_REC_ATTR, true, MOUNT_ATTR_NOATIME},
    {"rstrictatime", OPT_REC_ATTR, false, MOUNT_ATTR_STRICTATIME},
    {"rnostrictatime", OPT_REC_ATTR, true, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", OPT_REC_ATTR, false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", OPT_REC_ATTR, true, MOUNT_ATTR_NOSYMFOLLOW},
    {"tmpcopyup", OPT_SPECIAL, false, 0},
};

static const struct opt *find_opt(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(opts_table); i++)
                if (strcmp(opts_table[i].name, name) == 0)
                        return &opts_table[i];
        return NULL;
}

uint64_t lnx_ms_to_mount_attr(unsigned long ms)
{
        uint64_t a = 0;
        if (ms & MS_RDONLY)
                a |= MOUNT_ATTR_RDONLY;
        if (ms & MS_NOSUID)
                a |= MOUNT_ATTR_NOSUID;
        if (ms & MS_NODEV)
                a |= MOUNT_ATTR_NODEV;
        if (ms & MS_NOEXEC)
                a |= MOUNT_ATTR_NOEXEC;
        if (ms & MS_NODIRATIME)
                a |= MOUNT_ATTR_NODIRATIME;
        if (ms & MS_NOSYMFOLLOW)
                a |= MOUNT_ATTR_NOSYMFOLLOW;
        if (ms & MS_NOATIME)
                a |= MOUNT_ATTR_NOATIME;
        else if (ms & MS_STRICTATIME)
                a |= MOUNT_ATTR_STRICTATIME;
        else if (ms & MS_RELATIME)
                a |= MOUNT_ATTR_RELATIME;
        return a;
}

static int append_data(char **data, const char *word)
{
        size_t old = *data ? strlen(*data) : 0;
        char *n = realloc(*data, old + strlen(word) + 2);
        if (!n)
                return -ENOMEM;
        if (old)
                n[old++] = ',';
        strcpy(n + old, word);
        *data = n;
        return 0;
}

static void apply_special(const struct opt *o, struct lnx_mount_opts *r)
{
        if (strcmp(o->name, "bind") == 0 || strcmp(o->name, "rbind") == 0) {
                r->bind = true;
                r->rec_bind = r->rec_bind || (o->value & MS_REC);
        } else if (strcmp(o->name, "tmpcopyup") == 0) {
                r->tmpcopyup = true;
        } else if (strcmp(o->name, "idmap") == 0 || strcmp(o->name, "ridmap") == 0) {
                r->idmap = true;
                r->rec_idmap = r->rec_idmap || o->name[0] == 'r';
        }
}

static void apply_opt(const struct opt *o, struct lnx_mount_opts *r)
{
        switch (o->kind) {
        case OPT_FLAG:
                if (o->clear)
                        r->flags &= ~o->value;
                else
                        r->flags |= o->value;
                break;
        case OPT_PROPAGATION:
                r->propagation = o->value;
                break;
        case OPT_REC_ATTR: {
                /* The atime family is one field in mount_setattr: set the mask when touched. */
                uint64_t v = o->value;
                if (o->clear) {
                        r->rec_attr_clr |= (v & ATIME_MASK) ? ATIME_MASK : v;
                        r->rec_attr_set &= ~v;
                } else {
                        if (v & ATIME_MASK || v == MOUNT_ATTR_RELATIME)
                                r->rec_attr_clr |= ATIME_MASK;
                        r->rec_attr_set |= v;
                }
                break;
        }
        case OPT_SPECIAL:
                apply_special(o, r);
                break;
        }
}

int lnx_mount_opts_parse(const struct oci_mount *m, struct lnx_mount_opts *r,
                         struct cella_error *err)
{
        memset(r, 0, sizeof(*r));
        if (m->type && strcmp(m->type, "bind") == 0)
                r->bind = true;
        for (size_t i = 0; i < m->n_options; i++) {
                const struct opt *o = find_opt(m->options[i]);
                if (o) {
                        apply_opt(o, r);
                } else if (append_data(&r->data, m->options[i]) < 0) {
                        lnx_mount_opts_free(r);
                        return cella_err(err, ENOMEM, "out of memory");
                }
        }
        if (m->n_uid_mappings || m->n_gid_mappings)
                r->idmap = true;
        if (r->idmap && !r->bind) {
                lnx_mount_opts_free(r);
                return cella_err(err, EINVAL,
                                 "mount of \"%s\": idmapped mounts (idmap, ridmap, "
                                 "uidMappings/gidMappings) need a bind mount: add \"bind\" or "
                                 "\"rbind\" to its options",
                                 m->destination);
        }
        if (r->bind) {
                r->flags |= MS_BIND | (r->rec_bind ? MS_REC : 0);
                /* Flags on a bind mount are applied afterwards with mount_setattr. */
                r->attr_set = lnx_ms_to_mount_attr(r->flags);
                if (r->attr_set & ATIME_MASK)
                        r->attr_clr |= ATIME_MASK;
        }
        return 0;
}

void lnx_mount_opts_free(struct lnx_mount_opts *opts)
{
        free(opts->data);
        opts->data = NULL;
}

const char *lnx_mount_option_name(size_t i)
{
        return i < ARRAY_SIZE(opts_table) ? opts_table[i].name : NULL;
}
