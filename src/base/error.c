/* SPDX-License-Identifier: Apache-2.0 */
#include "error.h"

#include <stdio.h>
#include <string.h>

static int verr(struct cella_error *err, int code, int with_strerror, const char *fmt, va_list ap)
{
        if (code < 0)
                code = -code;
        if (code == 0)
                code = EINVAL;
        if (!err)
                return -code;
        err->code = code;
        int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        if (!with_strerror || n < 0)
                return -code;
        /* The reason matters most: keep it whole, cutting the message (with "...") instead. */
        char reason[128];
        size_t rlen = (size_t)snprintf(reason, sizeof(reason), ": %s", strerror(code));
        size_t room = sizeof(err->msg) - 1 - rlen;
        if ((size_t)n > room) {
                n = (int)room;
                memcpy(err->msg + room - 3, "...", 3);
        }
        memcpy(err->msg + n, reason, rlen + 1);
        return -code;
}

int cella_err(struct cella_error *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = verr(err, code, 0, fmt, ap);
        va_end(ap);
        return r;
}

int cella_errno(struct cella_error *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = verr(err, code, 1, fmt, ap);
        va_end(ap);
        return r;
}

int cella_err_prefix(struct cella_error *err, const char *fmt, ...)
{
        if (!err)
                return -EINVAL;
        char prefix[CELLA_ERROR_MSG_MAX];
        char old[CELLA_ERROR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof(old));
        /* Truncation is acceptable: the message is for humans and bounded by design. */
        size_t n = strnlen(prefix, sizeof(prefix) - 1);
        memcpy(err->msg, prefix, n);
        if (n + 2 < sizeof(err->msg)) {
                err->msg[n++] = ':';
                err->msg[n++] = ' ';
        }
        size_t rest = sizeof(err->msg) - 1 - n;
        size_t olen = strnlen(old, rest);
        memcpy(err->msg + n, old, olen);
        err->msg[n + olen] = '\0';
        return -(err->code ? err->code : EINVAL);
}
