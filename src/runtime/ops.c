/* SPDX-License-Identifier: Apache-2.0 */
/* start, kill, delete, state, list: the commands that act on an existing container. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "runtime/activation.h"
#include "runtime/hooks.h"
#include "runtime/internal.h"
#include "runtime/runtime.h"
#include "runtime/state.h"

int rt_write_pid_file(const char *path, pid_t pid, struct cella_error *err)
{
        char buf[32], dir[PATH_MAX];
        int n = snprintf(buf, sizeof(buf), "%d", pid);
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        const char *name = slash ? slash + 1 : path;
        if (slash)
                *slash = '\0';
        _cleanup_close_ int dfd =
            open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r = dfd < 0 ? -errno : fs_replace_at(dfd, name, buf, (size_t)n, 0644);
        if (r < 0)
                return cella_errno(err, -r, "write --pid-file \"%s\"", path);
        return 0;
}

struct json_object *rt_annotations_json(const struct oci_spec *spec)
{
        if (spec->n_annotations == 0)
                return NULL;
        struct json_object *o = json_object_new_object();
        for (size_t i = 0; i < spec->n_annotations; i++)
                json_object_object_add(o, spec->annotations[i].key,
                                       json_object_new_string(spec->annotations[i].value));
        return o;
}

void handle_close(struct handle *h)
{
        if (h->loaded)
                rt_state_free(&h->st);
        if (h->dir_fd >= 0)
                close(h->dir_fd);
        if (h->root_fd >= 0)
                close(h->root_fd);
}

int handle_open(struct handle *h, const char *root, const char *id, bool lock,
                struct cella_error *err)
{
        *h = (struct handle){.root_fd = -1, .dir_fd = -1};
        h->root_fd = rt_root_open(root, false, err);
        if (h->root_fd == -ENOENT)
                return cella_err(err, ENOENT, "container \"%s\" does not exist", id);
        if (h->root_fd < 0)
                return h->root_fd;
        h->dir_fd = rt_container_dir_open(h->root_fd, id, lock, err);
        if (h->dir_fd < 0)
                return h->dir_fd;
        int r = rt_state_load(h->dir_fd, id, &h->st, err);
        h->loaded = r == 0;
        return r;
}

static const char *oci_state_text(const struct rt_state *st, enum rt_status s,
                                  struct json_object **holder)
{
        *holder = rt_state_to_oci(st, s);
        return json_to_string(*holder, 0);
}

/* Signals the init only if it is still the process we created (pidfd: no pid-reuse race). */
static int signal_init(const struct rt_state *st, int sig, struct cella_error *err)
{
        _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
        if (pidfd < 0 || rt_pid_start_time(st->pid) != st->start_time)
                return cella_err(err, ESRCH, "container \"%s\" is not running", st->id);
        if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
                return cella_errno(err, errno, "send signal %d to container \"%s\"", sig, st->id);
        return 0;
}

static bool wait_exit(pid_t pid, int timeout_ms);
static int destroy(struct handle *h, const char *id, struct cella_error *err);

/* poststart and poststop failures are warnings only, and the rest still run (runtime.md). */
static void run_state_hooks(const struct rt_state *st, const char *kind, enum rt_status s)
{
        struct json_object *hooks = NULL;
        if (!st->hooks || !json_object_object_get_ex(st->hooks, kind, &hooks))
                return;
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        const char *state = oci_state_text(st, s, &o);
        struct cella_error err = {0};
        rt_hooks_run_json(hooks, kind, state, 0, true, &err);
}

/*
 * startContainer hooks, run from `start` (so a failure is start's error) in every namespace of
 * the init, before it may exec; their state shows the pid as the container sees it.
 */
static int run_start_container_hooks(const struct rt_state *st, struct cella_error *err)
{
        struct json_object *hooks = NULL;
        if (!st->hooks || !json_object_object_get_ex(st->hooks, "startContainer", &hooks))
                return 0;
        _cleanup_(json_object_putp) struct json_object *o = rt_state_to_oci(st, RT_CREATED);
        json_object_object_add(o, "pid", json_object_new_int(rt_pid_in_container(st->pid)));
        return rt_hooks_run_json(hooks, "startContainer", json_to_string(o, 0), st->pid, false,
                                 err);
}

/* Once the user process has been exec'd, the init's exec.fifo fd (close-on-exec) is gone:
 * a FIFO's write end then polls POLLERR (no readers). */
static void wait_for_exec(int fifo)
{
        struct pollfd p = {.fd = fifo, .events = 0};
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
                ;
}

int rt_start_handle(struct handle *h, struct cella_error *err)
{
        const char *id = h->st.id;
        _cleanup_close_ int fifo = -1, notify = -1;
        enum rt_status s = rt_state_status(h->dir_fd, &h->st);
        if (s != RT_CREATED)
                return cella_err(err, EINVAL,
                                 "cannot start container \"%s\": it is %s, not created", id,
                                 rt_status_name(s));
        fifo = openat(h->dir_fd, "exec.fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fifo < 0)
                return cella_errno(err, errno == ENXIO ? ESRCH : errno,
                                   "cannot start container \"%s\": its init is gone", id);
        /* Bound before the init runs, so its READY=1 cannot be lost. */
        int r = rt_notify_bind(h->dir_fd, &notify, err);
        if (r < 0)
                return r;
        r = run_start_container_hooks(&h->st, err);
        if (r < 0) {
                /* Lifecycle 7: stop the container, then it is destroyed (step 12). */
                struct cella_error ignored = {0};
                signal_init(&h->st, SIGKILL, &ignored);
                wait_exit(h->st.pid, 10000);
                destroy(h, id, &ignored);
                return r;
        }
        /* Unlink first, so nobody sees "created" once the init may already be running. */
        unlinkat(h->dir_fd, "exec.fifo", 0);
        if (write(fifo, "0", 1) != 1)
                return cella_errno(err, errno, "start container \"%s\"", id);
        /* poststart runs after the user process is executed (config.md). */
        wait_for_exec(fifo);
        run_state_hooks(&h->st, "poststart", RT_RUNNING);
        /* Waiting for READY=1 without the lock: kill and delete must not block on it. */
        flock(h->dir_fd, LOCK_UN);
        if (notify >= 0)
                return rt_notify_forward(TAKE_FD(notify), h->st.pid, err);
        return 0;
}

int rt_start(const char *root, const char *id, struct cella_error *err)
{
        struct handle h;
        int r = handle_open(&h, root, id, true, err);
        if (r == 0)
                r = rt_start_handle(&h, err);
        handle_close(&h);
        return r;
}

int rt_kill(const char *root, const char *id, int sig, bool all, struct cella_error *err)
{
        struct handle h;
        int r = handle_open(&h, root, id, true, err);
        if (r == 0) {
                enum rt_status s = rt_state_status(h.dir_fd, &h.st);
                if (s == RT_STOPPED)
                        r = cella_err(err, ESRCH, "cannot kill container \"%s\": it is not running",
                                      id);
                else if (all && h.st.has_cgroup)
                        r = cg_kill_all(&h.st.cg, sig, err);
                else
                        r = signal_init(&h.st, sig, err);
        }
        handle_close(&h);
        return r;
}

/* Waits up to timeout_ms for pid to exit (pidfd poll: works for non-children too). */
static bool wait_exit(pid_t pid, int timeout_ms)
{
        _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return true;
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        int n;
        do
                n = poll(&pfd, 1, timeout_ms);
        while (n < 0 && errno == EINTR);
        return n != 0;
}

static int destroy(struct handle *h, const char *id, struct cella_error *err)
{
        if (h->st.has_cgroup) {
                int r = cg_destroy(&h->st.cg, true, err);
                if (r < 0)
                        return cella_err_prefix(err, "delete container \"%s\"", id);
        }
        run_state_hooks(&h->st, "poststop", RT_STOPPED);
        if (rt_container_dir_remove(h->root_fd, id) < 0)
                return cella_errno(err, errno, "remove state of \"%s\"", id);
        return 0;
}

/* A state directory with no usable state.json (a create that crashed): remove it. */
static int delete_broken(struct handle *h, const char *id, bool force, struct cella_error *err)
{
        if (!force)
                return -(err->code ? err->code : EINVAL);
        cella_error_clear(err);
        rt_container_dir_remove(h->root_fd, id);
        return 0;
}

/* delete of a container whose state is loaded, under its lock. */
static int delete_loaded(struct handle *h, bool force, struct cella_error *err)
{
        const char *id = h->st.id;
        enum rt_status s = rt_state_status(h->dir_fd, &h->st);
        if ((s == RT_RUNNING || s == RT_PAUSED) && !force)
                return cella_err(err, EBUSY,
                                 "cannot delete container \"%s\" that is not stopped: %s "
                                 "(stop it first, or use delete --force)",
                                 id, rt_status_name(s));
        if (s != RT_STOPPED) {
                signal_init(&h->st, SIGKILL, err);
                /* A frozen process cannot die: thaw it after the signal. */
                if (s == RT_PAUSED)
                        cg_freeze(&h->st.cg, false, err);
                cella_error_clear(err);
                wait_exit(h->st.pid, 10000);
        }
        return destroy(h, id, err);
}

int rt_delete(const char *root, const char *id, bool force, struct cella_error *err)
{
        struct handle h;
        int r = handle_open(&h, root, id, true, err);
        if (r == -ENOENT && force && h.dir_fd < 0) {
                cella_error_clear(err); /* runc: delete --force of a missing container succeeds */
                r = 0;
        } else if (r < 0 && h.dir_fd >= 0) {
                r = delete_broken(&h, id, force, err);
        } else if (r == 0) {
                r = delete_loaded(&h, force, err);
        }
        handle_close(&h);
        return r;
}

int rt_delete_handle(struct handle *h, bool force, struct cella_error *err)
{
        struct stat ours, now;
        if (flock(h->dir_fd, LOCK_EX) < 0)
                return cella_errno(err, errno, "lock state of \"%s\"", h->st.id);
        /* Someone else deleted it meanwhile (and the id may be a new container's now). */
        if (fstat(h->dir_fd, &ours) < 0 ||
            fstatat(h->root_fd, h->st.id, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
            ours.st_dev != now.st_dev || ours.st_ino != now.st_ino)
                return 0;
        return delete_loaded(h, force, err);
}

/* A state directory without state.json: a create still at work, or one that died. */
static struct json_object *unfinished_state(const struct handle *h, const char *id)
{
        struct rt_state st = {
            .id = (char *)id, .bundle = "", .rootfs = "", .created = "", .owner = ""};
        /* create holds the directory's lock until state.json is written. */
        if (flock(h->dir_fd, LOCK_SH | LOCK_NB) < 0)
                return rt_state_to_oci(&st, RT_CREATING);
        flock(h->dir_fd, LOCK_UN);
        log_warn("container \"%s\" is what an interrupted create left behind: remove it "
                 "with `cella delete --force %s`",
                 id, id);
        return rt_state_to_oci(&st, RT_STOPPED);
}

int rt_state(const char *root, const char *id, struct json_object **ret, struct cella_error *err)
{
        struct handle h;
        int r = handle_open(&h, root, id, false, err);
        if (r == -EAGAIN) {
                cella_error_clear(err);
                *ret = unfinished_state(&h, id);
                r = 0;
        } else if (r == 0) {
                *ret = rt_state_to_oci(&h.st, rt_state_status(h.dir_fd, &h.st));
        }
        handle_close(&h);
        return r;
}

int rt_list(const char *root, struct json_object **ret_array, struct cella_error *err)
{
        *ret_array = json_object_new_array();
        _cleanup_closedir_ DIR *d = opendir(root);
        if (!d)
                return errno == ENOENT
                           ? 0
                           : cella_errno(err, errno, "open state directory \"%s\"", root);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                struct json_object *o = NULL;
                struct cella_error ignored = {0};
                if (rt_state(root, de->d_name, &o, &ignored) == 0)
                        json_object_array_add(*ret_array, o);
        }
        return 0;
}
