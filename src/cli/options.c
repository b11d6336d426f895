/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Option parsing compatible with runc's (Go flag package): --name value, --name=value,
 * -name value, -x value; parsing stops at the first positional argument or "--".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"

static const struct cli_opt *lookup(const struct cli_opt *opts, const char *name, size_t len)
{
        for (const struct cli_opt *o = opts; o->name; o++) {
                if (len == 1 && o->short_name == name[0])
                        return o;
                if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                        return o;
        }
        return NULL;
}

static bool parse_bool(const char *v, bool *ret)
{
        if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
                *ret = true;
        else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
                *ret = false;
        else
                return false;
        return true;
}

static int set_value(const char *cmd, const struct cli_opt *o, const char *v)
{
        if (o->type == OPT_STRING) {
                *(const char **)o->value = v;
                return 0;
        }
        if (o->type == OPT_STRV) {
                struct cli_strv *sv = o->value;
                const char **nv = realloc(sv->v, (sv->n + 2) * sizeof(char *));
                if (!nv) {
                        log_error("%s: out of memory", cmd);
                        return -1;
                }
                nv[sv->n++] = v;
                nv[sv->n] = NULL;
                sv->v = nv;
                return 0;
        }
        if (o->type == OPT_BOOL) {
                if (!parse_bool(v, (bool *)o->value)) {
                        log_error("%s: --%s: invalid boolean \"%s\"", cmd, o->name, v);
                        return -1;
                }
                return 0;
        }
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || *end || end == v || n < -2147483647 || n > 2147483647) {
                log_error("%s: --%s: invalid number \"%s\"", cmd, o->name, v);
                return -1;
        }
        *(int *)o->value = (int)n;
        return 0;
}

int cli_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts)
{
        int i = 1;
        while (i < argc) {
                const char *a = argv[i];
                if (strcmp(a, "--") == 0)
                        return i + 1;
                if (a[0] != '-' || a[1] == '\0')
                        return i;
                const char *name = a + (a[1] == '-' ? 2 : 1);
                const char *eq = strchr(name, '=');
                size_t len = eq ? (size_t)(eq - name) : strlen(name);
                const struct cli_opt *o = lookup(opts, name, len);
                if (!o) {
                        log_error("%s: unknown option \"%s\" (see %s --help)", cmd, a, cmd);
                        return -1;
                }
                i++;
                if (o->type == OPT_BOOL && !eq) {
                        *(bool *)o->value = true;
                        continue;
                }
                const char *v = eq ? eq + 1 : NULL;
                if (!v) {
                        if (i >= argc) {
                                log_error("%s: option --%s needs a value", cmd, o->name);
                                return -1;
                        }
                        v = argv[i++];
                }
                if (set_value(cmd, o, v) < 0)
                        return -1;
        }
        return i;
}

void cli_print_options(const struct cli_opt *opts)
{
        for (const struct cli_opt *o = opts; o->name; o++) {
                char left[64];
                if (o->short_name)
                        snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
                                 o->metavar ? " " : "", o->metavar ? o->metavar : "");
                else
                        snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->metavar ? " " : "",
                                 o->metavar ? o->metavar : "");
                printf("  %-30s %s\n", left, o->help);
        }
}
