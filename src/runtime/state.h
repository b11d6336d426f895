/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The state store: <root>/<id>/ holds state.json (written atomically) and exec.fifo (present
 * between create and start). Every command that changes a container takes an exclusive flock
 * on the container directory. A directory without state.json whose lock is held is a
 * container being created; pid reuse is detected by the init's start time.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"
#include "cgroup/cgroup.h"

enum rt_status { RT_CREATING, RT_CREATED, RT_RUNNING, RT_PAUSED, RT_STOPPED };

struct rt_state {
        char *id;
        pid_t pid;
        unsigned long long start_time; /* /proc/PID/stat field 22 of the init */
        char *bundle;
        char *rootfs;
        char *created; /* RFC 3339 with nanoseconds, UTC */
        char *owner;
        struct json_object *annotations; /* object, may be NULL */
        struct json_object *hooks;       /* {"poststart": [...], "poststop": [...]}, may be NULL */
        bool has_cgroup;
        struct cgroup cg;
};

const char *rt_status_name(enum rt_status s);

/* Checks a container id: [A-Za-z0-9_+.-]+, not "." or "..", at most 1024 bytes. */
int rt_id_validate(const char *id, struct cella_error *err);

/* Opens (creating if needed) the state root directory. */
int rt_root_open(const char *root, bool create, struct cella_error *err);

/* Creates <root>/<id> and locks it; EEXIST if the id is in use. Returns the dir fd. */
int rt_container_dir_create(int root_fd, const char *id, struct cella_error *err);
/* Opens and (if lock) exclusively locks <root>/<id>; ENOENT with a clear message. */
int rt_container_dir_open(int root_fd, const char *id, bool lock, struct cella_error *err);
int rt_container_dir_remove(int root_fd, const char *id);

/*
 * state.json in two steps: create writes it while the init sets up, and publishes it with one
 * rename once the init is ready (readers that take no lock must not see "created" before).
 */
int rt_state_stage(int dir_fd, const struct rt_state *st, struct cella_error *err);
int rt_state_publish(int dir_fd, const char *id, struct cella_error *err);
int rt_state_load(int dir_fd, const char *id, struct rt_state *st, struct cella_error *err);
/* The parsing half of rt_state_load (a fuzz target: the state dir is writable by root only,
 * but a corrupt file must still give an error, not a crash). */
int rt_state_parse(const char *text, size_t len, const char *id, struct rt_state *st,
                   struct cella_error *err);
void rt_state_free(struct rt_state *st);

/* The status now, from the init's liveness, exec.fifo and the freezer. */
enum rt_status rt_state_status(int dir_fd, const struct rt_state *st);

/* The OCI state document (runc's field set) as a new JSON object. */
struct json_object *rt_state_to_oci(const struct rt_state *st, enum rt_status status);

/* pid as seen inside its own pid namespace (the last NSpid field), pid itself if unknown. */
pid_t rt_pid_in_container(pid_t pid);

/* Start time of pid from /proc, 0 if it is gone (or a zombie). */
unsigned long long rt_pid_start_time(pid_t pid);
