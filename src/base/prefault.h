/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Touching a page for the first time costs a page fault; on some virtual machines (e.g. PVM
 * guests) a fault costs ~11 us while MADV_POPULATE_WRITE makes a page present for ~0.7 us.
 * After clone(), every page either process writes is a copy-on-write fault again. cella's
 * writable memory is small (static binary: ~60 KiB data and bss, ~60 KiB heap, ~50 KiB
 * stack), so it is made present in one call each instead of one fault per page.
 * Best effort: errors (kernels before 5.14) are ignored. See docs/benchmarks.md.
 */

#include <stddef.h>

/*
 * Makes present (and private, breaking copy-on-write) the data and bss segments, the stack
 * from stack_bytes below the caller's frame to 8 KiB above it, and the first heap_bytes of
 * the heap (set up first if need be). stack_bytes must stay within the stack mapping.
 */
void prefault_writable(size_t stack_bytes, size_t heap_bytes);
