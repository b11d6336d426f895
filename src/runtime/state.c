/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/state.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"

/* state.json as written, before rt_state_publish() renames it into place. */
#define STAGED ".state.json.new"

static const char *const status_names[] = {"creating", "created", "running", "paused", "stopped"};

const char *rt_status_name(enum rt_status s)
{
        return status_names[s];
}

int rt_id_validate(const char *id, struct cella_error *err)
{
        size_t n = strlen(id);
        if (n == 0 || n > 1024 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
                return cella_err(err, EINVAL, "invalid container id \"%s\"", id);
        for (const char *p = id; *p; p++) {
                char c = *p;
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-' || c == '.';
                if (!ok)
                        return cella_err(err, EINVAL,
                                         "invalid container id \"%s\": only letters, digits and "
                                         "_+-. are allowed",
                                         id);
        }
        return 0;
}

int rt_root_open(const char *root, bool create, struct cella_error *err)
{
        if (create && mkdir(root, 0711) < 0 && errno != EEXIST) {
                /* The parent (/run, $XDG_RUNTIME_DIR) may be missing a level. */
                _cleanup_free_ char *copy = strdup(root);
                char *slash = copy ? strrchr(copy, '/') : NULL;
                if (slash && slash != copy) {
                        *slash = '\0';
                        (void)mkdir(copy, 0755);
                }
                if (mkdir(root, 0711) < 0 && errno != EEXIST)
                        return cella_errno(err, errno, "create state directory \"%s\"", root);
        }
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return cella_errno(err, errno, "open state directory \"%s\"", root);
        return fd;
}

int rt_container_dir_create(int root_fd, const char *id, struct cella_error *err)
{
        int r = rt_id_validate(id, err);
        if (r < 0)
                return r;
        if (mkdirat(root_fd, id, 0700) < 0) {
                if (errno == EEXIST)
                        return cella_err(err, EEXIST, "container with id \"%s\" already exists",
                                         id);
                return cella_errno(err, errno, "create state for \"%s\"", id);
        }
        int fd = openat(root_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || flock(fd, LOCK_EX) < 0) {
                r = cella_errno(err, errno, "lock state of \"%s\"", id);
                if (fd >= 0)
                        close(fd);
                unlinkat(root_fd, id, AT_REMOVEDIR);
                return r;
        }
        return fd;
}

int rt_container_dir_open(int root_fd, const char *id, bool lock, struct cella_error *err)
{
        int r = rt_id_validate(id, err);
        if (r < 0)
                return r;
        int fd = openat(root_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return cella_err(err, ENOENT, "container \"%s\" does not exist", id);
                return cella_errno(err, errno, "open state of \"%s\"", id);
        }
        if (lock && flock(fd, LOCK_EX) < 0) {
                r = cella_errno(err, errno, "lock state of \"%s\"", id);
                close(fd);
                return r;
        }
        return fd;
}

int rt_container_dir_remove(int root_fd, const char *id)
{
        _cleanup_close_ int fd =
            openat(root_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
                unlinkat(fd, "state.json", 0);
                unlinkat(fd, STAGED, 0);
                unlinkat(fd, "exec.fifo", 0);
                unlinkat(fd, "notify/notify.sock", 0); /* NOTIFY_SOCKET (activation.c) */
                unlinkat(fd, "notify", AT_REMOVEDIR);
        }
        if (unlinkat(root_fd, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
        json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

int rt_state_stage(int dir_fd, const struct rt_state *st, struct cella_error *err)
{
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        add_str(o, "id", st->id);
        json_object_object_add(o, "pid", json_object_new_int(st->pid));
        json_object_object_add(o, "startTime", json_object_new_uint64(st->start_time));
        add_str(o, "bundle", st->bundle);
        add_str(o, "rootfs", st->rootfs);
        add_str(o, "created", st->created);
        add_str(o, "owner", st->owner);
        if (st->annotations)
                json_object_object_add(o, "annotations", json_object_get(st->annotations));
        if (st->hooks)
                json_object_object_add(o, "hooks", json_object_get(st->hooks));
        if (st->has_cgroup)
                json_object_object_add(o, "cgroup", cg_to_json(&st->cg));
        const char *text = json_to_string(o, 0);
        _cleanup_close_ int fd =
            openat(dir_fd, STAGED, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        int r = fd < 0 ? -errno : fs_write_all(fd, text, strlen(text));
        if (r < 0)
                return cella_errno(err, -r, "write state of \"%s\"", st->id);
        return 0;
}

int rt_state_publish(int dir_fd, const char *id, struct cella_error *err)
{
        if (renameat(dir_fd, STAGED, dir_fd, "state.json") < 0)
                return cella_errno(err, errno, "write state of \"%s\"", id);
        return 0;
}

static char *dup_field(struct json_object *o, const char *k)
{
        struct json_object *v;
        if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
                return strdup("");
        return strdup(json_object_get_string(v));
}

int rt_state_parse(const char *text, size_t len, const char *id, struct rt_state *st,
                   struct cella_error *err)
{
        memset(st, 0, sizeof(*st));
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        if (json_parse_text(text, len, &o, err) < 0 || !json_object_is_type(o, json_type_object))
                return cella_err(err, EINVAL,
                                 "state of \"%s\" is corrupt; remove it with `cella delete -f %s`",
                                 id, id);
        struct json_object *v;
        st->id = dup_field(o, "id");
        st->bundle = dup_field(o, "bundle");
        st->rootfs = dup_field(o, "rootfs");
        st->created = dup_field(o, "created");
        st->owner = dup_field(o, "owner");
        if (json_object_object_get_ex(o, "pid", &v))
                st->pid = json_object_get_int(v);
        if (json_object_object_get_ex(o, "startTime", &v))
                st->start_time = json_object_get_uint64(v);
        if (json_object_object_get_ex(o, "annotations", &v) &&
            json_object_is_type(v, json_type_object))
                st->annotations = json_object_get(v);
        if (json_object_object_get_ex(o, "hooks", &v) && json_object_is_type(v, json_type_object))
                st->hooks = json_object_get(v);
        if (json_object_object_get_ex(o, "cgroup", &v)) {
                int r = cg_from_json(v, &st->cg, err);
                if (r < 0) {
                        rt_state_free(st);
                        return r;
                }
                st->has_cgroup = true;
        }
        if (!st->id || !st->bundle || !st->rootfs || !st->created || !st->owner) {
                rt_state_free(st);
                return cella_err(err, ENOMEM, "out of memory");
        }
        return 0;
}

int rt_state_load(int dir_fd, const char *id, struct rt_state *st, struct cella_error *err)
{
        memset(st, 0, sizeof(*st));
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = fs_read_file_at(dir_fd, "state.json", 1 << 20, &text, &len);
        if (r == -ENOENT)
                return cella_err(err, EAGAIN, "container \"%s\" is still being created", id);
        if (r < 0)
                return cella_errno(err, -r, "read state of \"%s\"", id);
        return rt_state_parse(text, len, id, st, err);
}

void rt_state_free(struct rt_state *st)
{
        free(st->id);
        free(st->bundle);
        free(st->rootfs);
        free(st->created);
        free(st->owner);
        json_object_put(st->annotations);
        json_object_put(st->hooks);
        if (st->has_cgroup)
                cg_free(&st->cg);
        memset(st, 0, sizeof(*st));
}

unsigned long long rt_pid_start_time(pid_t pid)
{
        char path[64];
        _cleanup_free_ char *buf = NULL;
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        if (pid <= 0 || fs_read_file(path, 8192, &buf, NULL) < 0)
                return 0;
        /* comm may contain spaces and parentheses: parse from the last ')'. */
        char *p = strrchr(buf, ')');
        if (!p || p[1] != ' ')
                return 0;
        char state = p[2];
        if (state == 'Z' || state == 'X')
                return 0;
        p += 2;
        for (int field = 3; field < 22 && p; field++) {
                p = strchr(p, ' ');
                if (p)
                        p++;
        }
        return p ? strtoull(p, NULL, 10) : 0;
}

pid_t rt_pid_in_container(pid_t pid)
{
        char path[64];
        _cleanup_free_ char *buf = NULL;
        snprintf(path, sizeof(path), "/proc/%d/status", pid);
        if (fs_read_file(path, 1 << 16, &buf, NULL) < 0)
                return pid;
        char *line = strstr(buf, "\nNSpid:");
        if (!line)
                return pid;
        char *end = strchr(line + 1, '\n');
        if (end)
                *end = '\0';
        char *last = strrchr(line, '\t');
        return last ? (pid_t)atoi(last + 1) : pid;
}

enum rt_status rt_state_status(int dir_fd, const struct rt_state *st)
{
        if (st->pid <= 0 || rt_pid_start_time(st->pid) != st->start_time)
                return RT_STOPPED;
        if (faccessat(dir_fd, "exec.fifo", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return RT_CREATED;
        bool frozen = false;
        if (st->has_cgroup && cg_is_frozen((struct cgroup *)&st->cg, &frozen, NULL) == 0 && frozen)
                return RT_PAUSED;
        return RT_RUNNING;
}

struct json_object *rt_state_to_oci(const struct rt_state *st, enum rt_status status)
{
        struct json_object *o = json_object_new_object();
        add_str(o, "ociVersion", "1.2.0");
        add_str(o, "id", st->id);
        json_object_object_add(o, "pid", json_object_new_int(status == RT_STOPPED ? 0 : st->pid));
        add_str(o, "status", rt_status_name(status));
        add_str(o, "bundle", st->bundle);
        add_str(o, "rootfs", st->rootfs);
        add_str(o, "created", st->created);
        add_str(o, "owner", st->owner);
        if (st->annotations && json_object_object_length(st->annotations) > 0)
                json_object_object_add(o, "annotations", json_object_get(st->annotations));
        return o;
}
