/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/base: the UTC timestamp formatter (log_format_utc), which computes the calendar date
 * itself instead of calling gmtime (whose first call reads /etc/localtime).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/log.h"

static void expect_like_gmtime(int64_t sec, long nsec)
{
        char got[64], want[64];
        time_t t = (time_t)sec;
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        size_t n = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(want + n, sizeof(want) - n, ".%09ldZ", nsec);
        log_format_utc(got, sizeof(got), sec, nsec);
        assert_string_equal(got, want);
}

static void test_known_times(void **state)
{
        (void)state;
        char buf[64];
        log_format_utc(buf, sizeof(buf), 0, 0);
        assert_string_equal(buf, "1970-01-01T00:00:00.000000000Z");
        log_format_utc(buf, sizeof(buf), 951782400, 5); /* a leap day */
        assert_string_equal(buf, "2000-02-29T00:00:00.000000005Z");
        log_format_utc(buf, sizeof(buf), -1, 999999999);
        assert_string_equal(buf, "1969-12-31T23:59:59.999999999Z");
        log_format_utc(buf, sizeof(buf), 4107542399, 0);
        assert_string_equal(buf, "2100-02-28T23:59:59.000000000Z");
}

static void test_matches_gmtime(void **state)
{
        (void)state;
        /* Every day boundary (and its neighbours) from 1900 to 2400, plus odd times of day. */
        for (int64_t day = -25567; day <= 157036; day++) {
                expect_like_gmtime(day * 86400, 0);
                expect_like_gmtime(day * 86400 - 1, 1);
                expect_like_gmtime(day * 86400 + 45296, 123456789);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_known_times),
            cmocka_unit_test(test_matches_gmtime),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
