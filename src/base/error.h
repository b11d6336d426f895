/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Error convention: functions return int, a negative errno on failure. An optional last
 * argument `struct cella_error *err` carries a human-readable context message. The struct is
 * fixed-size so it can be copied over the runtime's sync socket from the container child to
 * the parent without allocation. Library code fills it; only the program prints it.
 */

#include <errno.h>
#include <stdarg.h>

#define CELLA_ERROR_MSG_MAX 512

struct cella_error {
        int code;                      /* positive errno, 0 if none */
        char msg[CELLA_ERROR_MSG_MAX]; /* "what failed on what: strerror" */
};

/* Sets err (if non-NULL) and returns -code, so callers can `return cella_err(...)`. */
int cella_err(struct cella_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like cella_err() but appends ": strerror(code)". */
int cella_errno(struct cella_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends context to an existing message: "ctx: old message". Returns -err->code. */
int cella_err_prefix(struct cella_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void cella_error_clear(struct cella_error *err)
{
        if (err) {
                err->code = 0;
                err->msg[0] = '\0';
        }
}
