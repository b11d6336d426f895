/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The systemd cgroup driver (--systemd-cgroup). The container's cgroup is a transient scope
 * unit that systemd creates over D-Bus (StartTransientUnit with Delegate=yes and the init's
 * PID), so systemd knows about it and never fights over it; below the scope the cgroupfs code
 * does the rest (other v1 hierarchies, limits, freezing, killing). cgroupsPath is runc's
 * "slice:prefix:name".
 *
 * D-Bus is spoken by dbus.c, without libsystemd: a static cella has this driver too, and the
 * default cgroupfs path loads nothing for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "dbus.h"
#include "internal.h"

int cg_systemd_slice_path(const char *slice, char **ret, struct cella_error *err)
{
        size_t n = strlen(slice);
        if (strcmp(slice, "-.slice") == 0 || n == 0) {
                *ret = strdup("");
                return *ret ? 0 : cella_err(err, ENOMEM, "out of memory");
        }
        const size_t sfx = strlen(".slice");
        bool ok = n > sfx && strcmp(slice + n - sfx, ".slice") == 0 && !strchr(slice, '/') &&
                  slice[0] != '-' && slice[n - sfx - 1] != '-' && !strstr(slice, "--");
        if (!ok)
                return cella_err(err, EINVAL, "systemd slice \"%s\" is not a valid slice name",
                                 slice);
        /* "a-b-c.slice" lives at /a.slice/a-b.slice/a-b-c.slice */
        char *out = malloc(n * n + 2);
        if (!out)
                return cella_err(err, ENOMEM, "out of memory");
        size_t o = 0, base = n - sfx;
        for (size_t i = 0; i <= base; i++) {
                if (i != base && slice[i] != '-')
                        continue;
                o += (size_t)sprintf(out + o, "/%.*s.slice", (int)i, slice);
        }
        *ret = out;
        return 0;
}

int cg_systemd_parse(const char *cgroups_path, const char *id, bool rootless, char **ret_slice,
                     char **ret_unit, struct cella_error *err)
{
        const char *slice = rootless ? "user.slice" : "system.slice", *prefix = "cella";
        const char *name = id;
        char buf[3][256];
        if (cgroups_path && *cgroups_path) {
                const char *c1 = strchr(cgroups_path, ':');
                const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2 || strchr(c2 + 1, ':') || strchr(cgroups_path, '/'))
                        return cella_err(err, EINVAL,
                                         "linux.cgroupsPath \"%s\": the systemd driver expects "
                                         "\"slice:prefix:name\"",
                                         cgroups_path);
                snprintf(buf[0], sizeof(buf[0]), "%.*s", (int)(c1 - cgroups_path), cgroups_path);
                snprintf(buf[1], sizeof(buf[1]), "%.*s", (int)(c2 - c1 - 1), c1 + 1);
                snprintf(buf[2], sizeof(buf[2]), "%s", c2 + 1);
                if (buf[0][0])
                        slice = buf[0];
                prefix = buf[1];
                name = buf[2];
        }
        if (!name || !*name)
                return cella_err(err, EINVAL, "linux.cgroupsPath \"%s\": no unit name",
                                 cgroups_path ? cgroups_path : "");
        size_t n = strlen(name);
        if (n > 6 && strcmp(name + n - 6, ".slice") == 0)
                return cella_err(err, ENOTSUP,
                                 "linux.cgroupsPath \"%s\": a slice as the container's unit is "
                                 "not supported; name a scope",
                                 cgroups_path);
        _cleanup_free_ char *unit = NULL;
        if (asprintf(&unit, "%s%s%s.scope", prefix, *prefix ? "-" : "", name) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        *ret_slice = strdup(slice);
        if (!*ret_slice)
                return cella_err(err, ENOMEM, "out of memory");
        *ret_unit = TAKE_PTR(unit);
        return 0;
}

#define SD_DEST  "org.freedesktop.systemd1"
#define SD_PATH  "/org/freedesktop/systemd1"
#define SD_IFACE "org.freedesktop.systemd1.Manager"

/* Connects and asks for JobRemoved signals, so job completion can be awaited. */
static int connect_systemd(struct dbus *bus, struct cella_error *err)
{
        int r = dbus_open_system(bus, err);
        if (r < 0)
                return cella_err_prefix(err, "--systemd-cgroup");
        struct dbus_buf rule = {0};
        dbus_put_str(&rule, "type='signal',sender='" SD_DEST "',interface='" SD_IFACE
                            "',member='JobRemoved'");
        r = dbus_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                      "AddMatch", "s", &rule, NULL, 0, NULL, err);
        dbus_buf_free(&rule);
        if (r < 0)
                return r;
        /* Without Subscribe() systemd may not emit job signals to this client. */
        return dbus_call(bus, SD_DEST, SD_PATH, SD_IFACE, "Subscribe", NULL, NULL, NULL, 0, NULL,
                         err);
}

/* (sv) with a string, boolean or array-of-u32 variant. */
static void prop_str(struct dbus_buf *b, const char *name, const char *v)
{
        dbus_align(b, 8);
        dbus_put_str(b, name);
        dbus_put_sig(b, "s");
        dbus_put_str(b, v);
}

static void prop_bool(struct dbus_buf *b, const char *name, bool v)
{
        dbus_align(b, 8);
        dbus_put_str(b, name);
        dbus_put_sig(b, "b");
        dbus_put_bool(b, v);
}

static void prop_pid(struct dbus_buf *b, const char *name, pid_t pid)
{
        dbus_align(b, 8);
        dbus_put_str(b, name);
        dbus_put_sig(b, "au");
        struct dbus_array a = dbus_array_open(b, 4);
        dbus_put_u32(b, (uint32_t)pid);
        dbus_array_close(b, a);
}

static int start_scope(struct dbus *bus, struct cgroup *cg, pid_t pid, struct cella_error *err)
{
        char desc[300];
        snprintf(desc, sizeof(desc), "cella container %s", cg->unit);
        struct dbus_buf b = {0};
        dbus_put_str(&b, cg->unit);
        dbus_put_str(&b, "fail");
        struct dbus_array props = dbus_array_open(&b, 8);
        prop_str(&b, "Description", desc);
        prop_str(&b, "Slice", cg->slice);
        prop_bool(&b, "Delegate", true);
        prop_pid(&b, "PIDs", pid);
        /* No ordering against shutdown.target etc.: a container scope is not a service. */
        prop_bool(&b, "DefaultDependencies", false);
        dbus_array_close(&b, props);
        struct dbus_array aux = dbus_array_open(&b, 8);
        dbus_array_close(&b, aux);
        char job[160] = "", ename[128] = "";
        int r = dbus_call(bus, SD_DEST, SD_PATH, SD_IFACE, "StartTransientUnit", "ssa(sv)a(sa(sv))",
                          &b, job, sizeof(job), ename, err);
        dbus_buf_free(&b);
        if (r < 0 && strcmp(ename, "org.freedesktop.systemd1.UnitExists") == 0)
                return -EEXIST;
        if (r == 0)
                r = dbus_wait_job(bus, job, err);
        if (r < 0)
                cella_err_prefix(err, "systemd: start unit \"%s\" in \"%s\"", cg->unit, cg->slice);
        return r;
}

static int stop_unit(struct dbus *bus, struct cgroup *cg, struct cella_error *err)
{
        struct dbus_buf b = {0};
        dbus_put_str(&b, cg->unit);
        dbus_put_str(&b, "replace");
        char job[160] = "", ename[128] = "";
        int r = dbus_call(bus, SD_DEST, SD_PATH, SD_IFACE, "StopUnit", "ss", &b, job, sizeof(job),
                          ename, err);
        dbus_buf_free(&b);
        if (r < 0 && strcmp(ename, "org.freedesktop.systemd1.NoSuchUnit") == 0) {
                cella_error_clear(err);
                return 0;
        }
        if (r == 0)
                r = dbus_wait_job(bus, job, err);
        if (r < 0)
                cella_err_prefix(err, "systemd: stop unit \"%s\"", cg->unit);
        return r;
}

static const struct cg_ops *fs_ops(const struct cgroup *cg)
{
        return cg->mode == CG_MODE_V2       ? &cg_v2_ops
               : cg->mode == CG_MODE_HYBRID ? &cg_hybrid_ops
                                            : &cg_v1_ops;
}

/* Nothing to make before the init exists (a scope needs a PID); check systemd answers. */
static int sd_create(struct cgroup *cg, struct cella_error *err)
{
        struct dbus bus;
        int r = connect_systemd(&bus, err);
        dbus_close(&bus);
        return r;
}

static int sd_enter(struct cgroup *cg, pid_t pid, struct cella_error *err)
{
        struct dbus bus;
        int r = connect_systemd(&bus, err);
        if (r == 0)
                r = start_scope(&bus, cg, pid, err);
        dbus_close(&bus);
        if (r == -EEXIST) {
                cella_error_clear(err);
                r = 0; /* exec into a running container: the scope is there */
        }
        if (r < 0)
                return r;
        /* The rest as with cgroupfs: hierarchies systemd does not manage, cpuset, membership. */
        r = fs_ops(cg)->create(cg, err);
        if (r == 0)
                r = fs_ops(cg)->enter(cg, pid, err);
        if (r == 0 && cg->pending) {
                const struct oci_resources *res = cg->pending;
                cg->pending = NULL;
                r = cg_apply_resources(cg, res, err);
        }
        return r;
}

static int sd_destroy(struct cgroup *cg, struct cella_error *err)
{
        struct dbus bus;
        int r = connect_systemd(&bus, err);
        if (r == 0)
                r = stop_unit(&bus, cg, err);
        dbus_close(&bus);
        if (r < 0)
                return r;
        return fs_ops(cg)->destroy(cg, err);
}

static int sd_pids(struct cgroup *cg, pid_t **ret_pids, size_t *ret_n, struct cella_error *err)
{
        return fs_ops(cg)->pids(cg, ret_pids, ret_n, err);
}

static int sd_freeze(struct cgroup *cg, bool frozen, struct cella_error *err)
{
        return fs_ops(cg)->freeze(cg, frozen, err);
}

static int sd_frozen(struct cgroup *cg, bool *ret, struct cella_error *err)
{
        return fs_ops(cg)->frozen(cg, ret, err);
}

const struct cg_ops cg_systemd_ops = {
    .name = "systemd",
    .create = sd_create,
    .enter = sd_enter,
    .destroy = sd_destroy,
    .pids = sd_pids,
    .freeze = sd_freeze,
    .frozen = sd_frozen,
};
