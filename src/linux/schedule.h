/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* process.scheduler (sched_setattr), process.ioPriority (ioprio_set), linux.personality. */

#include "base/error.h"
#include "oci/spec.h"

int lnx_sched_validate(const struct oci_spec *spec, struct cella_error *err);
int lnx_sched_apply(const struct oci_process *p, struct cella_error *err);
int lnx_personality_apply(const struct oci_spec *spec, struct cella_error *err);
