/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The check of the io.cella.rootfs.overlay annotation (src/linux/overlay.c): what a config may
 * put into the overlay mount options, and what it may not smuggle in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "linux/overlay.h"

static struct lnx_overlay ov;

static void accepts(const char *value, bool userns, const char *data)
{
        struct cella_error err = {0};
        int r = lnx_overlay_parse(value, userns, &ov, &err);
        if (r != 0)
                fail_msg("refused \"%s\": %s", value, err.msg);
        assert_string_equal(ov.data, data);
}

static void refuses(const char *value, const char *message)
{
        struct cella_error err = {0};
        assert_int_not_equal(lnx_overlay_parse(value, false, &ov, &err), 0);
        if (!strstr(err.msg, message) || !strstr(err.msg, LNX_OVERLAY_ANNOTATION))
                fail_msg("\"%s\": message \"%s\" lacks \"%s\"", value, err.msg, message);
}

static void test_accepts(void **state)
{
        (void)state;
        accepts("lowerdir=/a/b:/c", false, "lowerdir=/a/b:/c");
        assert_int_equal(ov.n_lowers, 2);
        assert_null(ov.upper);
        accepts("lowerdir=/l,upperdir=/u,workdir=/w", false, "lowerdir=/l,upperdir=/u,workdir=/w");
        assert_string_equal(ov.upper, "/u");
        assert_string_equal(ov.work, "/w");
        /* in a user namespace userxattr is added; given once, it is not repeated */
        accepts("workdir=/w,upperdir=/u,lowerdir=/l", true,
                "lowerdir=/l,upperdir=/u,workdir=/w,userxattr");
        accepts("lowerdir=/l,userxattr", true, "lowerdir=/l,userxattr");
        accepts("lowerdir=/with=equals/and space", false, "lowerdir=/with=equals/and space");
}

static void test_refuses(void **state)
{
        (void)state;
        refuses("", "is empty");
        refuses("upperdir=/u,workdir=/w", "lowerdir is missing");
        refuses("lowerdir=", "lowerdir is empty");
        refuses("lowerdir=/a::/b", "lowerdir[1] \"\" is not an absolute path");
        refuses("lowerdir=/a,", "empty option");
        refuses("lowerdir=/a,,userxattr", "empty option");
        refuses("lowerdir=rel", "is not an absolute path");
        refuses("lowerdir=/a,upperdir=u,workdir=/w", "upperdir \"u\" is not an absolute path");
        refuses("lowerdir=/a,upperdir=/u", "go together");
        refuses("lowerdir=/a,workdir=/w", "go together");
        refuses("lowerdir=/a,lowerdir=/b", "lowerdir is given twice");
        refuses("lowerdir=/a,upperdir=/u,upperdir=/v,workdir=/w", "upperdir is given twice");
        refuses("lowerdir=/a,metacopy=on", "unknown option \"metacopy=on\"");
        refuses("lowerdir=/a,redirect_dir=on", "unknown option");
        refuses("lowerdir=/a,USERXATTR", "unknown option");
        refuses("lowerdir=/a\\,redirect_dir=on", "contains '\\'");
        refuses("lowerdir=/a,upperdir=/u:/x,workdir=/w", "contains ':'");
        refuses("lowerdir=/a\n", "contains '?'");
        refuses("lowerdir=/a/../b", "not a normalised path");
        refuses("lowerdir=/a/./b", "not a normalised path");
        refuses("lowerdir=/a//b", "not a normalised path");
        refuses("lowerdir=/a/", "not a normalised path");
        refuses("lowerdir=/a/..", "not a normalised path");
}

static void test_limits(void **state)
{
        (void)state;
        size_t n = LNX_OVERLAY_MAX_LOWERS + 1;
        char *v = malloc(16 + 3 * n);
        strcpy(v, "lowerdir=");
        for (size_t i = 0; i < n; i++)
                strcat(v, i ? ":/a" : "/a");
        refuses(v, "more than 500 lower directories");
        free(v);
        v = malloc(LNX_OVERLAY_DATA_MAX + 16);
        strcpy(v, "lowerdir=/");
        memset(v + 10, 'a', LNX_OVERLAY_DATA_MAX);
        v[LNX_OVERLAY_DATA_MAX + 10] = '\0';
        refuses(v, "exceeds");
        free(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_accepts),
            cmocka_unit_test(test_refuses),
            cmocka_unit_test(test_limits),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
