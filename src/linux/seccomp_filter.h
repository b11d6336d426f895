/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * runtime-spec linux.seccomp, through libseccomp.
 *
 * Life of a filter in `cella create`:
 *
 *   parent, before clone:   lnx_seccomp_prepare()   validate + compile to a BPF program
 *   container child, last:  lnx_seccomp_load()      seccomp(2) with the spec's flags; returns
 *                                                   the listener fd if any rule is NOTIFY
 *   child -> parent:        the listener fd over the sync socket (SCM_RIGHTS)
 *   parent:                 lnx_seccomp_send_notify_fd()   to linux.seccomp.listenerPath
 *   parent:                 lnx_seccomp_free()
 *
 * Compiling happens in the parent so that every error reaches the user with the JSON path of
 * the bad field, and so the child does no allocation and no libseccomp work: loading is one
 * system call. The program is loaded with seccomp(2) directly (not seccomp_load()) because
 * libseccomp 2.5 does not know SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, and because the kernel
 * then hands us the listener fd without a second libseccomp call.
 *
 * Loading needs no_new_privs or CAP_SYS_ADMIN in the caller's user namespace; the filter does
 * not set no_new_privs itself (process.noNewPrivileges decides, as in runc). A runtime that
 * does not set no_new_privs must load the filter before it drops CAP_SYS_ADMIN.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "oci/spec.h"

struct lnx_seccomp;

/*
 * Validates s and compiles it. Errors name the JSON path, e.g.
 *   linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"
 * Syscall names unknown to libseccomp are skipped with a debug log (as runc does); rules whose
 * action equals the default action are dropped. Several args on the same index are ORed (each
 * becomes its own rule, as runc does); args on different indexes are ANDed.
 * SCMP_ACT_NOTIFY needs listenerPath, cannot be the default action and cannot apply to
 * write/send/sendto/sendmsg (the runtime needs them to hand the listener fd over and to report
 * READY after the filter is loaded). Call in the runtime before clone.
 */
int lnx_seccomp_prepare(const struct oci_seccomp *s, struct lnx_seccomp **ret_filter,
                        struct cella_error *err);

/*
 * Like lnx_seccomp_prepare(), but reuses a program compiled earlier for an identical profile
 * (same profile, cella and libseccomp version) from the directory cache_dir_fd and stores new
 * ones there. Compiling Docker's profile for its three x86 ABIs costs ~15 ms, a hit well under
 * 1 ms. The directory must be writable by the runtime only (e.g. <state root>/seccomp-cache):
 * entries are trusted programs. Validation always runs; cache_dir_fd < 0 means no cache.
 */
int lnx_seccomp_prepare_cached(const struct oci_seccomp *s, int cache_dir_fd,
                               struct lnx_seccomp **ret_filter, struct cella_error *err);

/* Does any rule use SCMP_ACT_NOTIFY (so lnx_seccomp_load() returns a listener fd)? */
bool lnx_seccomp_uses_notify(const struct lnx_seccomp *f);

/*
 * Installs the filter in the calling process. Call in the container child as the very last
 * step before execve (after capabilities, user and no_new_privs). *ret_notify_fd receives the
 * O_CLOEXEC listener fd if the filter uses NOTIFY, else -1. f == NULL is a no-op. Does not
 * allocate, so it is safe in a child forked from a multi-threaded parent.
 */
int lnx_seccomp_load(const struct lnx_seccomp *f, int *ret_notify_fd, struct cella_error *err);

/*
 * Sends the runtime-spec containerProcessState to the seccomp agent at listener_path (a unix
 * stream socket): {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state"} with
 * notify_fd attached by SCM_RIGHTS. state_json is the container's state object (as `state`
 * prints it; its "pid" and "ociVersion" are reused); metadata is listenerMetadata or NULL.
 * Call in the runtime after it received the fd from the child. Does not close notify_fd.
 */
int lnx_seccomp_send_notify_fd(const char *listener_path, int notify_fd, const char *state_json,
                               const char *metadata, struct cella_error *err);

void lnx_seccomp_free(struct lnx_seccomp *f);

/*
 * Writes libseccomp's human-readable rendering of the filter to fd (for debugging and tests).
 * -ENODATA for a filter that came from the cache.
 */
int lnx_seccomp_export_pfc(const struct lnx_seccomp *f, int fd);

/* Number of BPF instructions of the compiled program. */
size_t lnx_seccomp_program_size(const struct lnx_seccomp *f);

/*
 * The `linux.seccomp` object of the runtime-spec features document: enabled, actions,
 * operators, archs, knownFlags, supportedFlags. Actions and flags are probed in the running
 * kernel, archs in libseccomp. Caller owns the reference.
 */
struct json_object *lnx_seccomp_features(void);

/*
 * cella's default profile as a runtime-spec linux.seccomp object, equivalent in effect to
 * Docker's default profile for a container with Docker's default capabilities on this
 * machine's architecture. See docs/seccomp.md.
 */
struct json_object *lnx_seccomp_default_profile(void);

/*
 * The default profile for a container whose bounding set is caps (bit N = capability N):
 * capability-gated rules are included or excluded as Docker does (e.g. CAP_SYS_ADMIN allows
 * mount, unshare, setns and unrestricted clone).
 */
struct json_object *lnx_seccomp_default_profile_for_caps(uint64_t caps);
