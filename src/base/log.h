/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Logging for programs. Library code does not print errors (it returns cella_error); it may
 * emit debug and warning lines through here. Output format matches runc so containerd can parse
 * it: text is `time="..." level=error msg="..."`, json is
 * {"level":"error","msg":"...","time":"..."}.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* path NULL: stderr. json: runc's --log-format json. Returns negative errno. */
int log_setup(const char *path, bool json, bool debug);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool log_debug_enabled(void);
/* The fd log lines go to (for handing to hooks as stdout/stderr), -1 if stderr. */
int log_fd(void);

/* Now, as RFC 3339 UTC with nanoseconds ("2026-01-02T03:04:05.123456789Z"), as runc writes. */
void log_timestamp(char *buf, size_t size);
/* The same for a given time; computed without gmtime (no tzset, no /etc/localtime read). */
void log_format_utc(char *buf, size_t size, int64_t sec, long nsec);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
        do {                                                                                       \
                if (log_debug_enabled())                                                           \
                        log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                       \
        } while (0)
