/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The container lifecycle, as the runc-compatible CLI drives it. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

struct rt_create_opts {
        const char *bundle;         /* default: the current directory */
        const char *console_socket; /* required when process.terminal and detached */
        const char *pid_file;
        bool no_pivot;
        bool no_new_keyring;
        int preserve_fds;    /* fds 3 .. 3+N-1 are passed to the container */
        int listen_fds;      /* socket activation (rt_listen_fds()): passed before preserve_fds */
        bool systemd_cgroup; /* --systemd-cgroup: cgroupsPath is "slice:prefix:name" */
};

/* Creates the container; returns when it is "created" (init waiting on exec.fifo). */
int rt_create(const char *root, const char *id, const struct rt_create_opts *o,
              struct cella_error *err);

/* Starts a created container (unblocks its init). */
int rt_start(const char *root, const char *id, struct cella_error *err);

/*
 * create + start. Foreground (detach false): forwards signals, proxies a terminal if the
 * container asks for one and no console socket is given, waits, and unless keep deletes the
 * container; *ret_status is the exit code to use (128+N if killed by signal N).
 */
int rt_run(const char *root, const char *id, const struct rt_create_opts *o, bool detach, bool keep,
           int *ret_status, struct cella_error *err);

int rt_kill(const char *root, const char *id, int sig, bool all, struct cella_error *err);
int rt_delete(const char *root, const char *id, bool force, struct cella_error *err);

/* The OCI state of one container, or an array of all (for list). */
int rt_state(const char *root, const char *id, struct json_object **ret, struct cella_error *err);
int rt_list(const char *root, struct json_object **ret_array, struct cella_error *err);

struct oci_resources;

/* pause / resume: freeze or thaw every process (running <-> paused). */
int rt_pause(const char *root, const char *id, bool pause, struct cella_error *err);

/* The pids in the container's cgroup (malloc'd). */
int rt_pids(const char *root, const char *id, pid_t **ret_pids, size_t *ret_n,
            struct cella_error *err);

/* Applies new resource limits to a running (or created, or paused) container. */
int rt_update(const char *root, const char *id, const struct oci_resources *res,
              struct cella_error *err);

/*
 * runc's `events`: with stats_once, prints one {"type":"stats",...} line; otherwise prints a
 * stats line every interval_ms and an {"type":"oom"} line on each OOM kill, until the
 * container stops. Lines go to stdout.
 */
int rt_events(const char *root, const char *id, bool stats_once, int interval_ms,
              struct cella_error *err);
