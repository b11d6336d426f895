/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* `exec`: run a new process inside an existing container (runc's flags and semantics). */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

struct rt_exec_opts {
        /* --process: a process.json; then args and every override below except the fd,
         * pid-file, cgroup and detach options are ignored (as in runc). */
        const char *process_file;
        /* Otherwise the container's config.json process with these args (NULL-terminated). */
        char *const *args;
        const char *cwd;
        const char *user; /* "uid[:gid]" */
        const char *apparmor;
        const char *process_label;
        const char *const *env; /* appended; a later KEY= replaces an earlier one */
        size_t n_env;
        const char *const *caps; /* added to bounding, effective, permitted and ambient */
        size_t n_caps;
        const char *const *additional_gids;
        size_t n_additional_gids;
        int tty;          /* -1: not given (false), 0, 1 */
        int no_new_privs; /* -1: not given (the config's), 0, 1 */

        const char *console_socket;
        const char *pid_file;
        const char *const *cgroups; /* --cgroup: "[controller:]path" below the container's */
        size_t n_cgroups;
        int preserve_fds;
        bool detach;
        bool ignore_paused;
};

/*
 * Runs the process in every namespace and the cgroup of container id. Foreground (detach
 * false): forwards signals, proxies the terminal when there is one and no console socket,
 * waits, and sets *ret_status to the process's exit code (128+N if killed by signal N).
 * Detached: returns once the process has called execve. Errors from the process before
 * execve are returned here.
 */
int rt_exec(const char *root, const char *id, const struct rt_exec_opts *o, int *ret_status,
            struct cella_error *err);
