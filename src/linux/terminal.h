/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * process.terminal: a pty from the container's own devpts instance. The master goes to the
 * caller (the --console-socket, by SCM_RIGHTS with the pty name as payload, as containerd and
 * podman expect); the slave becomes /dev/console and the process's controlling terminal.
 */

#include "base/error.h"
#include "oci/spec.h"

/*
 * Before pivot_root: opens dev/pts/ptmx inside the rootfs, sizes it, and bind-mounts the slave
 * onto dev/console. Returns the master in *ret_master and the slave in *ret_slave.
 */
int lnx_terminal_open(int root_fd, const struct oci_process *p, int *ret_master, int *ret_slave,
                      struct cella_error *err);

/* Sends the master fd over a connected unix socket. */
int lnx_send_fd(int sock, int fd, const char *name, struct cella_error *err);

/* Receives one fd sent by lnx_send_fd (used by tests and by `run` with a terminal). */
int lnx_recv_fd(int sock, int *ret_fd);

/* After pivot_root: new session, slave as controlling terminal, and as fds 0, 1 and 2. */
int lnx_terminal_make_controlling(int slave, struct cella_error *err);
