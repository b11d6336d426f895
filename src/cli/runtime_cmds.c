/* SPDX-License-Identifier: Apache-2.0 */
/* The runc-compatible commands: spec, create, start, run, state, list, kill, delete, features. */
#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "cli/cli.h"
#include "linux/namespaces.h"
#include "linux/seccomp_filter.h"
#include "oci/defaults.h"
#include "runtime/activation.h"
#include "runtime/runtime.h"

static const char *arg_bundle, *arg_console_socket, *arg_pid_file, *arg_format;
static bool arg_no_pivot, arg_no_new_keyring, arg_detach, arg_keep, arg_rootless_spec;
static bool arg_quiet, arg_all, arg_force;
static int arg_preserve_fds;

/* runc's rule: also root of a user namespace (rootless podman runs us so), unless USER=root. */
static bool honor_xdg_runtime_dir(void)
{
        if (geteuid() != 0)
                return true;
        const char *user = getenv("USER");
        return lnx_in_user_namespace() && (!user || strcmp(user, "root") != 0);
}

const char *cli_state_root(const struct cli_global *g, char *buf, size_t size)
{
        if (g->root)
                return g->root;
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        if (xdg && *xdg && honor_xdg_runtime_dir()) {
                snprintf(buf, size, "%s/cella", xdg);
                return buf;
        }
        if (geteuid() != 0) {
                snprintf(buf, size, "/run/user/%u/cella", geteuid());
                return buf;
        }
        return "/run/cella";
}

static int report(int r, const struct cella_error *err)
{
        if (r >= 0)
                return 0;
        return cli_fail("%s", err->msg[0] ? err->msg : strerror(-r));
}

/* Parses options and requires exactly `want` positional arguments (or at least/most). */
static int args(const char *cmd, int argc, char **argv, const struct cli_opt *opts, int min,
                int max, const char *what)
{
        int first = cli_parse(cmd, argc, argv, opts);
        if (first < 0)
                return -1;
        int n = argc - first;
        if (n < min || n > max) {
                log_error("%s: expects %s (got %d argument%s); see cella %s --help", cmd, what, n,
                          n == 1 ? "" : "s", cmd);
                return -1;
        }
        return first;
}

static const struct cli_opt spec_opts[] = {
    {"bundle", 'b', OPT_STRING, &arg_bundle, "directory to write config.json in", "DIR"},
    {"rootless", 0, OPT_BOOL, &arg_rootless_spec, "a config for an unprivileged user", NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static int cmd_spec(const struct cli_global *g, int argc, char **argv)
{
        if (args("spec", argc, argv, spec_opts, 0, 0, "no arguments") < 0)
                return 1;
        char path[4096];
        snprintf(path, sizeof(path), "%s/config.json", arg_bundle ? arg_bundle : ".");
        if (access(path, F_OK) == 0)
                return cli_fail("spec: \"%s\" already exists; remove it first", path);
        _cleanup_(json_object_putp) struct json_object *o = oci_default_spec(arg_rootless_spec);
        struct json_object *lnx;
        /* Docker's default seccomp profile, from the linux layer (the oci layer has no libseccomp).
         */
        if (json_object_object_get_ex(o, "linux", &lnx))
                json_object_object_add(lnx, "seccomp", lnx_seccomp_default_profile());
        const char *text = json_to_string(o, 1);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || fs_write_all(fd, text, strlen(text)) < 0 || fs_write_all(fd, "\n", 1) < 0)
                return cli_fail("spec: write \"%s\": %m", path);
        return 0;
}

#define CREATE_OPTS                                                                                  \
        {"bundle", 'b', OPT_STRING, &arg_bundle, "bundle directory (default: current directory)",    \
         "DIR"},                                                                                     \
            {"console-socket",                                                                       \
             0,                                                                                      \
             OPT_STRING,                                                                             \
             &arg_console_socket,                                                                    \
             "unix socket to send the pty master to",                                                \
             "PATH"},                                                                                \
            {"pid-file", 0, OPT_STRING, &arg_pid_file, "write the container init's pid to FILE",     \
             "FILE"},                                                                                \
            {"no-pivot", 0, OPT_BOOL, &arg_no_pivot, "use MS_MOVE and chroot instead of pivot_root", \
             NULL},                                                                                  \
            {"no-new-keyring",                                                                       \
             0,                                                                                      \
             OPT_BOOL,                                                                               \
             &arg_no_new_keyring,                                                                    \
             "keep the caller's session keyring",                                                    \
             NULL},                                                                                  \
        {                                                                                            \
                "preserve-fds", 0, OPT_INT, &arg_preserve_fds,                                       \
                    "pass N extra fds (3 .. 3+N-1) to the container", "N"                            \
        }

static const struct cli_opt create_opts[] = {CREATE_OPTS, {NULL, 0, 0, NULL, NULL, NULL}};

static struct rt_create_opts create_options(const struct cli_global *g)
{
        return (struct rt_create_opts){
            .systemd_cgroup = g->systemd_cgroup,
            .bundle = arg_bundle,
            .console_socket = arg_console_socket,
            .pid_file = arg_pid_file,
            .no_pivot = arg_no_pivot,
            .no_new_keyring = arg_no_new_keyring,
            .preserve_fds = arg_preserve_fds,
            .listen_fds = rt_listen_fds(),
        };
}

static int cmd_create(const struct cli_global *g, int argc, char **argv)
{
        int first = args("create", argc, argv, create_opts, 1, 1, "a container id");
        if (first < 0)
                return 1;
        char buf[4096];
        struct rt_create_opts o = create_options(g);
        struct cella_error err = {0};
        return report(rt_create(cli_state_root(g, buf, sizeof(buf)), argv[first], &o, &err), &err);
}

static const struct cli_opt run_opts[] = {
    CREATE_OPTS,
    {"detach", 'd', OPT_BOOL, &arg_detach, "start in the background and return", NULL},
    {"keep", 0, OPT_BOOL, &arg_keep, "do not delete the container after it exits", NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static int cmd_run(const struct cli_global *g, int argc, char **argv)
{
        int first = args("run", argc, argv, run_opts, 1, 1, "a container id");
        if (first < 0)
                return 1;
        char buf[4096];
        struct rt_create_opts o = create_options(g);
        struct cella_error err = {0};
        int status = 0;
        int r = rt_run(cli_state_root(g, buf, sizeof(buf)), argv[first], &o, arg_detach, arg_keep,
                       &status, &err);
        return r < 0 ? report(r, &err) : status;
}

static const struct cli_opt no_opts[] = {{NULL, 0, 0, NULL, NULL, NULL}};

static int cmd_start(const struct cli_global *g, int argc, char **argv)
{
        int first = args("start", argc, argv, no_opts, 1, 1, "a container id");
        if (first < 0)
                return 1;
        char buf[4096];
        struct cella_error err = {0};
        return report(rt_start(cli_state_root(g, buf, sizeof(buf)), argv[first], &err), &err);
}

static int cmd_state(const struct cli_global *g, int argc, char **argv)
{
        int first = args("state", argc, argv, no_opts, 1, 1, "a container id");
        if (first < 0)
                return 1;
        char buf[4096];
        struct cella_error err = {0};
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        int r = rt_state(cli_state_root(g, buf, sizeof(buf)), argv[first], &o, &err);
        if (r < 0)
                return report(r, &err);
        printf("%s\n", json_to_string(o, 1));
        return 0;
}

static const struct cli_opt list_opts[] = {
    {"format", 'f', OPT_STRING, &arg_format, "table or json", "FORMAT"},
    {"quiet", 'q', OPT_BOOL, &arg_quiet, "print only the container ids", NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const char *str_field(struct json_object *o, const char *k)
{
        struct json_object *v;
        return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static void print_table(struct json_object *arr)
{
        printf("%-12s %-10s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
               "OWNER");
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                struct json_object *o = json_object_array_get_idx(arr, i);
                printf("%-12s %-10s %-10s %-40s %-30s %s\n", str_field(o, "id"),
                       str_field(o, "pid"), str_field(o, "status"), str_field(o, "bundle"),
                       str_field(o, "created"), str_field(o, "owner"));
        }
}

static int cmd_list(const struct cli_global *g, int argc, char **argv)
{
        if (args("list", argc, argv, list_opts, 0, 0, "no arguments") < 0)
                return 1;
        const char *fmt = arg_format ? arg_format : "table";
        if (strcmp(fmt, "table") != 0 && strcmp(fmt, "json") != 0)
                return cli_fail("list: unknown format \"%s\" (use table or json)", fmt);
        char buf[4096];
        struct cella_error err = {0};
        _cleanup_(json_object_putp) struct json_object *arr = NULL;
        int r = rt_list(cli_state_root(g, buf, sizeof(buf)), &arr, &err);
        if (r < 0)
                return report(r, &err);
        if (arg_quiet) {
                for (size_t i = 0; i < json_object_array_length(arr); i++)
                        printf("%s\n", str_field(json_object_array_get_idx(arr, i), "id"));
        } else if (strcmp(fmt, "json") == 0) {
                printf("%s\n", json_to_string(arr, 0));
        } else {
                print_table(arr);
        }
        return 0;
}

/* "KILL", "SIGKILL", "kill", "9", "RTMIN+3" -> signal number; -1 if unknown. */
static int parse_signal(const char *s)
{
        char *end;
        long n = strtol(s, &end, 10);
        if (*s && !*end)
                return n > 0 && n < NSIG ? (int)n : -1;
        char up[32];
        size_t i = 0;
        for (; s[i] && i < sizeof(up) - 1; i++)
                up[i] = (char)toupper((unsigned char)s[i]);
        up[i] = '\0';
        const char *name = strncmp(up, "SIG", 3) == 0 ? up + 3 : up;
        if (strncmp(name, "RTMIN+", 6) == 0) {
                n = strtol(name + 6, &end, 10);
                return !*end && SIGRTMIN + n <= SIGRTMAX ? (int)(SIGRTMIN + n) : -1;
        }
        for (int sig = 1; sig < NSIG; sig++) {
                const char *abbrev = sigabbrev_np(sig);
                if (abbrev && strcmp(abbrev, name) == 0)
                        return sig;
        }
        return -1;
}

static const struct cli_opt kill_opts[] = {
    {"all", 'a', OPT_BOOL, &arg_all, "signal every process in the container", NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static int cmd_kill(const struct cli_global *g, int argc, char **argv)
{
        int first =
            args("kill", argc, argv, kill_opts, 1, 2, "a container id and an optional signal");
        if (first < 0)
                return 1;
        int sig = SIGTERM;
        if (first + 1 < argc && (sig = parse_signal(argv[first + 1])) < 0)
                return cli_fail("kill: unknown signal \"%s\"", argv[first + 1]);
        char buf[4096];
        struct cella_error err = {0};
        return report(rt_kill(cli_state_root(g, buf, sizeof(buf)), argv[first], sig, arg_all, &err),
                      &err);
}

static const struct cli_opt delete_opts[] = {
    {"force", 'f', OPT_BOOL, &arg_force, "kill the container first if it is running", NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static int cmd_delete(const struct cli_global *g, int argc, char **argv)
{
        int first = args("delete", argc, argv, delete_opts, 1, 1, "a container id");
        if (first < 0)
                return 1;
        char buf[4096];
        struct cella_error err = {0};
        return report(rt_delete(cli_state_root(g, buf, sizeof(buf)), argv[first], arg_force, &err),
                      &err);
}

static int cmd_features(const struct cli_global *g, int argc, char **argv)
{
        if (args("features", argc, argv, no_opts, 0, 0, "no arguments") < 0)
                return 1;
        _cleanup_(json_object_putp) struct json_object *o = oci_features();
        struct json_object *lnx;
        /* The oci layer cannot see libseccomp; the linux layer reports what it really supports. */
        if (json_object_object_get_ex(o, "linux", &lnx))
                json_object_object_add(lnx, "seccomp", lnx_seccomp_features());
        printf("%s\n", json_to_string(o, 1));
        return 0;
}

const struct cli_command cli_runtime_commands[] = {
    {"create", "[options] <container-id>", "create a container from a bundle", cmd_create,
     create_opts},
    {"start", "<container-id>", "start a created container", cmd_start, no_opts},
    {"run", "[options] <container-id>", "create and start a container", cmd_run, run_opts},
    {"state", "<container-id>", "print the state of a container (OCI state JSON)", cmd_state,
     no_opts},
    {"list", "[options]", "list containers", cmd_list, list_opts},
    {"kill", "[options] <container-id> [signal]", "send a signal (default SIGTERM) to a container",
     cmd_kill, kill_opts},
    {"delete", "[options] <container-id>", "delete a container and its resources", cmd_delete,
     delete_opts},
    {"spec", "[options]", "write a default config.json", cmd_spec, spec_opts},
    {"exec", "[options] <container-id> [--] <command> [args...]", "run a process in a container",
     cli_cmd_exec, cli_exec_opts},
    {"features", "", "print the features this runtime supports (JSON)", cmd_features, no_opts},
    {NULL, NULL, NULL, NULL, NULL},
};
