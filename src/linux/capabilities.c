/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/capabilities.h"

#include <linux/capability.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"

int lnx_cap_last_cap(void)
{
        char *buf = NULL;
        int last = CAP_LAST_CAP;
        if (fs_read_file("/proc/sys/kernel/cap_last_cap", 64, &buf, NULL) == 0)
                last = atoi(buf);
        free(buf);
        return last;
}

int lnx_caps_drop_bounding(const struct oci_capabilities *caps, struct cella_error *err)
{
        if (!caps->present[OCI_CAP_BOUNDING])
                return 0;
        int last = lnx_cap_last_cap();
        for (int cap = 0; cap <= last; cap++) {
                if (caps->sets[OCI_CAP_BOUNDING] & (1ULL << cap))
                        continue;
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return cella_errno(err, errno, "drop %s from the bounding set",
                                           oci_cap_name(cap) ? oci_cap_name(cap) : "capability");
        }
        return 0;
}

int lnx_caps_apply(const struct oci_capabilities *caps, struct cella_error *err)
{
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[2] = {0};
        const uint64_t eff = caps->sets[OCI_CAP_EFFECTIVE], prm = caps->sets[OCI_CAP_PERMITTED];
        const uint64_t inh = caps->sets[OCI_CAP_INHERITABLE];
        for (int i = 0; i < 2; i++) {
                data[i].effective = (uint32_t)(eff >> (32 * i));
                data[i].permitted = (uint32_t)(prm >> (32 * i));
                data[i].inheritable = (uint32_t)(inh >> (32 * i));
        }
        if (syscall(SYS_capset, &hdr, data) < 0)
                return cella_errno(err, errno, "capset (process.capabilities)");
        /* Ambient capabilities must also be permitted and inheritable (capabilities(7)). */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return cella_errno(err, errno, "clear ambient capabilities");
        const uint64_t amb = caps->sets[OCI_CAP_AMBIENT];
        for (int cap = 0; cap < 64; cap++) {
                if (!(amb & (1ULL << cap)))
                        continue;
                /*
                 * The kernel refuses an ambient capability that is not also permitted and
                 * inheritable. runc and crun skip it, and `runc spec` writes exactly such a
                 * config (ambient without inheritable, since CVE-2022-29162), so we skip too.
                 */
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
                        if (errno != EPERM && errno != EINVAL)
                                return cella_errno(err, errno, "raise ambient %s",
                                                   oci_cap_name(cap));
                        log_debug("ambient %s not raised: it is not both permitted and inheritable",
                                  oci_cap_name(cap));
                }
        }
        return 0;
}
