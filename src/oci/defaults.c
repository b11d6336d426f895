/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The config.json `cella spec` writes: runc's `spec` layout with Docker's hardening
 * (capabilities, masked and read-only paths, a cgroup namespace).
 */
#include "oci/defaults.h"

#include <json-c/json.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"

/*
 * runc 1.1 writes "1.0.2-dev"; crun 1.8 refuses any version without "1.0" in it (so 1.2.0),
 * and Debian's schema (runtime-spec 1.0.2) only asks for a string. 1.1.0 is the newest
 * version all three accept, and this document uses nothing newer than 1.0.
 */
#define DEFAULT_OCI_VERSION "1.1.0"

/* Docker's default set (moby oci/caps/defaults.go), in Docker's order. */
static const char *const default_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
    NULL,
};

static const char *const masked_paths[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    NULL,
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static struct json_object *strv_json(const char *const *v)
{
        struct json_object *a = json_object_new_array();
        for (; a && *v; v++)
                json_object_array_add(a, json_object_new_string(*v));
        return a;
}

static void add(struct json_object *o, const char *key, struct json_object *val)
{
        json_object_object_add(o, key, val);
}

static struct json_object *mount_json(const char *dest, const char *type, const char *source,
                                      const char *const *options)
{
        struct json_object *m = json_object_new_object();
        add(m, "destination", json_object_new_string(dest));
        add(m, "type", json_object_new_string(type));
        add(m, "source", json_object_new_string(source));
        if (options)
                add(m, "options", strv_json(options));
        return m;
}

static struct json_object *process_json(void)
{
        static const char *const env[] = {
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
            NULL};
        static const char *const args[] = {"sh", NULL};
        struct json_object *p = json_object_new_object();
        add(p, "terminal", json_object_new_boolean(1));
        struct json_object *user = json_object_new_object();
        add(user, "uid", json_object_new_int(0));
        add(user, "gid", json_object_new_int(0));
        add(p, "user", user);
        add(p, "args", strv_json(args));
        add(p, "env", strv_json(env));
        add(p, "cwd", json_object_new_string("/"));
        /* Not inheritable/ambient: exec'd programs only keep caps their file grants them. */
        struct json_object *caps = json_object_new_object();
        add(caps, "bounding", strv_json(default_caps));
        add(caps, "effective", strv_json(default_caps));
        add(caps, "permitted", strv_json(default_caps));
        add(p, "capabilities", caps);
        struct json_object *rl = json_object_new_object();
        add(rl, "type", json_object_new_string("RLIMIT_NOFILE"));
        add(rl, "hard", json_object_new_int(1024));
        add(rl, "soft", json_object_new_int(1024));
        struct json_object *rls = json_object_new_array();
        json_object_array_add(rls, rl);
        add(p, "rlimits", rls);
        add(p, "noNewPrivileges", json_object_new_boolean(1));
        return p;
}

static struct json_object *mounts_json(bool rootless)
{
        static const char *const dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
        /* gid=5 (tty) cannot be mapped in a rootless user namespace; runc drops it too. */
        static const char *const pts[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
                                          "mode=0620", "gid=5",  NULL};
        static const char *const shm[] = {"nosuid",    "noexec",      "nodev",
                                          "mode=1777", "size=65536k", NULL};
        static const char *const mq[] = {"nosuid", "noexec", "nodev", NULL};
        /* Docker's default (runc's spec leaves /proc without them). */
        static const char *const proc[] = {"nosuid", "noexec", "nodev", NULL};
        static const char *const sys[] = {"nosuid", "noexec", "nodev", "ro", NULL};
        /* A rootless user namespace owns no network namespace, so sysfs cannot be mounted. */
        static const char *const sys_rbind[] = {"rbind", "nosuid", "noexec", "nodev", "ro", NULL};
        static const char *const cg[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};

        struct json_object *a = json_object_new_array();
        json_object_array_add(a, mount_json("/proc", "proc", "proc", proc));
        json_object_array_add(a, mount_json("/dev", "tmpfs", "tmpfs", dev));
        struct json_object *m = mount_json("/dev/pts", "devpts", "devpts", pts);
        if (rootless)
                json_object_array_del_idx(json_object_object_get(m, "options"), 5, 1);
        json_object_array_add(a, m);
        json_object_array_add(a, mount_json("/dev/shm", "tmpfs", "shm", shm));
        json_object_array_add(a, mount_json("/dev/mqueue", "mqueue", "mqueue", mq));
        if (rootless)
                json_object_array_add(a, mount_json("/sys", "none", "/sys", sys_rbind));
        else
                json_object_array_add(a, mount_json("/sys", "sysfs", "sysfs", sys));
        json_object_array_add(a, mount_json("/sys/fs/cgroup", "cgroup", "cgroup", cg));
        return a;
}

static struct json_object *id_map_json(uint32_t host_id)
{
        struct json_object *a = json_object_new_array();
        struct json_object *m = json_object_new_object();
        add(m, "containerID", json_object_new_int(0));
        add(m, "hostID", json_object_new_int64(host_id));
        add(m, "size", json_object_new_int(1));
        json_object_array_add(a, m);
        return a;
}

static struct json_object *linux_json(bool rootless)
{
        static const char *const ns_root[] = {"pid",   "network", "ipc", "uts",
                                              "mount", "cgroup",  NULL};
        static const char *const ns_rootless[] = {"pid",    "ipc",  "uts", "mount",
                                                  "cgroup", "user", NULL};
        struct json_object *l = json_object_new_object();
        if (rootless) {
                add(l, "uidMappings", id_map_json(geteuid()));
                add(l, "gidMappings", id_map_json(getegid()));
        } else {
                /* Deny all device access; the runtime allows its default devices on top. */
                struct json_object *res = json_object_new_object();
                struct json_object *devs = json_object_new_array();
                struct json_object *d = json_object_new_object();
                add(d, "allow", json_object_new_boolean(0));
                add(d, "access", json_object_new_string("rwm"));
                json_object_array_add(devs, d);
                add(res, "devices", devs);
                add(l, "resources", res);
        }
        struct json_object *nss = json_object_new_array();
        for (const char *const *t = rootless ? ns_rootless : ns_root; *t; t++) {
                struct json_object *ns = json_object_new_object();
                add(ns, "type", json_object_new_string(*t));
                json_object_array_add(nss, ns);
        }
        add(l, "namespaces", nss);
        add(l, "maskedPaths", strv_json(masked_paths));
        add(l, "readonlyPaths", strv_json(readonly_paths));
        return l;
}

struct json_object *oci_default_spec(bool rootless)
{
        struct json_object *s = json_object_new_object();
        if (!s)
                return NULL;
        add(s, "ociVersion", json_object_new_string(DEFAULT_OCI_VERSION));
        add(s, "process", process_json());
        struct json_object *root = json_object_new_object();
        add(root, "path", json_object_new_string("rootfs"));
        add(root, "readonly", json_object_new_boolean(1));
        add(s, "root", root);
        add(s, "hostname", json_object_new_string("cella"));
        add(s, "mounts", mounts_json(rootless));
        add(s, "linux", linux_json(rootless));
        return s;
}
