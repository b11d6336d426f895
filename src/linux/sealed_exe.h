/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * CVE-2019-5736: a container process that gets the runtime's binary executed inside the
 * container (an image whose /bin/sh is "#!/proc/self/exe", run by `exec`) can hold a handle
 * to it and, once the runtime exits, reopen it for writing through /proc/PID/fd and replace
 * the host binary. Like runc and crun, cella re-executes itself from a view of its binary that
 * cannot be written before it starts container code: the only binary a container can ever
 * reach is immutable.
 */

#include "base/error.h"

/*
 * Returns 0 if already running from such a view; otherwise execs the binary again, with the
 * same argv and environment (does not return on success), from
 *  - a private overlayfs with no upper layer whose top layer is the binary's directory
 *    (zero-copy, as runc 1.2 does; needs CAP_SYS_ADMIN). overlayfs needs a second lower
 *    layer: spare_dir, any existing directory that neither contains nor lies inside the
 *    binary's directory (cella passes its state root); NULL skips this way;
 *  - else a sealed memfd copy of the loadable part of /proc/self/exe (as crun does).
 */
int lnx_ensure_sealed_self(char **argv, const char *spare_dir, struct cella_error *err);
