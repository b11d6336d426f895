/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Called from cella's ELF entry point (cella_entry) with the initial stack pointer, before
 * glibc starts: re-executes `create`, `run` and `exec` from the overlayfs view of the binary,
 * or returns to let glibc start this image. See early_exec.c.
 */
void cella_early_exec(long *sp);
