/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * systemd's service protocols through the container, as runc does them:
 *
 * Socket activation: when cella runs with LISTEN_PID == its pid and LISTEN_FDS=N, fds 3 ..
 * 3+N-1 pass to the container init at the same numbers (before --preserve-fds ones), and the
 * process gets LISTEN_FDS=N and LISTEN_PID=1.
 *
 * sd_notify: when NOTIFY_SOCKET is set, `create` bind-mounts <state>/<id>/notify (read-only)
 * at /run/notify and sets NOTIFY_SOCKET=/run/notify/notify.sock in the process. `start`
 * binds that datagram socket, starts the init, waits for the container's READY=... (or the
 * init's exit) and forwards it to the host's NOTIFY_SOCKET with MAINPID=<init pid> and a
 * BARRIER=1 handshake (sd_notify_barrier), so the unit becomes ready when the container is.
 */

#include <sys/types.h>

#include "base/error.h"
#include "oci/spec.h"

#define RT_NOTIFY_DIR_IN_CONTAINER "/run/notify"

/* The number of socket-activation fds passed to us (0 if none, or not for our pid). */
int rt_listen_fds(void);

/*
 * create: adds LISTEN_FDS/LISTEN_PID (listen_fds > 0) and the notify mount and env
 * (NOTIFY_SOCKET set) to the spec; makes <dir_fd>/notify.
 */
int rt_activation_setup(struct oci_spec *spec, int dir_fd, int listen_fds, struct cella_error *err);

/*
 * start: binds <dir_fd>/notify/notify.sock into *ret_fd; -1 there when NOTIFY_SOCKET is unset
 * or the container was created without it.
 */
int rt_notify_bind(int dir_fd, int *ret_fd, struct cella_error *err);

/*
 * start, after the init runs: waits for READY=... on sock or the end of pid (pidfd), then
 * notifies the host. Closes sock.
 */
int rt_notify_forward(int sock, pid_t pid, struct cella_error *err);
