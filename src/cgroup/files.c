/* SPDX-License-Identifier: Apache-2.0 */
/* cgroupfs file and directory operations shared by the backends. Every error names the file. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "internal.h"

void cg_sleep_ms(unsigned ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int cg_read(const char *dir, const char *file, char **ret, struct cella_error *err)
{
        _cleanup_free_ char *path = cg_path_join(dir, file);
        if (!path)
                return cella_err(err, ENOMEM, "out of memory");
        int r = fs_read_file(path, 16 << 20, ret, NULL);
        if (r < 0)
                return cella_errno(err, -r, "read \"%s\"", path);
        return 0;
}

int cg_open_file(const char *dir, const char *file, struct cella_error *err)
{
        _cleanup_free_ char *path = cg_path_join(dir, file);
        if (!path)
                return cella_err(err, ENOMEM, "out of memory");
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? cella_errno(err, errno, "write \"%s\"", path) : fd;
}

int cg_write_fd(int fd, const char *dir, const char *file, const char *value,
                struct cella_error *err)
{
        /* cgroupfs parses each write(2) on its own: the value must go in one call. */
        size_t len = strlen(value);
        ssize_t n;
        do
                n = write(fd, value, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return cella_errno(err, errno, "write \"%s/%s\"", dir, file);
        if ((size_t)n != len)
                return cella_err(err, EIO, "write \"%s/%s\": short write", dir, file);
        return 0;
}

int cg_write(const char *dir, const char *file, const char *value, struct cella_error *err)
{
        _cleanup_close_ int fd = cg_open_file(dir, file, err);
        return fd < 0 ? fd : cg_write_fd(fd, dir, file, value, err);
}

bool cg_has_file(const char *dir, const char *file)
{
        _cleanup_free_ char *path = cg_path_join(dir, file);
        return path && access(path, F_OK) == 0;
}

struct cg_hierarchy *cg_find_hierarchy(struct cgroup *cg, const char *controller)
{
        size_t n = strlen(controller);
        for (size_t i = 0; i < cg->n_h; i++) {
                for (const char *p = cg->h[i].controllers; *p;) {
                        const char *e = strchr(p, ',');
                        size_t len = e ? (size_t)(e - p) : strlen(p);
                        if (len == n && memcmp(p, controller, n) == 0)
                                return &cg->h[i];
                        if (!e)
                                break;
                        p = e + 1;
                }
        }
        return NULL;
}

struct cg_hierarchy *cg_unified(struct cgroup *cg)
{
        for (size_t i = 0; i < cg->n_h; i++)
                if (!cg->h[i].controllers[0])
                        return &cg->h[i];
        return NULL;
}

/* One mkdir -p pass; -ENOENT if a parent vanished under us (a concurrent destroy). */
static int mkdir_pass(struct cg_hierarchy *h, struct cella_error *err)
{
        size_t mlen = strlen(h->mount);
        if (strncmp(h->path, h->mount, mlen) != 0)
                return cella_err(err, EINVAL, "cgroup \"%s\" is not below \"%s\"", h->path,
                                 h->mount);
        _cleanup_free_ char *prefix = strdup(h->path);
        if (!prefix)
                return cella_err(err, ENOMEM, "out of memory");
        for (size_t i = mlen; h->path[i];) {
                while (h->path[i] == '/')
                        i++;
                while (h->path[i] && h->path[i] != '/')
                        i++;
                prefix[i] = '\0';
                if (mkdir(prefix, 0755) == 0) {
                        if (!h->created && !(h->created = strdup(prefix)))
                                return cella_err(err, ENOMEM, "out of memory");
                } else if (errno == ENOENT) {
                        return -ENOENT;
                } else if (errno != EEXIST) {
                        return cella_errno(err, errno, "mkdir \"%s\"", prefix);
                }
                prefix[i] = h->path[i];
        }
        return 0;
}

int cg_mkdir_hierarchy(struct cg_hierarchy *h, struct cella_error *err)
{
        int r = -ENOENT;
        for (int attempt = 0; attempt < 3 && r == -ENOENT; attempt++)
                r = mkdir_pass(h, err);
        if (r == -ENOENT)
                return cella_errno(err, ENOENT, "mkdir \"%s\"", h->path);
        return r;
}

static bool has_procs(const char *dir)
{
        _cleanup_free_ char *procs = NULL;
        return cg_read(dir, "cgroup.procs", &procs, NULL) == 0 && procs[0] != '\0';
}

/*
 * rmdir with the short retry runc uses: a cgroup can stay busy briefly after its last task
 * exited. One that still lists processes fails at once.
 */
static int rmdir_retry(const char *path)
{
        unsigned delay = 10;
        for (int i = 0;; i++) {
                if (rmdir(path) == 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY || i == 6 || has_procs(path))
                        return -errno;
                cg_sleep_ms(delay);
                delay *= 2;
        }
}

/* Removes path and every cgroup below it, deepest first. */
static int rmdir_tree(const char *path, struct cella_error *err)
{
        /* Mostly a leaf with no task left: one rmdir. Busy (children, tasks): walk, retry. */
        if (rmdir(path) == 0 || errno == ENOENT)
                return 0;
        _cleanup_closedir_ DIR *d = opendir(path);
        if (!d)
                return errno == ENOENT ? 0 : cella_errno(err, errno, "open \"%s\"", path);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
                    strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *child = cg_path_join(path, de->d_name);
                if (!child)
                        return cella_err(err, ENOMEM, "out of memory");
                int r = rmdir_tree(child, err);
                if (r < 0)
                        return r;
        }
        int r = rmdir_retry(path);
        return r < 0 ? cella_errno(err, -r, "rmdir \"%s\"", path) : 0;
}

int cg_rmdir_hierarchy(struct cg_hierarchy *h, struct cella_error *err)
{
        int r = rmdir_tree(h->path, err);
        if (r < 0 || !h->created)
                return r;
        size_t clen = strlen(h->created);
        _cleanup_free_ char *p = strdup(h->path);
        if (!p)
                return cella_err(err, ENOMEM, "out of memory");
        for (;;) {
                char *slash = strrchr(p, '/');
                if (!slash || (size_t)(slash - p) < clen)
                        break;
                *slash = '\0';
                /* Busy or not empty: another container still lives below; that is fine. */
                if (rmdir(p) < 0 && errno != ENOENT)
                        break;
        }
        return 0;
}

int cg_enter_hierarchy(const struct cg_hierarchy *h, pid_t pid, struct cella_error *err)
{
        if (h->joined)
                return 0;
        char buf[32];
        snprintf(buf, sizeof(buf), "%d", (int)pid);
        return cg_write(h->path, "cgroup.procs", buf, err);
}

struct pid_vec {
        pid_t *v;
        size_t n, cap;
};

static int pid_vec_push(struct pid_vec *pv, pid_t pid)
{
        if (pv->n == pv->cap) {
                size_t cap = pv->cap ? pv->cap * 2 : 16;
                pid_t *nv = realloc(pv->v, cap * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                pv->v = nv;
                pv->cap = cap;
        }
        pv->v[pv->n++] = pid;
        return 0;
}

static int read_pids_rec(const char *dir, struct pid_vec *pv, struct cella_error *err)
{
        _cleanup_free_ char *text = NULL;
        int r = cg_read(dir, "cgroup.procs", &text, err);
        if (r < 0)
                return r;
        for (char *p = text; *p;) {
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p)
                        break;
                if (v > 0 && pid_vec_push(pv, (pid_t)v) < 0)
                        return cella_err(err, ENOMEM, "out of memory");
                p = end;
                while (*p == '\n')
                        p++;
        }
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return cella_errno(err, errno, "open \"%s\"", dir);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
                    strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *child = cg_path_join(dir, de->d_name);
                if (!child)
                        return cella_err(err, ENOMEM, "out of memory");
                r = read_pids_rec(child, pv, err);
                /* A child cgroup removed while we walk is not an error. */
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        return 0;
}

int cg_read_pids_tree(const char *dir, pid_t **ret_pids, size_t *ret_n, struct cella_error *err)
{
        struct pid_vec pv = {0};
        int r = read_pids_rec(dir, &pv, err);
        if (r < 0) {
                free(pv.v);
                return r;
        }
        *ret_pids = pv.v;
        *ret_n = pv.n;
        return 0;
}
