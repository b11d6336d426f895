/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The image config's "User" ("name", "uid", "name:group", "uid:gid", ...) resolved against the
 * image's own /etc/passwd and /etc/group, the way Docker does: a name must exist, a number need
 * not; the primary group defaults to the user's passwd entry (else 0); supplementary groups are
 * the /etc/group entries that list the user.
 */

#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

#define IMG_USER_MAX_GROUPS 64

struct img_user {
        uid_t uid;
        gid_t gid;
        gid_t groups[IMG_USER_MAX_GROUPS];
        size_t n_groups;
};

/* passwd/group: the files' text, or NULL when the image has none. */
int img_user_resolve(const char *spec, const char *passwd, const char *group, struct img_user *ret,
                     struct cella_error *err);
