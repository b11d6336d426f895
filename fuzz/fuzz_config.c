/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for config.json (and the `exec --process` process.json parser): bad input
 * must give a clean error, never a crash, leak or undefined behaviour; good input must give a
 * spec that keeps the invariants the runtime relies on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "oci/spec.h"

static void check(int cond)
{
        if (!cond)
                abort();
}

static void check_spec(const struct oci_spec *s)
{
        check(s->oci_version && strncmp(s->oci_version, "1.", 2) == 0);
        check(s->has_root && s->root.path && s->root.path[0]);
        for (size_t i = 0; i < s->n_mounts; i++)
                check(s->mounts[i].destination && s->mounts[i].destination[0] == '/');
        if (s->has_process) {
                check(s->process.n_args > 0 && s->process.args[s->process.n_args] == NULL);
                check(s->process.cwd && s->process.cwd[0] == '/');
                for (size_t i = 0; i < s->process.n_rlimits; i++)
                        check(s->process.rlimits[i].soft <= s->process.rlimits[i].hard);
        }
        for (int k = 0; k < OCI_HOOK_KIND_COUNT; k++)
                for (size_t i = 0; i < s->hooks.n_hooks[k]; i++)
                        check(s->hooks.hooks[k][i].path[0] == '/');
        unsigned seen = 0;
        for (size_t i = 0; i < s->linux_.n_namespaces; i++) {
                unsigned bit = 1u << s->linux_.namespaces[i].type;
                check((unsigned)s->linux_.namespaces[i].type < OCI_NS_COUNT && !(seen & bit));
                seen |= bit;
        }
        /* Like runc, a device may live outside /dev; it must be an absolute file path. */
        for (size_t i = 0; i < s->linux_.n_devices; i++) {
                const char *p = s->linux_.devices[i].path;
                check(p[0] == '/' && p[1] && p[strlen(p) - 1] != '/');
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        /* The parser warns about relative mount destinations; keep the fuzzer output quiet. */
        log_setup("/dev/null", false, false);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct cella_error err = {0};
        struct oci_spec *spec = NULL;
        /* oci_spec_parse takes len 0 as "NUL-terminated": give it a terminated copy. */
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        /* size 0 means "strlen" to the parser; an empty document is covered by "" anyway. */
        if (size == 0) {
                free(text);
                return 0;
        }
        if (oci_spec_parse(text, size, &spec, &err) == 0) {
                check_spec(spec);
                oci_spec_free(spec);
        } else {
                check(spec == NULL && err.code > 0 && err.msg[0] != '\0');
        }
        struct oci_process *proc = NULL;
        if (oci_process_parse(text, size, &proc, &err) == 0)
                oci_process_free(proc);
        free(text);
        return 0;
}
