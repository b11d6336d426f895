/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup layer: path arithmetic and state round-trip over fabricated host layouts (no root
 * needed), then create/enter/freeze/kill/destroy against this host's real cgroupfs (root only;
 * skipped otherwise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "cgroup/cgroup.h"
#include "cgroup/convert.h"
#include "cgroup/internal.h"
#include "cgroup/resources.h"
#include "oci/spec.h"

#include <fcntl.h>
#include <linux/bpf.h>

/* A hybrid host like the development machine, but with cpu,cpuacct co-mounted. */
static const char hybrid_mountinfo[] =
    "24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "31 24 0:28 / /sys/fs/cgroup rw,relatime shared:9 - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:10 - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
    /* a second view of memory, a bind mount of another subtree: must not be picked */
    "90 23 0:32 /other /mnt/mem\\040x rw,relatime - cgroup cgroup rw,memory\n";

static const char hybrid_proc_cgroup[] = "9:name=systemd:/user.slice/s1\n"
                                         "8:pids:/\n"
                                         "7:net_cls,net_prio:/\n" /* not mounted: skipped */
                                         "4:memory:/process_api/abc\n"
                                         "3:cpuset:/\n"
                                         "2:cpu,cpuacct:/\n"
                                         "0::/user.slice/s1\n";

static const char v2_mountinfo[] =
    "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";
static const char v2_proc_cgroup[] = "0::/user.slice/user-0.slice/session-1.scope\n";

static void discover(enum cg_mode mode, const char *mi, const char *pc,
                     struct cg_mount_info **infos, size_t *n)
{
        struct cella_error err = {0};
        int r = cg_discover(mode, mi, pc, infos, n, &err);
        if (r < 0)
                fail_msg("cg_discover: %s", err.msg);
}

static const struct cg_hierarchy *find(const struct cgroup *cg, const char *controllers)
{
        for (size_t i = 0; i < cg->n_h; i++)
                if (strcmp(cg->h[i].controllers, controllers) == 0)
                        return &cg->h[i];
        fail_msg("no hierarchy \"%s\"", controllers);
        return NULL;
}

static void test_normalize(void **state)
{
        static const char *const ok[][2] = {
            {"/cella/x", "/cella/x"}, {"//a/./b/", "/a/b"}, {"a/../b", "b"},
            {"/a/b/../../c", "/c"},   {"x", "x"},           {"/a:b:c", "/a:b:c"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
                _cleanup_free_ char *out = NULL;
                struct cella_error err = {0};
                assert_int_equal(cg_normalize_path(ok[i][0], &out, &err), 0);
                assert_string_equal(out, ok[i][1]);
        }
        static const char *const bad[] = {"/../x", "../x", "/a/../../b", "/", "a/..", ".", ""};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                char *out = NULL;
                struct cella_error err = {0};
                assert_int_equal(cg_normalize_path(bad[i], &out, &err), -EINVAL);
                assert_null(out);
                char quoted[64];
                snprintf(quoted, sizeof(quoted), "\"%s\"", bad[i]);
                assert_non_null(strstr(err.msg, quoted));
        }
}

static void test_discover_hybrid(void **state)
{
        struct cg_mount_info *infos = NULL;
        size_t n = 0;
        discover(CG_MODE_HYBRID, hybrid_mountinfo, hybrid_proc_cgroup, &infos, &n);
        assert_int_equal(n, 6);
        assert_string_equal(infos[0].controllers, "name=systemd");
        assert_string_equal(infos[0].mount, "/sys/fs/cgroup/systemd");
        assert_string_equal(infos[0].own, "/user.slice/s1");
        assert_string_equal(infos[2].controllers, "memory");
        assert_string_equal(infos[2].mount, "/sys/fs/cgroup/memory");
        assert_string_equal(infos[4].controllers, "cpu,cpuacct");
        assert_string_equal(infos[4].mount, "/sys/fs/cgroup/cpu,cpuacct");
        assert_string_equal(infos[5].controllers, "");
        assert_string_equal(infos[5].mount, "/sys/fs/cgroup/unified");
        cg_mount_infos_free(infos, n);

        /* Plain v1: the cgroup2 line of /proc/self/cgroup is ignored. */
        discover(CG_MODE_V1, hybrid_mountinfo, hybrid_proc_cgroup, &infos, &n);
        assert_int_equal(n, 5);
        for (size_t i = 0; i < n; i++)
                assert_string_not_equal(infos[i].controllers, "");
        cg_mount_infos_free(infos, n);
}

static void test_discover_bind_root_and_escapes(void **state)
{
        /* Inside a container without cgroupns: the hierarchy's mount root is our own cgroup. */
        const char *mi = "50 40 0:32 /docker/abc /sys/fs/cgroup/my\\040mem ro - cgroup cgroup "
                         "rw,memory\n";
        const char *pc = "4:memory:/docker/abc\n";
        struct cg_mount_info *infos = NULL;
        size_t n = 0;
        discover(CG_MODE_V1, mi, pc, &infos, &n);
        assert_int_equal(n, 1);
        assert_string_equal(infos[0].mount, "/sys/fs/cgroup/my mem");
        assert_string_equal(infos[0].own, "/");
        cg_mount_infos_free(infos, n);

        struct cella_error err = {0};
        assert_int_equal(cg_discover(CG_MODE_V1, v2_mountinfo, "4:memory:/\n", &infos, &n, &err),
                         -ENOENT);
}

static void test_paths_absolute(void **state)
{
        struct cg_mount_info *infos = NULL;
        size_t n = 0;
        discover(CG_MODE_HYBRID, hybrid_mountinfo, hybrid_proc_cgroup, &infos, &n);
        struct cgroup cg;
        struct cella_error err = {0};
        assert_int_equal(cg_init_from(&cg, CG_MODE_HYBRID, infos, n, "/cella/x", "x", &err), 0);
        assert_string_equal(cg.rel_path, "/cella/x");
        assert_int_equal(cg.n_h, 6);
        assert_string_equal(find(&cg, "memory")->path, "/sys/fs/cgroup/memory/cella/x");
        assert_string_equal(find(&cg, "cpu,cpuacct")->path, "/sys/fs/cgroup/cpu,cpuacct/cella/x");
        assert_string_equal(find(&cg, "")->path, "/sys/fs/cgroup/unified/cella/x");
        assert_null(find(&cg, "memory")->created);
        assert_ptr_equal(cg.ops, &cg_hybrid_ops);
        assert_ptr_equal(cg_find_hierarchy(&cg, "cpuacct"), find(&cg, "cpu,cpuacct"));
        assert_int_equal(cg_v2_fd(&cg), -ENOTSUP);
        cg_free(&cg);

        assert_int_equal(cg_init_from(&cg, CG_MODE_HYBRID, infos, n, "/a/../../etc", "x", &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "\"/a/../../etc\""));
        cg_mount_infos_free(infos, n);
}

static void test_paths_relative_and_default(void **state)
{
        struct cg_mount_info *infos = NULL;
        size_t n = 0;
        discover(CG_MODE_HYBRID, hybrid_mountinfo, hybrid_proc_cgroup, &infos, &n);
        struct cgroup cg;
        struct cella_error err = {0};
        /* Relative: below our own cgroup in each hierarchy (runc's cgroupfs driver). */
        assert_int_equal(cg_init_from(&cg, CG_MODE_HYBRID, infos, n, "pod/c1", "x", &err), 0);
        assert_string_equal(cg.rel_path, "pod/c1");
        assert_string_equal(find(&cg, "memory")->path,
                            "/sys/fs/cgroup/memory/process_api/abc/pod/c1");
        assert_string_equal(find(&cg, "pids")->path, "/sys/fs/cgroup/pids/pod/c1");
        assert_string_equal(find(&cg, "")->path, "/sys/fs/cgroup/unified/user.slice/s1/pod/c1");
        cg_free(&cg);
        /* Absent cgroupsPath: the relative path "<id>", as runc does. */
        assert_int_equal(cg_init_from(&cg, CG_MODE_HYBRID, infos, n, NULL, "ctr1", &err), 0);
        assert_string_equal(cg.rel_path, "ctr1");
        assert_string_equal(find(&cg, "memory")->path,
                            "/sys/fs/cgroup/memory/process_api/abc/ctr1");
        cg_free(&cg);
        assert_int_equal(cg_init_from(&cg, CG_MODE_HYBRID, infos, n, "", "ctr2", &err), 0);
        assert_string_equal(find(&cg, "cpuset")->path, "/sys/fs/cgroup/cpuset/ctr2");
        cg_free(&cg);
        assert_int_equal(cg_init_from(&cg, CG_MODE_HYBRID, infos, n, "../x", "x", &err), -EINVAL);
        cg_mount_infos_free(infos, n);

        /* Pure v2: below the parent of our own cgroup, which has processes of its own. */
        discover(CG_MODE_V2, v2_mountinfo, v2_proc_cgroup, &infos, &n);
        assert_int_equal(n, 1);
        assert_int_equal(cg_init_from(&cg, CG_MODE_V2, infos, n, "c1", "x", &err), 0);
        assert_string_equal(cg.h[0].path, "/sys/fs/cgroup/user.slice/user-0.slice/c1");
        assert_ptr_equal(cg.ops, &cg_v2_ops);
        cg_free(&cg);
        assert_int_equal(cg_init_from(&cg, CG_MODE_V2, infos, n, "/machine/c1", "x", &err), 0);
        assert_string_equal(cg.h[0].path, "/sys/fs/cgroup/machine/c1");
        cg_free(&cg);
        cg_mount_infos_free(infos, n);
}

static void test_json_roundtrip(void **state)
{
        struct cg_mount_info *infos = NULL;
        size_t n = 0;
        discover(CG_MODE_HYBRID, hybrid_mountinfo, hybrid_proc_cgroup, &infos, &n);
        struct cgroup cg, back;
        struct cella_error err = {0};
        assert_int_equal(cg_init_from(&cg, CG_MODE_HYBRID, infos, n, "/cella/x", "x", &err), 0);
        cg_mount_infos_free(infos, n);
        cg.h[1].created = strdup("/sys/fs/cgroup/pids/cella");
        struct json_object *j = cg_to_json(&cg);
        assert_non_null(j);
        /* Through text, as the state file does. */
        struct json_object *parsed = json_tokener_parse(json_object_to_json_string(j));
        assert_non_null(parsed);
        if (cg_from_json(parsed, &back, &err) < 0)
                fail_msg("cg_from_json: %s", err.msg);
        assert_int_equal(back.mode, CG_MODE_HYBRID);
        assert_ptr_equal(back.ops, &cg_hybrid_ops);
        assert_string_equal(back.rel_path, "/cella/x");
        assert_int_equal(back.n_h, cg.n_h);
        for (size_t i = 0; i < cg.n_h; i++) {
                assert_string_equal(back.h[i].controllers, cg.h[i].controllers);
                assert_string_equal(back.h[i].mount, cg.h[i].mount);
                assert_string_equal(back.h[i].path, cg.h[i].path);
                if (cg.h[i].created)
                        assert_string_equal(back.h[i].created, cg.h[i].created);
                else
                        assert_null(back.h[i].created);
        }
        cg_free(&back);
        json_object_put(parsed);
        json_object_put(j);
        cg_free(&cg);
}

static void test_json_rejects_bad_state(void **state)
{
        static const char *const bad[] = {
            "[]",
            "{\"mode\":\"v3\",\"path\":\"/x\",\"hierarchies\":[]}",
            "{\"mode\":\"v2\",\"path\":\"/x\",\"hierarchies\":[]}",
            "{\"mode\":\"v2\",\"path\":\"/x\",\"hierarchies\":[{\"controllers\":\"\","
            "\"mount\":\"/sys/fs/cgroup\",\"path\":\"/sys/fs/cgroup/x/../../../etc\"}]}",
            "{\"mode\":\"v2\",\"path\":\"/x\",\"hierarchies\":[{\"controllers\":\"\","
            "\"mount\":\"/sys/fs/cgroup\",\"path\":\"/sys/fs/cgroup\"}]}",
            "{\"mode\":\"v2\",\"path\":\"/x\",\"hierarchies\":[{\"controllers\":\"\","
            "\"mount\":\"/sys/fs/cgroup\",\"path\":\"/sys/fs/cgroup/x\",\"created\":\"/tmp\"}]}",
            "{\"mode\":\"v2\",\"path\":\"/x\",\"hierarchies\":[{\"controllers\":1,"
            "\"mount\":\"/sys/fs/cgroup\",\"path\":\"/sys/fs/cgroup/x\"}]}",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct json_object *j = json_tokener_parse(bad[i]);
                assert_non_null(j);
                struct cgroup cg;
                struct cella_error err = {0};
                assert_int_equal(cg_from_json(j, &cg, &err), -EINVAL);
                assert_true(strncmp(err.msg, "cgroup state", 12) == 0);
                json_object_put(j);
        }
}

static void test_convert_cpu(void **state)
{
        static const uint64_t cases[][2] = {{0, 0},         {2, 1},          {3, 2},
                                            {100, 17},      {512, 59},       {1000, 99},
                                            {1024, 100},    {2048, 174},     {4096, 303},
                                            {100000, 4340}, {262144, 10000}, {1 << 20, 10000}};
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
                assert_int_equal(cg_shares_to_weight(cases[i][0]), cases[i][1]);
        char buf[64];
        cg_cpu_max(true, 50000, true, 100000, buf, sizeof(buf));
        assert_string_equal(buf, "50000 100000");
        cg_cpu_max(false, 0, true, 20000, buf, sizeof(buf));
        assert_string_equal(buf, "max 20000");
        cg_cpu_max(true, -1, false, 0, buf, sizeof(buf));
        assert_string_equal(buf, "max");
        cg_cpu_max(true, 30000, false, 0, buf, sizeof(buf));
        assert_string_equal(buf, "30000");
}

static void test_convert_io_memory(void **state)
{
        assert_int_equal(cg_blkio_to_io_weight(0), 0);
        assert_int_equal(cg_blkio_to_io_weight(10), 1);
        assert_int_equal(cg_blkio_to_io_weight(500), 4950);
        assert_int_equal(cg_blkio_to_io_weight(1000), 10000);

        struct {
                int64_t swap, limit, want;
                int r;
        } cases[] = {
            {-1, 100, -1, 0}, {0, -1, -1, 0},        {0, 100, 0, 0},       {300, 100, 200, 0},
            {100, 100, 0, 0}, {50, 100, 0, -EINVAL}, {300, 0, 0, -EINVAL}, {300, -1, 0, -EINVAL},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                int64_t out = 12345;
                struct cella_error err = {0};
                assert_int_equal(cg_swap_to_v2(cases[i].swap, cases[i].limit, &out, &err),
                                 cases[i].r);
                if (cases[i].r == 0)
                        assert_int_equal(out, cases[i].want);
                else
                        assert_non_null(strstr(err.msg, "linux.resources.memory.swap"));
        }
        char buf[24], num[48];
        assert_string_equal(cg_v2_limit(-1, buf), "max");
        assert_string_equal(cg_v2_limit(4096, buf), "4096");
        assert_string_equal(cg_devnum(-1, -1, num), "*:*");
        assert_string_equal(cg_devnum(136, -1, num), "136:*");
        assert_string_equal(cg_devnum(1, 3, num), "1:3");
}

static void test_unified_keys(void **state)
{
        struct cella_error err = {0};
        assert_int_equal(cg_unified_key_check("memory.high", &err), 0);
        assert_int_equal(cg_unified_key_check("cpu.max.burst", &err), 0);
        assert_int_equal(cg_unified_key_check("io.bfq.weight", &err), 0);
        assert_int_equal(cg_unified_key_check("hugetlb.2MB.max", &err), 0);
        static const char *const bad[] = {"../memory.max", "memory",    "memory/max",
                                          ".max",          "memory.",   "cgroup.procs",
                                          "cgroup.kill",   "Memory.max"};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                assert_int_equal(cg_unified_key_check(bad[i], &err), -EINVAL);
                assert_non_null(strstr(err.msg, bad[i]));
        }
}

/* A tiny interpreter for the instruction subset the device filter uses. */
static int run_filter(const struct bpf_insn *p, size_t n, char type, const char *access,
                      uint32_t major, uint32_t minor)
{
        uint32_t acc = 0;
        for (const char *a = access; *a; a++)
                acc |= *a == 'r'   ? BPF_DEVCG_ACC_READ
                       : *a == 'w' ? BPF_DEVCG_ACC_WRITE
                                   : BPF_DEVCG_ACC_MKNOD;
        uint32_t ctx[3] = {acc << 16 | (type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK),
                           major, minor};
        uint64_t r[11] = {0};
        for (size_t pc = 0; pc < n; pc++) {
                const struct bpf_insn *i = &p[pc];
                uint64_t imm = (uint64_t)(int64_t)i->imm;
                switch (i->code) {
                case BPF_LDX | BPF_W | BPF_MEM:
                        assert_int_equal(i->src_reg, 1);
                        r[i->dst_reg] = ctx[i->off / 4];
                        break;
                case BPF_ALU | BPF_AND | BPF_K:
                        r[i->dst_reg] = (uint32_t)r[i->dst_reg] & (uint32_t)i->imm;
                        break;
                case BPF_ALU | BPF_RSH | BPF_K:
                        r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm;
                        break;
                case BPF_ALU | BPF_MOV | BPF_X:
                        r[i->dst_reg] = (uint32_t)r[i->src_reg];
                        break;
                case BPF_ALU64 | BPF_MOV | BPF_K:
                        r[i->dst_reg] = imm;
                        break;
                case BPF_JMP | BPF_JNE | BPF_K:
                        if (r[i->dst_reg] != imm)
                                pc += (size_t)i->off;
                        break;
                case BPF_JMP | BPF_JEQ | BPF_K:
                        if (r[i->dst_reg] == imm)
                                pc += (size_t)i->off;
                        break;
                case BPF_JMP | BPF_EXIT:
                        return (int)r[0];
                default:
                        fail_msg("unexpected opcode 0x%x at %zu", i->code, pc);
                }
                assert_true(pc < n);
        }
        fail_msg("program fell off its end");
        return -1;
}

static void test_device_filter_program(void **state)
{
        /* What engines send: deny everything, then the container's own devices. */
        struct oci_device_cgroup spec_rules[] = {
            {false, 'a', -1, -1, (char *)"rwm"},
            {true, 'c', 10, 229, (char *)"rwm"}, /* fuse */
            {false, 'c', 1, 3, (char *)"w"},     /* then overridden by the defaults */
            {true, 'b', 7, -1, (char *)"r"},     /* loop devices, read only */
            {false, 'b', 7, 2, NULL},            /* ... except loop2 */
        };
        struct oci_resources res = {.devices = spec_rules, .n_devices = ARRAY_SIZE(spec_rules)};
        _cleanup_free_ struct oci_device_cgroup *rules = NULL;
        size_t n = 0;
        assert_int_equal(cg_device_rules(&res, &rules, &n), 0);
        assert_true(n > ARRAY_SIZE(spec_rules));
        _cleanup_free_ struct bpf_insn *prog = NULL;
        size_t n_insns = 0;
        assert_int_equal(cg_bpf_devices_program(rules, n, &prog, &n_insns), 0);
        assert_int_equal(run_filter(prog, n_insns, 'c', "rw", 1, 3), 1);   /* null: default */
        assert_int_equal(run_filter(prog, n_insns, 'c', "rw", 136, 7), 1); /* pts */
        assert_int_equal(run_filter(prog, n_insns, 'c', "r", 1, 11), 0);   /* kmsg */
        assert_int_equal(run_filter(prog, n_insns, 'c', "m", 1, 11), 1);   /* mknod any */
        assert_int_equal(run_filter(prog, n_insns, 'b', "m", 8, 0), 1);
        assert_int_equal(run_filter(prog, n_insns, 'b', "r", 8, 0), 0);
        assert_int_equal(run_filter(prog, n_insns, 'c', "rw", 10, 229), 1);
        assert_int_equal(run_filter(prog, n_insns, 'b', "r", 7, 0), 1);
        assert_int_equal(run_filter(prog, n_insns, 'b', "rw", 7, 0), 0); /* w not allowed */
        assert_int_equal(run_filter(prog, n_insns, 'b', "r", 7, 2), 0);  /* later deny wins */

        /* Deny of one access bit only: read stays, write goes. */
        struct oci_device_cgroup partial[] = {
            {true, 'a', -1, -1, NULL},
            {false, 'c', 1, 3, (char *)"w"},
        };
        free(prog);
        prog = NULL;
        assert_int_equal(cg_bpf_devices_program(partial, 2, &prog, &n_insns), 0);
        assert_int_equal(run_filter(prog, n_insns, 'c', "r", 1, 3), 1);
        assert_int_equal(run_filter(prog, n_insns, 'c', "w", 1, 3), 0);
        assert_int_equal(run_filter(prog, n_insns, 'c', "rw", 1, 3), 0);
        assert_int_equal(run_filter(prog, n_insns, 'b', "rw", 8, 0), 1);
}

static void test_systemd_paths(void **state)
{
        struct cella_error err = {0};
        char *slice = NULL, *unit = NULL, *path = NULL;
        assert_int_equal(
            cg_systemd_parse("machine.slice:libpod:abc", "x", false, &slice, &unit, &err), 0);
        assert_string_equal(slice, "machine.slice");
        assert_string_equal(unit, "libpod-abc.scope");
        free(slice);
        free(unit);
        assert_int_equal(cg_systemd_parse(NULL, "ctr", false, &slice, &unit, &err), 0);
        assert_string_equal(slice, "system.slice");
        assert_string_equal(unit, "cella-ctr.scope");
        free(slice);
        free(unit);
        assert_int_equal(cg_systemd_parse(":p:n", "x", true, &slice, &unit, &err), 0);
        assert_string_equal(slice, "user.slice");
        assert_string_equal(unit, "p-n.scope");
        free(slice);
        free(unit);
        static const char *const bad[] = {"/cella/x", "a:b", "a:b:c:d",
                                          "s.slice::", "s.slice:p:n.slice"};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                assert_true(cg_systemd_parse(bad[i], "x", false, &slice, &unit, &err) < 0);
                assert_non_null(strstr(err.msg, "linux.cgroupsPath"));
        }
        assert_int_equal(cg_systemd_slice_path("system.slice", &path, &err), 0);
        assert_string_equal(path, "/system.slice");
        free(path);
        assert_int_equal(cg_systemd_slice_path("kubepods-besteffort-pod1.slice", &path, &err), 0);
        assert_string_equal(path, "/kubepods.slice/kubepods-besteffort.slice/"
                                  "kubepods-besteffort-pod1.slice");
        free(path);
        assert_int_equal(cg_systemd_slice_path("-.slice", &path, &err), 0);
        assert_string_equal(path, "");
        free(path);
        static const char *const bad_slices[] = {"system", "a--b.slice", "-a.slice", "a-.slice",
                                                 "a/b.slice"};
        for (size_t i = 0; i < ARRAY_SIZE(bad_slices); i++)
                assert_int_equal(cg_systemd_slice_path(bad_slices[i], &path, &err), -EINVAL);
}

/* ---- real cgroupfs (root) ---- */

/* Root, and the hierarchies can be written (v1 under systemd mounts /sys/fs/cgroup ro). */
static int skip_unless_root(void)
{
        struct cgroup cg;
        if (geteuid() != 0 || cg_init(&cg, "/probe", "x", NULL) < 0)
                return -1;
        bool ok = cg.n_h > 0 && access(cg.h[0].mount, W_OK) == 0;
        cg_free(&cg);
        return ok ? 0 : -1;
}

static pid_t spawn_sleeper(void)
{
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                for (;;)
                        pause();
        }
        return pid;
}

/* Does /proc/PID/cgroup show rel (a suffix) in every hierarchy line of cg? */
static bool proc_in_cgroup(pid_t pid, const struct cgroup *cg)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
        _cleanup_free_ char *text = NULL;
        assert_int_equal(fs_read_file(path, 1 << 20, &text, NULL), 0);
        for (size_t i = 0; i < cg->n_h; i++) {
                const struct cg_hierarchy *h = &cg->h[i];
                char needle[256];
                snprintf(needle, sizeof(needle), ":%s:%s\n", h->controllers,
                         h->path + strlen(h->mount));
                if (!strstr(text, needle)) {
                        print_message("# %s lacks %s", path, needle);
                        return false;
                }
        }
        return true;
}

/* cgroupsPath "/cella-unit-<our pid><suffix>" */
static void init_abs(struct cgroup *cg, const char *suffix)
{
        char p[128];
        snprintf(p, sizeof(p), "/cella-unit-%d%s", (int)getpid(), suffix);
        struct cella_error err = {0};
        if (cg_init(cg, p, "unused", &err) < 0)
                fail_msg("cg_init: %s", err.msg);
}

static void test_real_create_enter_destroy(void **state)
{
        if (skip_unless_root() < 0) {
                skip();
                return;
        }
        struct cella_error err = {0};
        /* A pre-existing parent must survive the container's destroy. */
        struct cgroup parent, cg;
        init_abs(&parent, "");
        if (cg_create(&parent, &err) < 0)
                fail_msg("create parent: %s", err.msg);
        init_abs(&cg, "/c1/leaf");
        if (cg_create(&cg, &err) < 0)
                fail_msg("cg_create: %s", err.msg);
        for (size_t i = 0; i < cg.n_h; i++) {
                assert_true(fs_is_dir(cg.h[i].path));
                assert_non_null(cg.h[i].created);
                assert_true(strstr(cg.h[i].created, "/c1") != NULL);
                assert_null(strstr(cg.h[i].created, "leaf"));
        }
        pid_t pid = spawn_sleeper();
        if (cg_enter(&cg, pid, &err) < 0) {
                kill(pid, SIGKILL);
                fail_msg("cg_enter: %s", err.msg);
        }
        assert_true(proc_in_cgroup(pid, &cg));
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        assert_int_equal(cg_pids(&cg, &pids, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_int_equal(pids[0], pid);

        /* Without kill_first a populated cgroup cannot go, and the error names the directory. */
        assert_int_equal(cg_destroy(&cg, false, &err), -EBUSY);
        assert_non_null(strstr(err.msg, "rmdir \"/sys/fs/cgroup/"));

        if (cg_destroy(&cg, true, &err) < 0)
                fail_msg("cg_destroy: %s", err.msg);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        for (size_t i = 0; i < cg.n_h; i++) {
                assert_false(fs_is_dir(cg.h[i].path));
                assert_false(fs_is_dir(cg.h[i].created));
                assert_true(fs_is_dir(parent.h[i].path));
        }
        assert_int_equal(cg_destroy(&parent, false, &err), 0);
        for (size_t i = 0; i < parent.n_h; i++)
                assert_false(fs_is_dir(parent.h[i].path));
        cg_free(&cg);
        cg_free(&parent);
}

static void test_real_freeze_and_kill_all(void **state)
{
        if (skip_unless_root() < 0) {
                skip();
                return;
        }
        struct cella_error err = {0};
        struct cgroup cg;
        init_abs(&cg, "-freeze");
        if (cg_create(&cg, &err) < 0)
                fail_msg("cg_create: %s", err.msg);
        pid_t a = spawn_sleeper(), b = spawn_sleeper();
        assert_int_equal(cg_enter(&cg, a, &err), 0);
        assert_int_equal(cg_enter(&cg, b, &err), 0);
        bool frozen = true;
        assert_int_equal(cg_is_frozen(&cg, &frozen, &err), 0);
        assert_false(frozen);
        if (cg_freeze(&cg, true, &err) < 0)
                fail_msg("freeze: %s", err.msg);
        assert_int_equal(cg_is_frozen(&cg, &frozen, &err), 0);
        assert_true(frozen);
        /*
         * SIGTERM to a paused container is delivered. Whether the tasks die while frozen differs:
         * v1 holds them until the thaw; v2 lets a fatal signal through at once, so "frozen" may
         * flicker while they exit. Only the outcome after the thaw is the same everywhere.
         */
        assert_int_equal(cg_kill_all(&cg, SIGTERM, &err), 0);
        assert_int_equal(cg_freeze(&cg, false, &err), 0);
        int status;
        assert_int_equal(waitpid(a, &status, 0), a);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        assert_int_equal(waitpid(b, &status, 0), b);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

        /* delete -f of a paused container. */
        pid_t c = spawn_sleeper();
        assert_int_equal(cg_enter(&cg, c, &err), 0);
        assert_int_equal(cg_freeze(&cg, true, &err), 0);
        if (cg_destroy(&cg, true, &err) < 0)
                fail_msg("cg_destroy: %s", err.msg);
        assert_int_equal(waitpid(c, &status, 0), c);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        for (size_t i = 0; i < cg.n_h; i++)
                assert_false(fs_is_dir(cg.h[i].path));
        cg_free(&cg);
}

/* Forks a child that waits until the parent has put it into the cgroup, then runs fn. */
static pid_t spawn_gated(int (*fn)(void), int *ret_gate)
{
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char c;
                close(p[1]);
                if (read(p[0], &c, 1) != 1)
                        _exit(100);
                _exit(fn());
        }
        close(p[0]);
        *ret_gate = p[1];
        return pid;
}

static int run_gated(struct cgroup *cg, int (*fn)(void))
{
        int gate;
        pid_t pid = spawn_gated(fn, &gate);
        struct cella_error err = {0};
        if (cg_enter(cg, pid, &err) < 0) {
                kill(pid, SIGKILL);
                fail_msg("cg_enter: %s", err.msg);
        }
        assert_int_equal(write(gate, "x", 1), 1);
        close(gate);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* 0: /dev/kmsg opens for reading. */
static int probe_kmsg_readable(void)
{
        int fd = open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == EPERM ? 1 : 2;
        close(fd);
        return 0;
}

/* 0: /dev/null opens, /dev/kmsg is refused with EPERM. */
static int probe_null_ok_kmsg_denied(void)
{
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return 1;
        close(fd);
        fd = open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
                return 2;
        return errno == EPERM ? 0 : 3;
}

/* 0: /dev/null opens, /dev/zero is refused with EPERM. */
static int probe_null_ok_zero_denied(void)
{
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return 1;
        close(fd);
        fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
                return 2;
        return errno == EPERM ? 0 : 3;
}

static void assert_file(const char *dir, const char *file, const char *want)
{
        _cleanup_free_ char *got = NULL;
        struct cella_error err = {0};
        if (cg_read(dir, file, &got, &err) < 0)
                fail_msg("%s", err.msg);
        got[strcspn(got, "\n")] = '\0';
        if (strcmp(got, want) != 0)
                fail_msg("%s/%s: \"%s\", want \"%s\"", dir, file, got, want);
}

static void test_real_resources_v1(void **state)
{
        enum cg_mode mode;
        if (skip_unless_root() < 0 || cg_detect(&mode) < 0 || mode == CG_MODE_V2) {
                skip();
                return;
        }
        struct cella_error err = {0};
        struct cgroup cg;
        init_abs(&cg, "-res");
        assert_int_equal(cg_create(&cg, &err), 0);
        struct oci_resources res = {0};
        res.memory.present = res.memory.has_limit = res.memory.has_reservation = true;
        res.memory.limit = 64 << 20;
        res.memory.reservation = 32 << 20;
        const char *mem = cg_find_hierarchy(&cg, "memory")->path;
        bool memsw = cg_has_file(mem, "memory.memsw.limit_in_bytes");
        if (memsw) {
                res.memory.has_swap = true;
                res.memory.swap = 128 << 20;
        }
        res.pids.present = res.pids.has_limit = true;
        res.pids.limit = 10;
        res.cpu.present = res.cpu.has_shares = res.cpu.has_quota = res.cpu.has_period = true;
        res.cpu.shares = 512;
        res.cpu.quota = 50000;
        res.cpu.period = 100000;
        res.cpu.cpus = (char *)"0";
        res.cpu.mems = (char *)"0";
        if (cg_apply_resources(&cg, &res, &err) < 0)
                fail_msg("cg_apply_resources: %s", err.msg);
        assert_file(mem, "memory.limit_in_bytes", "67108864");
        assert_file(mem, "memory.soft_limit_in_bytes", "33554432");
        if (memsw)
                assert_file(mem, "memory.memsw.limit_in_bytes", "134217728");
        assert_file(cg_find_hierarchy(&cg, "pids")->path, "pids.max", "10");
        const char *cpu = cg_find_hierarchy(&cg, "cpu")->path;
        assert_file(cpu, "cpu.shares", "512");
        assert_file(cpu, "cpu.cfs_quota_us", "50000");
        assert_file(cpu, "cpu.cfs_period_us", "100000");
        assert_file(cg_find_hierarchy(&cg, "cpuset")->path, "cpuset.cpus", "0");
        /* Devices: deny-all plus the defaults, enforced by the kernel. */
        assert_int_equal(run_gated(&cg, probe_null_ok_kmsg_denied), 0);

        /* update: a new pids limit leaves the device rules as they were. */
        struct oci_device_cgroup kmsg[] = {{true, 'c', 1, 11, (char *)"r"}};
        struct oci_resources devs = {.devices = kmsg, .n_devices = 1};
        assert_int_equal(cg_apply_resources(&cg, &devs, &err), 0);
        assert_int_equal(run_gated(&cg, probe_kmsg_readable), 0);
        struct oci_resources upd = {0};
        upd.pids.present = upd.pids.has_limit = true;
        upd.pids.limit = 33;
        assert_int_equal(cg_update_resources(&cg, &upd, &err), 0);
        assert_file(cg_find_hierarchy(&cg, "pids")->path, "pids.max", "33");
        assert_file(mem, "memory.limit_in_bytes", "67108864");
        assert_int_equal(run_gated(&cg, probe_kmsg_readable), 0);

        /* Swap below the limit: refused before anything is written, naming the field. */
        res.memory.has_swap = true;
        res.memory.swap = 1 << 20;
        if (memsw) {
                assert_true(cg_apply_resources(&cg, &res, &err) < 0);
                assert_non_null(strstr(err.msg, "linux.resources.memory"));
        }
        /* Limits this host cannot apply are errors that name the limit. */
        struct oci_resources net = {0};
        net.network.present = net.network.has_class_id = true;
        net.network.class_id = 0x100001;
        if (!cg_find_hierarchy(&cg, "net_cls")) {
                assert_int_equal(cg_apply_resources(&cg, &net, &err), -ENOENT);
                assert_non_null(strstr(err.msg, "linux.resources.network.classID"));
        }
        struct oci_resources io = {0};
        io.block_io.present = io.block_io.has_weight = true;
        io.block_io.weight = 500;
        const char *blk = cg_find_hierarchy(&cg, "blkio")->path;
        if (blk && !cg_has_file(blk, "blkio.weight") && !cg_has_file(blk, "blkio.bfq.weight")) {
                assert_true(cg_apply_resources(&cg, &io, &err) < 0);
                assert_non_null(strstr(err.msg, "linux.resources.blockIO.weight"));
        }
        assert_int_equal(cg_destroy(&cg, true, &err), 0);
        cg_free(&cg);
}

/* Pure cgroup v2 (the VM harness in tests/vm runs this on a cgroup_no_v1=all kernel). */
static void test_real_resources_v2(void **state)
{
        enum cg_mode mode;
        if (skip_unless_root() < 0 || cg_detect(&mode) < 0 || mode != CG_MODE_V2) {
                skip();
                return;
        }
        struct cella_error err = {0};
        struct cgroup cg;
        init_abs(&cg, "-res2/c");
        if (cg_create(&cg, &err) < 0)
                fail_msg("cg_create: %s", err.msg);
        const char *d = cg.h[0].path;
        _cleanup_free_ char *avail = NULL;
        assert_int_equal(cg_read(d, "cgroup.controllers", &avail, &err), 0);
        print_message("# controllers in %s: %s", d, avail);
        struct oci_resources res = {0};
        res.memory.present = res.memory.has_limit = res.memory.has_reservation = true;
        res.memory.limit = 64 << 20;
        res.memory.reservation = 32 << 20;
        bool swap = cg_has_file(d, "memory.swap.max");
        if (swap) {
                res.memory.has_swap = true;
                res.memory.swap = 96 << 20;
        }
        res.pids.present = res.pids.has_limit = true;
        res.pids.limit = 10;
        res.cpu.present = res.cpu.has_shares = res.cpu.has_quota = res.cpu.has_period = true;
        res.cpu.shares = 1024;
        res.cpu.quota = 50000;
        res.cpu.period = 100000;
        res.cpu.cpus = (char *)"0";
        res.cpu.mems = (char *)"0";
        struct oci_kv unified[] = {{(char *)"memory.high", (char *)"50331648"}};
        res.unified = unified;
        res.n_unified = 1;
        if (cg_apply_resources(&cg, &res, &err) < 0)
                fail_msg("cg_apply_resources: %s", err.msg);
        assert_file(d, "memory.max", "67108864");
        assert_file(d, "memory.low", "33554432");
        assert_file(d, "memory.high", "50331648");
        if (swap)
                assert_file(d, "memory.swap.max", "33554432");
        assert_file(d, "pids.max", "10");
        assert_file(d, "cpu.weight", "100");
        assert_file(d, "cpu.max", "50000 100000");
        assert_file(d, "cpuset.cpus", "0");
        /* The devices went into an eBPF program: defaults usable, the rest refused. */
        assert_int_equal(run_gated(&cg, probe_null_ok_kmsg_denied), 0);

        /* What v2 cannot express is an error naming the limit. */
        struct oci_resources rt = {0};
        rt.cpu.present = rt.cpu.has_realtime_runtime = true;
        rt.cpu.realtime_runtime = 1000;
        assert_int_equal(cg_apply_resources(&cg, &rt, &err), -ENOTSUP);
        assert_non_null(strstr(err.msg, "linux.resources.cpu.realtime"));
        struct oci_resources net = {0};
        net.network.present = net.network.has_class_id = true;
        net.network.class_id = 1;
        assert_true(cg_apply_resources(&cg, &net, &err) < 0);
        assert_non_null(strstr(err.msg, "linux.resources.network.classID"));
        assert_int_equal(cg_destroy(&cg, true, &err), 0);
        cg_free(&cg);
        struct cgroup top;
        init_abs(&top, "-res2");
        assert_false(fs_is_dir(top.h[0].path)); /* created by cella, so removed */
        cg_free(&top);
}

static void test_real_bpf_device_filter(void **state)
{
        struct cella_error err = {0};
        struct cgroup cg;
        if (skip_unless_root() < 0) {
                skip();
                return;
        }
        init_abs(&cg, "-bpf");
        struct cg_hierarchy *u = cg_unified(&cg);
        if (!u) {
                cg_free(&cg);
                skip();
                return;
        }
        assert_int_equal(cg_create(&cg, &err), 0);
        struct oci_device_cgroup rules[] = {
            {false, 'a', -1, -1, NULL},
            {true, 'c', 1, 3, (char *)"rw"},
        };
        if (cg_v2_set_devices(u->path, rules, ARRAY_SIZE(rules), &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(run_gated(&cg, probe_null_ok_zero_denied), 0);
        /* Replacing the program (update): the new rules apply, the old program is gone. */
        struct oci_device_cgroup rules2[] = {
            {false, 'a', -1, -1, NULL},
            {true, 'c', 1, 3, (char *)"rw"},
            {true, 'c', 1, 11, (char *)"r"},
        };
        assert_int_equal(cg_v2_set_devices(u->path, rules2, ARRAY_SIZE(rules2), &err), 0);
        assert_int_equal(run_gated(&cg, probe_null_ok_zero_denied), 0);
        /* Every attached program must allow: kmsg opens only if the old one was detached. */
        assert_int_equal(run_gated(&cg, probe_kmsg_readable), 0);
        assert_int_equal(cg_destroy(&cg, true, &err), 0);
        cg_free(&cg);
}

static void test_real_stats(void **state)
{
        if (skip_unless_root() < 0) {
                skip();
                return;
        }
        struct cella_error err = {0};
        struct cgroup cg;
        init_abs(&cg, "-stats");
        assert_int_equal(cg_create(&cg, &err), 0);
        struct oci_resources res = {0};
        res.pids.present = res.pids.has_limit = true;
        res.pids.limit = 42;
        assert_int_equal(cg_apply_resources(&cg, &res, &err), 0);
        pid_t pid = spawn_sleeper();
        assert_int_equal(cg_enter(&cg, pid, &err), 0);
        struct json_object *st = NULL;
        assert_int_equal(cg_stats(&cg, &st), 0);
        struct json_object *pids, *cur, *lim, *mem, *usage, *cpu;
        assert_true(json_object_object_get_ex(st, "pids", &pids));
        assert_true(json_object_object_get_ex(pids, "current", &cur));
        assert_int_equal(json_object_get_uint64(cur), 1);
        assert_true(json_object_object_get_ex(pids, "limit", &lim));
        assert_int_equal(json_object_get_uint64(lim), 42);
        assert_true(json_object_object_get_ex(st, "memory", &mem));
        assert_true(json_object_object_get_ex(mem, "usage", &usage));
        assert_true(json_object_object_get_ex(usage, "limit", &lim));
        assert_true(json_object_get_uint64(lim) > 0);
        assert_true(json_object_object_get_ex(st, "cpu", &cpu));
        assert_true(json_object_object_get_ex(cpu, "usage", &usage));
        assert_true(json_object_object_get_ex(st, "hugetlb", &usage));
        json_object_put(st);
        assert_int_equal(cg_destroy(&cg, true, &err), 0);
        waitpid(pid, NULL, 0);
        cg_free(&cg);
}

/* In a child that dropped root: nothing writable, so everything degrades to warnings. */
static int rootless_child(void)
{
        if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                return 10;
        struct cgroup cg;
        struct cella_error err = {0};
        char p[64];
        snprintf(p, sizeof(p), "/cella-unit-%d-rootless", (int)getppid());
        if (cg_init(&cg, p, "x", &err) < 0 || !cg.rootless)
                return 11;
        if (cg_create(&cg, &err) < 0 || cg.n_h != 0)
                return 12;
        struct oci_resources res = {0};
        res.memory.present = res.memory.has_limit = true;
        res.memory.limit = 1 << 30;
        res.pids.present = res.pids.has_limit = true;
        res.pids.limit = 100;
        if (cg_apply_resources(&cg, &res, &err) < 0)
                return 13;
        if (cg_enter(&cg, getpid(), &err) < 0)
                return 14;
        struct json_object *j = cg_to_json(&cg);
        struct cgroup back;
        if (!j || cg_from_json(j, &back, &err) < 0 || !back.rootless || back.n_h != 0)
                return 15;
        json_object_put(j);
        cg_free(&back);
        pid_t *pids = NULL;
        size_t n = 1;
        if (cg_pids(&cg, &pids, &n, &err) < 0 || n != 0)
                return 16;
        if (cg_destroy(&cg, true, &err) < 0)
                return 17;
        cg_free(&cg);
        return 0;
}

static void test_real_rootless_degrades(void **state)
{
        if (skip_unless_root() < 0) {
                skip();
                return;
        }
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(rootless_child());
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_real_no_systemd_is_a_clear_error(void **state)
{
        struct cgroup cg;
        struct cella_error err = {0};
        int r = cg_init_systemd(&cg, NULL, "x", &err);
        assert_true(r == -ENOMEDIUM || r == -ENOTSUP);
        assert_non_null(strstr(err.msg, "--systemd-cgroup"));
}

/* In the systemd VM (tests/vm): a transient scope with Delegate=yes holds the container. */
static void test_real_systemd_scope(void **state)
{
        struct cella_error err = {0};
        struct cgroup cg;
        char path[64];
        snprintf(path, sizeof(path), "system.slice:cella-unit:%d", (int)getpid());
        if (cg_init_systemd(&cg, path, "x", &err) < 0)
                fail_msg("cg_init_systemd: %s", err.msg);
        print_message("# unit %s in %s at %s\n", cg.unit, cg.slice, cg.h[0].path);
        assert_true(strstr(cg.h[0].path, "/system.slice/cella-unit-") != NULL);
        if (cg_create(&cg, &err) < 0)
                fail_msg("cg_create: %s", err.msg);
        struct oci_resources res = {0};
        res.pids.present = res.pids.has_limit = true;
        res.pids.limit = 7;
        assert_int_equal(cg_apply_resources(&cg, &res, &err), 0); /* kept for cg_enter */
        assert_false(fs_is_dir(cg.h[0].path));
        pid_t pid = spawn_sleeper();
        if (cg_enter(&cg, pid, &err) < 0) {
                kill(pid, SIGKILL);
                fail_msg("cg_enter: %s", err.msg);
        }
        assert_true(proc_in_cgroup(pid, &cg));
        /* systemd itself made the unit (not just a directory of ours). */
        char unit_file[128];
        snprintf(unit_file, sizeof(unit_file), "/run/systemd/transient/%s", cg.unit);
        assert_int_equal(access(unit_file, F_OK), 0);
        struct cg_hierarchy *pids = cg_find_hierarchy(&cg, "pids");
        assert_file(pids ? pids->path : cg_unified(&cg)->path, "pids.max", "7");
        /* The state file brings the unit back for delete. */
        struct json_object *j = cg_to_json(&cg);
        struct cgroup back;
        assert_int_equal(cg_from_json(j, &back, &err), 0);
        json_object_put(j);
        assert_string_equal(back.unit, cg.unit);
        if (cg_destroy(&back, true, &err) < 0)
                fail_msg("cg_destroy: %s", err.msg);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        for (size_t i = 0; i < cg.n_h; i++)
                assert_false(fs_is_dir(cg.h[i].path));
        cg_free(&back);
        cg_free(&cg);
}

static void test_real_errors_name_files(void **state)
{
        if (skip_unless_root() < 0) {
                skip();
                return;
        }
        struct cella_error err = {0};
        struct cgroup cg;
        init_abs(&cg, "-err");
        assert_int_equal(cg_create(&cg, &err), 0);
        /* pid 0x7ffffff0 does not exist */
        assert_true(cg_enter(&cg, 0x7ffffff0, &err) < 0);
        char want[512];
        snprintf(want, sizeof(want), "write \"%s/cgroup.procs\": ", cg.h[0].path);
        assert_non_null(strstr(err.msg, want));
        /* Destroy of something never created is fine (the create-failure path). */
        assert_int_equal(cg_destroy(&cg, true, &err), 0);
        assert_int_equal(cg_destroy(&cg, true, &err), 0);
        cg_free(&cg);
}

/* Host requirements of the real tests; see main(). */
static const char *need_root(void)
{
        return skip_unless_root() == 0 ? NULL : "needs root and a writable cgroupfs";
}

static const char *need_v1(void)
{
        enum cg_mode mode;
        if (need_root())
                return need_root();
        return cg_detect(&mode) == 0 && mode != CG_MODE_V2 ? NULL : "needs cgroup v1 or hybrid";
}

static const char *need_v2(void)
{
        enum cg_mode mode;
        if (need_root())
                return need_root();
        return cg_detect(&mode) == 0 && mode == CG_MODE_V2 ? NULL
                                                           : "needs pure cgroup v2 (tests/vm)";
}

static const char *need_unified(void)
{
        enum cg_mode mode;
        if (need_root())
                return need_root();
        return cg_detect(&mode) == 0 && mode != CG_MODE_V1 ? NULL : "needs a cgroup2 hierarchy";
}

static const char *need_systemd(void)
{
        if (need_root())
                return need_root();
        return access("/run/systemd/system", F_OK) == 0 ? NULL : "needs systemd as init (tests/vm)";
}

static const char *need_no_systemd(void)
{
        return access("/run/systemd/system", F_OK) < 0 ? NULL : "systemd is running here";
}

/*
 * cmocka reports a skipped test as "not ok N # SKIP", which meson's TAP parser counts as a
 * failure; so tests this host cannot run are left out of the plan, each with a TAP comment.
 */
int main(void)
{
        static const struct {
                struct CMUnitTest test;
                const char *(*need)(void);
        } all[] = {
            {cmocka_unit_test(test_normalize), NULL},
            {cmocka_unit_test(test_discover_hybrid), NULL},
            {cmocka_unit_test(test_discover_bind_root_and_escapes), NULL},
            {cmocka_unit_test(test_paths_absolute), NULL},
            {cmocka_unit_test(test_paths_relative_and_default), NULL},
            {cmocka_unit_test(test_json_roundtrip), NULL},
            {cmocka_unit_test(test_json_rejects_bad_state), NULL},
            {cmocka_unit_test(test_convert_cpu), NULL},
            {cmocka_unit_test(test_convert_io_memory), NULL},
            {cmocka_unit_test(test_unified_keys), NULL},
            {cmocka_unit_test(test_device_filter_program), NULL},
            {cmocka_unit_test(test_systemd_paths), NULL},
            {cmocka_unit_test(test_real_no_systemd_is_a_clear_error), need_no_systemd},
            {cmocka_unit_test(test_real_systemd_scope), need_systemd},
            {cmocka_unit_test(test_real_create_enter_destroy), need_root},
            {cmocka_unit_test(test_real_freeze_and_kill_all), need_root},
            {cmocka_unit_test(test_real_errors_name_files), need_root},
            {cmocka_unit_test(test_real_resources_v1), need_v1},
            {cmocka_unit_test(test_real_resources_v2), need_v2},
            {cmocka_unit_test(test_real_bpf_device_filter), need_unified},
            {cmocka_unit_test(test_real_stats), need_root},
            {cmocka_unit_test(test_real_rootless_degrades), need_root},
        };
        struct CMUnitTest tests[ARRAY_SIZE(all)];
        size_t n = 0;
        for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
                const char *why = all[i].need ? all[i].need() : NULL;
                if (why)
                        printf("# skipped %s: %s\n", all[i].test.name, why);
                else
                        tests[n++] = all[i].test;
        }
        return _cmocka_run_group_tests("cgroup", tests, n, NULL, NULL);
}
