/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/sysctls.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/vfs.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/fs.h"

/* Keys (exact, or prefixes ending in '.') and the namespace that isolates them. */
static const struct {
        const char *key;
        enum oci_ns_type ns;
} namespaced[] = {
    {"kernel.msgmax", OCI_NS_IPC},     {"kernel.msgmnb", OCI_NS_IPC},
    {"kernel.msgmni", OCI_NS_IPC},     {"kernel.sem", OCI_NS_IPC},
    {"kernel.shmall", OCI_NS_IPC},     {"kernel.shmmax", OCI_NS_IPC},
    {"kernel.shmmni", OCI_NS_IPC},     {"kernel.shm_rmid_forced", OCI_NS_IPC},
    {"fs.mqueue.", OCI_NS_IPC},        {"net.", OCI_NS_NETWORK},
    {"kernel.domainname", OCI_NS_UTS}, {"kernel.hostname", OCI_NS_UTS},
};

static bool creates_ns(const struct oci_spec *spec, enum oci_ns_type type)
{
        const struct oci_namespace *ns = oci_spec_namespace(spec, type);
        return ns != NULL;
}

int lnx_sysctl_validate(const struct oci_spec *spec, struct cella_error *err)
{
        for (size_t i = 0; i < spec->linux_.n_sysctl; i++) {
                const char *key = spec->linux_.sysctl[i].key;
                bool found = false;
                for (size_t j = 0; j < ARRAY_SIZE(namespaced) && !found; j++) {
                        const char *k = namespaced[j].key;
                        size_t n = strlen(k);
                        bool match =
                            k[n - 1] == '.' ? strncmp(key, k, n) == 0 : strcmp(key, k) == 0;
                        if (!match)
                                continue;
                        found = true;
                        if (!creates_ns(spec, namespaced[j].ns))
                                return cella_err(
                                    err, EINVAL,
                                    "linux.sysctl: \"%s\" needs its own %s namespace; add "
                                    "it to linux.namespaces",
                                    key, oci_ns_type_name(namespaced[j].ns));
                }
                if (!found)
                        return cella_err(err, EINVAL,
                                         "linux.sysctl: \"%s\" is not namespaced and cannot be set "
                                         "per container",
                                         key);
                if (strstr(key, "..") || strchr(key, '/'))
                        return cella_err(err, EINVAL, "linux.sysctl: bad key \"%s\"", key);
        }
        return 0;
}

static int write_sysctl(int root_fd, const struct oci_kv *kv, struct cella_error *err)
{
        char path[512];
        int n = snprintf(path, sizeof(path), "/proc/sys/%s", kv->key);
        for (int j = 10; j < n; j++)
                if (path[j] == '.')
                        path[j] = '/';
        _cleanup_close_ int fd = fs_open_in_root(root_fd, path, O_WRONLY | O_NOFOLLOW, 0);
        struct statfs sfs;
        if (fd < 0)
                return cella_errno(err, -fd, "linux.sysctl: open \"%s\"", path);
        if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
                return cella_err(err, EINVAL,
                                 "linux.sysctl: \"%s\" is not on procfs (mount proc at /proc)",
                                 path);
        int r = fs_write_all(fd, kv->value, strlen(kv->value));
        if (r < 0)
                return cella_errno(err, -r, "linux.sysctl: set \"%s\" to \"%s\"", kv->key,
                                   kv->value);
        return 0;
}

int lnx_sysctl_apply(int root_fd, const struct oci_spec *spec, struct cella_error *err)
{
        for (size_t i = 0; i < spec->linux_.n_sysctl; i++) {
                int r = write_sysctl(root_fd, &spec->linux_.sysctl[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}
