/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `exec`: a new process in a running container.
 *
 *   cella exec                         joiner (fork)                 process (CLONE_PARENT)
 *   ----------                         -------------                 ----------------------
 *   load state + config.json,
 *   build the process, compile seccomp
 *   fork  ---------------------------> not dumpable, wait for GO
 *   join cgroup(s) for it, GO ------>  setns(init pidfd, every
 *                                      namespace that differs),
 *                                      chroot to the init's root
 *                                      clone(CLONE_PARENT) ------->  rlimits, tty, LSM label,
 *                 <------------------  PID (host pid), _exit(0)      caps, user, cwd, NNP,
 *                 <-------------------------------------------------  seccomp, execve
 *                 <------------------------------ ERROR | SECCOMP_FD | EOF at execve (CLOEXEC)
 *
 * A pid namespace applies only to children, so the joiner forks the process; CLONE_PARENT
 * makes it our own child, so we reap it and report its status (and, detached, it is
 * reparented to our subreaper, e.g. containerd's shim, as with runc).
 */
#include "runtime/exec.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "linux/capabilities.h"
#include "linux/lsm.h"
#include "linux/process.h"
#include "linux/seccomp_filter.h"
#include "linux/terminal.h"
#include "oci/spec.h"
#include "runtime/internal.h"
#include "runtime/proxy.h"
#include "runtime/state.h"
#include "runtime/sync.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct exec_ctx {
        const char *id;
        const struct rt_exec_opts *o;
        int root_fd, dir_fd;
        struct rt_state st;
        bool st_loaded;
        struct oci_spec *spec;    /* the container's config.json: seccomp, namespaces */
        struct oci_process *proc; /* what to run */
        int pidfd;                /* the container init */
        int init_root;            /* O_PATH /proc/<init>/root */
        int ns_flags;             /* CLONE_NEW* of the init's namespaces that differ from ours */
        bool setgroups_allowed;
        struct lnx_lsm lsm;
        struct lnx_seccomp *seccomp;
        int sync_fd[2];
        int console_fd; /* the process sends its pty master here, -1: no terminal */
        int console_peer;
        pid_t joiner, pid;
        /* process side */
        int pty_slave;
        char exe[PATH_MAX];
        char **env;
};

static void ctx_init(struct exec_ctx *x, const char *id, const struct rt_exec_opts *o)
{
        memset(x, 0, sizeof(*x));
        x->id = id;
        x->o = o;
        x->root_fd = x->dir_fd = x->pidfd = x->init_root = -1;
        x->sync_fd[0] = x->sync_fd[1] = x->console_fd = x->console_peer = x->pty_slave = -1;
}

static void ctx_release(struct exec_ctx *x)
{
        int *fds[] = {&x->root_fd,    &x->dir_fd,     &x->pidfd,      &x->init_root,
                      &x->sync_fd[0], &x->sync_fd[1], &x->console_fd, &x->console_peer};
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                if (*fds[i] >= 0) {
                        close(*fds[i]);
                        *fds[i] = -1;
                }
        if (x->st_loaded)
                rt_state_free(&x->st);
        x->st_loaded = false;
        lnx_seccomp_free(x->seccomp);
        oci_process_free(x->proc);
        oci_spec_free(x->spec);
        x->seccomp = NULL;
        x->proc = NULL;
        x->spec = NULL;
}

/* ---- building the process ------------------------------------------------------------- */

static char **strv_dup(char *const *v, size_t *ret_n)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        char **d = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; d && i < n; i++)
                if (!(d[i] = strdup(v[i]))) {
                        json_strv_free(d);
                        return NULL;
                }
        if (ret_n)
                *ret_n = n;
        return d;
}

static int parse_id(const char *s, const char *what, uint32_t *ret, struct cella_error *err)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (!*s || *end || errno || v > UINT32_MAX || *s == '-')
                return cella_err(err, EINVAL, "%s: \"%s\" is not a numeric id", what, s);
        *ret = (uint32_t)v;
        return 0;
}

/* -e KEY=V: replaces KEY if the config already sets it, else appends. */
static int add_env(struct oci_process *p, const char *kv, struct cella_error *err)
{
        const char *eq = strchr(kv, '=');
        size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
        char *copy = strdup(kv);
        if (!copy)
                return cella_err(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < p->n_env; i++)
                if (strncmp(p->env[i], kv, klen) == 0 &&
                    (p->env[i][klen] == '=' || p->env[i][klen] == '\0')) {
                        free(p->env[i]);
                        p->env[i] = copy;
                        return 0;
                }
        char **nv = realloc(p->env, (p->n_env + 2) * sizeof(char *));
        if (!nv) {
                free(copy);
                return cella_err(err, ENOMEM, "out of memory");
        }
        nv[p->n_env++] = copy;
        nv[p->n_env] = NULL;
        p->env = nv;
        return 0;
}

static int apply_user(struct oci_process *p, const struct rt_exec_opts *o, struct cella_error *err)
{
        if (o->user && *o->user) {
                char buf[64];
                snprintf(buf, sizeof(buf), "%s", o->user);
                char *colon = strchr(buf, ':');
                if (colon)
                        *colon = '\0';
                int r = parse_id(buf, "--user", &p->user.uid, err);
                if (r == 0 && colon)
                        r = parse_id(colon + 1, "--user", &p->user.gid, err);
                if (r < 0)
                        return r;
        }
        if (o->n_additional_gids == 0)
                return 0;
        uint32_t *g = realloc(p->user.additional_gids,
                              (p->user.n_additional_gids + o->n_additional_gids) * sizeof(*g));
        if (!g)
                return cella_err(err, ENOMEM, "out of memory");
        p->user.additional_gids = g;
        for (size_t i = 0; i < o->n_additional_gids; i++) {
                int r = parse_id(o->additional_gids[i], "--additional-gids",
                                 &g[p->user.n_additional_gids], err);
                if (r < 0)
                        return r;
                p->user.n_additional_gids++;
        }
        return 0;
}

static int apply_caps(struct oci_process *p, const struct rt_exec_opts *o, struct cella_error *err)
{
        /* Not inheritable (CVE-2022-29162), so ambient only where inheritable has it. */
        static const enum oci_cap_set sets[] = {OCI_CAP_BOUNDING, OCI_CAP_EFFECTIVE,
                                                OCI_CAP_PERMITTED};
        for (size_t i = 0; i < o->n_caps; i++) {
                const char *name = o->caps[i];
                char full[64];
                if (strncasecmp(name, "CAP_", 4) != 0) {
                        snprintf(full, sizeof(full), "CAP_%s", name);
                        name = full;
                }
                int cap = oci_cap_from_name(name);
                if (cap < 0)
                        return cella_err(err, EINVAL, "--cap: unknown capability \"%s\"",
                                         o->caps[i]);
                p->has_capabilities = true;
                for (size_t s = 0; s < ARRAY_SIZE(sets); s++) {
                        p->capabilities.present[sets[s]] = true;
                        p->capabilities.sets[sets[s]] |= 1ULL << cap;
                }
                if (p->capabilities.sets[OCI_CAP_INHERITABLE] & (1ULL << cap)) {
                        p->capabilities.present[OCI_CAP_AMBIENT] = true;
                        p->capabilities.sets[OCI_CAP_AMBIENT] |= 1ULL << cap;
                }
        }
        return 0;
}

static int replace_str(char **field, const char *v, struct cella_error *err)
{
        if (!v || !*v)
                return 0;
        char *copy = strdup(v);
        if (!copy)
                return cella_err(err, ENOMEM, "out of memory");
        free(*field);
        *field = copy;
        return 0;
}

/* runc's getProcess(): the config's process, with the command line's args and overrides. */
static int process_from_config(struct exec_ctx *x, struct cella_error *err)
{
        const struct rt_exec_opts *o = x->o;
        if (!o->args || !o->args[0])
                return cella_err(err, EINVAL,
                                 "exec: args must not be empty (give a command "
                                 "or --process)");
        x->proc = calloc(1, sizeof(*x->proc));
        if (!x->proc)
                return cella_err(err, ENOMEM, "out of memory");
        *x->proc = x->spec->process; /* moved out: the spec no longer owns it */
        memset(&x->spec->process, 0, sizeof(x->spec->process));
        struct oci_process *p = x->proc;
        json_strv_free(p->args);
        p->args = strv_dup(o->args, &p->n_args);
        if (!p->args)
                return cella_err(err, ENOMEM, "out of memory");
        int r = replace_str(&p->cwd, o->cwd, err);
        if (r == 0)
                r = replace_str(&p->apparmor_profile, o->apparmor, err);
        if (r == 0)
                r = replace_str(&p->selinux_label, o->process_label, err);
        for (size_t i = 0; r == 0 && i < o->n_env; i++)
                r = add_env(p, o->env[i], err);
        if (r == 0)
                r = apply_user(p, o, err);
        if (r == 0)
                r = apply_caps(p, o, err);
        if (r < 0)
                return r;
        if (o->cwd && o->cwd[0] != '/')
                return cella_err(err, EINVAL, "--cwd: \"%s\" is not an absolute path", o->cwd);
        p->terminal = o->tty > 0;
        if (o->no_new_privs >= 0)
                p->no_new_privileges = o->no_new_privs > 0;
        p->has_console_size = false;
        return 0;
}

static int process_from_file(struct exec_ctx *x, struct cella_error *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = fs_read_file(x->o->process_file, 1 << 22, &text, &len);
        if (r < 0)
                return cella_errno(err, -r, "read --process \"%s\"", x->o->process_file);
        r = oci_process_parse(text, len, &x->proc, err);
        if (r < 0)
                return cella_err_prefix(err, "--process \"%s\"", x->o->process_file);
        if (!x->proc->args || !x->proc->args[0])
                return cella_err(err, EINVAL, "--process \"%s\": process.args must not be empty",
                                 x->o->process_file);
        if (!x->proc->cwd || x->proc->cwd[0] != '/')
                return cella_err(err, EINVAL,
                                 "--process \"%s\": process.cwd must be an absolute path",
                                 x->o->process_file);
        return 0;
}

/* ---- checks and preparation ------------------------------------------------------------- */

static int open_container(struct exec_ctx *x, const char *root, struct cella_error *err)
{
        x->root_fd = rt_root_open(root, false, err);
        if (x->root_fd == -ENOENT)
                return cella_err(err, ENOENT, "container \"%s\" does not exist", x->id);
        if (x->root_fd < 0)
                return x->root_fd;
        x->dir_fd = rt_container_dir_open(x->root_fd, x->id, false, err);
        if (x->dir_fd < 0)
                return x->dir_fd;
        int r = rt_state_load(x->dir_fd, x->id, &x->st, err);
        if (r < 0)
                return r;
        x->st_loaded = true;
        enum rt_status s = rt_state_status(x->dir_fd, &x->st);
        if (s == RT_STOPPED)
                return cella_err(err, EINVAL, "cannot exec in a stopped container");
        if (s == RT_PAUSED && !x->o->ignore_paused)
                return cella_err(err, EINVAL,
                                 "cannot exec in a paused container (use --ignore-paused to "
                                 "override)");
        /* A pidfd pins the init: no pid reuse between this check and setns. */
        x->pidfd = (int)syscall(SYS_pidfd_open, x->st.pid, 0);
        if (x->pidfd < 0 || rt_pid_start_time(x->st.pid) != x->st.start_time)
                return cella_err(err, EINVAL, "cannot exec in a stopped container");
        char config[PATH_MAX + 16];
        snprintf(config, sizeof(config), "%s/config.json", x->st.bundle);
        return oci_spec_load(config, &x->spec, err);
}

static bool same_ns(pid_t pid, const char *name)
{
        char path[64];
        struct stat a, b;
        snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, name);
        if (stat(path, &a) < 0)
                return true; /* the kernel lacks it, or the init is gone (setns will say) */
        snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
        if (stat(path, &b) < 0)
                return false;
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Joining our own user namespace is EINVAL, so only namespaces that differ are joined. */
static void plan_namespaces(struct exec_ctx *x)
{
        for (int t = 0; t < OCI_NS_COUNT; t++) {
                const char *name = oci_ns_proc_name((enum oci_ns_type)t);
                if (name && !same_ns(x->st.pid, name))
                        x->ns_flags |= t == OCI_NS_TIME ? CLONE_NEWTIME
                                                        : oci_ns_clone_flag((enum oci_ns_type)t);
        }
        char path[64];
        _cleanup_free_ char *sg = NULL;
        snprintf(path, sizeof(path), "/proc/%d/setgroups", x->st.pid);
        x->setgroups_allowed =
            !(x->ns_flags & CLONE_NEWUSER) ||
            (fs_read_file(path, 64, &sg, NULL) == 0 && strncmp(sg, "allow", 5) == 0);
}

static int check_terminal(struct exec_ctx *x, struct cella_error *err)
{
        const struct rt_exec_opts *o = x->o;
        if (o->detach && x->proc->terminal && !o->console_socket)
                return cella_err(err, EINVAL,
                                 "cannot allocate tty if cella will detach without setting "
                                 "console socket");
        if ((!o->detach || !x->proc->terminal) && o->console_socket)
                return cella_err(err, EINVAL,
                                 "cannot use console socket if cella will not detach or "
                                 "allocate tty");
        return 0;
}

static int connect_console(struct exec_ctx *x, struct cella_error *err)
{
        if (!x->proc->terminal)
                return 0;
        if (!x->o->console_socket) {
                int pair[2];
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                        return cella_errno(err, errno, "socketpair for the terminal");
                x->console_peer = pair[0];
                x->console_fd = pair[1];
                return 0;
        }
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(x->o->console_socket) >= sizeof(addr.sun_path))
                return cella_err(err, ENAMETOOLONG, "--console-socket \"%s\": path too long",
                                 x->o->console_socket);
        strcpy(addr.sun_path, x->o->console_socket);
        x->console_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (x->console_fd < 0 || connect(x->console_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                return cella_errno(err, errno, "connect to --console-socket \"%s\"",
                                   x->o->console_socket);
        return 0;
}

static int prepare_seccomp(struct exec_ctx *x, struct cella_error *err)
{
        if (!x->spec->linux_.seccomp)
                return 0;
        _cleanup_close_ int cache =
            openat(x->root_fd, ".seccomp-cache", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return lnx_seccomp_prepare_cached(x->spec->linux_.seccomp, cache, &x->seccomp, err);
}

static int prepare(struct exec_ctx *x, const char *root, struct cella_error *err)
{
        int r = open_container(x, root, err);
        if (r < 0)
                return r;
        r = x->o->process_file ? process_from_file(x, err) : process_from_config(x, err);
        if (r == 0)
                r = check_terminal(x, err);
        if (r < 0)
                return r;
        lnx_lsm_detect("", &x->lsm);
        struct oci_spec view = {.process = *x->proc};
        r = lnx_lsm_validate(&view, &x->lsm, err);
        if (r < 0)
                return r;
        if (x->o->preserve_fds < 0)
                return cella_err(err, EINVAL, "--preserve-fds: must not be negative");
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/root", x->st.pid);
        x->init_root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (x->init_root < 0)
                return cella_errno(err, errno, "open the root of container \"%s\"", x->id);
        plan_namespaces(x);
        r = prepare_seccomp(x, err);
        if (r == 0)
                r = connect_console(x, err);
        if (r < 0)
                return r;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, x->sync_fd) < 0)
                return cella_errno(err, errno, "socketpair");
        return 0;
}

/* ---- helpers shared with the init (internal.h) ---------------------------------------- */

/* lnx_switch_user, but without setgroups(2) where the user namespace denies it. */
static int switch_user(const struct oci_process *p, bool setgroups_allowed, struct cella_error *err)
{
        _cleanup_free_ char *sg = NULL;
        if (fs_read_file("/proc/self/setgroups", 64, &sg, NULL) < 0 || strncmp(sg, "deny", 4) != 0)
                return lnx_switch_user(p, setgroups_allowed, err);
        struct oci_process view = *p;
        view.user.n_additional_gids = 0;
        return lnx_switch_user(&view, false, err);
}

int rt_assume_identity(const struct oci_process *p, bool setgroups_allowed, char ***ret_env,
                       char *exe, size_t exe_size, struct cella_error *err)
{
        int r = 0;
        if (p->has_capabilities)
                r = lnx_caps_drop_bounding(&p->capabilities, err);
        if (r == 0)
                r = switch_user(p, setgroups_allowed, err);
        if (r == 0 && p->has_capabilities)
                r = lnx_caps_apply(&p->capabilities, err);
        if (r == 0)
                r = lnx_chdir_in_root(p->cwd, err);
        if (r < 0)
                return r;
        char **env = lnx_env_with_home(p);
        if (!env)
                return cella_err(err, ENOMEM, "out of memory");
        *ret_env = env;
        return lnx_find_executable(p, exe, exe_size, err);
}

/* ---- the process (child side) ----------------------------------------------------------- */

static int wait_msg(struct exec_ctx *x, enum rt_sync_type type, struct cella_error *err)
{
        struct rt_sync_msg m;
        int r = rt_sync_recv(x->sync_fd[1], &m);
        if (r < 0)
                return cella_errno(err, -r, "wait for the runtime");
        if (m.type != type)
                return cella_err(err, EPROTO, "unexpected message %d from the runtime", m.type);
        return 0;
}

static int step_limits(struct exec_ctx *x, struct cella_error *err)
{
        int r = lnx_set_rlimits(x->proc, err);
        if (r == 0)
                r = lnx_set_oom_score_adj(x->proc, err);
        return r;
}

/* A new pty from the container's devpts; unlike init's, it is not bound onto /dev/console. */
static int step_terminal(struct exec_ctx *x, struct cella_error *err)
{
        if (x->console_fd < 0)
                return 0;
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int master =
            root < 0 ? -errno : fs_open_in_root(root, "/dev/pts/ptmx", O_RDWR | O_NOCTTY, 0);
        if (master < 0)
                return cella_errno(err, -master, "open \"/dev/pts/ptmx\" in the container");
        int unlock = 0;
        unsigned int n = 0;
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
                return cella_errno(err, errno, "unlock pty");
        x->pty_slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (x->pty_slave < 0)
                return cella_errno(err, errno, "open pty slave");
        if (x->proc->has_console_size) {
                struct winsize ws = {.ws_row = (unsigned short)x->proc->console_size.height,
                                     .ws_col = (unsigned short)x->proc->console_size.width};
                ioctl(x->pty_slave, TIOCSWINSZ, &ws);
        }
        char name[64];
        snprintf(name, sizeof(name), "/dev/pts/%u", n);
        int r = lnx_send_fd(x->console_fd, master, name, err);
        close(x->console_fd);
        x->console_fd = -1;
        if (r < 0)
                return r;
        return lnx_terminal_make_controlling(x->pty_slave, err);
}

/* The LSM exec attribute: the profile or label is entered at execve. */
static int step_lsm(struct exec_ctx *x, struct cella_error *err)
{
        struct oci_spec view = {.process = *x->proc};
        return lnx_lsm_apply(&view, &x->lsm, err);
}

static int load_seccomp(struct exec_ctx *x, struct cella_error *err)
{
        int notify = -1;
        int r = lnx_seccomp_load(x->seccomp, &notify, err);
        if (r < 0 || notify < 0)
                return r;
        r = rt_sync_send(x->sync_fd[1], RT_SYNC_SECCOMP_FD, 0, NULL);
        if (r == 0)
                r = lnx_send_fd(x->sync_fd[1], notify, "seccomp", err);
        close(notify);
        if (r < 0)
                return cella_errno(err, -r, "send the seccomp notify fd");
        return wait_msg(x, RT_SYNC_SECCOMP_FD_DONE, err);
}

/* Without no_new_privs the filter needs CAP_SYS_ADMIN: load it before the user switch. */
static int step_seccomp_early(struct exec_ctx *x, struct cella_error *err)
{
        return x->seccomp && !x->proc->no_new_privileges ? load_seccomp(x, err) : 0;
}

static int step_identity(struct exec_ctx *x, struct cella_error *err)
{
        return rt_assume_identity(x->proc, x->setgroups_allowed, &x->env, x->exe, sizeof(x->exe),
                                  err);
}

static int step_lockdown(struct exec_ctx *x, struct cella_error *err)
{
        if (x->proc->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return cella_errno(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
        /* Only fds 0-2 and --preserve-fds cross execve (the CVE-2024-21626 class). */
        unsigned int first = 3 + (unsigned int)x->o->preserve_fds;
        if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return cella_errno(err, errno, "mark inherited fds close-on-exec");
        return 0;
}

static int step_seccomp_last(struct exec_ctx *x, struct cella_error *err)
{
        return x->seccomp && x->proc->no_new_privileges ? load_seccomp(x, err) : 0;
}

typedef int (*exec_step)(struct exec_ctx *x, struct cella_error *err);

/* The same order as the init's (child.c): seccomp last when no_new_privs allows it. */
static const exec_step process_steps[] = {
    step_limits,   step_terminal, step_lsm,          step_seccomp_early,
    step_identity, step_lockdown, step_seccomp_last,
};

_Noreturn static void process_main(struct exec_ctx *x)
{
        struct cella_error err = {0};
        for (size_t i = 0; i < ARRAY_SIZE(process_steps); i++)
                if (process_steps[i](x, &err) < 0) {
                        rt_sync_send(x->sync_fd[1], RT_SYNC_ERROR, 0, &err);
                        _exit(1);
                }
        /* Our foreground proxy blocked every signal; none of our dispositions may survive. */
        lnx_reset_signals(~0ULL);
        execve(x->exe, x->proc->args, x->env);
        cella_errno(&err, errno, "exec \"%s\"", x->exe);
        rt_sync_send(x->sync_fd[1], RT_SYNC_ERROR, 0, &err);
        _exit(127);
}

/* ---- the joiner ------------------------------------------------------------------------- */

static int join(struct exec_ctx *x, struct cella_error *err)
{
        /* Nothing in the container may open /proc/<us>/exe: it is the host's cella binary. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return cella_errno(err, errno, "prctl(PR_SET_DUMPABLE)");
        int r = wait_msg(x, RT_SYNC_GO, err);
        if (r < 0)
                return r;
        if (x->ns_flags && setns(x->pidfd, x->ns_flags) < 0)
                return cella_errno(err, errno, "join the namespaces of container \"%s\" (%#x)",
                                   x->id, x->ns_flags);
        /* The init's root, not the mount namespace's: right for --no-pivot containers too. */
        if (fchdir(x->init_root) < 0 || chroot(".") < 0 || chdir("/") < 0)
                return cella_errno(err, errno, "enter the root of container \"%s\"", x->id);
        return 0;
}

_Noreturn static void joiner_main(struct exec_ctx *x)
{
        struct cella_error err = {0};
        close(x->sync_fd[0]);
        if (x->console_peer >= 0)
                close(x->console_peer);
        if (join(x, &err) < 0) {
                rt_sync_send(x->sync_fd[1], RT_SYNC_ERROR, 0, &err);
                _exit(1);
        }
        pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)CLONE_PARENT, NULL, NULL, NULL, 0UL);
        if (pid < 0) {
                cella_errno(&err, errno, "fork the process in container \"%s\"", x->id);
                rt_sync_send(x->sync_fd[1], RT_SYNC_ERROR, 0, &err);
                _exit(1);
        }
        if (pid == 0)
                process_main(x);
        rt_sync_send(x->sync_fd[1], RT_SYNC_PID, pid, NULL);
        _exit(0);
}

/* ---- the parent ------------------------------------------------------------------------- */

static bool has_controller(const char *list, const char *name, size_t n)
{
        for (const char *p = list; *p;) {
                const char *end = strchrnul(p, ',');
                if ((size_t)(end - p) == n && strncmp(p, name, n) == 0)
                        return true;
                p = *end ? end + 1 : end;
        }
        return false;
}

/* --cgroup "[controller:]path": a sub-cgroup of the container's, which must exist. */
static int enter_sub_cgroups(struct exec_ctx *x, pid_t pid, struct cella_error *err)
{
        const struct cgroup *cg = &x->st.cg;
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "%d", pid);
        for (size_t i = 0; i < x->o->n_cgroups; i++) {
                const char *spec = x->o->cgroups[i], *colon = strchr(spec, ':');
                const char *sub = colon ? colon + 1 : spec;
                if (!*sub || strstr(sub, ".."))
                        return cella_err(err, EINVAL, "--cgroup \"%s\": invalid path", spec);
                for (size_t h = 0; h < cg->n_h; h++) {
                        if (colon &&
                            !has_controller(cg->h[h].controllers, spec, (size_t)(colon - spec)))
                                continue;
                        char path[PATH_MAX + 64];
                        snprintf(path, sizeof(path), "%s/%s/cgroup.procs", cg->h[h].path, sub);
                        int r = fs_write_file(path, buf, (size_t)len, 0);
                        if (r < 0)
                                return cella_errno(err, -r, "--cgroup \"%s\": join \"%s/%s\"", spec,
                                                   cg->h[h].path, sub);
                }
        }
        return 0;
}

static int spawn(struct exec_ctx *x, struct cella_error *err)
{
        x->joiner = fork();
        if (x->joiner < 0)
                return cella_errno(err, errno, "fork");
        if (x->joiner == 0)
                joiner_main(x);
        close(x->sync_fd[1]);
        x->sync_fd[1] = -1;
        int r = 0;
        if (x->st.has_cgroup)
                r = cg_enter(&x->st.cg, x->joiner, err);
        if (r == 0)
                r = enter_sub_cgroups(x, x->joiner, err);
        if (r < 0)
                return r;
        r = rt_sync_send(x->sync_fd[0], RT_SYNC_GO, 0, NULL);
        return r < 0 ? cella_errno(err, -r, "signal the exec process") : 0;
}

static int forward_notify_fd(struct exec_ctx *x, struct cella_error *err)
{
        _cleanup_close_ int fd = -1;
        int r = lnx_recv_fd(x->sync_fd[0], &fd);
        if (r < 0)
                return cella_errno(err, -r, "receive the seccomp notify fd");
        _cleanup_(json_object_putp) struct json_object *o = rt_state_to_oci(&x->st, RT_RUNNING);
        json_object_object_add(o, "pid", json_object_new_int(x->pid));
        const struct oci_seccomp *s = x->spec->linux_.seccomp;
        r = lnx_seccomp_send_notify_fd(s->listener_path, fd, json_to_string(o, 0),
                                       s->listener_metadata, err);
        if (r < 0)
                return r;
        return rt_sync_send(x->sync_fd[0], RT_SYNC_SECCOMP_FD_DONE, 0, NULL);
}

/* Reads until EOF: the process has called execve (or died) and the joiner has exited. */
static int converse(struct exec_ctx *x, struct cella_error *err)
{
        int failed = 0;
        for (;;) {
                struct rt_sync_msg m;
                int r = rt_sync_recv(x->sync_fd[0], &m);
                if (r == -EPIPE)
                        break;
                if (r < 0)
                        return cella_errno(err, -r, "read from the exec process");
                if (m.type == RT_SYNC_PID) {
                        x->pid = m.pid;
                } else if (m.type == RT_SYNC_ERROR && !failed) {
                        *err = m.err;
                        failed = -(m.err.code ? m.err.code : EIO);
                } else if (m.type == RT_SYNC_SECCOMP_FD && !failed) {
                        failed = forward_notify_fd(x, err);
                        if (failed < 0)
                                break;
                }
        }
        int status = 0;
        if (waitpid(x->joiner, &status, 0) == x->joiner)
                x->joiner = 0;
        if (!failed && (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || x->pid <= 0))
                failed =
                    cella_err(err, ECHILD, "exec into container \"%s\" failed during setup", x->id);
        return failed;
}

static void undo(struct exec_ctx *x)
{
        if (x->joiner > 0) {
                kill(x->joiner, SIGKILL);
                waitpid(x->joiner, NULL, 0);
        }
        if (x->pid > 0) {
                kill(x->pid, SIGKILL);
                waitpid(x->pid, NULL, 0);
        }
}

/* ---- foreground ------------------------------------------------------------------------- */

/* The pty master, when the process has a terminal and cella proxies it. */
static int proxied_master(struct exec_ctx *x)
{
        int master = -1;
        if (x->console_peer >= 0 && lnx_recv_fd(x->console_peer, &master) < 0)
                return -1;
        return master;
}

int rt_exec(const char *root, const char *id, const struct rt_exec_opts *o, int *ret_status,
            struct cella_error *err)
{
        struct exec_ctx x;
        ctx_init(&x, id, o);
        *ret_status = 0;
        int r = prepare(&x, root, err);
        _cleanup_close_ int sfd = -1;
        if (r == 0 && !o->detach && (sfd = rt_proxy_signalfd(err)) < 0)
                r = sfd;
        if (r == 0)
                r = spawn(&x, err);
        if (r == 0) {
                if (x.console_fd >= 0) {
                        close(x.console_fd);
                        x.console_fd = -1;
                }
                r = converse(&x, err);
        }
        if (r == 0 && o->pid_file)
                r = rt_write_pid_file(o->pid_file, x.pid, err);
        if (r < 0)
                undo(&x);
        else if (!o->detach)
                *ret_status = rt_proxy_wait(x.pid, sfd, proxied_master(&x));
        ctx_release(&x);
        return r;
}
