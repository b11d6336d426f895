/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container init, from clone() to execve(). Setup is a table of ordered steps; any failure
 * is sent to the parent as a struct cella_error and the child leaves with _exit(). No step may
 * allocate in ways that need freeing: the process ends in execve or _exit.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "linux/capabilities.h"
#include "linux/process.h"
#include "linux/schedule.h"
#include "linux/seccomp_filter.h"
#include "linux/sysctls.h"
#include "linux/terminal.h"
#include "runtime/container.h"
#include "runtime/hooks.h"
#include "runtime/internal.h"
#include "runtime/state.h"
#include "runtime/sync.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct child {
        struct rt_ctx *c;
        struct lnx_rootfs rootfs;
        int pty_slave;
        char exe[PATH_MAX];
        char **env; /* process.env, plus HOME when it was missing */
        bool in_cgroup;
};

static int wait_for(struct child *ch, enum rt_sync_type type, struct cella_error *err)
{
        struct rt_sync_msg m;
        int r = rt_sync_recv(ch->c->sync_fd[1], &m);
        if (r < 0)
                return cella_errno(err, -r, "wait for the runtime");
        if (m.type != type)
                return cella_err(err, EPROTO, "unexpected message %d from the runtime", m.type);
        return 0;
}

static int step_namespaces(struct child *ch, struct cella_error *err)
{
        const struct lnx_ns_plan *ns = &ch->c->ns;
        /* In a user namespace our host ids are unmapped until we take the mapped root's. */
        if (oci_spec_namespace(ch->c->spec, OCI_NS_USER) &&
            (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
                return cella_errno(err, errno,
                                   "become root in the user namespace (is uid/gid 0 mapped?)");
        if (ns->new_time) {
                if (unshare(CLONE_NEWTIME) < 0)
                        return cella_errno(err, errno, "create time namespace");
                return lnx_write_time_offsets(ch->c->spec, err);
        }
        return 0;
}

static int step_process_limits(struct child *ch, struct cella_error *err)
{
        const struct oci_process *p = &ch->c->spec->process;
        /*
         * Not dumpable until execve: nothing in the container may open /proc/<init>/exe,
         * which is still the host's cella binary (the CVE-2019-5736 class).
         */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return cella_errno(err, errno, "prctl(PR_SET_DUMPABLE)");
        int r = lnx_set_rlimits(p, err);
        if (r == 0)
                r = lnx_set_oom_score_adj(p, err);
        if (r == 0 && !ch->c->opts->no_new_keyring)
                r = lnx_new_session_keyring(ch->c->id, err);
        return r;
}

/*
 * CGROUP brings the "tasks" file of each hierarchy we join ourselves (cg_joins_itself, in
 * hierarchy order): writing "0" moves this single-threaded process without the grace-period
 * wait that writing our pid to cgroup.procs has (cgroup.h). Then, with net_later, our network
 * namespace.
 */
static int join_cgroup(struct child *ch, struct cella_error *err)
{
        struct rt_sync_msg m;
        int fds[RT_SYNC_MAX_FDS];
        size_t n = 0, used = 0;
        int r = rt_sync_recv_fds(ch->c->sync_fd[1], &m, fds, &n);
        if (r < 0)
                r = cella_errno(err, -r, "wait for the runtime");
        else if (m.type != RT_SYNC_CGROUP)
                r = cella_err(err, EPROTO, "unexpected message %d from the runtime", m.type);
        const struct cgroup *cg = &ch->c->cg;
        for (size_t i = 0; r == 0 && i < cg->n_h; i++) {
                if (!cg_joins_itself(cg, i))
                        continue;
                r = used < n ? cg_join_self(cg, i, fds[used++], err)
                             : cella_err(err, EPROTO, "no fd to join cgroup \"%s\"", cg->h[i].path);
        }
        if (r == 0 && ch->c->net_later) {
                if (used == n)
                        r = cella_err(err, EPROTO, "no network namespace from the runtime");
                else if (setns(fds[used++], CLONE_NEWNET) < 0)
                        r = cella_errno(err, errno, "enter the network namespace from the runtime");
        }
        if (r == 0 && used != n)
                r = cella_err(err, EPROTO, "%zu fds from the runtime, %zu expected", n, used);
        for (size_t i = 0; i < n; i++)
                close(fds[i]);
        return r;
}

/*
 * The runtime creates and joins our cgroup while we mount (create.c): wait for it before what
 * depends on it. A cgroup namespace is rooted at the cgroup we are in; a real-time or deadline
 * task may be refused a move between cgroups, so the scheduler policy comes after it too (and
 * before the user switch: real-time policies need our capabilities).
 */
static int await_cgroup(struct child *ch, struct cella_error *err)
{
        if (ch->in_cgroup)
                return 0;
        int r = join_cgroup(ch, err);
        if (r < 0)
                return r;
        ch->in_cgroup = true;
        if (ch->c->ns.new_cgroup && unshare(CLONE_NEWCGROUP) < 0)
                return cella_errno(err, errno, "create cgroup namespace");
        return lnx_sched_apply(&ch->c->spec->process, err);
}

static int before_runtime_mount(void *ch, struct cella_error *err)
{
        return await_cgroup(ch, err);
}

/*
 * The host's /dev/null, opened here because a bind source must be in our own mount namespace;
 * checked to be the real null device so masking cannot be redirected (CVE-2025-31133 class).
 */
static int open_dev_null(struct cella_error *err)
{
        struct stat st;
        int fd = open("/dev/null", O_PATH | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                return cella_errno(err, errno, "open host \"/dev/null\"");
        if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
                close(fd);
                return cella_err(err, ENODEV, "host \"/dev/null\" is not the null device");
        }
        return fd;
}

static int step_rootfs(struct child *ch, struct cella_error *err)
{
        struct rt_ctx *c = ch->c;
        int null_fd = open_dev_null(err);
        if (null_fd < 0)
                return null_fd;
        ch->rootfs = (struct lnx_rootfs){
            .spec = c->spec,
            .rootfs = c->rootfs,
            .bundle = c->bundle,
            .root_fd = -1,
            .dev_null_fd = null_fd,
            .userns = oci_spec_namespace(c->spec, OCI_NS_USER) != NULL || lnx_in_user_namespace(),
            .cgroupns = c->ns.new_cgroup || c->ns.join_fd[OCI_NS_CGROUP] >= 0,
            .cgroups = c->cg_mounts,
            .n_cgroups = c->n_cg_mounts,
            .idmapped = c->idmapped,
            .await_runtime = before_runtime_mount,
            .hook_arg = ch,
        };
        int r = lnx_rootfs_prepare(&ch->rootfs, err);
        if (r < 0)
                return r;
        /* process.cwd is created if missing, as runc does; a file there is an error. */
        _cleanup_close_ int cwd =
            fs_mkdir_p_in_root(ch->rootfs.root_fd, c->spec->process.cwd, 0755, err);
        if (cwd < 0)
                return cella_err_prefix(err, "process.cwd \"%s\"", c->spec->process.cwd);
        return 0;
}

/* Without "cgroup" or "sysfs" mounts the wait comes after the mounts. */
static int step_cgroup(struct child *ch, struct cella_error *err)
{
        return await_cgroup(ch, err);
}

static int step_console(struct child *ch, struct cella_error *err)
{
        struct rt_ctx *c = ch->c;
        if (!c->spec->process.terminal)
                return 0;
        _cleanup_close_ int master = -1;
        int r =
            lnx_terminal_open(ch->rootfs.root_fd, &c->spec->process, &master, &ch->pty_slave, err);
        if (r < 0)
                return r;
        char name[64] = "/dev/console";
        unsigned int n;
        if (ioctl(master, TIOCGPTN, &n) == 0)
                snprintf(name, sizeof(name), "/dev/pts/%u", n);
        r = lnx_send_fd(c->console_fd, master, name, err);
        close(c->console_fd);
        c->console_fd = -1;
        return r;
}

static int step_hooks(struct child *ch, struct cella_error *err)
{
        if (!rt_has_create_hooks(ch->c->spec))
                return 0;
        int r = rt_sync_send(ch->c->sync_fd[1], RT_SYNC_HOOKS, 0, NULL);
        if (r < 0)
                return cella_errno(err, -r, "ask the runtime to run hooks");
        return wait_for(ch, RT_SYNC_HOOKS_DONE, err);
}

static int step_pivot(struct child *ch, struct cella_error *err)
{
        int r = 0;
        if (oci_spec_namespace(ch->c->spec, OCI_NS_UTS))
                r = lnx_set_hostname(ch->c->spec, err);
        if (r == 0)
                r = lnx_sysctl_apply(ch->rootfs.root_fd, ch->c->spec, err);
        if (r == 0)
                r = lnx_rootfs_protect(&ch->rootfs, err);
        close(ch->rootfs.dev_null_fd);
        ch->rootfs.dev_null_fd = -1;
        /* The exec attribute takes effect at execve; write it while the host /proc is ours. */
        if (r == 0)
                r = lnx_lsm_apply(ch->c->spec, &ch->c->lsm, err);
        if (r == 0)
                r = lnx_rootfs_pivot(&ch->rootfs, ch->c->opts->no_pivot, err);
        return r;
}

static int step_identity(struct child *ch, struct cella_error *err)
{
        int r = rt_assume_identity(&ch->c->spec->process, ch->c->setgroups_allowed, &ch->env,
                                   ch->exe, sizeof(ch->exe), err);
        if (r == 0 && ch->pty_slave >= 0)
                r = lnx_terminal_make_controlling(ch->pty_slave, err);
        return r;
}

static int step_lockdown(struct child *ch, struct cella_error *err)
{
        const struct oci_process *p = &ch->c->spec->process;
        if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return cella_errno(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
        int r = lnx_personality_apply(ch->c->spec, err);
        if (r < 0)
                return r;
        /* Only fds 0-2 and --preserve-fds cross execve (the CVE-2024-21626 class). */
        unsigned int first =
            3 + (unsigned int)ch->c->opts->listen_fds + (unsigned int)ch->c->opts->preserve_fds;
        if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return cella_errno(err, errno, "mark inherited fds close-on-exec");
        return 0;
}

/* Loads the filter and, for SCMP_ACT_NOTIFY, hands the listener fd to the parent. */
static int load_seccomp(struct child *ch, struct cella_error *err)
{
        int notify = -1;
        int r = lnx_seccomp_load(ch->c->seccomp, &notify, err);
        if (r < 0 || notify < 0)
                return r;
        int fd = ch->c->sync_fd[1];
        r = rt_sync_send(fd, RT_SYNC_SECCOMP_FD, 0, NULL);
        if (r == 0)
                r = lnx_send_fd(fd, notify, "seccomp", err);
        close(notify);
        if (r < 0)
                return cella_errno(err, -r, "send the seccomp notify fd");
        return wait_for(ch, RT_SYNC_SECCOMP_FD_DONE, err);
}

/*
 * Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the user switch may drop:
 * then it is loaded before the identity step (as runc does); otherwise last of all.
 */
static int step_seccomp_early(struct child *ch, struct cella_error *err)
{
        if (!ch->c->seccomp || ch->c->spec->process.no_new_privileges)
                return 0;
        return load_seccomp(ch, err);
}

static int step_seccomp_last(struct child *ch, struct cella_error *err)
{
        if (!ch->c->seccomp || !ch->c->spec->process.no_new_privileges)
                return 0;
        return load_seccomp(ch, err);
}

typedef int (*child_step)(struct child *ch, struct cella_error *err);

/* In order; seccomp last (with no_new_privs), so the runtime's own setup is not filtered. */
static const child_step steps[] = {
    step_namespaces, step_process_limits, step_rootfs,       step_cgroup,
    step_console,    step_hooks,          step_pivot,        step_seccomp_early,
    step_identity,   step_lockdown,       step_seccomp_last,
};

/* Blocks until `cella start` writes to exec.fifo: poll(2) sleeps, no busy-waiting. */
static int wait_for_start(int fifo_fd)
{
        struct pollfd pfd = {.fd = fifo_fd, .events = POLLIN};
        for (;;) {
                int n = poll(&pfd, 1, -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                char b;
                ssize_t got = read(fifo_fd, &b, 1);
                if (got == 1)
                        return 0;
                if (got < 0 && errno != EAGAIN && errno != EINTR)
                        return -errno;
                /* A writer came and went without writing: wait for the real one. */
                if (got == 0) {
                        struct timespec ts = {0, 1000000};
                        nanosleep(&ts, NULL);
                }
        }
}

/* A handful of fds: insertion sort, where qsort would be one more code page to fault in. */
static void sort_fds(int *fds, size_t n)
{
        for (size_t i = 1; i < n; i++) {
                int v = fds[i];
                size_t j = i;
                for (; j > 0 && fds[j - 1] > v; j--)
                        fds[j] = fds[j - 1];
                fds[j] = v;
        }
}

/* The fallback without close_range (Linux < 5.9): list /proc/self/fd. */
static void close_listed(int first, const int *keep, size_t n)
{
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                int fd = atoi(de->d_name);
                bool mine = fd == dirfd(d) || fd < first || de->d_name[0] == '.';
                for (size_t i = 0; i < n && !mine; i++)
                        mine = keep[i] == fd;
                if (!mine)
                        close(fd);
        }
        closedir(d);
}

/*
 * Closes every fd from `first` on except ours, with one close_range per gap between the
 * (sorted) fds we keep: a handful of syscalls, where listing /proc/self/fd took ten and a
 * 32 KiB directory buffer.
 */
void rt_close_inherited_fds(const struct rt_ctx *c)
{
        size_t cap = OCI_NS_COUNT + 4 + (c->idmapped ? c->spec->n_mounts : 0), n = 0;
        _cleanup_free_ int *keep = malloc(cap * sizeof(*keep));
        if (!keep)
                return;
        int first = 3 + c->opts->listen_fds + c->opts->preserve_fds;
        int mine[4] = {c->sync_fd[1], c->fifo_fd, c->console_fd, log_fd()};
        for (size_t i = 0; i < ARRAY_SIZE(mine); i++)
                keep[n++] = mine[i];
        for (int i = 0; i < OCI_NS_COUNT; i++)
                keep[n++] = c->ns.join_fd[i];
        for (size_t i = 0; c->idmapped && i < c->spec->n_mounts; i++)
                keep[n++] = c->idmapped[i];
        sort_fds(keep, n);
        unsigned lo = (unsigned)first;
        for (size_t i = 0; i < n; i++) {
                if (keep[i] < first || (unsigned)keep[i] < lo)
                        continue; /* -1, below first, or a duplicate */
                if ((unsigned)keep[i] > lo &&
                    syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0) < 0) {
                        close_listed(first, keep, n);
                        return;
                }
                lo = (unsigned)keep[i] + 1;
        }
        if (syscall(SYS_close_range, lo, ~0U, 0) < 0)
                close_listed(first, keep, n);
}

_Noreturn static void fail(struct rt_ctx *c, struct cella_error *err)
{
        rt_sync_send(c->sync_fd[1], RT_SYNC_ERROR, 0, err);
        _exit(1);
}

_Noreturn void rt_child_main(struct rt_ctx *c)
{
        struct child ch = {.c = c, .pty_slave = -1};
        struct cella_error err = {0};
        /* The state directory's flock is shared with us through the fd: let go of it. */
        close(c->sync_fd[0]);
        close(c->dir_fd);
        close(c->root_fd);
        rt_close_inherited_fds(c);
        if (rt_init_waits_for_go(c) && wait_for(&ch, RT_SYNC_GO, &err) < 0)
                _exit(1); /* the parent is gone or failed: nobody to report to */
        for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
                if (steps[i](&ch, &err) < 0)
                        fail(c, &err);
        if (rt_sync_send(c->sync_fd[1], RT_SYNC_READY, 0, NULL) < 0)
                _exit(1);
        close(c->sync_fd[1]);
        /* exec.fifo stays open (close-on-exec): `start` learns from its closing that we exec'd. */
        if (wait_for_start(c->fifo_fd) < 0)
                _exit(1);
        lnx_reset_signals(c->sig_ignored);
        execve(ch.exe, c->spec->process.args, ch.env);
        dprintf(STDERR_FILENO, "cella: exec \"%s\": %s\n", ch.exe, strerror(errno));
        _exit(127);
}
