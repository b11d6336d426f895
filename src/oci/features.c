/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime-spec features document (features.md, features-linux.md). It must be truthful:
 * it lists only what cella implements. Seccomp lives above this layer (libseccomp is linked by
 * the runtime, not here), so it starts disabled and the runtime fills it in with
 * oci_features_set_seccomp().
 */
#include "oci/defaults.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "oci/spec.h"

#define FEATURES_OCI_VERSION_MIN "1.0.0"
/* The newest runtime-spec whose config.json fields cella parses (it accepts every 1.x). */
#define FEATURES_OCI_VERSION_MAX "1.3.0"

#ifndef CELLA_VERSION
#define CELLA_VERSION "unknown"
#endif

/* The mount options the runtime's option table implements (runc's list minus acl/noacl). */
static const char *const mount_options[] = {
    "async",         "atime",        "bind",
    "defaults",      "dev",          "diratime",
    "dirsync",       "exec",         "idmap",
    "iversion",      "lazytime",     "loud",
    "mand",          "noatime",      "nodev",
    "nodiratime",    "noexec",       "noiversion",
    "nolazytime",    "nomand",       "norelatime",
    "nostrictatime", "nosuid",       "nosymfollow",
    "private",       "ratime",       "rbind",
    "rdev",          "rdiratime",    "relatime",
    "remount",       "rexec",        "ridmap",
    "rnoatime",      "rnodev",       "rnodiratime",
    "rnoexec",       "rnorelatime",  "rnostrictatime",
    "rnosuid",       "rnosymfollow", "ro",
    "rprivate",      "rrelatime",    "rro",
    "rrw",           "rshared",      "rslave",
    "rstrictatime",  "rsuid",        "rsymfollow",
    "runbindable",   "rw",           "shared",
    "silent",        "slave",        "strictatime",
    "suid",          "symfollow",    "sync",
    "tmpcopyup",     "unbindable",   NULL,
};

static struct json_object *strv_json(const char *const *v)
{
        struct json_object *a = json_object_new_array();
        for (; a && *v; v++)
                json_object_array_add(a, json_object_new_string(*v));
        return a;
}

static struct json_object *enabled_json(bool enabled)
{
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "enabled", json_object_new_boolean(enabled));
        return o;
}

static struct json_object *linux_features(void)
{
        struct json_object *l = json_object_new_object();
        struct json_object *a = json_object_new_array();
        for (int t = 0; t < OCI_NS_COUNT; t++)
                json_object_array_add(a, json_object_new_string(oci_ns_type_name(t)));
        json_object_object_add(l, "namespaces", a);
        a = json_object_new_array();
        for (int c = 0; c <= oci_cap_last(); c++)
                json_object_array_add(a, json_object_new_string(oci_cap_name(c)));
        json_object_object_add(l, "capabilities", a);
        struct json_object *cg = json_object_new_object();
        json_object_object_add(cg, "v1", json_object_new_boolean(1));
        json_object_object_add(cg, "v2", json_object_new_boolean(1));
        json_object_object_add(cg, "systemd", json_object_new_boolean(0));
        json_object_object_add(cg, "systemdUser", json_object_new_boolean(0));
        json_object_object_add(l, "cgroup", cg);
        json_object_object_add(l, "seccomp", enabled_json(false));
        json_object_object_add(l, "apparmor", enabled_json(false));
        json_object_object_add(l, "selinux", enabled_json(false));
        json_object_object_add(l, "intelRdt", enabled_json(false));
        struct json_object *ext = json_object_new_object();
        /* idmap/ridmap and mount uidMappings (mount_setattr(MOUNT_ATTR_IDMAP), Linux 5.12). */
        json_object_object_add(ext, "idmap", enabled_json(true));
        json_object_object_add(l, "mountExtensions", ext);
        return l;
}

struct json_object *oci_features(void)
{
        struct json_object *f = json_object_new_object();
        if (!f)
                return NULL;
        json_object_object_add(f, "ociVersionMin",
                               json_object_new_string(FEATURES_OCI_VERSION_MIN));
        json_object_object_add(f, "ociVersionMax",
                               json_object_new_string(FEATURES_OCI_VERSION_MAX));
        struct json_object *hooks = json_object_new_array();
        for (int k = 0; k < OCI_HOOK_KIND_COUNT; k++)
                json_object_array_add(hooks, json_object_new_string(oci_hook_kind_name(k)));
        json_object_object_add(f, "hooks", hooks);
        json_object_object_add(f, "mountOptions", strv_json(mount_options));
        json_object_object_add(f, "linux", linux_features());
        struct json_object *ann = json_object_new_object();
        json_object_object_add(ann, "io.github.cella.version",
                               json_object_new_string(CELLA_VERSION));
        /* Annotations the runtime acts on, with the form of their value (linux/overlay.h). */
        json_object_object_add(
            ann, "io.cella.rootfs.overlay",
            json_object_new_string("lowerdir=DIR[:DIR...][,upperdir=DIR,workdir=DIR][,userxattr]"));
        json_object_object_add(f, "annotations", ann);
        return f;
}

void oci_features_set_seccomp(struct json_object *features, bool enabled, const char *const *archs,
                              const char *const *supported_flags)
{
        struct json_object *l = json_object_object_get(features, "linux");
        if (!l)
                return;
        struct json_object *s = json_object_new_object();
        json_object_object_add(s, "enabled", json_object_new_boolean(enabled));
        if (enabled) {
                json_object_object_add(s, "actions", strv_json(oci_seccomp_actions()));
                json_object_object_add(s, "operators", strv_json(oci_seccomp_operators()));
                json_object_object_add(s, "archs", strv_json(archs ? archs : oci_seccomp_archs()));
                json_object_object_add(s, "knownFlags", strv_json(oci_seccomp_flags()));
                json_object_object_add(
                    s, "supportedFlags",
                    strv_json(supported_flags ? supported_flags : oci_seccomp_flags()));
        }
        json_object_object_add(l, "seccomp", s);
}
