/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Mount options of the runtime-spec (config.md "mounts", runc's table) translated into what
 * mount(2) and mount_setattr(2) take. Parsing is pure logic, unit tested; the mounting itself
 * happens in rootfs.c with every target resolved inside the rootfs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct oci_mount;

struct lnx_mount_opts {
        unsigned long flags;         /* MS_* for mount(2) (bind: MS_BIND[|MS_REC]) */
        unsigned long propagation;   /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE [|MS_REC], 0 if none */
        uint64_t attr_set, attr_clr; /* per-mount attributes to apply after a bind mount */
        uint64_t rec_attr_set, rec_attr_clr; /* rro, rnosuid, ...: mount_setattr(AT_RECURSIVE) */
        bool bind, rec_bind;
        bool idmap, rec_idmap; /* idmap/ridmap, or the mount has uidMappings/gidMappings */
        bool tmpcopyup;
        char *data; /* remaining options joined with ',' (e.g. "mode=755,size=65536k"), or NULL */
};

/* Parses m->options (and m->type "bind") into opts. Unknown words go into data, like runc. */
int lnx_mount_opts_parse(const struct oci_mount *m, struct lnx_mount_opts *ret_opts,
                         struct cella_error *err);
void lnx_mount_opts_free(struct lnx_mount_opts *opts);

/* MS_* flags that for a bind mount must be applied by a second step (remount/setattr). */
uint64_t lnx_ms_to_mount_attr(unsigned long ms_flags);

/* The i-th known option name (for the features document), NULL past the end. */
const char *lnx_mount_option_name(size_t i);
