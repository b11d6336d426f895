/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Pure value conversions between runtime-spec resources (written in cgroup v1 terms) and the
 * cgroup v2 interface files. No I/O; unit-tested on their own.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/*
 * cpu.shares [2, 262144] -> cpu.weight [1, 10000]. The quadratic mapping in log2 space that
 * crun (1.23+) and runc (1.3.2+) use, so the v1 default 1024 becomes the v2 default 100 and the
 * ends map to the ends (the older linear formula turned 1024 into 39). 0 means unset: 0.
 */
uint64_t cg_shares_to_weight(uint64_t shares);

/* blkio.weight [10, 1000] -> io.weight [1, 10000]: 1 + (w - 10) * 9999 / 990 (runc, crun). */
uint64_t cg_blkio_to_io_weight(uint64_t weight);

/*
 * memory.swap (v1: memory+swap) -> memory.swap.max (swap alone), like runc:
 * swap -1 -> -1 ("max"); swap 0 -> 0 (unset), except limit -1 with swap unset -> -1; otherwise
 * swap - limit, an error if there is no limit or swap < limit.
 */
int cg_swap_to_v2(int64_t swap, int64_t limit, int64_t *ret, struct cella_error *err);

/* A v2 memory-style value: -1 (or any negative) -> "max", else the number. buf >= 24 bytes. */
const char *cg_v2_limit(int64_t v, char buf[static 24]);

/* cpu.max content: "<quota|max>[ <period>]"; quota <= 0 is "max", period 0 keeps the period. */
void cg_cpu_max(bool has_quota, int64_t quota, bool has_period, uint64_t period, char *buf,
                size_t size);

/* "MAJ:MIN" with -1 as "*" (v1 device rules). buf >= 48 bytes. */
const char *cg_devnum(int64_t major, int64_t minor, char buf[static 48]);

/*
 * Validates a linux.resources.unified key: a plain "controller.name" file name, no path
 * separators, and not one of the files that move or kill processes.
 */
int cg_unified_key_check(const char *key, struct cella_error *err);
