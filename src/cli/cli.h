/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The runc-compatible command line: option parsing shared by every command. */

#include <stdbool.h>
#include <stddef.h>

enum opt_type { OPT_BOOL, OPT_STRING, OPT_INT, OPT_STRV };

/* OPT_STRV: a repeatable string option (--env A --env B); value points to one of these. */
struct cli_strv {
        const char **v; /* NULL-terminated, allocated for the program's lifetime */
        size_t n;
};

struct cli_opt {
        const char *name; /* long name, also accepted with one dash (Go flag style) */
        char short_name;  /* 0 if none */
        enum opt_type type;
        void *value; /* bool *, const char **, int *, struct cli_strv * */
        const char *help;
        const char *metavar;
};

/*
 * Parses options from argv (argv[0] is the command name) until the first non-option or "--".
 * Returns the index of the first positional argument, or -1 after printing an error.
 */
int cli_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts);

/* Prints "Options:" lines for a table. */
void cli_print_options(const struct cli_opt *opts);

struct cli_global {
        const char *root;
        const char *log;
        const char *log_format;
        bool debug;
        bool systemd_cgroup;
        const char *rootless;
        const char *criu;
};

struct cli_command {
        const char *name;
        const char *usage; /* "[options] <container-id>" */
        const char *summary;
        int (*run)(const struct cli_global *g, int argc, char **argv);
        const struct cli_opt *opts;
};

/* The command tables, each NULL-name terminated: runtime_cmds.c, cgroup_cmds.c. */
extern const struct cli_command cli_runtime_commands[];
extern const struct cli_command cli_cgroup_commands[];

/* The state directory: --root, else /run/cella, or $XDG_RUNTIME_DIR/cella when not root. */
const char *cli_state_root(const struct cli_global *g, char *buf, size_t size);

/* `exec` (exec_cmd.c). */
int cli_cmd_exec(const struct cli_global *g, int argc, char **argv);
extern const struct cli_opt cli_exec_opts[];

/* Prints an error through the logger and returns the exit code 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
