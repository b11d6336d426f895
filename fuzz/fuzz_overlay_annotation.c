/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the io.cella.rootfs.overlay annotation check (src/linux/overlay.c): any
 * value config.json may carry. Bad input gives a clean error naming the annotation; accepted
 * input gives mount options with nothing but the four allowed options, absolute paths, and no
 * character the overlay option syntax would read as another option, layer or escape.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linux/overlay.h"

static void check(int cond)
{
        if (!cond)
                abort();
}

static void check_path(const char *p)
{
        check(p[0] == '/');
        check(!strpbrk(p, ",:\\") && !strstr(p, "//") && !strstr(p, "/./") && !strstr(p, "/../"));
}

static void check_data(const struct lnx_overlay *o)
{
        check(o->n_lowers > 0 && o->n_lowers <= LNX_OVERLAY_MAX_LOWERS);
        check(!o->upper == !o->work);
        for (size_t i = 0; i < o->n_lowers; i++)
                check_path(o->lowers[i]);
        if (o->upper) {
                check_path(o->upper);
                check_path(o->work);
        }
        /* The options re-read: only what was checked. */
        char copy[LNX_OVERLAY_DATA_MAX];
        check(strlen(o->data) < sizeof(copy));
        strcpy(copy, o->data);
        size_t items = 0;
        for (char *save = NULL, *s = strtok_r(copy, ",", &save); s;
             s = strtok_r(NULL, ",", &save), items++)
                check(strncmp(s, "lowerdir=/", 10) == 0 || strncmp(s, "upperdir=/", 10) == 0 ||
                      strncmp(s, "workdir=/", 9) == 0 || strcmp(s, "userxattr") == 0);
        check(items == 1 + (o->upper ? 2 : 0) + (o->userxattr ? 1 : 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        struct lnx_overlay *o = malloc(sizeof(*o));
        struct cella_error err = {0};
        int r = o ? lnx_overlay_parse(text, size & 1, o, &err) : 0;
        if (o && r == 0)
                check_data(o);
        else if (o)
                check(err.code > 0 && strstr(err.msg, LNX_OVERLAY_ANNOTATION));
        free(o);
        free(text);
        return 0;
}
