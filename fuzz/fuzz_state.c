/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the container state file (state.json, including the cgroup record that
 * delete and kill act on): any input gives a state or a clean error, never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>

#include "runtime/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct rt_state st;
        struct cella_error err = {0};
        if (size == 0)
                return 0;
        if (rt_state_parse((const char *)data, size, "fuzz", &st, &err) == 0) {
                /* What delete relies on: an owned cgroup record with absolute paths. */
                for (size_t i = 0; st.has_cgroup && i < st.cg.n_h; i++)
                        if (!st.cg.h[i].path || st.cg.h[i].path[0] != '/')
                                abort();
                rt_state_free(&st);
        } else if (err.msg[0] == '\0') {
                abort();
        }
        return 0;
}
