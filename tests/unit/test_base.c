/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/base: the UTC timestamp formatter (log_format_utc), which computes the calendar date
 * itself instead of calling gmtime (whose first call reads /etc/localtime).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fdpass.h"
#include "base/fs.h"
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

/* fs_fd_path formats by hand: it must agree with printf for every magnitude. */
static void test_fd_path(void **state)
{
        (void)state;
        const int fds[] = {0, 3, 9, 10, 99, 100, 12345, 1048575, INT_MAX};
        for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
                char got[32], want[32];
                snprintf(want, sizeof(want), "/proc/self/fd/%d", fds[i]);
                assert_string_equal(fs_fd_path(fds[i], got), want);
        }
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

static bool same_file(int a, int b)
{
        struct stat x, y;
        return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev &&
               x.st_ino == y.st_ino;
}

static void test_fdpass_roundtrip(void **state)
{
        int sp[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
        int fds[2] = {sp[0], STDERR_FILENO}, got[FDPASS_MAX];
        assert_int_equal(fdpass_send(sp[0], "hello", 5, fds, 2), 5);
        char buf[16];
        size_t n = 0;
        assert_int_equal(fdpass_recv(sp[1], buf, sizeof(buf), got, FDPASS_MAX, &n), 5);
        assert_memory_equal(buf, "hello", 5);
        assert_int_equal(n, 2);
        assert_true(same_file(got[0], sp[0]) && same_file(got[1], STDERR_FILENO));
        close(got[0]);
        close(got[1]);
        /* A message without fds, and EOF. */
        assert_int_equal(fdpass_send(sp[0], "x", 1, NULL, 0), 1);
        assert_int_equal(fdpass_recv(sp[1], buf, sizeof(buf), got, FDPASS_MAX, &n), 1);
        assert_int_equal(n, 0);
        close(sp[0]);
        assert_int_equal(fdpass_recv(sp[1], buf, sizeof(buf), got, FDPASS_MAX, &n), 0);
        close(sp[1]);
}

static void test_fdpass_too_many_fds_are_closed(void **state)
{
        int sp[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
        int fds[2] = {STDIN_FILENO, STDERR_FILENO}, got[1] = {-1};
        assert_int_equal(fdpass_send(sp[0], "y", 1, fds, 2), 1);
        int probe = dup(STDIN_FILENO); /* the lowest free fd before and after */
        close(probe);
        char buf[4];
        size_t n = 7;
        assert_int_equal(fdpass_recv(sp[1], buf, sizeof(buf), got, 1, &n), -EBADMSG);
        assert_int_equal(n, 0);
        int again = dup(STDIN_FILENO);
        assert_int_equal(again, probe); /* nothing was left open */
        close(again);
        assert_int_equal(fdpass_send(sp[0], "z", 1, fds, FDPASS_MAX + 1), -E2BIG);
        close(sp[0]);
        close(sp[1]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_known_times),
            cmocka_unit_test(test_matches_gmtime),
            cmocka_unit_test(test_fdpass_roundtrip),
            cmocka_unit_test(test_fdpass_too_many_fds_are_closed),
            cmocka_unit_test(test_fd_path),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
