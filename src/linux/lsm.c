/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/lsm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fs.h"
#include "base/log.h"

static bool file_starts_with(const char *sysroot, const char *path, const char *prefix)
{
        char full[4096];
        char *buf = NULL;
        snprintf(full, sizeof(full), "%s%s", sysroot, path);
        bool yes =
            fs_read_file(full, 4096, &buf, NULL) == 0 && strncmp(buf, prefix, strlen(prefix)) == 0;
        free(buf);
        return yes;
}

void lnx_lsm_detect(const char *sysroot, struct lnx_lsm *ret)
{
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/sys/kernel/security/apparmor", sysroot);
        ret->apparmor = stat(path, &st) == 0 &&
                        file_starts_with(sysroot, "/sys/module/apparmor/parameters/enabled", "Y");
        snprintf(path, sizeof(path), "%s/sys/fs/selinux/enforce", sysroot);
        ret->selinux = stat(path, &st) == 0;
}

int lnx_lsm_validate(const struct oci_spec *spec, const struct lnx_lsm *lsm,
                     struct cella_error *err)
{
        const struct oci_process *p = &spec->process;
        if (p->apparmor_profile && *p->apparmor_profile && !lsm->apparmor)
                return cella_err(
                    err, EINVAL,
                    "process.apparmorProfile \"%s\": AppArmor is not enabled on this host; "
                    "remove the field to run unconfined",
                    p->apparmor_profile);
        if (!lsm->selinux && ((p->selinux_label && *p->selinux_label) ||
                              (spec->linux_.mount_label && *spec->linux_.mount_label)))
                log_debug("SELinux is not enabled: process.selinuxLabel and linux.mountLabel are "
                          "ignored");
        return 0;
}

const char *lnx_lsm_exec_attr(const struct oci_spec *spec, const struct lnx_lsm *lsm, char *buf,
                              size_t size, const char **ret_file)
{
        const struct oci_process *p = &spec->process;
        if (lsm->apparmor && p->apparmor_profile && *p->apparmor_profile) {
                /* "exec PROFILE" switches at the next execve (aa_change_onexec). */
                snprintf(buf, size, "exec %s", p->apparmor_profile);
                *ret_file = "/proc/self/attr/apparmor/exec";
                return buf;
        }
        if (lsm->selinux && p->selinux_label && *p->selinux_label) {
                snprintf(buf, size, "%s", p->selinux_label);
                *ret_file = "/proc/self/attr/exec";
                return buf;
        }
        return NULL;
}

int lnx_lsm_apply(const struct oci_spec *spec, const struct lnx_lsm *lsm, struct cella_error *err)
{
        char buf[4200];
        const char *file = NULL;
        const char *attr = lnx_lsm_exec_attr(spec, lsm, buf, sizeof(buf), &file);
        if (!attr)
                return 0;
        int r = fs_write_file(file, attr, strlen(attr), 0);
        /* Kernels before 5.1 only have the shared attribute file. */
        if (r == -ENOENT && strcmp(file, "/proc/self/attr/apparmor/exec") == 0)
                r = fs_write_file("/proc/self/attr/exec", attr, strlen(attr), 0);
        if (r < 0)
                return cella_errno(err, -r, "apply LSM label \"%s\"", attr);
        return 0;
}
