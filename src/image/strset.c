/* SPDX-License-Identifier: Apache-2.0 */
#include "strset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s, size_t n)
{
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char)s[i];
                h *= 1099511628211ULL;
        }
        return h;
}

static bool slot_eq(const char *slot, const char *s, size_t n)
{
        return strncmp(slot, s, n) == 0 && slot[n] == '\0';
}

static size_t find(const struct strset *set, const char *s, size_t n)
{
        size_t mask = set->cap - 1;
        size_t i = hash(s, n) & mask;
        while (set->slots[i] && !slot_eq(set->slots[i], s, n))
                i = (i + 1) & mask;
        return i;
}

static int grow(struct strset *set)
{
        size_t ncap = set->cap ? set->cap * 2 : 256;
        struct strset bigger = {.slots = calloc(ncap, sizeof(char *)), .cap = ncap};
        if (!bigger.slots)
                return -ENOMEM;
        for (size_t i = 0; i < set->cap; i++) {
                char *s = set->slots[i];
                if (s)
                        bigger.slots[find(&bigger, s, strlen(s))] = s;
        }
        free(set->slots);
        set->slots = bigger.slots;
        set->cap = ncap;
        return 0;
}

int img_strset_add(struct strset *set, const char *s, size_t n)
{
        if ((set->len + 1) * 2 > set->cap) {
                int r = grow(set);
                if (r < 0)
                        return r;
        }
        size_t i = find(set, s, n);
        if (set->slots[i])
                return 0;
        char *copy = strndup(s, n);
        if (!copy)
                return -ENOMEM;
        set->slots[i] = copy;
        set->len++;
        return 1;
}

bool img_strset_contains(const struct strset *set, const char *s, size_t n)
{
        return set->cap && set->slots[find(set, s, n)];
}

void img_strset_free(struct strset *set)
{
        for (size_t i = 0; i < set->cap; i++)
                free(set->slots[i]);
        free(set->slots);
        *set = (struct strset){0};
}
