/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int lnx_ns_plan_init(const struct oci_spec *spec, struct lnx_ns_plan *p, struct cella_error *err)
{
        memset(p, 0, sizeof(*p));
        for (int i = 0; i < OCI_NS_COUNT; i++)
                p->join_fd[i] = -1;
        const struct oci_linux *l = &spec->linux_;
        for (size_t i = 0; i < l->n_namespaces; i++) {
                const struct oci_namespace *ns = &l->namespaces[i];
                if (ns->path && *ns->path) {
                        int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0) {
                                int e = errno;
                                lnx_ns_plan_close(p);
                                return cella_errno(
                                    err, e, "linux.namespaces[%zu].path: open \"%s\"", i, ns->path);
                        }
                        p->join_fd[ns->type] = fd;
                        p->any_join = true;
                } else if (ns->type == OCI_NS_TIME) {
                        p->new_time = true;
                } else if (ns->type == OCI_NS_CGROUP) {
                        p->new_cgroup = true;
                } else {
                        p->clone_flags |= oci_ns_clone_flag(ns->type);
                }
        }
        return 0;
}

int lnx_netns_new(struct cella_error *err)
{
        _cleanup_close_ int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (home < 0)
                return cella_errno(err, errno, "open our network namespace");
        if (unshare(CLONE_NEWNET) < 0)
                return cella_errno(err, errno, "create network namespace");
        int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        int e = errno;
        if (setns(home, CLONE_NEWNET) < 0) {
                e = errno;
                if (fd >= 0)
                        close(fd);
                return cella_errno(err, e, "return to our network namespace");
        }
        return fd < 0 ? cella_errno(err, e, "open the new network namespace") : fd;
}

void lnx_ns_plan_close(struct lnx_ns_plan *p)
{
        for (int i = 0; i < OCI_NS_COUNT; i++) {
                if (p->join_fd[i] >= 0)
                        close(p->join_fd[i]);
                p->join_fd[i] = -1;
        }
}

int lnx_ns_join(struct lnx_ns_plan *p, struct cella_error *err)
{
        /*
         * The user namespace goes first so that joining the others is checked against the
         * capabilities we hold there; the mount namespace last of the rest, since joining it
         * changes our root and cwd.
         */
        static const enum oci_ns_type order[] = {OCI_NS_USER, OCI_NS_PID,  OCI_NS_NETWORK,
                                                 OCI_NS_IPC,  OCI_NS_UTS,  OCI_NS_CGROUP,
                                                 OCI_NS_TIME, OCI_NS_MOUNT};
        for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
                int fd = p->join_fd[order[i]];
                if (fd < 0)
                        continue;
                if (setns(fd, oci_ns_clone_flag(order[i])) < 0)
                        return cella_errno(err, errno, "join %s namespace",
                                           oci_ns_type_name(order[i]));
        }
        return 0;
}

static int write_own_maps(pid_t pid, const struct oci_spec *spec, struct cella_error *err);

static int write_map(pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n,
                     const char *field, struct cella_error *err)
{
        char buf[4096], path[64];
        size_t len = 0;
        for (size_t i = 0; i < n && len < sizeof(buf); i++)
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n",
                                        m[i].container_id, m[i].host_id, m[i].size);
        if (len >= sizeof(buf))
                return cella_err(err, E2BIG, "%s: too many id mappings", file);
        snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
        int r = fs_write_file(path, buf, len, 0);
        if (r < 0)
                return cella_errno(err, -r, "write \"%s\" (%s)", path, field);
        return 0;
}

/* An unprivileged caller may write only "X <own id> 1"; anything else needs the setuid helper. */
static bool needs_helper(const struct oci_id_mapping *m, size_t n, unsigned own)
{
        if (geteuid() == 0)
                return false;
        return n != 1 || m[0].host_id != own || m[0].size != 1;
}

/* newuidmap/newgidmap (Debian's uidmap) check the ranges against /etc/subuid and /etc/subgid. */
static int run_map_helper(const char *tool, pid_t pid, const struct oci_id_mapping *m, size_t n,
                          struct cella_error *err)
{
        char *argv[2 + 3 * 340 + 2];
        char nums[3 * 340 + 1][12];
        size_t a = 0, k = 0;
        argv[a++] = (char *)tool;
        snprintf(nums[k], sizeof(nums[k]), "%d", pid);
        argv[a++] = nums[k++];
        for (size_t i = 0; i < n && i < 340; i++) {
                const uint32_t v[3] = {m[i].container_id, m[i].host_id, m[i].size};
                for (int j = 0; j < 3; j++) {
                        snprintf(nums[k], sizeof(nums[k]), "%u", v[j]);
                        argv[a++] = nums[k++];
                }
        }
        argv[a] = NULL;
        pid_t child = fork();
        if (child < 0)
                return cella_errno(err, errno, "fork %s", tool);
        if (child == 0) {
                execvp(tool, argv);
                _exit(127);
        }
        int status;
        while (waitpid(child, &status, 0) < 0)
                if (errno != EINTR)
                        return cella_errno(err, errno, "wait for %s", tool);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return cella_err(
                    err, EPERM,
                    "%s failed (status %d): check that /etc/sub%cid grants these ranges "
                    "to your user, and that the uidmap package is installed",
                    tool, WIFEXITED(status) ? WEXITSTATUS(status) : -1, tool[3] == 'u' ? 'u' : 'g');
        return 0;
}

int lnx_write_id_maps(pid_t pid, const struct oci_spec *spec, struct cella_error *err)
{
        const struct oci_linux *l = &spec->linux_;
        /*
         * Both through the helpers or neither: newgidmap manages setgroups itself, and the
         * helpers also accept the caller's own id, so a mixed config needs no special case.
         */
        if (needs_helper(l->uid_mappings, l->n_uid_mappings, geteuid()) ||
            needs_helper(l->gid_mappings, l->n_gid_mappings, getegid())) {
                int r = run_map_helper("newuidmap", pid, l->uid_mappings, l->n_uid_mappings, err);
                if (r == 0)
                        r = run_map_helper("newgidmap", pid, l->gid_mappings, l->n_gid_mappings,
                                           err);
                return r;
        }
        return write_own_maps(pid, spec, err);
}

static int write_own_maps(pid_t pid, const struct oci_spec *spec, struct cella_error *err)
{
        const struct oci_linux *l = &spec->linux_;
        /*
         * An unprivileged writer may only map its own gid, and only after denying
         * setgroups(2) (user_namespaces(7)); root keeps setgroups so additionalGids work.
         */
        if (geteuid() != 0) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
                int r = fs_write_file(path, "deny", 4, 0);
                if (r < 0 && r != -ENOENT)
                        return cella_errno(err, -r, "write \"%s\"", path);
        }
        int r =
            write_map(pid, "uid_map", l->uid_mappings, l->n_uid_mappings, "linux.uidMappings", err);
        if (r < 0)
                return r;
        return write_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, "linux.gidMappings",
                         err);
}

int lnx_userns_with_maps(const struct oci_id_mapping *uids, size_t n_uids,
                         const struct oci_id_mapping *gids, size_t n_gids, const char *field,
                         struct cella_error *err)
{
        /* A process is needed only to own the namespace while its maps are written. */
        pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL,
                                   NULL, 0UL);
        if (pid < 0)
                return cella_errno(err, errno, "%s: create a user namespace", field);
        if (pid == 0) {
                for (;;)
                        pause();
        }
        char uf[128], gf[128], ns[64];
        snprintf(uf, sizeof(uf), "%s.uidMappings", field);
        snprintf(gf, sizeof(gf), "%s.gidMappings", field);
        snprintf(ns, sizeof(ns), "/proc/%d/ns/user", pid);
        int fd = write_map(pid, "uid_map", uids, n_uids, uf, err);
        if (fd == 0)
                fd = write_map(pid, "gid_map", gids, n_gids, gf, err);
        if (fd == 0 && (fd = open(ns, O_RDONLY | O_CLOEXEC)) < 0)
                fd = cella_errno(err, errno, "%s: open \"%s\"", field, ns);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return fd;
}

int lnx_write_time_offsets(const struct oci_spec *spec, struct cella_error *err)
{
        static const char *const clocks[] = {"monotonic", "boottime"};
        char buf[128];
        size_t len = 0;
        for (int i = 0; i < 2; i++) {
                const struct oci_time_offset *o = &spec->linux_.time_offsets[i];
                if (o->present)
                        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %lld %u\n",
                                                clocks[i], (long long)o->secs, o->nanosecs);
        }
        if (len == 0)
                return 0;
        int r = fs_write_file("/proc/self/timens_offsets", buf, len, 0);
        if (r < 0)
                return cella_errno(err, -r, "write linux.timeOffsets to /proc/self/timens_offsets");
        return 0;
}

bool lnx_in_user_namespace(void)
{
        _cleanup_free_ char *map = NULL;
        unsigned long a, b, n;
        if (fs_read_file("/proc/self/uid_map", 4096, &map, NULL) < 0 ||
            sscanf(map, "%lu %lu %lu", &a, &b, &n) != 3)
                return false;
        return !(a == 0 && b == 0 && n == 4294967295UL);
}
