/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Helpers shared by the runtime's commands (not part of its public interface). */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"
#include "oci/spec.h"
#include "runtime/state.h"

struct rt_ctx;
struct rt_create_opts;

/*
 * create, with the context kept for `run`. ret_console_peer non-NULL means foreground: a
 * terminal needs no console socket; the pty master arrives on *ret_console_peer instead.
 */
int rt_create_ctx(struct rt_ctx *c, const char *root, const char *id,
                  const struct rt_create_opts *o, int *ret_console_peer, struct cella_error *err);
void rt_ctx_release(struct rt_ctx *c);

/*
 * Fds the caller of cella left open (not LISTEN_FDS or --preserve-fds) must not stay
 * reachable through our /proc/PID/fd while we set up (CVE-2024-21626 class): the init and the
 * intermediate close all but theirs right away. (child.c)
 */
void rt_close_inherited_fds(const struct rt_ctx *c);

int rt_write_pid_file(const char *path, pid_t pid, struct cella_error *err);

/*
 * Becomes the process of the spec, for the init and for exec: drops the bounding set, switches
 * to process.user (without setgroups(2) where the user namespace denies it, as runc does),
 * arranges the other capability sets, enters process.cwd inside the root, and finds what to
 * execve with which environment (ret_env: allocated; exe: the resolved path). (exec.c)
 */
int rt_assume_identity(const struct oci_process *p, bool setgroups_allowed, char ***ret_env,
                       char *exe, size_t exe_size, struct cella_error *err);

/* spec annotations as a JSON object (NULL if none). */
struct json_object *rt_annotations_json(const struct oci_spec *spec);

/* An existing container: state root, its (optionally locked) directory and loaded state. */
struct handle {
        int root_fd, dir_fd;
        struct rt_state st;
        bool loaded;
};

int handle_open(struct handle *h, const char *root, const char *id, bool lock,
                struct cella_error *err);
void handle_close(struct handle *h);

/*
 * For `run`: the handle `start` and `delete` would open (still locked), made from what create
 * knows instead of reading state.json back. The context keeps no cgroup or state fds after it.
 */
int rt_ctx_take_handle(struct rt_ctx *c, struct handle *h, struct cella_error *err);

/* start on a locked handle, which stays open, unlocked, for the caller. */
int rt_start_handle(struct handle *h, struct cella_error *err);
/* delete on an open handle (locked or not): nothing if its directory is no longer the id's. */
int rt_delete_handle(struct handle *h, bool force, struct cella_error *err);
