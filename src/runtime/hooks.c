/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "runtime/container.h"
#include "runtime/state.h"

struct hook_desc {
        const char *path;
        char *const *args;
        char *const *env;
        int timeout; /* seconds, 0: none */
};

static char *const empty_env[] = {NULL};

/*
 * Joins every namespace of pid that is not already ours, the user namespace first (it grants
 * the rights to join the rest). Returns 1 if a pid namespace was joined: that applies only to
 * children, so the caller forks once more.
 */
static int join_namespaces_of(pid_t pid)
{
        static const struct {
                const char *name;
                int flag;
        } order[] = {{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},  {"uts", CLONE_NEWUTS},
                     {"ipc", CLONE_NEWIPC},   {"net", CLONE_NEWNET}, {"cgroup", CLONE_NEWCGROUP},
                     {"pid", CLONE_NEWPID}};
        int fds[ARRAY_SIZE(order)];
        /* Open them all first: once in the container's mount namespace, its /proc is not ours. */
        for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
                char theirs[64], ours[64];
                struct stat a, b;
                snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", pid, order[i].name);
                snprintf(ours, sizeof(ours), "/proc/self/ns/%s", order[i].name);
                bool same = stat(theirs, &a) < 0 || (stat(ours, &b) == 0 && a.st_ino == b.st_ino);
                fds[i] = same ? -1 : open(theirs, O_RDONLY | O_CLOEXEC);
        }
        int joined_pid = 0;
        for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
                if (fds[i] < 0)
                        continue;
                if (setns(fds[i], order[i].flag) < 0)
                        return -errno;
                close(fds[i]);
                joined_pid |= order[i].flag == CLONE_NEWPID;
        }
        return joined_pid;
}

/* After joining a pid namespace: fork so the hook runs inside it; relay its exit status. */
static void enter_pid_namespace(void)
{
        pid_t child = fork();
        if (child < 0)
                _exit(127);
        if (child == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                return;
        }
        int status = 0;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                ;
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* In the forked child: stdin from the state pipe, output to the log, then exec. */
_Noreturn static void hook_exec(const struct hook_desc *h, const int pipe_fds[2], pid_t ns_pid)
{
        int in_fd = pipe_fds[0];
        /* Our copy of the write end must go now: a process that forks instead of exec'ing
         * (to enter a pid namespace) would otherwise keep the hook's stdin from ever ending. */
        close(pipe_fds[1]);
        if (ns_pid > 0) {
                int r = join_namespaces_of(ns_pid);
                if (r < 0) {
                        dprintf(STDERR_FILENO,
                                "cella: hook %s: join the container's namespaces: %s\n", h->path,
                                strerror(-r));
                        _exit(127);
                }
                if (r == 1)
                        enter_pid_namespace();
        }
        int out = log_fd() >= 0 ? log_fd() : STDERR_FILENO;
        if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
            dup2(out, STDERR_FILENO) < 0)
                _exit(127);
        char *const fallback[] = {(char *)h->path, NULL};
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(h->path, h->args && h->args[0] ? h->args : fallback, h->env ? h->env : empty_env);
        dprintf(STDERR_FILENO, "cella: exec hook \"%s\": %s\n", h->path, strerror(errno));
        _exit(127);
}

/* Waits for the hook with its timeout (a pidfd poll: no signals, no busy-wait). */
static int hook_wait(const struct hook_desc *h, pid_t pid, const char *kind,
                     struct cella_error *err)
{
        int status = 0;
        if (h->timeout > 0) {
                _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
                struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
                int n;
                do
                        n = pidfd >= 0 ? poll(&pfd, 1, h->timeout * 1000) : 1;
                while (n < 0 && errno == EINTR);
                if (n == 0) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        return cella_err(err, ETIMEDOUT, "%s hook \"%s\" timed out after %d s",
                                         kind, h->path, h->timeout);
                }
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return cella_errno(err, errno, "wait for %s hook \"%s\"", kind, h->path);
        if (WIFSIGNALED(status))
                return cella_err(err, ECHILD, "%s hook \"%s\" was killed by signal %d", kind,
                                 h->path, WTERMSIG(status));
        if (WEXITSTATUS(status) != 0)
                return cella_err(err, ECHILD, "%s hook \"%s\" failed with exit status %d", kind,
                                 h->path, WEXITSTATUS(status));
        return 0;
}

static int hook_run(const struct hook_desc *h, const char *kind, const char *state_json,
                    pid_t ns_pid, struct cella_error *err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return cella_errno(err, errno, "pipe for %s hook", kind);
        pid_t pid = fork();
        if (pid < 0) {
                close(p[0]);
                close(p[1]);
                return cella_errno(err, errno, "fork %s hook \"%s\"", kind, h->path);
        }
        if (pid == 0)
                hook_exec(h, p, ns_pid);
        close(p[0]);
        /* A hook that does not read its stdin must not block us: ignore EPIPE. */
        struct sigaction ign = {.sa_handler = SIG_IGN}, old;
        sigaction(SIGPIPE, &ign, &old);
        (void)fs_write_all(p[1], state_json, strlen(state_json));
        close(p[1]);
        sigaction(SIGPIPE, &old, NULL);
        return hook_wait(h, pid, kind, err);
}

int rt_hooks_run(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state_json,
                 struct cella_error *err)
{
        const char *name = oci_hook_kind_name(kind);
        for (size_t i = 0; i < spec->hooks.n_hooks[kind]; i++) {
                const struct oci_hook *oh = &spec->hooks.hooks[kind][i];
                struct hook_desc h = {oh->path, oh->args, oh->env,
                                      oh->has_timeout ? oh->timeout : 0};
                int r = hook_run(&h, name, state_json, 0, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static char **json_strv(struct json_object *arr)
{
        if (!arr || !json_object_is_type(arr, json_type_array))
                return NULL;
        size_t n = json_object_array_length(arr);
        char **v = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; v && i < n; i++)
                v[i] = (char *)json_object_get_string(json_object_array_get_idx(arr, i));
        return v;
}

int rt_hooks_run_json(struct json_object *hooks, const char *kind, const char *state_json,
                      pid_t ns_pid, bool keep_going, struct cella_error *err)
{
        int ret = 0;
        size_t n = hooks ? json_object_array_length(hooks) : 0;
        for (size_t i = 0; i < n; i++) {
                struct json_object *o = json_object_array_get_idx(hooks, i), *v;
                struct hook_desc h = {0};
                if (json_object_object_get_ex(o, "path", &v))
                        h.path = json_object_get_string(v);
                _cleanup_free_ char **args =
                    json_object_object_get_ex(o, "args", &v) ? json_strv(v) : NULL;
                _cleanup_free_ char **env =
                    json_object_object_get_ex(o, "env", &v) ? json_strv(v) : NULL;
                if (json_object_object_get_ex(o, "timeout", &v))
                        h.timeout = json_object_get_int(v);
                h.args = args;
                h.env = env;
                if (!h.path)
                        continue;
                int r = hook_run(&h, kind, state_json, ns_pid, err);
                if (r < 0 && !keep_going)
                        return r;
                if (r < 0) {
                        /* poststart/poststop: warn, and the remaining hooks still run. */
                        log_warn("%s", err->msg);
                        ret = r;
                }
        }
        return ret;
}

static struct json_object *strv_json(char **v)
{
        struct json_object *a = json_object_new_array();
        for (; v && *v; v++)
                json_object_array_add(a, json_object_new_string(*v));
        return a;
}

static struct json_object *hooks_json(const struct oci_spec *spec, enum oci_hook_kind kind)
{
        struct json_object *arr = json_object_new_array();
        for (size_t i = 0; i < spec->hooks.n_hooks[kind]; i++) {
                const struct oci_hook *h = &spec->hooks.hooks[kind][i];
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "path", json_object_new_string(h->path));
                json_object_object_add(o, "args", strv_json(h->args));
                json_object_object_add(o, "env", strv_json(h->env));
                if (h->has_timeout)
                        json_object_object_add(o, "timeout", json_object_new_int(h->timeout));
                json_object_array_add(arr, o);
        }
        return arr;
}

struct json_object *rt_hooks_state_json(const struct oci_spec *spec)
{
        static const enum oci_hook_kind kinds[] = {OCI_HOOK_START_CONTAINER, OCI_HOOK_POSTSTART,
                                                   OCI_HOOK_POSTSTOP};
        struct json_object *o = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
                if (spec->hooks.n_hooks[kinds[i]] == 0)
                        continue;
                if (!o)
                        o = json_object_new_object();
                json_object_object_add(o, oci_hook_kind_name(kinds[i]), hooks_json(spec, kinds[i]));
        }
        return o;
}

int rt_run_create_hooks(struct rt_ctx *c, struct cella_error *err)
{
        _cleanup_(json_object_putp) struct json_object *holder = rt_ctx_oci_state(c);
        const char *state = json_to_string(holder, 0);
        /* createContainer hooks run in the container's namespaces: they see its own pid. */
        _cleanup_(json_object_putp) struct json_object *inner = rt_ctx_oci_state(c);
        json_object_object_add(inner, "pid", json_object_new_int(rt_pid_in_container(c->pid)));
        const char *inner_state = json_to_string(inner, 0);
        /* prestart is deprecated but still run, before createRuntime, as the spec says. */
        int r = rt_hooks_run(c->spec, OCI_HOOK_PRESTART, state, err);
        if (r == 0)
                r = rt_hooks_run(c->spec, OCI_HOOK_CREATE_RUNTIME, state, err);
        const struct oci_hooks *hk = &c->spec->hooks;
        for (size_t i = 0; r == 0 && i < hk->n_hooks[OCI_HOOK_CREATE_CONTAINER]; i++) {
                const struct oci_hook *oh = &hk->hooks[OCI_HOOK_CREATE_CONTAINER][i];
                struct hook_desc h = {oh->path, oh->args, oh->env,
                                      oh->has_timeout ? oh->timeout : 0};
                r = hook_run(&h, "createContainer", inner_state, c->pid, err);
        }
        return r;
}

bool rt_has_create_hooks(const struct oci_spec *spec)
{
        const size_t *n = spec->hooks.n_hooks;
        return n[OCI_HOOK_PRESTART] || n[OCI_HOOK_CREATE_RUNTIME] || n[OCI_HOOK_CREATE_CONTAINER];
}
