/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * OCI hooks: each runs with the container state JSON on stdin, its own args and env, and an
 * optional timeout; stdout and stderr go to the runtime log (or stderr without --log).
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "oci/spec.h"

struct rt_ctx;

/*
 * Runs every hook of one kind from a JSON array (as stored in the state). ns_pid > 0: in the
 * namespaces of that process (startContainer). keep_going: a failure is logged as a warning and
 * the remaining hooks run (poststart, poststop); the last failure is returned.
 */
int rt_hooks_run_json(struct json_object *hooks, const char *kind, const char *state_json,
                      pid_t ns_pid, bool keep_going, struct cella_error *err);
/* Runs every hook of one kind from the spec; stops at the first failure. */
int rt_hooks_run(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state_json,
                 struct cella_error *err);

/* prestart + createRuntime in the runtime namespace, createContainer in the container's. */
int rt_run_create_hooks(struct rt_ctx *c, struct cella_error *err);

/* startContainer, poststart and poststop hooks as {"poststart": [...], ...} (NULL if none),
 * kept in the state for the commands that run them. */
struct json_object *rt_hooks_state_json(const struct oci_spec *spec);
