/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The container process's own attributes: rlimits, OOM score, user, keyring, executable. */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "oci/spec.h"

int lnx_set_rlimits(const struct oci_process *p, struct cella_error *err);
int lnx_set_oom_score_adj(const struct oci_process *p, struct cella_error *err);

/* Joins a fresh session keyring named after the container (runc's default). */
int lnx_new_session_keyring(const char *id, struct cella_error *err);

/*
 * Switches to process.user: supplementary groups, gid, uid and umask. Keeps the permitted
 * capabilities across the switch (PR_SET_KEEPCAPS) so lnx_caps_apply can set them afterwards.
 * setgroups_allowed: false in a user namespace where setgroups(2) was denied.
 */
int lnx_switch_user(const struct oci_process *p, bool setgroups_allowed, struct cella_error *err);

/*
 * Resolves args[0] the way execvp does, using PATH from process.env, and checks it is an
 * executable file: errors reach the user at create time rather than being lost after start.
 */
int lnx_find_executable(const struct oci_process *p, char *ret_path, size_t size,
                        struct cella_error *err);

/*
 * process.env with HOME added when it is missing, taken from the container's /etc/passwd for
 * process.user.uid ("/" if none), as runc does. Call inside the container. Never freed: the
 * caller execs.
 */
char **lnx_env_with_home(const struct oci_process *p);

/*
 * chdir to process.cwd inside our (already pivoted or chrooted) root, resolved with openat2
 * RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS: "/proc/self/fd/N" cannot lead to a host directory
 * held by an inherited fd (CVE-2024-21626).
 */
int lnx_chdir_in_root(const char *cwd, struct cella_error *err);

int lnx_set_hostname(const struct oci_spec *spec, struct cella_error *err);

/*
 * The signals this process ignores (bit n-1 for signal n), from /proc/self/status "SigIgn";
 * all ones when that cannot be read. A process that never installs handlers (cella) has
 * only default or ignored dispositions (execve resets handlers, keeps SIG_IGN), so these are
 * the only ones a child must reset before execve.
 */
unsigned long long lnx_ignored_signals(void);
/* Sets the signals in mask (lnx_ignored_signals) back to SIG_DFL and unblocks every signal. */
void lnx_reset_signals(unsigned long long mask);
