/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The parent side of `create`: validate, lock the state, make the cgroup, clone the init,
 * answer its requests over the sync socket, then record the state. Any failure undoes all of
 * it: the init is killed and reaped, the cgroup and state directory are removed.
 */
#include <fcntl.h>
#include <libgen.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/prefault.h"
#include "linux/mounts.h"
#include "linux/namespaces.h"
#include "linux/process.h"
#include "linux/schedule.h"
#include "linux/seccomp_filter.h"
#include "linux/terminal.h"
#include "linux/sysctls.h"
#include "runtime/activation.h"
#include "runtime/container.h"
#include "runtime/hooks.h"
#include "runtime/internal.h"
#include "runtime/state.h"
#include "runtime/sync.h"

static void ctx_init(struct rt_ctx *c, const char *id, const struct rt_create_opts *o)
{
        memset(c, 0, sizeof(*c));
        c->id = id;
        c->opts = o;
        c->root_fd = c->dir_fd = c->console_fd = c->fifo_fd = c->cg_clone_fd = -1;
        c->sync_fd[0] = c->sync_fd[1] = -1;
        for (int i = 0; i < OCI_NS_COUNT; i++)
                c->ns.join_fd[i] = -1;
}

static int resolve_paths(struct rt_ctx *c, struct cella_error *err)
{
        const char *bundle = c->opts->bundle && *c->opts->bundle ? c->opts->bundle : ".";
        if (!realpath(bundle, c->bundle))
                return cella_errno(err, errno, "bundle \"%s\"", bundle);
        char config[PATH_MAX + 16];
        snprintf(config, sizeof(config), "%s/config.json", c->bundle);
        int r = oci_spec_load(config, &c->spec, err);
        if (r < 0)
                return r;
        if (!c->spec->has_process)
                return cella_err(err, EINVAL, "%s: process: missing (required by create)", config);
        char root[PATH_MAX * 2];
        const char *rp = c->spec->root.path;
        if (rp[0] == '/')
                snprintf(root, sizeof(root), "%s", rp);
        else
                snprintf(root, sizeof(root), "%s/%s", c->bundle, rp);
        if (!realpath(root, c->rootfs))
                return cella_errno(err, errno, "root.path: rootfs \"%s\"", root);
        if (!fs_is_dir(c->rootfs))
                return cella_err(err, ENOTDIR, "root.path: rootfs \"%s\" is not a directory", root);
        return 0;
}

/* execve(2) would fail with E2BIG after `start`; say so at create time instead. */
static int check_arg_size(const struct oci_process *p, struct cella_error *err)
{
        const size_t max_string = 32 * 4096; /* MAX_ARG_STRLEN */
        size_t total = 0;
        char **lists[] = {p->args, p->env};
        for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
                for (char **v = lists[l]; v && *v; v++) {
                        size_t n = strlen(*v) + 1;
                        if (n > max_string)
                                return cella_err(err, E2BIG,
                                                 "process.%s: an entry of %zu bytes is longer "
                                                 "than the kernel allows (%zu)",
                                                 l ? "env" : "args", n, max_string);
                        total += n + sizeof(char *);
                }
        }
        long arg_max = sysconf(_SC_ARG_MAX);
        if (arg_max > 0 && total > (size_t)arg_max)
                return cella_err(err, E2BIG,
                                 "process.args and process.env take %zu bytes, more than "
                                 "the kernel's argument limit (%ld)",
                                 total, arg_max);
        return 0;
}

/* What the runtime can check before touching anything, so errors leave nothing behind. */
static int validate(struct rt_ctx *c, bool foreground, struct cella_error *err)
{
        const struct oci_spec *s = c->spec;
        int r = lnx_sysctl_validate(s, err);
        if (r < 0)
                return r;
        if (s->process.terminal && !c->opts->console_socket && !foreground)
                return cella_err(err, EINVAL,
                                 "process.terminal is true: pass --console-socket, or set "
                                 "\"terminal\": false in config.json");
        if (!s->process.terminal && c->opts->console_socket)
                log_warn("--console-socket is ignored: process.terminal is false");
        if (oci_spec_namespace(s, OCI_NS_USER) && !s->linux_.n_uid_mappings &&
            c->ns.join_fd[OCI_NS_USER] < 0)
                return cella_err(
                    err, EINVAL,
                    "linux.uidMappings: a new user namespace needs uid and gid mappings");
        if (s->linux_.has_intel_rdt)
                return cella_err(
                    err, ENOTSUP,
                    "linux.intelRdt: cella does not support Intel RDT (resctrl); remove "
                    "the field");
        for (size_t i = 0; i < s->n_mounts; i++) {
                struct lnx_mount_opts o;
                r = lnx_mount_opts_parse(&s->mounts[i], &o, err);
                if (r < 0)
                        return cella_err_prefix(err, "mounts[%zu]", i);
                lnx_mount_opts_free(&o);
        }
        if (s->hostname && *s->hostname && !oci_spec_namespace(s, OCI_NS_UTS))
                return cella_err(
                    err, EINVAL,
                    "hostname: setting it needs a UTS namespace; add {\"type\": \"uts\"} "
                    "to linux.namespaces");
        r = check_arg_size(&s->process, err);
        if (r == 0)
                r = lnx_sched_validate(s, err);
        lnx_lsm_detect("", &c->lsm);
        if (r == 0)
                r = lnx_lsm_validate(s, &c->lsm, err);
        if (r < 0)
                return r;
        if (c->opts->preserve_fds < 0)
                return cella_err(err, EINVAL, "--preserve-fds: must not be negative");
        return 0;
}

static int connect_console(struct rt_ctx *c, int *ret_peer, struct cella_error *err)
{
        if (!c->spec->process.terminal)
                return 0;
        if (!c->opts->console_socket) {
                int pair[2];
                if (!ret_peer)
                        return 0;
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                        return cella_errno(err, errno, "socketpair for the terminal");
                *ret_peer = pair[0];
                c->console_fd = pair[1];
                return 0;
        }
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(c->opts->console_socket) >= sizeof(addr.sun_path))
                return cella_err(err, ENAMETOOLONG, "--console-socket \"%s\": path too long",
                                 c->opts->console_socket);
        strcpy(addr.sun_path, c->opts->console_socket);
        c->console_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->console_fd < 0 || connect(c->console_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                return cella_errno(err, errno, "connect to --console-socket \"%s\"",
                                   c->opts->console_socket);
        return 0;
}

/*
 * Compiled here, before clone, so a bad filter is reported with its JSON path and the child
 * only has to load it. Compiled programs are cached under the state root (root-only).
 */
static int prepare_seccomp(struct rt_ctx *c, struct cella_error *err)
{
        if (!c->spec->linux_.seccomp)
                return 0;
        if (mkdirat(c->root_fd, ".seccomp-cache", 0700) < 0 && errno != EEXIST)
                return lnx_seccomp_prepare(c->spec->linux_.seccomp, &c->seccomp, err);
        _cleanup_close_ int cache =
            openat(c->root_fd, ".seccomp-cache", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cache < 0)
                return lnx_seccomp_prepare(c->spec->linux_.seccomp, &c->seccomp, err);
        return lnx_seccomp_prepare_cached(c->spec->linux_.seccomp, cache, &c->seccomp, err);
}

/* For "cgroup" mounts: the name and options of each hierarchy the container is in. */
static void plan_cgroup_mounts(struct rt_ctx *c)
{
        const struct cgroup *cg = &c->cg;
        for (size_t i = 0; i < cg->n_h && i < CG_MAX_HIERARCHIES; i++) {
                const struct cg_hierarchy *h = &cg->h[i];
                const char *base = strrchr(h->mount, '/');
                snprintf(c->cg_names[i], sizeof(c->cg_names[i]), "%.63s",
                         base ? base + 1 : h->mount);
                if (strncmp(h->controllers, "name=", 5) == 0)
                        snprintf(c->cg_options[i], sizeof(c->cg_options[i]), "none,%s",
                                 h->controllers);
                else
                        snprintf(c->cg_options[i], sizeof(c->cg_options[i]), "%s", h->controllers);
                c->cg_mounts[i] = (struct lnx_cgroup_mount){
                    .name = c->cg_names[i],
                    .options = c->cg_options[i],
                    .host_dir = h->path,
                    .v2 = h->controllers[0] == '\0',
                };
        }
        c->n_cg_mounts = cg->n_h;
}

/* Creates the container's cgroup and applies linux.resources (not yet joined). */
static int make_cgroup(struct rt_ctx *c, struct cella_error *err)
{
        int r = cg_create(&c->cg, err);
        if (r < 0)
                return r;
        c->cg_created = true;
        return cg_apply_resources(
            &c->cg, c->spec->linux_.has_resources ? &c->spec->linux_.resources : NULL, err);
}

/*
 * The init is born in its cgroup2 directory (clone3 CLONE_INTO_CGROUP) rather than moved there
 * by a cgroup.procs write, which would wait for an RCU grace period (cgroup.h). Only that
 * directory is made before clone; the rest of the cgroup is made while the init sets up.
 */
static int open_clone_into(struct rt_ctx *c, struct cella_error *err)
{
        c->cg_created = true;
        int fd = cg_open_clone_into(&c->cg, err);
        if (fd == -ENOTSUP)
                return 0;
        if (fd < 0)
                return fd;
        c->cg_clone_fd = fd;
        return 0;
}

static int prepare(struct rt_ctx *c, const char *root, int *ret_peer, struct cella_error *err)
{
        int r = resolve_paths(c, err);
        if (r == 0)
                r = lnx_ns_plan_init(c->spec, &c->ns, err);
        if (r == 0)
                r = validate(c, ret_peer != NULL, err);
        if (r == 0)
                r = connect_console(c, ret_peer, err);
        if (r < 0)
                return r;
        c->root_fd = rt_root_open(root, true, err);
        if (c->root_fd < 0)
                return c->root_fd;
        c->dir_fd = rt_container_dir_create(c->root_fd, c->id, err);
        if (c->dir_fd < 0)
                return c->dir_fd;
        r = rt_activation_setup(c->spec, c->dir_fd, c->opts->listen_fds, err);
        if (r < 0)
                return r;
        const char *cg_path = c->spec->linux_.cgroups_path;
        r = c->opts->systemd_cgroup ? cg_init_systemd(&c->cg, cg_path, c->id, err)
                                    : cg_init(&c->cg, cg_path, c->id, err);
        if (r < 0)
                return r;
        /*
         * Rootless cgroups drop the hierarchies we may not use while they are made and joined,
         * and the init plans its cgroup mounts from the list at clone time: settle it first.
         */
        c->cg_early = c->cg.rootless;
        if (c->cg_early)
                r = make_cgroup(c, err);
        else if (!c->ns.any_join)
                r = open_clone_into(c, err);
        if (r == 0)
                r = prepare_seccomp(c, err);
        if (r == 0)
                r = lnx_rootfs_idmapped_sources(c->spec, c->bundle, &c->idmapped, err);
        if (r < 0)
                return r;
        plan_cgroup_mounts(c);
        if (mkfifoat(c->dir_fd, "exec.fifo", 0600) < 0)
                return cella_errno(err, errno, "create exec.fifo for \"%s\"", c->id);
        c->fifo_fd = openat(c->dir_fd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (c->fifo_fd < 0)
                return cella_errno(err, errno, "open exec.fifo for \"%s\"", c->id);
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->sync_fd) < 0)
                return cella_errno(err, errno, "socketpair");
        c->setgroups_allowed = !oci_spec_namespace(c->spec, OCI_NS_USER) || geteuid() == 0;
        /*
         * Not when it must belong to a user namespace of the container's or a joined one, nor
         * when we are in one ourselves: we could not setns() back to our own network namespace.
         */
        int flags = c->ns.clone_flags;
        c->net_later = (flags & CLONE_NEWNET) && !(flags & CLONE_NEWUSER) && !c->ns.any_join &&
                       !c->cg.rootless;
        /* We install no handlers: the init inherits only these non-default dispositions. */
        c->sig_ignored = lnx_ignored_signals();
        return 0;
}

/* A fork-like clone(2): the child returns 0 on a copy of our stack, in new namespaces. */
static pid_t clone_fork(int flags)
{
        return (pid_t)syscall(SYS_clone, (unsigned long)(flags | SIGCHLD), NULL, NULL, NULL, 0UL);
}

/*
 * clone_fork() into the cgroup2 directory cg_fd. Kernels before 5.7 (or a seccomp filter of
 * our own caller refusing clone3) fail; then the plain clone is used and cg_enter() moves the
 * init as before, which reports any real problem with the cgroup.
 */
static pid_t clone_fork_into(int flags, int cg_fd, bool *ret_joined)
{
        struct clone_args a;
        memset(&a, 0, sizeof(a));
        a.flags = (uint64_t)(unsigned)flags | CLONE_INTO_CGROUP;
        a.exit_signal = SIGCHLD;
        a.cgroup = (uint64_t)cg_fd;
        pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
        *ret_joined = pid >= 0;
        if (pid >= 0)
                return pid;
        log_debug("clone3(CLONE_INTO_CGROUP): %s; cloning, then joining the cgroup",
                  strerror(errno));
        return clone_fork(flags);
}

/*
 * Slow path, for namespaces joined by path: setns() must happen before the namespaces we
 * create (so they are owned by a joined user namespace), and a pid namespace only applies
 * to children, so this intermediate process joins, unshares, forks the init and exits.
 */
_Noreturn static void intermediate_main(struct rt_ctx *c)
{
        struct cella_error err = {0};
        int flags = c->ns.clone_flags;
        bool new_user = flags & CLONE_NEWUSER;
        /* Before joining anything: nothing in a joined namespace may reach our host fds. */
        rt_close_inherited_fds(c);
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
                cella_errno(&err, errno, "prctl(PR_SET_DUMPABLE)");
                goto fail;
        }
        if (lnx_ns_join(&c->ns, &err) < 0)
                goto fail;
        if (new_user) {
                struct rt_sync_msg m;
                if (unshare(CLONE_NEWUSER) < 0) {
                        cella_errno(&err, errno, "create user namespace");
                        goto fail;
                }
                /* The parent writes our id maps, then answers GO. */
                if (rt_sync_send(c->sync_fd[1], RT_SYNC_PID, getpid(), NULL) < 0 ||
                    rt_sync_recv(c->sync_fd[1], &m) < 0 || m.type != RT_SYNC_GO)
                        _exit(1);
        }
        if (unshare(flags & ~CLONE_NEWUSER) < 0) {
                cella_errno(&err, errno, "create namespaces");
                goto fail;
        }
        pid_t pid = clone_fork(0);
        if (pid < 0) {
                cella_errno(&err, errno, "fork the container init");
                goto fail;
        }
        if (pid == 0)
                rt_child_main(c);
        rt_sync_send(c->sync_fd[1], RT_SYNC_PID, pid, NULL);
        _exit(0);
fail:
        rt_sync_send(c->sync_fd[1], RT_SYNC_ERROR, 0, &err);
        _exit(1);
}

static int child_died(struct rt_ctx *c, pid_t pid, struct cella_error *err)
{
        int status = 0;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status))
                return cella_err(err, ECHILD, "container init was killed by signal %d during setup",
                                 WTERMSIG(status));
        return cella_err(err, ECHILD, "container init exited during setup (status %d)",
                         WEXITSTATUS(status));
}

static int recv_expect(struct rt_ctx *c, struct rt_sync_msg *m, struct cella_error *err)
{
        int r = rt_sync_recv(c->sync_fd[0], m);
        if (r == -EPIPE)
                return child_died(c, c->intermediate ? c->intermediate : c->pid, err);
        if (r < 0)
                return cella_errno(err, -r, "read from container init");
        if (m->type == RT_SYNC_ERROR) {
                *err = m->err;
                return -(m->err.code ? m->err.code : EIO);
        }
        return 0;
}

/* Clones the init (directly, or through the intermediate) and learns its host pid. */
static int spawn(struct rt_ctx *c, struct cella_error *err)
{
        bool slow = c->ns.any_join, joined = false;
        int flags = c->ns.clone_flags & ~(c->net_later ? CLONE_NEWNET : 0);
        pid_t pid = c->cg_clone_fd >= 0 ? clone_fork_into(flags, c->cg_clone_fd, &joined)
                                        : clone_fork(slow ? 0 : flags);
        if (pid < 0)
                return cella_errno(err, errno, "clone the container init (namespaces %#x)", flags);
        if (pid == 0) {
                /*
                 * The init writes much of what it shares copy-on-write with us: in bulk. Its
                 * stack reaches ~18 KiB below here; a larger window copies pages it never uses.
                 */
                prefault_writable(20 * 1024, 64 * 1024);
                if (slow)
                        intermediate_main(c);
                rt_child_main(c);
        }
        close(c->sync_fd[1]);
        c->sync_fd[1] = -1;
        if (joined)
                cg_cloned_into(&c->cg);
        if (c->cg_clone_fd >= 0)
                close(c->cg_clone_fd);
        c->cg_clone_fd = -1;
        if (!slow) {
                c->pid = pid;
                if (c->ns.clone_flags & CLONE_NEWUSER)
                        return lnx_write_id_maps(pid, c->spec, err);
                return 0;
        }
        c->intermediate = pid;
        struct rt_sync_msg m;
        int r = recv_expect(c, &m, err);
        if (r == 0 && (c->ns.clone_flags & CLONE_NEWUSER)) {
                r = lnx_write_id_maps(m.pid, c->spec, err);
                if (r == 0)
                        r = rt_sync_send(c->sync_fd[0], RT_SYNC_GO, 0, NULL);
                if (r == 0)
                        r = recv_expect(c, &m, err);
        }
        if (r < 0)
                return r;
        c->pid = m.pid;
        waitpid(c->intermediate, NULL, 0);
        c->intermediate = 0;
        return 0;
}

struct json_object *rt_ctx_oci_state(const struct rt_ctx *c)
{
        struct rt_state st = {.id = (char *)c->id,
                              .pid = c->pid,
                              .bundle = (char *)c->bundle,
                              .rootfs = (char *)c->rootfs,
                              .created = (char *)c->created,
                              .owner = ""};
        struct json_object *o = rt_state_to_oci(&st, RT_CREATING);
        struct json_object *ann = rt_annotations_json(c->spec);
        if (ann)
                json_object_object_add(o, "annotations", ann);
        return o;
}

/* The seccomp listener fd travels child -> us -> listenerPath with the container state. */
static int forward_notify_fd(struct rt_ctx *c, struct cella_error *err)
{
        _cleanup_close_ int fd = -1;
        int r = lnx_recv_fd(c->sync_fd[0], &fd);
        if (r < 0)
                return cella_errno(err, -r, "receive the seccomp notify fd");
        _cleanup_(json_object_putp) struct json_object *o = rt_ctx_oci_state(c);
        const struct oci_seccomp *s = c->spec->linux_.seccomp;
        r = lnx_seccomp_send_notify_fd(s->listener_path, fd, json_to_string(o, 0),
                                       s->listener_metadata, err);
        if (r < 0)
                return r;
        return rt_sync_send(c->sync_fd[0], RT_SYNC_SECCOMP_FD_DONE, 0, NULL);
}

/*
 * A step of ours failed while the init was running: if the init failed first (it died, or
 * reported an error), that is the cause and says more than, say, a pid that is gone.
 */
static int init_failed_first(struct rt_ctx *c, int r, struct cella_error *err)
{
        struct pollfd p = {.fd = c->sync_fd[0], .events = POLLIN};
        if (poll(&p, 1, 0) != 1)
                return r;
        struct rt_sync_msg m;
        struct cella_error init_err = {0};
        int ir = recv_expect(c, &m, &init_err);
        if (ir == 0)
                return r;
        *err = init_err;
        return ir;
}

/*
 * Creating the cgroup costs milliseconds (a cpuset flips a static key), and moving a process
 * into it by its pid waits for an RCU grace period (cgroup.h). The init does not need its
 * cgroup until its first "cgroup" or "sysfs" mount (or the end of its mounts), so it builds its
 * rootfs meanwhile (after GO, if id maps come first); it waits for CGROUP before that point. CGROUP
 * carries the v1 "tasks" files, through which the init moves itself without that wait (it was born
 * in the cgroup2 one); cg_enter() writes the pid only where neither way applies. What the init
 * allocates before joining is charged to our cgroup, not the container's (docs/benchmarks.md).
 * The network namespace, the costliest to create, is made here too (net_later) and comes last:
 * a sysfs mount shows the mounter's, and hooks must find it at /proc/<init>/ns/net.
 */
static int join_cgroup(struct rt_ctx *c, struct cella_error *err)
{
        int fds[RT_SYNC_MAX_FDS], n = 0;
        int r = c->cg_early ? 0 : make_cgroup(c, err);
        if (r == 0) {
                n = cg_open_self_join(&c->cg, fds, err);
                r = n < 0 ? n : 0;
                n = n < 0 ? 0 : n;
        }
        if (r == 0)
                r = cg_enter(&c->cg, c->pid, err);
        if (r == 0 && c->net_later) {
                int fd = lnx_netns_new(err);
                r = fd < 0 ? fd : 0;
                if (fd >= 0)
                        fds[n++] = fd;
        }
        if (r == 0) {
                r = rt_sync_send_fds(c->sync_fd[0], RT_SYNC_CGROUP, fds, (size_t)n);
                if (r < 0)
                        r = cella_errno(err, -r, "signal the container init");
        }
        while (n > 0)
                close(fds[--n]);
        return r < 0 ? init_failed_first(c, r, err) : 0;
}

/* The container's state, borrowing the context's strings and cgroup. */
static struct rt_state borrowed_state(const struct rt_ctx *c)
{
        return (struct rt_state){
            .id = (char *)c->id,
            .pid = c->pid,
            .start_time = c->start_time,
            .bundle = (char *)c->bundle,
            .rootfs = (char *)c->rootfs,
            .created = (char *)c->created,
            .owner = "",
            .has_cgroup = true,
            .cg = c->cg,
        };
}

/* Written while the init sets up (everything in it is known once its cgroup is made)... */
static int stage_state(struct rt_ctx *c, struct cella_error *err)
{
        c->start_time = rt_pid_start_time(c->pid);
        struct rt_state st = borrowed_state(c);
        _cleanup_(json_object_putp) struct json_object *ann = rt_annotations_json(c->spec);
        _cleanup_(json_object_putp) struct json_object *hooks = rt_hooks_state_json(c->spec);
        st.annotations = ann;
        st.hooks = hooks;
        return rt_state_stage(c->dir_fd, &st, err);
}

/* ...and published when it is ready. */
static int record_state(struct rt_ctx *c, struct cella_error *err)
{
        int r = rt_state_publish(c->dir_fd, c->id, err);
        if (r == 0 && c->opts->pid_file)
                r = rt_write_pid_file(c->opts->pid_file, c->pid, err);
        return r;
}

/* Drives the init through setup until it reports READY. */
static int converse(struct rt_ctx *c, struct cella_error *err)
{
        int r = rt_init_waits_for_go(c) ? rt_sync_send(c->sync_fd[0], RT_SYNC_GO, 0, NULL) : 0;
        if (r < 0)
                return init_failed_first(c, cella_errno(err, -r, "signal the container init"), err);
        r = join_cgroup(c, err);
        if (r == 0)
                r = stage_state(c, err);
        if (r < 0)
                return r;
        for (;;) {
                struct rt_sync_msg m;
                r = recv_expect(c, &m, err);
                if (r < 0)
                        return r;
                if (m.type == RT_SYNC_READY)
                        return 0;
                if (m.type == RT_SYNC_SECCOMP_FD) {
                        r = forward_notify_fd(c, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (m.type != RT_SYNC_HOOKS)
                        return cella_err(err, EPROTO, "unexpected message %d from container init",
                                         m.type);
                r = rt_run_create_hooks(c, err);
                if (r < 0)
                        return r;
                r = rt_sync_send(c->sync_fd[0], RT_SYNC_HOOKS_DONE, 0, NULL);
                if (r < 0)
                        return cella_errno(err, -r, "signal the container init");
        }
}

int rt_ctx_take_handle(struct rt_ctx *c, struct handle *h, struct cella_error *err)
{
        struct rt_state st = borrowed_state(c);
        st.id = strdup(c->id);
        st.bundle = strdup(c->bundle);
        st.rootfs = strdup(c->rootfs);
        st.created = strdup(c->created);
        st.owner = strdup("");
        st.annotations = rt_annotations_json(c->spec);
        st.hooks = rt_hooks_state_json(c->spec);
        st.cg.pending = NULL; /* applied, and it points into the spec */
        *h = (struct handle){.root_fd = c->root_fd, .dir_fd = c->dir_fd, .st = st, .loaded = true};
        c->root_fd = c->dir_fd = -1;
        memset(&c->cg, 0, sizeof(c->cg));
        if (!st.id || !st.bundle || !st.rootfs || !st.created || !st.owner) {
                handle_close(h);
                *h = (struct handle){.root_fd = -1, .dir_fd = -1};
                return cella_err(err, ENOMEM, "out of memory");
        }
        return 0;
}

static void undo(struct rt_ctx *c)
{
        struct cella_error ignored = {0};
        if (c->intermediate > 0) {
                kill(c->intermediate, SIGKILL);
                waitpid(c->intermediate, NULL, 0);
        }
        if (c->pid > 0) {
                kill(c->pid, SIGKILL);
                waitpid(c->pid, NULL, 0);
        }
        if (c->cg_created && cg_destroy(&c->cg, true, &ignored) < 0)
                log_warn("remove cgroup of \"%s\": %s", c->id, ignored.msg);
        if (c->dir_fd >= 0)
                rt_container_dir_remove(c->root_fd, c->id);
}

void rt_ctx_release(struct rt_ctx *c)
{
        int *fds[] = {&c->root_fd,    &c->dir_fd,     &c->console_fd, &c->fifo_fd,
                      &c->sync_fd[0], &c->sync_fd[1], &c->cg_clone_fd};
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
                if (*fds[i] >= 0)
                        close(*fds[i]);
                *fds[i] = -1;
        }
        lnx_ns_plan_close(&c->ns);
        cg_free(&c->cg);
        lnx_seccomp_free(c->seccomp);
        c->seccomp = NULL;
        lnx_rootfs_idmapped_close(c->idmapped, c->spec ? c->spec->n_mounts : 0);
        c->idmapped = NULL;
        oci_spec_free(c->spec);
        c->spec = NULL;
}

int rt_create_ctx(struct rt_ctx *c, const char *root, const char *id,
                  const struct rt_create_opts *o, int *ret_console_peer, struct cella_error *err)
{
        ctx_init(c, id, o);
        log_timestamp(c->created, sizeof(c->created));
        int r = prepare(c, root, ret_console_peer, err);
        if (r == 0)
                r = spawn(c, err);
        if (r == 0)
                r = converse(c, err);
        if (r == 0)
                r = record_state(c, err);
        if (r < 0)
                undo(c);
        return r;
}

int rt_create(const char *root, const char *id, const struct rt_create_opts *o,
              struct cella_error *err)
{
        struct rt_ctx c;
        int r = rt_create_ctx(&c, root, id, o, NULL, err);
        rt_ctx_release(&c);
        return r;
}
