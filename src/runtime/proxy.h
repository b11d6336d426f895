/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The foreground proxy shared by `run` and `exec`: cella stays the process's parent (or
 * subreaper), forwards the signals it receives, proxies a pty master to its own stdio, and
 * reports the process's exit status.
 */

#include <sys/types.h>

#include "base/error.h"

/*
 * Blocks every signal that can be forwarded (not the ones the kernel uses to report our own
 * faults, nor job-control stops) and returns a nonblocking signalfd for them. Call it before
 * the process is forked, so no signal meant for it is lost in between.
 */
int rt_proxy_signalfd(struct cella_error *err);

/*
 * Until pid exits: forwards signals from sfd to it, reaps every child, resizes and pumps the
 * pty master (if >= 0; stdin goes raw while it is proxied). Drains what the process wrote
 * before it exited, closes master and returns pid's exit code (128+N when killed by signal N).
 */
int rt_proxy_wait(pid_t pid, int sfd, int master);
