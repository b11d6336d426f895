/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A small open-addressing set of strings (the unpacker's "written by this layer" paths). */

#include <stdbool.h>
#include <stddef.h>

struct strset {
        char **slots;
        size_t cap; /* power of two */
        size_t len;
};

/* Adds a copy of s (n bytes); returns 1 if added, 0 if present, -ENOMEM. */
int img_strset_add(struct strset *set, const char *s, size_t n);
bool img_strset_contains(const struct strset *set, const char *s, size_t n);
void img_strset_free(struct strset *set);
