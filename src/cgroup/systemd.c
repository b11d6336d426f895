/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The systemd cgroup driver (--systemd-cgroup). The container's cgroup is a transient scope
 * unit that systemd creates over D-Bus (StartTransientUnit with Delegate=yes and the init's
 * PID), so systemd knows about it and never fights over it; below the scope the cgroupfs code
 * does the rest (other v1 hierarchies, limits, freezing, killing). cgroupsPath is runc's
 * "slice:prefix:name".
 *
 * libsystemd is dlopen()ed only when this driver is used: the default cgroupfs path of every
 * `create` pays nothing for it.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
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

#if CELLA_HAVE_SYSTEMD
#include <systemd/sd-bus.h>

/* The few sd-bus entry points used, resolved from libsystemd.so.0 at first use. */
struct sdbus {
        void *lib;
        __typeof__(sd_bus_open_system) *open_system;
        __typeof__(sd_bus_flush_close_unref) *close;
        __typeof__(sd_bus_message_new_method_call) *new_call;
        __typeof__(sd_bus_message_append) *append;
        __typeof__(sd_bus_message_open_container) *open_container;
        __typeof__(sd_bus_message_close_container) *close_container;
        __typeof__(sd_bus_call) *call;
        __typeof__(sd_bus_call_method) *call_method;
        __typeof__(sd_bus_message_read) *read;
        __typeof__(sd_bus_message_unref) *unref;
        __typeof__(sd_bus_match_signal) *match_signal;
        __typeof__(sd_bus_slot_unref) *slot_unref;
        __typeof__(sd_bus_process) *process;
        __typeof__(sd_bus_wait) *wait;
        __typeof__(sd_bus_error_free) *error_free;
        __typeof__(sd_bus_error_has_name) *error_has_name;
};

static int sdbus_load(struct sdbus *s, struct cella_error *err)
{
        memset(s, 0, sizeof(*s));
        s->lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!s->lib)
                return cella_err(err, ENOENT, "--systemd-cgroup: cannot load libsystemd: %s",
                                 dlerror());
#define SYM(field, name)                                                                           \
        if (!(*(void **)&s->field = dlsym(s->lib, #name)))                                         \
                return cella_err(err, ENOENT, "--systemd-cgroup: libsystemd lacks " #name);
        SYM(open_system, sd_bus_open_system)
        SYM(close, sd_bus_flush_close_unref)
        SYM(new_call, sd_bus_message_new_method_call)
        SYM(append, sd_bus_message_append)
        SYM(open_container, sd_bus_message_open_container)
        SYM(close_container, sd_bus_message_close_container)
        SYM(call, sd_bus_call)
        SYM(call_method, sd_bus_call_method)
        SYM(read, sd_bus_message_read)
        SYM(unref, sd_bus_message_unref)
        SYM(match_signal, sd_bus_match_signal)
        SYM(slot_unref, sd_bus_slot_unref)
        SYM(process, sd_bus_process)
        SYM(wait, sd_bus_wait)
        SYM(error_free, sd_bus_error_free)
        SYM(error_has_name, sd_bus_error_has_name)
#undef SYM
        return 0;
}

static void sdbus_unload(struct sdbus *s)
{
        if (s->lib)
                dlclose(s->lib);
}

#define SD_DEST  "org.freedesktop.systemd1"
#define SD_PATH  "/org/freedesktop/systemd1"
#define SD_IFACE "org.freedesktop.systemd1.Manager"

/* JobRemoved(u id, o job, s unit, s result): remembered so a job that ends early is not missed. */
struct jobs {
        char done[16][128];
        char result[16][32];
        size_t n;
        struct sdbus *s;
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct jobs *j = userdata;
        uint32_t id;
        const char *path, *unit, *result;
        if (j->s->read(m, "uoss", &id, &path, &unit, &result) < 0 || j->n == 16)
                return 0;
        snprintf(j->done[j->n], sizeof(j->done[0]), "%s", path);
        snprintf(j->result[j->n], sizeof(j->result[0]), "%s", result);
        j->n++;
        return 0;
}

static int wait_job(struct sdbus *s, sd_bus *bus, struct jobs *j, const char *job, const char *what,
                    struct cella_error *err)
{
        for (int i = 0; i < 1000; i++) {
                for (size_t k = 0; k < j->n; k++) {
                        if (strcmp(j->done[k], job) != 0)
                                continue;
                        if (strcmp(j->result[k], "done") == 0)
                                return 0;
                        return cella_err(err, EIO, "systemd: %s: job %s", what, j->result[k]);
                }
                int r = s->process(bus, NULL);
                if (r < 0)
                        return cella_errno(err, -r, "systemd: %s: D-Bus", what);
                if (r == 0)
                        s->wait(bus, 10000);
        }
        return cella_err(err, ETIMEDOUT, "systemd: %s: no answer", what);
}

struct conn {
        struct sdbus s;
        sd_bus *bus;
        sd_bus_slot *slot;
        struct jobs jobs;
};

static void conn_close(struct conn *c)
{
        if (c->slot)
                c->s.slot_unref(c->slot);
        if (c->bus)
                c->s.close(c->bus);
        sdbus_unload(&c->s);
}

static int conn_open(struct conn *c, struct cella_error *err)
{
        memset(c, 0, sizeof(*c));
        int r = sdbus_load(&c->s, err);
        if (r < 0)
                return r;
        c->jobs.s = &c->s;
        r = c->s.open_system(&c->bus);
        if (r < 0)
                return cella_errno(err, -r, "--systemd-cgroup: connect to the system D-Bus");
        r = c->s.match_signal(c->bus, &c->slot, SD_DEST, SD_PATH, SD_IFACE, "JobRemoved",
                              on_job_removed, &c->jobs);
        if (r < 0)
                return cella_errno(err, -r, "--systemd-cgroup: subscribe to systemd jobs");
        sd_bus_error e = SD_BUS_ERROR_NULL;
        r = c->s.call_method(c->bus, SD_DEST, SD_PATH, SD_IFACE, "Subscribe", &e, NULL, "");
        c->s.error_free(&e);
        return 0;
}

static int append_props(struct conn *c, sd_bus_message *m, struct cgroup *cg, pid_t pid)
{
        int r = 0;
        char desc[300];
        snprintf(desc, sizeof(desc), "cella container %s", cg->unit);
        r |= c->s.append(m, "(sv)", "Description", "s", desc);
        r |= c->s.append(m, "(sv)", "Slice", "s", cg->slice);
        r |= c->s.append(m, "(sv)", "Delegate", "b", 1);
        r |= c->s.append(m, "(sv)", "PIDs", "au", 1, (uint32_t)pid);
        /* No ordering against shutdown.target etc.: a container scope is not a service. */
        r |= c->s.append(m, "(sv)", "DefaultDependencies", "b", 0);
        return r < 0 ? -EINVAL : 0;
}

static int start_scope(struct conn *c, struct cgroup *cg, pid_t pid, struct cella_error *err)
{
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = c->s.new_call(c->bus, &m, SD_DEST, SD_PATH, SD_IFACE, "StartTransientUnit");
        if (r >= 0)
                r = c->s.append(m, "ss", cg->unit, "fail");
        if (r >= 0)
                r = c->s.open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = append_props(c, m, cg, pid);
        if (r >= 0)
                r = c->s.close_container(m);
        if (r >= 0)
                r = c->s.append(m, "a(sa(sv))", 0);
        if (r < 0) {
                c->s.unref(m);
                return cella_errno(err, -r, "systemd: build StartTransientUnit");
        }
        r = c->s.call(c->bus, m, 10 * 1000000ULL, &e, &reply);
        c->s.unref(m);
        if (r < 0) {
                bool exists = c->s.error_has_name(&e, "org.freedesktop.systemd1.UnitExists");
                if (!exists)
                        cella_err(err, -r, "systemd: start unit \"%s\" in \"%s\": %s", cg->unit,
                                  cg->slice, e.message ? e.message : strerror(-r));
                c->s.error_free(&e);
                return exists ? -EEXIST : r;
        }
        const char *job = NULL;
        r = c->s.read(reply, "o", &job);
        char what[300];
        snprintf(what, sizeof(what), "start unit \"%s\"", cg->unit);
        if (r >= 0)
                r = wait_job(&c->s, c->bus, &c->jobs, job, what, err);
        c->s.unref(reply);
        return r;
}

static int stop_unit(struct conn *c, struct cgroup *cg, struct cella_error *err)
{
        sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = c->s.call_method(c->bus, SD_DEST, SD_PATH, SD_IFACE, "StopUnit", &e, &reply, "ss",
                                 cg->unit, "replace");
        if (r < 0) {
                bool gone = c->s.error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit");
                if (!gone)
                        cella_err(err, -r, "systemd: stop unit \"%s\": %s", cg->unit,
                                  e.message ? e.message : strerror(-r));
                c->s.error_free(&e);
                return gone ? 0 : r;
        }
        const char *job = NULL;
        r = c->s.read(reply, "o", &job);
        char what[300];
        snprintf(what, sizeof(what), "stop unit \"%s\"", cg->unit);
        if (r >= 0)
                r = wait_job(&c->s, c->bus, &c->jobs, job, what, err);
        c->s.unref(reply);
        return r;
}

static const struct cg_ops *fs_ops(const struct cgroup *cg)
{
        return cg->mode == CG_MODE_V2       ? &cg_v2_ops
               : cg->mode == CG_MODE_HYBRID ? &cg_hybrid_ops
                                            : &cg_v1_ops;
}

/* Nothing to make before the init exists (a scope needs a PID); check systemd is reachable. */
static int sd_create(struct cgroup *cg, struct cella_error *err)
{
        struct conn c;
        int r = conn_open(&c, err);
        conn_close(&c);
        return r;
}

static int sd_enter(struct cgroup *cg, pid_t pid, struct cella_error *err)
{
        struct conn c;
        int r = conn_open(&c, err);
        if (r == 0)
                r = start_scope(&c, cg, pid, err);
        conn_close(&c);
        if (r == -EEXIST)
                r = 0; /* exec into a running container: the scope is there */
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
        struct conn c;
        int r = conn_open(&c, err);
        if (r == 0)
                r = stop_unit(&c, cg, err);
        conn_close(&c);
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

bool cg_systemd_supported(void)
{
        return true;
}
#else
const struct cg_ops cg_systemd_ops = {.name = "systemd"};

bool cg_systemd_supported(void)
{
        return false;
}
#endif
