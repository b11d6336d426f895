/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The config.json `cella spec` writes, and the `features` document. */

#include <stdbool.h>

struct json_object;

/*
 * A hardened default config like Docker's (default capabilities, masked and read-only paths,
 * nosuid/nodev/noexec mounts). rootless: a user namespace mapping the caller's uid/gid to 0,
 * no network namespace, /sys bind-mounted, no cgroup resources (like `runc spec --rootless`).
 */
struct json_object *oci_default_spec(bool rootless);

/* The runtime-spec "features" document (features.md), truthful for this build. */
struct json_object *oci_features(void);

/*
 * Fills features.linux.seccomp (the oci layer does not link libseccomp, so oci_features()
 * reports it disabled). With enabled: actions and operators cella's parser accepts, the given
 * archs (NULL: every name the parser accepts) and supported flags (NULL: all known flags).
 */
void oci_features_set_seccomp(struct json_object *features, bool enabled, const char *const *archs,
                              const char *const *supported_flags);
