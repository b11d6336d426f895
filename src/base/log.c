/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The one piece of process-wide state outside arg_*: a logger is global by nature. */
static struct {
        int fd; /* -1: no log file */
        bool json;
        bool debug;
} logger = {.fd = -1};

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int log_setup(const char *path, bool json, bool debug)
{
        logger.json = json;
        logger.debug = debug;
        if (!path || !*path)
                return 0;
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
                return -errno;
        logger.fd = fd;
        return 0;
}

bool log_debug_enabled(void)
{
        return logger.debug;
}

int log_fd(void)
{
        return logger.fd;
}

/* Escapes s for a JSON string or a logrus-style quoted text value (same rules suffice). */
static size_t quote(char *out, size_t size, const char *s)
{
        size_t n = 0;
        for (; *s && n + 7 < size; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\') {
                        out[n++] = '\\';
                        out[n++] = (char)c;
                } else if (c == '\n') {
                        out[n++] = '\\';
                        out[n++] = 'n';
                } else if (c < 0x20) {
                        n += (size_t)snprintf(out + n, size - n, "\\u%04x", c);
                } else {
                        out[n++] = (char)c;
                }
        }
        out[n] = '\0';
        return n;
}

/*
 * UTC calendar fields of a Unix time, without glibc's gmtime: its first call runs tzset(),
 * which reads /etc/localtime (7 syscalls) for a stamp that is UTC anyway. The days-to-date
 * step is H. Hinnant's civil_from_days (proleptic Gregorian, valid for any 64-bit time).
 */
static void utc_fields(int64_t t, int *y, int *mo, int *d, int *h, int *mi, int *s)
{
        int64_t days = t / 86400, rem = t % 86400;
        if (rem < 0) {
                rem += 86400;
                days--;
        }
        *h = (int)(rem / 3600);
        *mi = (int)(rem / 60 % 60);
        *s = (int)(rem % 60);
        days += 719468;
        int64_t era = (days >= 0 ? days : days - 146096) / 146097;
        int64_t doe = days - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        *d = (int)(doy - (153 * mp + 2) / 5 + 1);
        *mo = (int)(mp < 10 ? mp + 3 : mp - 9);
        *y = (int)(yoe + era * 400 + (*mo <= 2));
}

void log_format_utc(char *buf, size_t size, int64_t sec, long nsec)
{
        int y, mo, d, h, mi, s;
        utc_fields(sec, &y, &mo, &d, &h, &mi, &s);
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", y, mo, d, h, mi, s, nsec);
}

void log_timestamp(char *buf, size_t size)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        log_format_utc(buf, size, (int64_t)ts.tv_sec, ts.tv_nsec);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
        char msg[2048], q[4200], ts[64], line[4400];
        int saved = errno;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        /* runc prints errors (and, with --debug, everything) to stderr as well as the log. */
        if (logger.fd < 0 || level <= LOG_LVL_WARN) {
                if (level == LOG_LVL_ERROR)
                        dprintf(STDERR_FILENO, "cella: %s\n", msg);
                else if (logger.fd < 0)
                        dprintf(STDERR_FILENO, "cella: %s: %s\n", level_names[level], msg);
        }
        if (logger.fd >= 0) {
                quote(q, sizeof(q), msg);
                log_timestamp(ts, sizeof(ts));
                int n;
                if (logger.json)
                        n = snprintf(line, sizeof(line),
                                     "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
                                     level_names[level], q, ts);
                else
                        n = snprintf(line, sizeof(line), "time=\"%s\" level=%s msg=\"%s\"\n", ts,
                                     level_names[level], q);
                if (n > 0)
                        (void)!write(logger.fd, line,
                                     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        }
        errno = saved;
}
