/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device access rules (linux.resources.devices): v1 devices.allow/deny, and on cgroup v2 an
 * eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE attached with BPF_CGROUP_DEVICE, which the
 * kernel runs on every open/mknod of a device node by a process of the cgroup.
 */
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "convert.h"
#include "internal.h"
#include "resources.h"

/* runc's default allow list (specconv.AllowedDevices, without tun). */
static const struct oci_device_cgroup default_rules[] = {
    {true, 'c', -1, -1, (char *)"m"},    {true, 'b', -1, -1, (char *)"m"},
    {true, 'c', 1, 3, (char *)"rwm"},    /* null */
    {true, 'c', 1, 8, (char *)"rwm"},    /* random */
    {true, 'c', 1, 7, (char *)"rwm"},    /* full */
    {true, 'c', 5, 0, (char *)"rwm"},    /* tty */
    {true, 'c', 1, 5, (char *)"rwm"},    /* zero */
    {true, 'c', 1, 9, (char *)"rwm"},    /* urandom */
    {true, 'c', 136, -1, (char *)"rwm"}, /* pts */
    {true, 'c', 5, 2, (char *)"rwm"},    /* ptmx */
};

int cg_device_rules(const struct oci_resources *r, struct oci_device_cgroup **ret, size_t *ret_n)
{
        size_t n_spec = r ? r->n_devices : 0;
        size_t n = n_spec + ARRAY_SIZE(default_rules);
        struct oci_device_cgroup *v = calloc(n, sizeof(*v));
        if (!v)
                return -ENOMEM;
        if (n_spec)
                memcpy(v, r->devices, n_spec * sizeof(*v));
        memcpy(v + n_spec, default_rules, sizeof(default_rules));
        *ret = v;
        *ret_n = n;
        return 0;
}

/* The rule files stay open while the rules are replayed (one open per file, not per rule). */
static int set_device_rule(int *fd, const char *dir, const char *file, const char *value,
                           const char *field, struct cella_error *err)
{
        if (*fd < 0)
                *fd = cg_open_file(dir, file, err);
        int r = *fd < 0 ? *fd : cg_write_fd(*fd, dir, file, value, err);
        if (r < 0 && err)
                cella_err_prefix(err, "linux.resources.%s%s", field,
                                 r == -ENOENT ? " (not supported by this host)" : "");
        return r;
}

int cg_v1_set_devices(const char *dir, const struct oci_device_cgroup *rules, size_t n,
                      struct cella_error *err)
{
        /*
         * Start from deny-all, then replay the rules in order: the kernel keeps a default
         * policy plus exceptions, so each write refines what came before, like the spec's
         * "later rules override earlier ones".
         */
        _cleanup_close_ int allow = -1, deny = -1;
        int q = set_device_rule(&deny, dir, "devices.deny", "a", "devices", err);
        for (size_t i = 0; q == 0 && i < n; i++) {
                const struct oci_device_cgroup *d = &rules[i];
                char buf[80], num[48], field[32];
                const char *access = d->access && *d->access ? d->access : "rwm";
                if (d->type == 'a')
                        snprintf(buf, sizeof(buf), "a");
                else
                        snprintf(buf, sizeof(buf), "%c %s %s", d->type,
                                 cg_devnum(d->major, d->minor, num), access);
                snprintf(field, sizeof(field), "devices[%zu]", i);
                q = d->allow ? set_device_rule(&allow, dir, "devices.allow", buf, field, err)
                             : set_device_rule(&deny, dir, "devices.deny", buf, field, err);
        }
        return q;
}

/* ---- eBPF ---- */

#define INSN(c, d, s, o, i)                                                                        \
        ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(d, s, o)       INSN(BPF_LDX | BPF_W | BPF_MEM, d, s, o, 0)
#define ALU32_IMM(op, d, i)  INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define MOV32_REG(d, s)      INSN(BPF_ALU | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, i)      INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define JMP_IMM(op, d, i, o) INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define EXIT()               INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static int access_bits(const char *access)
{
        if (!access || !*access)
                return BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
        int bits = 0;
        for (const char *p = access; *p; p++)
                bits |= *p == 'r'   ? BPF_DEVCG_ACC_READ
                        : *p == 'w' ? BPF_DEVCG_ACC_WRITE
                        : *p == 'm' ? BPF_DEVCG_ACC_MKNOD
                                    : 0;
        return bits;
}

/*
 * One rule as a block that returns its verdict when it matches and otherwise falls through to
 * the next block. Registers (set by the prologue): r2 device type, r3 requested access,
 * r4 major, r5 minor. Returns the number of instructions written to out (if non-NULL).
 */
static size_t rule_block(const struct oci_device_cgroup *d, struct bpf_insn *out)
{
        struct bpf_insn b[12];
        size_t n = 0;
        const int all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
        int acc = access_bits(d->access);
        /* Jump offsets are patched below to "past the end of this block". */
        if (d->type == 'c' || d->type == 'b')
                b[n++] = JMP_IMM(BPF_JNE, 2,
                                 d->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, 0);
        if ((acc & all) != all) {
                /* allow: every requested bit is allowed; deny: any requested bit is denied */
                b[n++] = MOV32_REG(1, 3);
                b[n++] = ALU32_IMM(BPF_AND, 1, d->allow ? (~acc & all) : acc);
                b[n++] = JMP_IMM(d->allow ? BPF_JNE : BPF_JEQ, 1, 0, 0);
        }
        if (d->major >= 0)
                b[n++] = JMP_IMM(BPF_JNE, 4, (int32_t)d->major, 0);
        if (d->minor >= 0)
                b[n++] = JMP_IMM(BPF_JNE, 5, (int32_t)d->minor, 0);
        b[n++] = MOV64_IMM(0, d->allow ? 1 : 0);
        b[n++] = EXIT();
        for (size_t i = 0; i < n; i++)
                if (BPF_CLASS(b[i].code) == BPF_JMP && BPF_OP(b[i].code) != BPF_EXIT)
                        b[i].off = (int16_t)(n - i - 1);
        if (out)
                memcpy(out, b, n * sizeof(*b));
        return n;
}

int cg_bpf_devices_program(const struct oci_device_cgroup *rules, size_t n,
                           struct bpf_insn **ret_insns, size_t *ret_n)
{
        /* prologue 6 + at most 10 per rule + epilogue 2 */
        struct bpf_insn *p = calloc(8 + 10 * n, sizeof(*p));
        if (!p)
                return -ENOMEM;
        size_t k = 0;
        /* struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major, minor; } */
        p[k++] = LDX_W(2, 1, 0);
        p[k++] = ALU32_IMM(BPF_AND, 2, 0xFFFF);
        p[k++] = LDX_W(3, 1, 0);
        p[k++] = ALU32_IMM(BPF_RSH, 3, 16);
        p[k++] = LDX_W(4, 1, 4);
        p[k++] = LDX_W(5, 1, 8);
        /*
         * The last matching rule decides: emit them in reverse and return on the first hit. A
         * rule that matches everything ends the program; the verifier rejects dead code after it.
         */
        bool open_end = true;
        for (size_t i = n; i-- > 0 && open_end;) {
                size_t len = rule_block(&rules[i], p + k);
                k += len;
                open_end = len > 2;
        }
        if (open_end) {
                p[k++] = MOV64_IMM(0, 0);
                p[k++] = EXIT();
        }
        *ret_insns = p;
        *ret_n = k;
        return 0;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
        return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int prog_load(const struct bpf_insn *insns, size_t n, struct cella_error *err)
{
        char log[4096];
        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = (uint64_t)(uintptr_t)insns;
        attr.insn_cnt = (uint32_t)n;
        attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = sizeof(log);
        attr.log_level = 1;
        log[0] = '\0';
        long fd = sys_bpf(BPF_PROG_LOAD, &attr);
        if (fd < 0)
                return cella_errno(err, errno,
                                   "linux.resources.devices: load eBPF device filter%s%.200s",
                                   log[0] ? " (verifier: " : "", log);
        return (int)fd;
}

/* Ids of the device programs attached to the cgroup now (at most max). */
static int query_attached(int cgfd, uint32_t *ids, uint32_t max, uint32_t *ret_n)
{
        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.query.target_fd = (uint32_t)cgfd;
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
        attr.query.prog_cnt = max;
        if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
                return -errno;
        *ret_n = attr.query.prog_cnt < max ? attr.query.prog_cnt : max;
        return 0;
}

static void detach_id(int cgfd, uint32_t id)
{
        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.prog_id = id;
        int fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
        if (fd < 0)
                return;
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t)cgfd;
        attr.attach_bpf_fd = (uint32_t)fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        sys_bpf(BPF_PROG_DETACH, &attr);
        close(fd);
}

/*
 * Attach the new program next to the old ones (BPF_F_ALLOW_MULTI), then detach the old ones:
 * an update never leaves a window with no filter at all.
 */
int cg_v2_set_devices(const char *dir, const struct oci_device_cgroup *rules, size_t n,
                      struct cella_error *err)
{
        _cleanup_free_ struct bpf_insn *insns = NULL;
        size_t n_insns;
        if (cg_bpf_devices_program(rules, n, &insns, &n_insns) < 0)
                return cella_err(err, ENOMEM, "out of memory");
        _cleanup_close_ int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgfd < 0)
                return cella_errno(err, errno, "linux.resources.devices: open \"%s\"", dir);
        _cleanup_close_ int prog = prog_load(insns, n_insns, err);
        if (prog < 0)
                return prog;
        uint32_t old[64], n_old = 0;
        if (query_attached(cgfd, old, ARRAY_SIZE(old), &n_old) < 0)
                n_old = 0;
        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t)cgfd;
        attr.attach_bpf_fd = (uint32_t)prog;
        attr.attach_type = BPF_CGROUP_DEVICE;
        attr.attach_flags = BPF_F_ALLOW_MULTI;
        if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
                return cella_errno(err, errno,
                                   "linux.resources.devices: attach eBPF device filter to \"%s\"",
                                   dir);
        for (uint32_t i = 0; i < n_old; i++)
                detach_id(cgfd, old[i]);
        return 0;
}
