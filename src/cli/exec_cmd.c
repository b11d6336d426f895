/* SPDX-License-Identifier: Apache-2.0 */
/* `cella exec`: runc's command line for running a process in an existing container. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "cli/cli.h"
#include "runtime/exec.h"

/* runc exits 255 when exec itself fails, so callers can tell it from the process's status. */
#define EXEC_FAILED 255

static const char *arg_process, *arg_console_socket, *arg_pid_file, *arg_cwd, *arg_user;
static const char *arg_apparmor, *arg_process_label;
static bool arg_tty, arg_detach, arg_no_new_privs, arg_ignore_paused;
static int arg_preserve_fds;
static struct cli_strv arg_env, arg_cap, arg_additional_gids, arg_cgroup;

const struct cli_opt cli_exec_opts[] = {
    {"process", 'p', OPT_STRING, &arg_process, "process.json to run (instead of a command)",
     "FILE"},
    {"tty", 't', OPT_BOOL, &arg_tty, "allocate a pseudo-TTY", NULL},
    {"console-socket", 0, OPT_STRING, &arg_console_socket,
     "unix socket to send the pty master to (with --tty --detach)", "PATH"},
    {"detach", 'd', OPT_BOOL, &arg_detach, "return once the process has started", NULL},
    {"pid-file", 0, OPT_STRING, &arg_pid_file, "write the process's host pid to FILE", "FILE"},
    {"cwd", 0, OPT_STRING, &arg_cwd, "working directory in the container", "DIR"},
    {"env", 'e', OPT_STRV, &arg_env, "set an environment variable (repeatable)", "KEY=VALUE"},
    {"user", 'u', OPT_STRING, &arg_user, "run as uid[:gid] (numeric)", "UID[:GID]"},
    {"additional-gids", 'g', OPT_STRV, &arg_additional_gids,
     "add a supplementary group (repeatable)", "GID"},
    {"cap", 'c', OPT_STRV, &arg_cap, "add a capability (repeatable)", "CAP"},
    {"no-new-privs", 0, OPT_BOOL, &arg_no_new_privs, "set no_new_privs for the process", NULL},
    {"apparmor", 0, OPT_STRING, &arg_apparmor, "AppArmor profile for the process", "PROFILE"},
    {"process-label", 0, OPT_STRING, &arg_process_label, "SELinux label for the process", "LABEL"},
    {"preserve-fds", 0, OPT_INT, &arg_preserve_fds, "pass N extra fds (3 .. 3+N-1) to the process",
     "N"},
    {"cgroup", 0, OPT_STRV, &arg_cgroup, "run in a sub-cgroup of the container's (repeatable)",
     "[CONTROLLER:]PATH"},
    {"ignore-paused", 0, OPT_BOOL, &arg_ignore_paused, "allow exec in a paused container", NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

int cli_cmd_exec(const struct cli_global *g, int argc, char **argv)
{
        int first = cli_parse("exec", argc, argv, cli_exec_opts);
        if (first < 0)
                return EXEC_FAILED;
        if (first >= argc) {
                log_error("exec: expects a container id; see cella exec --help");
                return EXEC_FAILED;
        }
        const char *id = argv[first];
        char **args = argv + first + 1;
        if (args[0] && strcmp(args[0], "--") == 0)
                args++;
        if (!arg_process && !args[0]) {
                cli_fail("exec failed: args must not be empty (give a command or --process)");
                return EXEC_FAILED;
        }
        struct rt_exec_opts o = {
            .process_file = arg_process,
            .args = args,
            .cwd = arg_cwd,
            .user = arg_user,
            .apparmor = arg_apparmor,
            .process_label = arg_process_label,
            .env = arg_env.v,
            .n_env = arg_env.n,
            .caps = arg_cap.v,
            .n_caps = arg_cap.n,
            .additional_gids = arg_additional_gids.v,
            .n_additional_gids = arg_additional_gids.n,
            .tty = arg_tty ? 1 : -1,
            .no_new_privs = arg_no_new_privs ? 1 : -1,
            .console_socket = arg_console_socket,
            .pid_file = arg_pid_file,
            .cgroups = arg_cgroup.v,
            .n_cgroups = arg_cgroup.n,
            .preserve_fds = arg_preserve_fds,
            .detach = arg_detach,
            .ignore_paused = arg_ignore_paused,
        };
        char buf[4096];
        struct cella_error err = {0};
        int status = 0;
        int r = rt_exec(cli_state_root(g, buf, sizeof(buf)), id, &o, &status, &err);
        if (r < 0) {
                cli_fail("exec failed: %s", err.msg[0] ? err.msg : strerror(-r));
                return EXEC_FAILED;
        }
        return status;
}
