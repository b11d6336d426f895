/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* /dev in the container: the default devices, linux.devices, and the standard symlinks. */

#include <stdbool.h>

#include "base/error.h"
#include "oci/spec.h"

/*
 * Creates the default devices (null, zero, full, random, urandom, tty), then linux.devices,
 * then /dev/fd, /dev/std{in,out,err}, /dev/ptmx links. In a user namespace mknod is not
 * allowed, so the host's device node is bind-mounted onto an empty file instead (as runc does).
 */
int lnx_devices_setup(int root_fd, const struct oci_spec *spec, bool userns,
                      struct cella_error *err);
