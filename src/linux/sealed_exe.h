/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * CVE-2019-5736: a container process that gets the runtime's binary executed inside the
 * container (an image whose /bin/sh is "#!/proc/self/exe", run by `exec`) can hold a handle
 * to it and, once the runtime exits, reopen it for writing through /proc/PID/fd and replace
 * the host binary. Like runc and crun, cella re-executes itself from a sealed memfd before it
 * starts container code: the only binary a container can ever reach is an immutable copy.
 */

#include "base/error.h"

/*
 * Returns 0 if already running from a sealed copy; otherwise copies the loadable part of
 * /proc/self/exe into a sealed memfd and execs it with the same argv and envp (does not
 * return on success).
 */
int lnx_ensure_sealed_self(char **argv, char **envp, struct cella_error *err);
