/* SPDX-License-Identifier: Apache-2.0 */
#include "seccomp_filter.h"

#include <errno.h>
#include <stddef.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

/* The kernel's limit on a classic BPF program (BPF_MAXINSNS). */
#define FILTER_MAX_INSNS 4096

struct lnx_seccomp {
        scmp_filter_ctx ctx;       /* kept for lnx_seccomp_export_pfc() */
        struct sock_filter *insns; /* the compiled program */
        size_t n_insns;
        unsigned int flags; /* SECCOMP_FILTER_FLAG_* to load with */
        bool notify;
        bool ctx_has_rules; /* false when the program came from the cache */
};

struct action_name {
        const char *name;
        uint32_t action; /* libseccomp action == kernel SECCOMP_RET_* value (data bits 0) */
        bool takes_errno;
};

static const struct action_name action_names[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false},
};

static const struct {
        const char *name;
        enum scmp_compare op;
} op_names[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static const struct {
        const char *name;
        uint32_t token;
} arch_names[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#endif
#ifdef SCMP_ARCH_M68K
    {"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#endif
#ifdef SCMP_ARCH_SH
    {"SCMP_ARCH_SH", SCMP_ARCH_SH},
    {"SCMP_ARCH_SHEB", SCMP_ARCH_SHEB},
#endif
};

static const struct {
        const char *name;
        unsigned int flag;
} flag_names[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

/*
 * Syscalls the runtime's container child still makes after the filter is loaded to hand the
 * listener fd to the parent. Trapping them in a NOTIFY rule would deadlock: the notification
 * would wait on an agent that can only get the fd through that very syscall (runc refuses
 * NOTIFY on write for the same reason).
 */
static const char *const notify_forbidden[] = {"write", "send", "sendto", "sendmsg"};

static int sys_seccomp(unsigned int op, unsigned int flags, void *args)
{
        return (int)syscall(SYS_seccomp, op, flags, args);
}

static bool kernel_has_action(uint32_t action)
{
        uint32_t a = action & SECCOMP_RET_ACTION_FULL;
        return sys_seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &a) == 0;
}

/*
 * The kernel validates the flags before it reads the program, so a NULL program fails with
 * EFAULT exactly when the flags are supported (the probe libseccomp and runc use as well).
 */
static bool kernel_has_flag(unsigned int flag)
{
        if (flag == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
                flag |= SECCOMP_FILTER_FLAG_NEW_LISTENER; /* not valid on its own */
        return sys_seccomp(SECCOMP_SET_MODE_FILTER, flag, NULL) < 0 && errno == EFAULT;
}

static const struct action_name *action_lookup(const char *name)
{
        for (size_t i = 0; name && i < ARRAY_SIZE(action_names); i++)
                if (strcmp(action_names[i].name, name) == 0)
                        return &action_names[i];
        return NULL;
}

/* Resolves an action name + errnoRet into a libseccomp action; `path` names the JSON field. */
static int parse_action(const char *name, bool has_errno_ret, uint32_t errno_ret, const char *path,
                        const char *errno_path, uint32_t *ret_action, struct cella_error *err)
{
        const struct action_name *a = action_lookup(name);
        if (!a)
                return cella_err(err, EINVAL, "%s: unknown action \"%s\"", path,
                                 name ? name : "(null)");
        if (!kernel_has_action(a->action))
                return cella_err(err, EOPNOTSUPP, "%s: %s is not supported by the kernel", path,
                                 name);
        if (has_errno_ret && !a->takes_errno)
                return cella_err(err, EINVAL,
                                 "%s: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
                                 errno_path);
        if (!a->takes_errno) {
                *ret_action = a->action;
                return 0;
        }
        /* The kernel clamps errno values to MAX_ERRNO (4095); refuse what it would change. */
        uint32_t data = has_errno_ret ? errno_ret : EPERM;
        uint32_t max = a->action == SCMP_ACT_ERRNO(0) ? 4095 : 0xffff;
        if (data > max)
                return cella_err(err, ERANGE, "%s: %u is out of range (0..%u)", errno_path, data,
                                 max);
        *ret_action = a->action == SCMP_ACT_ERRNO(0) ? SCMP_ACT_ERRNO(data) : SCMP_ACT_TRACE(data);
        return 0;
}

static int parse_arch(const char *name, uint32_t *ret_token)
{
        for (size_t i = 0; name && i < ARRAY_SIZE(arch_names); i++)
                if (strcmp(arch_names[i].name, name) == 0) {
                        *ret_token = arch_names[i].token;
                        return 0;
                }
        return -EINVAL;
}

static int parse_op(const char *name, enum scmp_compare *ret_op)
{
        for (size_t i = 0; name && i < ARRAY_SIZE(op_names); i++)
                if (strcmp(op_names[i].name, name) == 0) {
                        *ret_op = op_names[i].op;
                        return 0;
                }
        return -EINVAL;
}

static int parse_flags(const struct oci_seccomp *s, unsigned int *ret_flags,
                       struct cella_error *err)
{
        unsigned int flags = 0;
        for (size_t i = 0; i < s->n_flags; i++) {
                const char *name = s->flags[i] ? s->flags[i] : "";
                size_t j = 0;
                while (j < ARRAY_SIZE(flag_names) && strcmp(flag_names[j].name, name) != 0)
                        j++;
                if (j == ARRAY_SIZE(flag_names))
                        return cella_err(err, EINVAL,
                                         "linux.seccomp.flags[%zu]: unknown flag \"%s\"", i, name);
                if (!kernel_has_flag(flag_names[j].flag))
                        return cella_err(
                            err, EOPNOTSUPP,
                            "linux.seccomp.flags[%zu]: %s is not supported by the kernel", i, name);
                flags |= flag_names[j].flag;
        }
        *ret_flags = flags;
        return 0;
}

static int add_architectures(scmp_filter_ctx ctx, const struct oci_seccomp *s,
                             struct cella_error *err)
{
        for (size_t i = 0; i < s->n_architectures; i++) {
                uint32_t token;
                if (parse_arch(s->architectures[i], &token) < 0)
                        return cella_err(err, EINVAL,
                                         "linux.seccomp.architectures[%zu]: unknown architecture "
                                         "\"%s\" (libseccomp %d.%d)",
                                         i, s->architectures[i] ? s->architectures[i] : "",
                                         SCMP_VER_MAJOR, SCMP_VER_MINOR);
                int r = seccomp_arch_add(ctx, token);
                if (r == -EDOM)
                        return cella_err(err, EINVAL,
                                         "linux.seccomp.architectures[%zu]: \"%s\" cannot share a "
                                         "filter with the native architecture (other byte order)",
                                         i, s->architectures[i]);
                if (r < 0 && r != -EEXIST) /* the native arch is always present */
                        return cella_errno(err, -r,
                                           "linux.seccomp.architectures[%zu]: adding \"%s\"", i,
                                           s->architectures[i]);
        }
        return 0;
}

/* Translates args into conditions; *ret_repeated says whether an index occurs twice. */
static int parse_args(const struct oci_seccomp_syscall *sc, size_t idx, struct scmp_arg_cmp *conds,
                      bool *ret_repeated, struct cella_error *err)
{
        unsigned int seen = 0;
        bool repeated = false;
        for (size_t j = 0; j < sc->n_args; j++) {
                const struct oci_seccomp_arg *a = &sc->args[j];
                enum scmp_compare op;
                if (a->index > 5)
                        return cella_err(err, EINVAL,
                                         "linux.seccomp.syscalls[%zu].args[%zu].index: %u is out "
                                         "of range (0..5)",
                                         idx, j, a->index);
                if (parse_op(a->op, &op) < 0)
                        return cella_err(
                            err, EINVAL,
                            "linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator \"%s\"",
                            idx, j, a->op ? a->op : "(null)");
                /* For MASKED_EQ, value is the mask and valueTwo the expected masked value. */
                conds[j] = (struct scmp_arg_cmp){
                    .arg = a->index, .op = op, .datum_a = a->value, .datum_b = a->value_two};
                if (seen & (1U << a->index))
                        repeated = true;
                seen |= 1U << a->index;
        }
        *ret_repeated = repeated;
        return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, size_t idx,
                    const struct scmp_arg_cmp *conds, size_t n_conds, bool repeated,
                    struct cella_error *err)
{
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR) {
                log_debug("seccomp: skipping unknown syscall \"%s\"", name);
                return 0;
        }
        int r;
        if (!repeated) {
                r = seccomp_rule_add_array(ctx, action, nr, (unsigned int)n_conds, conds);
        } else {
                /* libseccomp cannot AND two conditions on one argument; runc ORs them. */
                r = 0;
                for (size_t k = 0; k < n_conds && r >= 0; k++)
                        r = seccomp_rule_add_array(ctx, action, nr, 1, &conds[k]);
        }
        if (r < 0)
                return cella_errno(err, -r, "linux.seccomp.syscalls[%zu]: adding rule for \"%s\"",
                                   idx, name);
        return 0;
}

/* Validates syscalls[idx] and, with a ctx, adds its rules (ctx NULL: validate only). */
static int add_syscall(scmp_filter_ctx ctx, const struct oci_seccomp *s, size_t idx,
                       uint32_t default_action, bool *notify, struct cella_error *err)
{
        const struct oci_seccomp_syscall *sc = &s->syscalls[idx];
        char path[96], errno_path[96];
        snprintf(path, sizeof(path), "linux.seccomp.syscalls[%zu].action", idx);
        snprintf(errno_path, sizeof(errno_path), "linux.seccomp.syscalls[%zu].errnoRet", idx);

        uint32_t action;
        int r = parse_action(sc->action, sc->has_errno_ret, sc->errno_ret, path, errno_path,
                             &action, err);
        if (r < 0)
                return r;
        if (sc->n_names == 0 || !sc->names)
                return cella_err(err, EINVAL,
                                 "linux.seccomp.syscalls[%zu].names: must not be empty", idx);
        _cleanup_free_ struct scmp_arg_cmp *conds = calloc(sc->n_args + 1, sizeof(*conds));
        if (!conds)
                return cella_err(err, ENOMEM, "out of memory");
        bool repeated = false;
        r = parse_args(sc, idx, conds, &repeated, err);
        if (r < 0)
                return r;

        for (size_t j = 0; j < sc->n_names; j++) {
                const char *name = sc->names[j];
                if (!name || !*name)
                        return cella_err(err, EINVAL,
                                         "linux.seccomp.syscalls[%zu].names[%zu]: empty name", idx,
                                         j);
                if (action == SCMP_ACT_NOTIFY) {
                        for (size_t k = 0; k < ARRAY_SIZE(notify_forbidden); k++)
                                if (strcmp(name, notify_forbidden[k]) == 0)
                                        return cella_err(
                                            err, EINVAL,
                                            "linux.seccomp.syscalls[%zu].names[%zu]: "
                                            "SCMP_ACT_NOTIFY cannot be used for \"%s\" (the "
                                            "runtime needs it to pass the listener fd)",
                                            idx, j, name);
                        *notify = true;
                }
                /* libseccomp refuses rules that repeat the default; they change nothing. */
                if (action == default_action || !ctx)
                        continue;
                r = add_rule(ctx, action, name, idx, conds, sc->n_args, repeated, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * Syscalls newer than the profile fail with ENOSYS instead of the default action, as runc
 * does: a profile written before, say, clone3 or fchmodat2 existed would otherwise answer
 * EPERM, and libc only falls back to the older syscall on ENOSYS. "Newer" means a number
 * above the highest one the profile names. Done for native architectures without
 * multiplexed socketcall/ipc numbering, where that comparison is exact; other architectures
 * get the default action as before.
 */
static int enosys_threshold(const struct oci_seccomp *s, uint32_t arch)
{
        int max = -1;
        for (size_t i = 0; i < s->n_syscalls; i++)
                for (size_t j = 0; j < s->syscalls[i].n_names; j++) {
                        const char *name = s->syscalls[i].names[j];
                        int nr = name ? seccomp_syscall_resolve_name_arch(arch, name) : -1;
                        if (nr > max)
                                max = nr;
                }
        return max;
}

static bool wants_enosys_stub(uint32_t default_action, uint32_t *ret_arch)
{
        uint32_t arch = seccomp_arch_native();
        uint32_t kind = default_action & SECCOMP_RET_ACTION_FULL;
        /* Under an allowing default, unknown syscalls already reach the kernel's ENOSYS. */
        if (kind == SCMP_ACT_ALLOW || kind == SCMP_ACT_LOG)
                return false;
        if (arch != SCMP_ARCH_X86_64 && arch != SCMP_ARCH_AARCH64 && arch != SCMP_ARCH_RISCV64)
                return false;
        *ret_arch = arch;
        return true;
}

/* Writes the stub into out (room for 6 instructions) and returns its length. */
static size_t build_enosys_stub(uint32_t arch, int max, struct sock_filter *out)
{
        bool x32_bit = arch == SCMP_ARCH_X86_64;
        size_t n = x32_bit ? 6 : 5, i = 0;
        out[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                                offsetof(struct seccomp_data, arch));
        out[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, n - i - 1);
        i++;
        out[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                                offsetof(struct seccomp_data, nr));
        if (x32_bit) {
                /* x32 syscalls share the x86_64 audit arch; leave them to the main filter. */
                out[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40000000,
                                                      n - i - 1, 0);
                i++;
        }
        out[i] =
            (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)max, 0, n - i - 1);
        i++;
        out[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
        return i;
}

/* Compiles the filter into f->insns: the ENOSYS stub, then libseccomp's BPF via a memfd. */
static int compile_program(struct lnx_seccomp *f, const struct oci_seccomp *s,
                           uint32_t default_action, struct cella_error *err)
{
        _cleanup_close_ int fd = memfd_create("cella-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return cella_errno(err, errno, "seccomp: memfd_create");
        int r = seccomp_export_bpf(f->ctx, fd);
        if (r < 0)
                return cella_errno(err, -r, "seccomp: compiling the filter");
        struct stat st;
        if (fstat(fd, &st) < 0)
                return cella_errno(err, errno, "seccomp: fstat");
        size_t n = (size_t)st.st_size / sizeof(struct sock_filter);
        if (n == 0 || (size_t)st.st_size % sizeof(struct sock_filter) != 0)
                return cella_err(err, EIO, "seccomp: libseccomp produced a malformed program");

        struct sock_filter stub[6];
        size_t n_stub = 0;
        uint32_t arch;
        int max;
        if (wants_enosys_stub(default_action, &arch) && (max = enosys_threshold(s, arch)) >= 0)
                n_stub = build_enosys_stub(arch, max, stub);
        if (n + n_stub > FILTER_MAX_INSNS)
                return cella_err(err, E2BIG,
                                 "seccomp: the filter has %zu instructions, the kernel allows %d",
                                 n + n_stub, FILTER_MAX_INSNS);
        f->insns = calloc(n + n_stub, sizeof(struct sock_filter));
        if (!f->insns)
                return cella_err(err, ENOMEM, "out of memory");
        memcpy(f->insns, stub, n_stub * sizeof(struct sock_filter));
        ssize_t got = pread(fd, f->insns + n_stub, st.st_size, 0);
        if (got != st.st_size)
                return cella_errno(err, got < 0 ? errno : EIO, "seccomp: reading the program");
        f->n_insns = n + n_stub;
        return 0;
}

static int check_notify(const struct oci_seccomp *s, struct lnx_seccomp *f, struct cella_error *err)
{
        if (!f->notify) {
                /* Meaningless without a listener, and the kernel rejects it there. */
                if (f->flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
                        log_debug("seccomp: ignoring SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV "
                                  "(no SCMP_ACT_NOTIFY rule)");
                f->flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
                return 0;
        }
        if (!s->listener_path || !*s->listener_path)
                return cella_err(
                    err, EINVAL,
                    "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used");
        f->flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        /* TSYNC and NEW_LISTENER both use the return value; TSYNC_ESRCH resolves that. */
        if (f->flags & SECCOMP_FILTER_FLAG_TSYNC)
                f->flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        return 0;
}

/*
 * The compile cache. An entry is the exact serialisation of everything the program depends
 * on (the key) followed by the program; a hit requires the stored key to match byte for byte,
 * so the file name's hash only spreads entries and a collision can only cost a recompile.
 */
struct key_buf {
        char *p;
        size_t len, cap;
        bool oom;
};

static void key_put(struct key_buf *k, const void *data, size_t n)
{
        if (k->oom)
                return;
        if (k->len + n > k->cap) {
                size_t cap = (k->len + n) * 2 + 256;
                char *p = realloc(k->p, cap);
                if (!p) {
                        k->oom = true;
                        return;
                }
                k->p = p;
                k->cap = cap;
        }
        memcpy(k->p + k->len, data, n);
        k->len += n;
}

static void key_u64(struct key_buf *k, uint64_t v)
{
        key_put(k, &v, sizeof(v));
}

static void key_str(struct key_buf *k, const char *str)
{
        size_t n = str ? strlen(str) + 1 : 0; /* NULL and "" differ */
        key_u64(k, n);
        key_put(k, str, n);
}

static int cache_key(const struct oci_seccomp *s, uint32_t default_action, struct key_buf *k)
{
        const struct scmp_version *v = seccomp_version();
        key_str(k, "cella-seccomp-cache-1 " CELLA_VERSION);
        key_u64(k, ((uint64_t)v->major << 32) | (v->minor << 16) | v->micro);
        key_u64(k, seccomp_arch_native());
        key_u64(k, default_action);
        key_u64(k, s->n_architectures);
        for (size_t i = 0; i < s->n_architectures; i++)
                key_str(k, s->architectures[i]);
        key_u64(k, s->n_syscalls);
        for (size_t i = 0; i < s->n_syscalls; i++) {
                const struct oci_seccomp_syscall *sc = &s->syscalls[i];
                key_str(k, sc->action);
                key_u64(k, sc->has_errno_ret ? (1ULL << 32) | sc->errno_ret : 0);
                key_u64(k, sc->n_names);
                for (size_t j = 0; j < sc->n_names; j++)
                        key_str(k, sc->names[j]);
                key_u64(k, sc->n_args);
                for (size_t j = 0; j < sc->n_args; j++) {
                        key_u64(k, sc->args[j].index);
                        key_u64(k, sc->args[j].value);
                        key_u64(k, sc->args[j].value_two);
                        key_str(k, sc->args[j].op);
                }
        }
        return k->oom ? -ENOMEM : 0;
}

static void cache_name(const struct key_buf *k, char name[static 32])
{
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
        for (size_t i = 0; i < k->len; i++)
                h = (h ^ (unsigned char)k->p[i]) * 0x100000001b3ULL;
        snprintf(name, 32, "%016llx.bpf", (unsigned long long)h);
}

/* Fills f->insns from a matching entry; any mismatch or damage is a miss (-ENOENT). */
static int cache_lookup(int dir_fd, const struct key_buf *k, struct lnx_seccomp *f)
{
        char name[32];
        cache_name(k, name);
        _cleanup_free_ char *buf = NULL;
        size_t len;
        size_t max = sizeof(uint64_t) + k->len + FILTER_MAX_INSNS * sizeof(struct sock_filter);
        if (fs_read_file_at(dir_fd, name, max, &buf, &len) < 0)
                return -ENOENT;
        uint64_t key_len;
        if (len < sizeof(key_len))
                return -ENOENT;
        memcpy(&key_len, buf, sizeof(key_len));
        size_t off = sizeof(key_len) + k->len;
        if (key_len != k->len || len <= off || memcmp(buf + sizeof(key_len), k->p, k->len) != 0)
                return -ENOENT;
        size_t n = (len - off) / sizeof(struct sock_filter);
        if ((len - off) % sizeof(struct sock_filter) != 0 || n > FILTER_MAX_INSNS)
                return -ENOENT;
        f->insns = malloc(len - off);
        if (!f->insns)
                return -ENOMEM;
        memcpy(f->insns, buf + off, len - off);
        f->n_insns = n;
        return 0;
}

/* Best effort: a cache that cannot be written only costs the next create a compile. */
static void cache_store(int dir_fd, const struct key_buf *k, const struct lnx_seccomp *f)
{
        char name[32];
        cache_name(k, name);
        size_t prog = f->n_insns * sizeof(struct sock_filter);
        uint64_t key_len = k->len;
        _cleanup_free_ char *buf = malloc(sizeof(key_len) + k->len + prog);
        if (!buf)
                return;
        memcpy(buf, &key_len, sizeof(key_len));
        memcpy(buf + sizeof(key_len), k->p, k->len);
        memcpy(buf + sizeof(key_len) + k->len, f->insns, prog);
        int r = fs_write_atomic_at(dir_fd, name, buf, sizeof(key_len) + k->len + prog, 0600);
        if (r < 0)
                log_debug("seccomp: cannot write the filter cache entry %s: %s", name,
                          strerror(-r));
}

/* Validates everything and sets up the context with its architectures (no rules yet). */
static int validate(const struct oci_seccomp *s, uint32_t default_action, struct lnx_seccomp *f,
                    struct cella_error *err)
{
        int r = parse_flags(s, &f->flags, err);
        if (r < 0)
                return r;
        f->ctx = seccomp_init(default_action);
        if (!f->ctx)
                return cella_err(err, ENOMEM, "seccomp: cannot create a filter context");
        /* no_new_privs is process.noNewPrivileges' business, not the filter's. */
        (void)seccomp_attr_set(f->ctx, SCMP_FLTATR_CTL_NNP, 0);
        r = add_architectures(f->ctx, s, err);
        for (size_t i = 0; r >= 0 && i < s->n_syscalls; i++)
                r = add_syscall(NULL, s, i, default_action, &f->notify, err);
        if (r < 0)
                return r;
        return check_notify(s, f, err);
}

static int build(const struct oci_seccomp *s, uint32_t default_action, struct lnx_seccomp *f,
                 struct cella_error *err)
{
        bool notify = false;
        int r = 0;
        for (size_t i = 0; r >= 0 && i < s->n_syscalls; i++)
                r = add_syscall(f->ctx, s, i, default_action, &notify, err);
        if (r < 0)
                return r;
        f->ctx_has_rules = true;
        return compile_program(f, s, default_action, err);
}

int lnx_seccomp_prepare_cached(const struct oci_seccomp *s, int cache_dir_fd,
                               struct lnx_seccomp **ret_filter, struct cella_error *err)
{
        uint32_t default_action;
        int r = parse_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret,
                             "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet",
                             &default_action, err);
        if (r < 0)
                return r;
        if (default_action == SCMP_ACT_NOTIFY)
                return cella_err(
                    err, EINVAL,
                    "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");

        struct lnx_seccomp *f = calloc(1, sizeof(*f));
        struct key_buf key = {0};
        if (!f)
                return cella_err(err, ENOMEM, "out of memory");
        r = validate(s, default_action, f, err);
        if (r < 0)
                goto out;
        if (cache_dir_fd >= 0 && cache_key(s, default_action, &key) == 0 &&
            cache_lookup(cache_dir_fd, &key, f) == 0)
                goto out;
        r = build(s, default_action, f, err);
        if (r >= 0 && cache_dir_fd >= 0 && !key.oom)
                cache_store(cache_dir_fd, &key, f);
out:
        free(key.p);
        if (r < 0) {
                lnx_seccomp_free(f);
                return r;
        }
        *ret_filter = f;
        return 0;
}

int lnx_seccomp_prepare(const struct oci_seccomp *s, struct lnx_seccomp **ret_filter,
                        struct cella_error *err)
{
        return lnx_seccomp_prepare_cached(s, -1, ret_filter, err);
}

bool lnx_seccomp_uses_notify(const struct lnx_seccomp *f)
{
        return f && f->notify;
}

size_t lnx_seccomp_program_size(const struct lnx_seccomp *f)
{
        return f ? f->n_insns : 0;
}

int lnx_seccomp_load(const struct lnx_seccomp *f, int *ret_notify_fd, struct cella_error *err)
{
        if (ret_notify_fd)
                *ret_notify_fd = -1;
        if (!f)
                return 0;
        struct sock_fprog prog = {.len = (unsigned short)f->n_insns, .filter = f->insns};
        int r = sys_seccomp(SECCOMP_SET_MODE_FILTER, f->flags, &prog);
        if (r < 0) {
                if (errno == EACCES)
                        return cella_errno(
                            err, errno,
                            "loading the seccomp filter (needs noNewPrivileges or CAP_SYS_ADMIN)");
                return cella_errno(err, errno, "loading the seccomp filter");
        }
        if (f->notify) {
                if (ret_notify_fd)
                        *ret_notify_fd = r;
                else
                        close(r);
        }
        return 0;
}

void lnx_seccomp_free(struct lnx_seccomp *f)
{
        if (!f)
                return;
        if (f->ctx)
                seccomp_release(f->ctx);
        free(f->insns);
        free(f);
}

int lnx_seccomp_export_pfc(const struct lnx_seccomp *f, int fd)
{
        if (!f->ctx_has_rules)
                return -ENODATA;
        return seccomp_export_pfc(f->ctx, fd);
}

/* Builds the containerProcessState document around the runtime's state object. */
static int build_process_state(const char *state_json, const char *metadata, char **ret_text,
                               struct cella_error *err)
{
        struct json_object *state = NULL;
        int r = json_parse_text(state_json, 0, &state, err);
        if (r < 0)
                return cella_err_prefix(err, "seccomp listener: container state");
        struct json_object *doc = json_object_new_object(), *v;
        const char *version = "1.2.0";
        if (json_object_object_get_ex(state, "ociVersion", &v) &&
            json_object_is_type(v, json_type_string))
                version = json_object_get_string(v);
        json_object_object_add(doc, "ociVersion", json_object_new_string(version));
        struct json_object *fds = json_object_new_array();
        json_object_array_add(fds, json_object_new_string("seccompFd"));
        json_object_object_add(doc, "fds", fds);
        if (json_object_object_get_ex(state, "pid", &v))
                json_object_object_add(doc, "pid", json_object_get(v));
        if (metadata)
                json_object_object_add(doc, "metadata", json_object_new_string(metadata));
        json_object_object_add(doc, "state", state);
        *ret_text = strdup(json_to_string(doc, 0));
        json_object_put(doc);
        return *ret_text ? 0 : cella_err(err, ENOMEM, "out of memory");
}

static int send_with_fd(int sock, const char *buf, size_t len, int fd)
{
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control;
        memset(&control, 0, sizeof(control));
        struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));

        /* The fd rides on the first chunk; a stream socket may take the text in pieces. */
        while (len > 0) {
                ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += n;
                len -= (size_t)n;
                iov = (struct iovec){.iov_base = (void *)buf, .iov_len = len};
                msg.msg_control = NULL;
                msg.msg_controllen = 0;
        }
        return 0;
}

int lnx_seccomp_send_notify_fd(const char *listener_path, int notify_fd, const char *state_json,
                               const char *metadata, struct cella_error *err)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (!listener_path || strlen(listener_path) >= sizeof(addr.sun_path))
                return cella_err(
                    err, ENAMETOOLONG,
                    "linux.seccomp.listenerPath: \"%s\" is longer than a socket path may be",
                    listener_path ? listener_path : "");
        strcpy(addr.sun_path, listener_path);

        _cleanup_free_ char *text = NULL;
        int r = build_process_state(state_json, metadata, &text, err);
        if (r < 0)
                return r;
        _cleanup_close_ int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sock < 0)
                return cella_errno(err, errno, "seccomp listener: socket");
        if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                return cella_errno(err, errno, "connecting to seccomp listener \"%s\"",
                                   listener_path);
        r = send_with_fd(sock, text, strlen(text), notify_fd);
        if (r < 0)
                return cella_errno(err, -r, "sending the seccomp fd to \"%s\"", listener_path);
        return 0;
}

static struct json_object *string_array(const char *const *names, size_t n, const bool *keep)
{
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; i < n; i++)
                if (!keep || keep[i])
                        json_object_array_add(a, json_object_new_string(names[i]));
        return a;
}

static struct json_object *features_actions(void)
{
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; i < ARRAY_SIZE(action_names); i++)
                if (kernel_has_action(action_names[i].action))
                        json_object_array_add(a, json_object_new_string(action_names[i].name));
        return a;
}

/* The archs this libseccomp can build filters for. */
static struct json_object *features_archs(void)
{
        struct json_object *a = json_object_new_array();
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        for (size_t i = 0; ctx && i < ARRAY_SIZE(arch_names); i++) {
                int r = seccomp_arch_add(ctx, arch_names[i].token);
                if (r == 0 || r == -EEXIST)
                        json_object_array_add(a, json_object_new_string(arch_names[i].name));
        }
        if (ctx)
                seccomp_release(ctx);
        return a;
}

struct json_object *lnx_seccomp_features(void)
{
        struct json_object *o = json_object_new_object();
        /* PR_GET_SECCOMP fails with EINVAL on kernels built without CONFIG_SECCOMP. */
        bool enabled = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
        json_object_object_add(o, "enabled", json_object_new_boolean(enabled));
        if (!enabled)
                return o;
        json_object_object_add(o, "actions", features_actions());

        const char *ops[ARRAY_SIZE(op_names)];
        for (size_t i = 0; i < ARRAY_SIZE(op_names); i++)
                ops[i] = op_names[i].name;
        json_object_object_add(o, "operators", string_array(ops, ARRAY_SIZE(ops), NULL));
        json_object_object_add(o, "archs", features_archs());

        const char *flags[ARRAY_SIZE(flag_names)];
        bool supported[ARRAY_SIZE(flag_names)];
        for (size_t i = 0; i < ARRAY_SIZE(flag_names); i++) {
                flags[i] = flag_names[i].name;
                supported[i] = kernel_has_flag(flag_names[i].flag);
        }
        json_object_object_add(o, "knownFlags", string_array(flags, ARRAY_SIZE(flags), NULL));
        json_object_object_add(o, "supportedFlags",
                               string_array(flags, ARRAY_SIZE(flags), supported));
        return o;
}
