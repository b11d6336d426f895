/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Capabilities, applied without libcap: bounding set, uid switch, then capset and ambient. */

#include "base/error.h"
#include "oci/spec.h"

/* Drops every capability not in the bounding set (needs CAP_SETPCAP: call while still root). */
int lnx_caps_drop_bounding(const struct oci_capabilities *caps, struct cella_error *err);

/* Sets effective, permitted, inheritable and then raises ambient. Call after the uid switch. */
int lnx_caps_apply(const struct oci_capabilities *caps, struct cella_error *err);

/* Highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap). */
int lnx_cap_last_cap(void);
