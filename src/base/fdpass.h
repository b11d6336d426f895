/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* One message with file descriptors attached (SCM_RIGHTS) over a Unix socket. */

#include <stddef.h>
#include <sys/types.h>

#define FDPASS_MAX 32

/* Sends buf (len bytes) with n fds (n <= FDPASS_MAX). Returns bytes sent or -errno. */
ssize_t fdpass_send(int sock, const void *buf, size_t len, const int *fds, size_t n);

/*
 * Receives one message into buf (at most len bytes) and up to max fds (close-on-exec) into
 * fds, their number in *ret_n. Returns bytes received (0: EOF) or -errno; -EBADMSG when the
 * fds did not fit (those that came are closed).
 */
ssize_t fdpass_recv(int sock, void *buf, size_t len, int *fds, size_t max, size_t *ret_n);
