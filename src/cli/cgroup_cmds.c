/* SPDX-License-Identifier: Apache-2.0 */
/* runc's cgroup commands: pause, resume, ps, events, update. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "cli/cli.h"
#include "oci/spec.h"
#include "runtime/runtime.h"

static const char *arg_ps_format, *arg_interval, *arg_resources;
static bool arg_stats;
static const char *arg_memory, *arg_memory_swap, *arg_memory_reservation, *arg_kernel_memory,
    *arg_kernel_memory_tcp, *arg_cpu_period, *arg_cpu_quota, *arg_cpu_share, *arg_cpu_rt_period,
    *arg_cpu_rt_runtime, *arg_cpuset_cpus, *arg_cpuset_mems, *arg_pids_limit, *arg_blkio_weight;

static int one_id(const char *cmd, int argc, char **argv, const struct cli_opt *opts)
{
        int first = cli_parse(cmd, argc, argv, opts);
        if (first < 0)
                return -1;
        if (first >= argc) {
                log_error("%s: expects a container id; see cella %s --help", cmd, cmd);
                return -1;
        }
        return first;
}

static int report(int r, const struct cella_error *err)
{
        return r < 0 ? cli_fail("%s", err->msg) : 0;
}

static const struct cli_opt none[] = {{NULL, 0, 0, NULL, NULL, NULL}};

static int pause_or_resume(const struct cli_global *g, int argc, char **argv, bool pause)
{
        int first = one_id(pause ? "pause" : "resume", argc, argv, none);
        if (first < 0)
                return 1;
        char buf[4096];
        struct cella_error err = {0};
        return report(rt_pause(cli_state_root(g, buf, sizeof(buf)), argv[first], pause, &err),
                      &err);
}

static int cmd_pause(const struct cli_global *g, int argc, char **argv)
{
        return pause_or_resume(g, argc, argv, true);
}

static int cmd_resume(const struct cli_global *g, int argc, char **argv)
{
        return pause_or_resume(g, argc, argv, false);
}

static const struct cli_opt ps_opts[] = {
    {"format", 'f', OPT_STRING, &arg_ps_format, "table or json", "FORMAT"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return true;
        return false;
}

/* Like runc: run `ps ARGS` (default -ef) and keep the header and the container's lines. */
static int ps_table(pid_t *pids, size_t n, int argc, char **argv)
{
        char cmd[4096] = "ps";
        size_t len = 2;
        for (int i = 0; i < argc && len < sizeof(cmd) - 2; i++)
                len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " '%s'", argv[i]);
        if (argc == 0)
                snprintf(cmd + len, sizeof(cmd) - len, " -ef");
        FILE *f = popen(cmd, "re");
        if (!f)
                return cli_fail("ps: run \"%s\": %m", cmd);
        char line[4096];
        int pid_col = -1;
        for (int lineno = 0; fgets(line, sizeof(line), f); lineno++) {
                char copy[4096], *save = NULL;
                snprintf(copy, sizeof(copy), "%s", line);
                int col = 0;
                long pid = -1;
                for (char *t = strtok_r(copy, " \t\n", &save); t;
                     t = strtok_r(NULL, " \t\n", &save), col++) {
                        if (lineno == 0 && strcmp(t, "PID") == 0)
                                pid_col = col;
                        if (lineno > 0 && col == pid_col)
                                pid = strtol(t, NULL, 10);
                }
                if (lineno == 0 || has_pid(pids, n, pid))
                        fputs(line, stdout);
        }
        int st = pclose(f);
        if (pid_col < 0)
                return cli_fail("ps: no PID column in the output of \"%s\"", cmd);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static int cmd_ps(const struct cli_global *g, int argc, char **argv)
{
        int first = one_id("ps", argc, argv, ps_opts);
        if (first < 0)
                return 1;
        const char *fmt = arg_ps_format ? arg_ps_format : "table";
        if (strcmp(fmt, "table") != 0 && strcmp(fmt, "json") != 0)
                return cli_fail("ps: unknown format \"%s\" (use table or json)", fmt);
        char buf[4096];
        struct cella_error err = {0};
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = rt_pids(cli_state_root(g, buf, sizeof(buf)), argv[first], &pids, &n, &err);
        if (r < 0)
                return report(r, &err);
        if (strcmp(fmt, "json") == 0) {
                printf("[");
                for (size_t i = 0; i < n; i++)
                        printf("%s%d", i ? "," : "", pids[i]);
                printf("]\n");
                return 0;
        }
        return ps_table(pids, n, argc - first - 1, argv + first + 1);
}

static const struct cli_opt events_opts[] = {
    {"stats", 0, OPT_BOOL, &arg_stats, "print statistics once and exit", NULL},
    {"interval", 0, OPT_STRING, &arg_interval, "time between stats events (default 5s)",
     "DURATION"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

/* Go durations as runc takes them: "5s", "500ms", "1m", or plain seconds. */
static int parse_duration_ms(const char *s)
{
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0)
                return -1;
        if (strcmp(end, "ms") == 0)
                return (int)v;
        if (strcmp(end, "s") == 0 || *end == '\0')
                return (int)(v * 1000);
        if (strcmp(end, "m") == 0)
                return (int)(v * 60000);
        return -1;
}

static int cmd_events(const struct cli_global *g, int argc, char **argv)
{
        int first = one_id("events", argc, argv, events_opts);
        if (first < 0)
                return 1;
        int ms = arg_interval ? parse_duration_ms(arg_interval) : 5000;
        if (ms <= 0)
                return cli_fail("events: --interval: invalid duration \"%s\"", arg_interval);
        char buf[4096];
        struct cella_error err = {0};
        return report(
            rt_events(cli_state_root(g, buf, sizeof(buf)), argv[first], arg_stats, ms, &err), &err);
}

static const struct cli_opt update_opts[] = {
    {"resources", 'r', OPT_STRING, &arg_resources, "a linux.resources JSON file (- for stdin)",
     "FILE"},
    {"memory", 'm', OPT_STRING, &arg_memory, "memory limit (e.g. 128M, -1: unlimited)", "BYTES"},
    {"memory-swap", 0, OPT_STRING, &arg_memory_swap, "memory+swap limit", "BYTES"},
    {"memory-reservation", 0, OPT_STRING, &arg_memory_reservation, "memory soft limit", "BYTES"},
    {"kernel-memory", 0, OPT_STRING, &arg_kernel_memory, "kernel memory limit (cgroup v1)",
     "BYTES"},
    {"kernel-memory-tcp", 0, OPT_STRING, &arg_kernel_memory_tcp,
     "kernel TCP memory limit (cgroup v1)", "BYTES"},
    {"cpu-period", 0, OPT_STRING, &arg_cpu_period, "CPU CFS period (us)", "N"},
    {"cpu-quota", 0, OPT_STRING, &arg_cpu_quota, "CPU CFS quota (us)", "N"},
    {"cpu-share", 0, OPT_STRING, &arg_cpu_share, "CPU shares", "N"},
    {"cpu-rt-period", 0, OPT_STRING, &arg_cpu_rt_period, "realtime period (us)", "N"},
    {"cpu-rt-runtime", 0, OPT_STRING, &arg_cpu_rt_runtime, "realtime runtime (us)", "N"},
    {"cpuset-cpus", 0, OPT_STRING, &arg_cpuset_cpus, "CPUs to allow (e.g. 0-1)", "LIST"},
    {"cpuset-mems", 0, OPT_STRING, &arg_cpuset_mems, "memory nodes to allow", "LIST"},
    {"pids-limit", 0, OPT_STRING, &arg_pids_limit, "maximum number of processes", "N"},
    {"blkio-weight", 0, OPT_STRING, &arg_blkio_weight, "block IO weight (10-1000)", "N"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

/* "128M", "1g", "512k", "1024", "-1" (docker's RAMInBytes: binary units). */
static int parse_bytes(const char *s, long long *ret)
{
        char *end;
        double v = strtod(s, &end);
        if (end == s)
                return -1;
        long long mult = 1;
        switch (tolower((unsigned char)*end)) {
        case 'k':
                mult = 1LL << 10;
                end++;
                break;
        case 'm':
                mult = 1LL << 20;
                end++;
                break;
        case 'g':
                mult = 1LL << 30;
                end++;
                break;
        case 't':
                mult = 1LL << 40;
                end++;
                break;
        }
        if (tolower((unsigned char)*end) == 'i')
                end++;
        if (tolower((unsigned char)*end) == 'b')
                end++;
        if (*end)
                return -1;
        *ret = v < 0 ? -1 : (long long)(v * (double)mult);
        return 0;
}

static struct json_object *section(struct json_object *res, const char *name)
{
        struct json_object *o;
        if (!json_object_object_get_ex(res, name, &o)) {
                o = json_object_new_object();
                json_object_object_add(res, name, o);
        }
        return o;
}

struct update_flag {
        const char **arg;
        const char *section, *key, *flag;
        enum { U_BYTES, U_INT, U_STRING } kind;
};

static const struct update_flag update_flags[] = {
    {&arg_memory, "memory", "limit", "memory", U_BYTES},
    {&arg_memory_swap, "memory", "swap", "memory-swap", U_BYTES},
    {&arg_memory_reservation, "memory", "reservation", "memory-reservation", U_BYTES},
    {&arg_kernel_memory, "memory", "kernel", "kernel-memory", U_BYTES},
    {&arg_kernel_memory_tcp, "memory", "kernelTCP", "kernel-memory-tcp", U_BYTES},
    {&arg_cpu_period, "cpu", "period", "cpu-period", U_INT},
    {&arg_cpu_quota, "cpu", "quota", "cpu-quota", U_INT},
    {&arg_cpu_share, "cpu", "shares", "cpu-share", U_INT},
    {&arg_cpu_rt_period, "cpu", "realtimePeriod", "cpu-rt-period", U_INT},
    {&arg_cpu_rt_runtime, "cpu", "realtimeRuntime", "cpu-rt-runtime", U_INT},
    {&arg_cpuset_cpus, "cpu", "cpus", "cpuset-cpus", U_STRING},
    {&arg_cpuset_mems, "cpu", "mems", "cpuset-mems", U_STRING},
    {&arg_pids_limit, "pids", "limit", "pids-limit", U_INT},
    {&arg_blkio_weight, "blockIO", "weight", "blkio-weight", U_INT},
};

/* Flags override the -r file, as in runc; validation is the config parser's. */
static int apply_flags(struct json_object *res)
{
        for (size_t i = 0; i < ARRAY_SIZE(update_flags); i++) {
                const struct update_flag *f = &update_flags[i];
                const char *v = *f->arg;
                if (!v)
                        continue;
                struct json_object *val;
                long long n;
                char *end;
                if (f->kind == U_STRING) {
                        val = json_object_new_string(v);
                } else if (f->kind == U_BYTES) {
                        if (parse_bytes(v, &n) < 0)
                                return cli_fail("update: --%s: invalid size \"%s\"", f->flag, v);
                        val = json_object_new_int64(n);
                } else {
                        n = strtoll(v, &end, 10);
                        if (*end || end == v)
                                return cli_fail("update: --%s: invalid number \"%s\"", f->flag, v);
                        val = json_object_new_int64(n);
                }
                json_object_object_add(section(res, f->section), f->key, val);
        }
        return 0;
}

static int load_resources_file(struct json_object **ret)
{
        if (!arg_resources) {
                *ret = json_object_new_object();
                return 0;
        }
        _cleanup_free_ char *text = NULL;
        int r = strcmp(arg_resources, "-") == 0 ? fs_read_file("/dev/stdin", 1 << 20, &text, NULL)
                                                : fs_read_file(arg_resources, 1 << 20, &text, NULL);
        if (r < 0)
                return cli_fail("update: read \"%s\": %s", arg_resources, strerror(-r));
        struct cella_error err = {0};
        if (json_parse_text(text, 0, ret, &err) < 0)
                return cli_fail("update: \"%s\": %s", arg_resources, err.msg);
        return 0;
}

static int cmd_update(const struct cli_global *g, int argc, char **argv)
{
        int first = one_id("update", argc, argv, update_opts);
        if (first < 0)
                return 1;
        _cleanup_(json_object_putp) struct json_object *res = NULL;
        if (load_resources_file(&res) != 0 || apply_flags(res) != 0)
                return 1;
        const char *text = json_to_string(res, 0);
        struct cella_error err = {0};
        struct oci_resources *parsed = NULL;
        if (oci_resources_parse(text, strlen(text), &parsed, &err) < 0)
                return cli_fail("update: %s", err.msg);
        char buf[4096];
        int r = rt_update(cli_state_root(g, buf, sizeof(buf)), argv[first], parsed, &err);
        oci_resources_free(parsed);
        return report(r, &err);
}

const struct cli_command cli_cgroup_commands[] = {
    {"pause", "<container-id>", "freeze every process of a container", cmd_pause, none},
    {"resume", "<container-id>", "thaw a paused container", cmd_resume, none},
    {"ps", "[-f table|json] <container-id> [ps options]", "list the processes of a container",
     cmd_ps, ps_opts},
    {"events", "[--stats] [--interval D] <container-id>",
     "print resource statistics and OOM events (JSON lines)", cmd_events, events_opts},
    {"update", "[options] <container-id>", "change the resource limits of a container", cmd_update,
     update_opts},
    {NULL, NULL, NULL, NULL, NULL},
};
