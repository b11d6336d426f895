/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Parent <-> container-init protocol over one SOCK_SEQPACKET|SOCK_CLOEXEC socketpair.
 * Each message is one struct rt_sync_msg (fixed size, so an error travels without allocation).
 *
 *   parent (cella create)                      child (container init)
 *   ---------------------                      ----------------------
 *                                              [slow path: setns by path, unshare, fork;
 *                  <------------------ PID      the intermediate reports the init's pid]
 *   write id maps
 *   GO  ------------------------------------>  (only after id maps) namespaces, rlimits,
 *   create the cgroup, apply resources,         mounts ...
 *   open the v1 "tasks" files, make the
 *   network namespace (meanwhile)
 *   CGROUP + fds  -------------------------->  ... waited for before the first "cgroup" or
 *                                              "sysfs" mount (else after the devices):
 *                                              writes "0" to each tasks fd (joins), setns
 *                                              to the netns fd, cgroup ns, scheduler;
 *                                              the rest of the mounts, console
 *                  <------------------ HOOKS    (only when prestart/createRuntime/
 *   run prestart + createRuntime hooks          createContainer hooks exist)
 *   HOOKS_DONE  ---------------------------->  pivot_root, masks, sysctl, user, caps, seccomp
 *                  <------ SECCOMP_FD + fd      (only with SCMP_ACT_NOTIFY rules)
 *   send it to listenerPath
 *   SECCOMP_FD_DONE  ----------------------->
 *                  <------------------ READY    then waits on exec.fifo for `start`
 *                  <------------------ ERROR    (instead, on any failure: code + message)
 *
 * EOF before READY means the child died; the parent reports its exit status.
 */

#include <sys/types.h>

#include "base/error.h"

enum rt_sync_type {
        RT_SYNC_PID = 1,
        RT_SYNC_GO,
        RT_SYNC_HOOKS,
        RT_SYNC_HOOKS_DONE,
        RT_SYNC_READY,
        RT_SYNC_ERROR,
        RT_SYNC_SECCOMP_FD, /* followed by one SCM_RIGHTS message carrying the fd */
        RT_SYNC_SECCOMP_FD_DONE,
        RT_SYNC_CGROUP, /* the cgroup is ready; carries the fds the init joins it through */
};

struct rt_sync_msg {
        enum rt_sync_type type;
        pid_t pid;
        struct cella_error err;
};

int rt_sync_send(int fd, enum rt_sync_type type, pid_t pid, const struct cella_error *err);
/* Returns 0 and fills msg, -EPIPE on EOF, other negative errno on failure. */
int rt_sync_recv(int fd, struct rt_sync_msg *msg);
/* The same with n fds (n <= RT_SYNC_MAX_FDS) attached by SCM_RIGHTS; the message's pid is n. */
#define RT_SYNC_MAX_FDS 17 /* a tasks file per cgroup hierarchy, a network namespace */
int rt_sync_send_fds(int fd, enum rt_sync_type type, const int *fds, size_t n);
/* Receives such a message: the fds (close-on-exec) into fds, their number into *ret_n. */
int rt_sync_recv_fds(int fd, struct rt_sync_msg *msg, int *fds, size_t *ret_n);
