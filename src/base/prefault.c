/* SPDX-License-Identifier: Apache-2.0 */
#include "base/prefault.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Linker-defined: start of .data, end of bss. */
extern char __data_start[], _end[];

static void populate(uintptr_t lo, uintptr_t hi)
{
        uintptr_t page = (uintptr_t)getpagesize();
        lo &= ~(page - 1);
        hi = (hi + page - 1) & ~(page - 1);
        if (hi > lo)
                (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
}

void prefault_writable(size_t stack_bytes, size_t heap_bytes)
{
        populate((uintptr_t)__data_start, (uintptr_t)_end);
        char here;
        /*
         * The initial stack mapping covers at least 128 KiB below the arguments; our callers'
         * frames (some KiB above us) are written again on the way back.
         */
        populate((uintptr_t)&here - stack_bytes, (uintptr_t)&here + 8192);
        if (!heap_bytes)
                return;
        /*
         * The main arena is one brk-grown block ending at the break; it fills from the bottom,
         * which does not move: found once (a forked child inherits it without mallinfo2's
         * walk over every bin, and the code pages that takes).
         */
        static uintptr_t bottom;
        if (!bottom) {
                /* malloc grows the heap by at least 128 KiB at a time: one block sets it up. */
                free(malloc(1));
                uintptr_t top = (uintptr_t)sbrk(0), size = mallinfo2().arena;
                if (size == 0 || size > top)
                        return;
                bottom = top - size;
        }
        uintptr_t top = (uintptr_t)sbrk(0);
        if (top > bottom)
                populate(bottom, heap_bytes < top - bottom ? bottom + heap_bytes : top);
}
