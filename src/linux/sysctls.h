/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* linux.sysctl: only namespaced keys, each requiring the namespace it lives in. */

#include "base/error.h"
#include "oci/spec.h"

/* Checks every key is namespaced and that its namespace is a new one (runc's rules). */
int lnx_sysctl_validate(const struct oci_spec *spec, struct cella_error *err);

/*
 * Writes the values under the container's /proc/sys, resolved inside root_fd; before the
 * read-only paths are applied, since /proc/sys is usually one of them.
 */
int lnx_sysctl_apply(int root_fd, const struct oci_spec *spec, struct cella_error *err);
