/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cella: the runc-compatible runtime CLI. `cella image ...` (and other groups) are separate
 * programs next to this one (cella-image), so the runtime's start-up links only what a
 * container start needs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/prefault.h"
#include "cli/cli.h"
#include "linux/sealed_exe.h"

static struct cli_global arg_global;
static bool arg_version, arg_help;

static const struct cli_opt global_opts[] = {
    {"root", 0, OPT_STRING, &arg_global.root,
     "state directory (default /run/cella; rootless: $XDG_RUNTIME_DIR/cella)", "DIR"},
    {"log", 0, OPT_STRING, &arg_global.log, "write log lines to FILE (default: stderr)", "FILE"},
    {"log-format", 0, OPT_STRING, &arg_global.log_format, "log format: text or json", "FORMAT"},
    {"debug", 0, OPT_BOOL, &arg_global.debug, "log debug messages", NULL},
    {"systemd-cgroup", 0, OPT_BOOL, &arg_global.systemd_cgroup,
     "use the systemd cgroup driver (accepted; cgroupfs is used)", NULL},
    {"rootless", 0, OPT_STRING, &arg_global.rootless,
     "true, false or auto (accepted for runc compatibility)", "VALUE"},
    {"criu", 0, OPT_STRING, &arg_global.criu, "path to criu (accepted for runc compatibility)",
     "PATH"},
    {"version", 'v', OPT_BOOL, &arg_version, "print the version", NULL},
    {"help", 'h', OPT_BOOL, &arg_help, "show help", NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

int cli_fail(const char *fmt, ...)
{
        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_error("%s", msg);
        return 1;
}

static const struct cli_command *const tables[] = {cli_runtime_commands, cli_cgroup_commands};

static const struct cli_command *find_command(const char *name)
{
        for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
                for (const struct cli_command *c = tables[t]; c->name; c++)
                        if (strcmp(c->name, name) == 0)
                                return c;
        return NULL;
}

static void usage(void)
{
        printf("cella %s - a Linux container runtime (runc-compatible)\n\n"
               "Usage: cella [global options] COMMAND [options] [arguments]\n\nCommands:\n",
               CELLA_VERSION);
        for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
                for (const struct cli_command *c = tables[t]; c->name; c++)
                        printf("  %-10s %s\n", c->name, c->summary);
        printf("  %-10s %s\n", "image",
               "manage images (pull, load, bundle, ...): cella image --help");
        printf("  %-10s %s\n\nGlobal options:\n", "help",
               "show help for a command: cella help COMMAND");
        cli_print_options(global_opts);
}

static void command_help(const struct cli_command *c)
{
        printf("Usage: cella %s %s\n\n%s\n", c->name, c->usage, c->summary);
        if (c->opts && c->opts[0].name) {
                printf("\nOptions:\n");
                cli_print_options(c->opts);
        }
}

/* `cella GROUP ...` runs the program cella-GROUP installed next to this binary. */
static int exec_group(const char *group, int argc, char **argv)
{
        char self[4096], path[4200];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n < 0)
                return cli_fail("find own path: %m");
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
                *slash = '\0';
        snprintf(path, sizeof(path), "%s/cella-%s", self, group);
        argv[0] = path;
        (void)argc;
        execv(path, argv);
        return cli_fail("cella %s: run \"%s\": %m (is cella-%s installed?)", group, path, group);
}

/* The commands that run container code first move onto a sealed copy of the binary. */
static bool runs_container_code(const char *name)
{
        return strcmp(name, "create") == 0 || strcmp(name, "run") == 0 || strcmp(name, "exec") == 0;
}

static int run_command(const struct cli_command *c, int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        break;
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        command_help(c);
                        return 0;
                }
        }
        return c->run(&arg_global, argc, argv);
}

int main(int argc, char **argv)
{
        int first = cli_parse("cella", argc, argv, global_opts);
        if (first < 0)
                return 1;
        if (arg_version) {
                printf("cella version %s\nspec: 1.2.0\n", CELLA_VERSION);
                return 0;
        }
        if (arg_help || first >= argc) {
                usage();
                return arg_help ? 0 : 1;
        }
        const char *fmt = arg_global.log_format ? arg_global.log_format : "text";
        if (strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0)
                return cli_fail("--log-format: unknown format \"%s\" (use text or json)", fmt);
        if (log_setup(arg_global.log, strcmp(fmt, "json") == 0, arg_global.debug) < 0)
                return cli_fail("--log \"%s\": %m", arg_global.log);
        const char *name = argv[first];
        if (strcmp(name, "help") == 0) {
                const struct cli_command *c =
                    first + 1 < argc ? find_command(argv[first + 1]) : NULL;
                if (c)
                        command_help(c);
                else
                        usage();
                return 0;
        }
        if (strcmp(name, "image") == 0)
                return exec_group(name, argc - first, argv + first);
        const struct cli_command *c = find_command(name);
        if (!c)
                return cli_fail("unknown command \"%s\"; see cella --help", name);
        struct cella_error err = {0};
        if (runs_container_code(name)) {
                char buf[4096];
                const char *root = cli_state_root(&arg_global, buf, sizeof(buf));
                struct stat st;
                /* The state root is the overlay's spare layer; if it is not there yet, copy. */
                if (lnx_ensure_sealed_self(argv, stat(root, &st) == 0 ? root : NULL, &err) < 0)
                        return cli_fail("%s", err.msg);
                prefault_writable(40 * 1024, 64 * 1024);
        }
        return run_command(c, argc - first, argv + first);
}
