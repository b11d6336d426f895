/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Linux security modules: process.apparmorProfile, process.selinuxLabel, linux.mountLabel.
 * Behaviour matches runc's: a SELinux label on a host without SELinux is ignored (logged at
 * debug level), while an AppArmor profile on a host without AppArmor is an error, since the
 * container would silently run unconfined.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "oci/spec.h"

struct lnx_lsm {
        bool apparmor;
        bool selinux;
};

/* Reads which LSMs are enabled below sysroot ("" for the real host; tests pass a fake tree). */
void lnx_lsm_detect(const char *sysroot, struct lnx_lsm *ret);

/* Checks the spec's LSM fields against what the host has. */
int lnx_lsm_validate(const struct oci_spec *spec, const struct lnx_lsm *lsm,
                     struct cella_error *err);

/*
 * The text to write to the exec attribute (/proc/self/attr/apparmor/exec or /proc/self/attr/exec)
 * so that the next execve enters the profile or label; NULL when there is nothing to apply.
 */
const char *lnx_lsm_exec_attr(const struct oci_spec *spec, const struct lnx_lsm *lsm, char *buf,
                              size_t size, const char **ret_file);

/* Applies the exec attribute for the container process (call before execve). */
int lnx_lsm_apply(const struct oci_spec *spec, const struct lnx_lsm *lsm, struct cella_error *err);
