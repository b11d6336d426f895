/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oci layer: config.json parsing (every field of a full document), validation errors (each bad
 * type or value names its JSON path and value), ociVersion handling, name tables, the default
 * spec (parses, matches `runc spec` shape, validates against Debian's runtime-spec schema) and
 * the features document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ctype.h>
#include <json-c/json.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"
#include "oci/defaults.h"
#include "oci/spec.h"

#define SCHEMA_DIR "/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema"

/* Every field cella parses, with values that are easy to tell apart. */
static const char full_config[] =
    "{\"ociVersion\":\"1.3.0\","
    " \"root\":{\"path\":\"rootfs\",\"readonly\":true},"
    " \"mounts\":["
    "  {\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "  {\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv/data\","
    "   \"options\":[\"rbind\",\"ro\",\"idmap\"],"
    "   \"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
    "   \"gidMappings\":[{\"containerID\":0,\"hostID\":200000,\"size\":1000}]},"
    "  {\"destination\":\"/run\",\"type\":\"tmpfs\"}],"
    " \"process\":{\"terminal\":true,\"consoleSize\":{\"height\":25,\"width\":80},"
    "  \"user\":{\"uid\":1000,\"gid\":1001,\"umask\":18,\"additionalGids\":[5,6,7],"
    "           \"username\":\"u\"},"
    "  \"args\":[\"/bin/sh\",\"-c\",\"echo hi\"],\"commandLine\":\"sh\","
    "  \"env\":[\"PATH=/bin\",\"A=\",\"B=c=d\"],\"cwd\":\"/work\","
    "  \"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_SYS_ADMIN\"],"
    "   \"effective\":[\"CAP_KILL\"],\"inheritable\":[],"
    "   \"permitted\":[\"CAP_CHECKPOINT_RESTORE\"],\"ambient\":[\"CAP_NET_RAW\"]},"
    "  \"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":4096,\"soft\":1024},"
    "              {\"type\":\"RLIMIT_CORE\",\"hard\":18446744073709551615,"
    "               \"soft\":18446744073709551615}],"
    "  \"noNewPrivileges\":true,\"apparmorProfile\":\"aa\",\"oomScoreAdj\":-500,"
    "  \"selinuxLabel\":\"system_u:system_r:svirt_lxc_net_t:s0\","
    "  \"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"nice\":-3,\"priority\":4,"
    "   \"flags\":[\"SCHED_FLAG_RESET_ON_FORK\"],\"runtime\":100,\"deadline\":200,"
    "   \"period\":300},"
    "  \"ioPriority\":{\"class\":\"IOPRIO_CLASS_BE\",\"priority\":3},"
    "  \"execCPUAffinity\":{\"initial\":\"0\",\"final\":\"0-1\"}},"
    " \"hostname\":\"box\",\"domainname\":\"example.org\","
    " \"hooks\":{"
    "  \"prestart\":[{\"path\":\"/bin/pre\",\"args\":[\"pre\",\"x\"],\"env\":[\"K=V\"],"
    "               \"timeout\":5}],"
    "  \"createRuntime\":[{\"path\":\"/bin/cr1\"},{\"path\":\"/bin/cr2\"}],"
    "  \"createContainer\":[{\"path\":\"/bin/cc\"}],"
    "  \"startContainer\":[{\"path\":\"/bin/sc\"}],"
    "  \"poststart\":[{\"path\":\"/bin/ps\"}],\"poststop\":[{\"path\":\"/bin/pst\"}]},"
    " \"annotations\":{\"org.example.key\":\"value\",\"other\":\"\"},"
    " \"linux\":{"
    "  \"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/run/netns/x\"},"
    "   {\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"user\"},"
    "   {\"type\":\"cgroup\"},{\"type\":\"time\"}],"
    "  \"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1},"
    "                  {\"containerID\":1,\"hostID\":100000,\"size\":65535}],"
    "  \"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
    "  \"timeOffsets\":{\"monotonic\":{\"secs\":-10,\"nanosecs\":5},"
    "                  \"boottime\":{\"secs\":86400}},"
    "  \"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229,"
    "               \"fileMode\":438,\"uid\":0,\"gid\":0},"
    "              {\"path\":\"/dev/myfifo\",\"type\":\"p\"}],"
    "  \"cgroupsPath\":\"/cella/box\","
    "  \"resources\":{"
    "   \"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
    "               {\"allow\":true,\"type\":\"c\",\"major\":10,\"minor\":229,"
    "                \"access\":\"rw\"}],"
    "   \"memory\":{\"limit\":536870912,\"reservation\":1024,\"swap\":-1,\"kernel\":0,"
    "    \"kernelTCP\":2048,\"swappiness\":60,\"disableOOMKiller\":true,"
    "    \"useHierarchy\":false,\"checkBeforeUpdate\":true},"
    "   \"cpu\":{\"shares\":512,\"quota\":50000,\"burst\":1000,\"period\":100000,"
    "    \"realtimeRuntime\":950000,\"realtimePeriod\":1000000,\"cpus\":\"0-1\","
    "    \"mems\":\"0\",\"idle\":1},"
    "   \"pids\":{\"limit\":64},"
    "   \"blockIO\":{\"weight\":500,\"leafWeight\":300,"
    "    \"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":600}],"
    "    \"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1048576}],"
    "    \"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":1,\"rate\":2}],"
    "    \"throttleReadIOPSDevice\":[{\"major\":8,\"minor\":2,\"rate\":3}],"
    "    \"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":3,\"rate\":4}]},"
    "   \"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":209715200}],"
    "   \"network\":{\"classID\":1048577,"
    "    \"priorities\":[{\"name\":\"eth0\",\"priority\":500}]},"
    "   \"rdma\":{\"mlx5_1\":{\"hcaHandles\":3,\"hcaObjects\":10000}},"
    "   \"unified\":{\"memory.high\":\"1G\"}},"
    "  \"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
    "  \"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
    "   \"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
    "   \"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],"
    "   \"listenerPath\":\"/run/seccomp.sock\",\"listenerMetadata\":\"meta\","
    "   \"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
    "    {\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38,"
    "     \"args\":[{\"index\":0,\"value\":255,\"valueTwo\":8,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]},"
    "  \"rootfsPropagation\":\"rslave\","
    "  \"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\",\"/proc/bus\"],"
    "  \"mountLabel\":\"system_u:object_r:svirt_sandbox_file_t:s0\","
    "  \"personality\":{\"domain\":\"LINUX32\",\"flags\":[]},"
    "  \"intelRdt\":{\"closID\":\"clos1\",\"l3CacheSchema\":\"L3:0=ff\"}},"
    " \"windows\":{\"layerFolders\":[\"C:\\\\x\"]},\"solaris\":{},\"vm\":{},"
    " \"unknownTopLevel\":{\"ignored\":true}}";

static struct oci_spec *parse_ok(const char *json)
{
        struct oci_spec *s = NULL;
        struct cella_error err = {0};
        int r = oci_spec_parse(json, 0, &s, &err);
        if (r < 0)
                fail_msg("parse failed: %s", err.msg);
        assert_non_null(s);
        return s;
}

static void test_full_process(void **state)
{
        struct oci_spec *s = parse_ok(full_config);
        struct oci_process *p = &s->process;
        assert_true(s->has_process);
        assert_true(p->terminal);
        assert_true(p->has_console_size);
        assert_int_equal(p->console_size.height, 25);
        assert_int_equal(p->console_size.width, 80);
        assert_int_equal(p->user.uid, 1000);
        assert_int_equal(p->user.gid, 1001);
        assert_true(p->user.has_umask);
        assert_int_equal(p->user.umask, 18);
        assert_int_equal(p->user.n_additional_gids, 3);
        assert_int_equal(p->user.additional_gids[2], 7);
        assert_string_equal(p->user.username, "u");
        assert_int_equal(p->n_args, 3);
        assert_string_equal(p->args[2], "echo hi");
        assert_null(p->args[3]);
        assert_string_equal(p->command_line, "sh");
        assert_int_equal(p->n_env, 3);
        assert_string_equal(p->env[2], "B=c=d");
        assert_null(p->env[3]);
        assert_string_equal(p->cwd, "/work");
        assert_true(p->has_capabilities);
        assert_true(p->capabilities.present[OCI_CAP_BOUNDING]);
        assert_true(p->capabilities.present[OCI_CAP_INHERITABLE]);
        assert_int_equal(p->capabilities.sets[OCI_CAP_BOUNDING], (1ull << 0) | (1ull << 21));
        assert_int_equal(p->capabilities.sets[OCI_CAP_EFFECTIVE], 1ull << 5);
        assert_int_equal(p->capabilities.sets[OCI_CAP_INHERITABLE], 0);
        assert_int_equal(p->capabilities.sets[OCI_CAP_PERMITTED], 1ull << 40);
        assert_int_equal(p->capabilities.sets[OCI_CAP_AMBIENT], 1ull << 13);
        assert_int_equal(p->n_rlimits, 2);
        assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
        assert_string_equal(p->rlimits[0].type, "RLIMIT_NOFILE");
        assert_int_equal(p->rlimits[0].hard, 4096);
        assert_int_equal(p->rlimits[0].soft, 1024);
        assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
        assert_true(p->rlimits[1].hard == UINT64_MAX);
        assert_true(p->no_new_privileges);
        assert_string_equal(p->apparmor_profile, "aa");
        assert_true(p->has_oom_score_adj);
        assert_int_equal(p->oom_score_adj, -500);
        assert_string_equal(p->selinux_label, "system_u:system_r:svirt_lxc_net_t:s0");
        assert_non_null(p->scheduler);
        assert_string_equal(p->scheduler->policy, "SCHED_DEADLINE");
        assert_int_equal(p->scheduler->nice, -3);
        assert_int_equal(p->scheduler->priority, 4);
        assert_string_equal(p->scheduler->flags[0], "SCHED_FLAG_RESET_ON_FORK");
        assert_int_equal(p->scheduler->runtime, 100);
        assert_int_equal(p->scheduler->deadline, 200);
        assert_int_equal(p->scheduler->period, 300);
        assert_string_equal(p->io_priority->class_, "IOPRIO_CLASS_BE");
        assert_int_equal(p->io_priority->priority, 3);
        oci_spec_free(s);
}

static void test_full_top(void **state)
{
        struct oci_spec *s = parse_ok(full_config);
        assert_string_equal(s->oci_version, "1.3.0");
        assert_true(s->has_root);
        assert_string_equal(s->root.path, "rootfs");
        assert_true(s->root.readonly);
        assert_int_equal(s->n_mounts, 3);
        assert_string_equal(s->mounts[0].destination, "/proc");
        assert_string_equal(s->mounts[0].type, "proc");
        assert_null(s->mounts[0].options);
        assert_string_equal(s->mounts[1].source, "/srv/data");
        assert_int_equal(s->mounts[1].n_options, 3);
        assert_string_equal(s->mounts[1].options[2], "idmap");
        assert_int_equal(s->mounts[1].n_uid_mappings, 1);
        assert_int_equal(s->mounts[1].uid_mappings[0].host_id, 100000);
        assert_int_equal(s->mounts[1].uid_mappings[0].size, 65536);
        assert_int_equal(s->mounts[1].gid_mappings[0].host_id, 200000);
        assert_null(s->mounts[2].source);
        assert_string_equal(s->hostname, "box");
        assert_string_equal(s->domainname, "example.org");
        const struct oci_hooks *h = &s->hooks;
        assert_int_equal(h->n_hooks[OCI_HOOK_PRESTART], 1);
        assert_string_equal(h->hooks[OCI_HOOK_PRESTART][0].path, "/bin/pre");
        assert_string_equal(h->hooks[OCI_HOOK_PRESTART][0].args[1], "x");
        assert_string_equal(h->hooks[OCI_HOOK_PRESTART][0].env[0], "K=V");
        assert_true(h->hooks[OCI_HOOK_PRESTART][0].has_timeout);
        assert_int_equal(h->hooks[OCI_HOOK_PRESTART][0].timeout, 5);
        assert_int_equal(h->n_hooks[OCI_HOOK_CREATE_RUNTIME], 2);
        assert_string_equal(h->hooks[OCI_HOOK_CREATE_RUNTIME][1].path, "/bin/cr2");
        assert_false(h->hooks[OCI_HOOK_CREATE_RUNTIME][1].has_timeout);
        assert_string_equal(h->hooks[OCI_HOOK_CREATE_CONTAINER][0].path, "/bin/cc");
        assert_string_equal(h->hooks[OCI_HOOK_START_CONTAINER][0].path, "/bin/sc");
        assert_string_equal(h->hooks[OCI_HOOK_POSTSTART][0].path, "/bin/ps");
        assert_string_equal(h->hooks[OCI_HOOK_POSTSTOP][0].path, "/bin/pst");
        assert_int_equal(s->n_annotations, 2);
        assert_string_equal(s->annotations[0].key, "org.example.key");
        assert_string_equal(s->annotations[0].value, "value");
        assert_string_equal(s->annotations[1].value, "");
        oci_spec_free(s);
}

static void test_full_linux(void **state)
{
        struct oci_spec *s = parse_ok(full_config);
        const struct oci_linux *l = &s->linux_;
        assert_true(s->has_linux);
        assert_int_equal(l->n_namespaces, 8);
        assert_int_equal(l->namespaces[1].type, OCI_NS_NETWORK);
        assert_string_equal(l->namespaces[1].path, "/run/netns/x");
        assert_null(l->namespaces[0].path);
        assert_int_equal(l->namespaces[7].type, OCI_NS_TIME);
        assert_ptr_equal(oci_spec_namespace(s, OCI_NS_USER), &l->namespaces[5]);
        assert_int_equal(l->n_uid_mappings, 2);
        assert_int_equal(l->uid_mappings[1].container_id, 1);
        assert_int_equal(l->uid_mappings[1].host_id, 100000);
        assert_int_equal(l->uid_mappings[1].size, 65535);
        assert_int_equal(l->n_gid_mappings, 1);
        assert_true(l->time_offsets[0].present);
        assert_int_equal(l->time_offsets[0].secs, -10);
        assert_int_equal(l->time_offsets[0].nanosecs, 5);
        assert_true(l->time_offsets[1].present);
        assert_int_equal(l->time_offsets[1].secs, 86400);
        assert_int_equal(l->n_devices, 2);
        assert_string_equal(l->devices[0].path, "/dev/fuse");
        assert_int_equal(l->devices[0].type, 'c');
        assert_int_equal(l->devices[0].major, 10);
        assert_int_equal(l->devices[0].minor, 229);
        assert_true(l->devices[0].has_file_mode);
        assert_int_equal(l->devices[0].file_mode, 0666);
        assert_true(l->devices[0].has_uid && l->devices[0].has_gid);
        assert_int_equal(l->devices[1].type, 'p');
        assert_false(l->devices[1].has_file_mode);
        assert_string_equal(l->cgroups_path, "/cella/box");
        assert_int_equal(l->n_sysctl, 1);
        assert_string_equal(l->sysctl[0].key, "net.ipv4.ip_forward");
        assert_string_equal(l->sysctl[0].value, "1");
        assert_string_equal(l->rootfs_propagation, "rslave");
        assert_int_equal(l->n_masked_paths, 1);
        assert_string_equal(l->masked_paths[0], "/proc/kcore");
        assert_int_equal(l->n_readonly_paths, 2);
        assert_string_equal(l->readonly_paths[1], "/proc/bus");
        assert_string_equal(l->mount_label, "system_u:object_r:svirt_sandbox_file_t:s0");
        assert_string_equal(l->personality->domain, "LINUX32");
        assert_string_equal(l->intel_rdt_clos_id, "clos1");
        oci_spec_free(s);
}

static void test_full_resources(void **state)
{
        struct oci_spec *s = parse_ok(full_config);
        const struct oci_resources *r = &s->linux_.resources;
        assert_true(s->linux_.has_resources);
        assert_int_equal(r->n_devices, 2);
        assert_false(r->devices[0].allow);
        assert_int_equal(r->devices[0].type, 'a');
        assert_int_equal(r->devices[0].major, -1);
        assert_int_equal(r->devices[0].minor, -1);
        assert_string_equal(r->devices[0].access, "rwm");
        assert_true(r->devices[1].allow);
        assert_int_equal(r->devices[1].type, 'c');
        assert_int_equal(r->devices[1].minor, 229);
        assert_true(r->memory.present && r->memory.has_limit);
        assert_int_equal(r->memory.limit, 536870912);
        assert_int_equal(r->memory.reservation, 1024);
        assert_int_equal(r->memory.swap, -1);
        assert_true(r->memory.has_kernel);
        assert_int_equal(r->memory.kernel, 0);
        assert_int_equal(r->memory.kernel_tcp, 2048);
        assert_int_equal(r->memory.swappiness, 60);
        assert_true(r->memory.has_disable_oom_killer && r->memory.disable_oom_killer);
        assert_true(r->memory.has_use_hierarchy);
        assert_false(r->memory.use_hierarchy);
        assert_true(r->memory.check_before_update);
        assert_true(r->cpu.present);
        assert_int_equal(r->cpu.shares, 512);
        assert_int_equal(r->cpu.quota, 50000);
        assert_int_equal(r->cpu.burst, 1000);
        assert_int_equal(r->cpu.period, 100000);
        assert_int_equal(r->cpu.realtime_runtime, 950000);
        assert_int_equal(r->cpu.realtime_period, 1000000);
        assert_string_equal(r->cpu.cpus, "0-1");
        assert_string_equal(r->cpu.mems, "0");
        assert_true(r->cpu.has_idle);
        assert_int_equal(r->cpu.idle, 1);
        assert_true(r->pids.present && r->pids.has_limit);
        assert_int_equal(r->pids.limit, 64);
        assert_int_equal(r->block_io.weight, 500);
        assert_int_equal(r->block_io.leaf_weight, 300);
        assert_int_equal(r->block_io.n_weight_device, 1);
        assert_int_equal(r->block_io.weight_device[0].weight, 600);
        assert_false(r->block_io.weight_device[0].has_leaf_weight);
        assert_int_equal(r->block_io.throttle_read_bps[0].rate, 1048576);
        assert_int_equal(r->block_io.throttle_write_bps[0].minor, 1);
        assert_int_equal(r->block_io.throttle_read_iops[0].rate, 3);
        assert_int_equal(r->block_io.n_throttle_write_iops, 1);
        assert_int_equal(r->block_io.throttle_write_iops[0].rate, 4);
        assert_string_equal(r->hugepage_limits[0].page_size, "2MB");
        assert_int_equal(r->hugepage_limits[0].limit, 209715200);
        assert_int_equal(r->network.class_id, 1048577);
        assert_string_equal(r->network.priorities[0].name, "eth0");
        assert_int_equal(r->network.priorities[0].priority, 500);
        assert_int_equal(r->n_rdma, 1);
        assert_string_equal(r->rdma[0].device, "mlx5_1");
        assert_int_equal(r->rdma[0].hca_handles, 3);
        assert_int_equal(r->rdma[0].hca_objects, 10000);
        assert_string_equal(r->unified[0].key, "memory.high");
        assert_string_equal(r->unified[0].value, "1G");
        oci_spec_free(s);
}

static void test_full_seccomp(void **state)
{
        struct oci_spec *s = parse_ok(full_config);
        const struct oci_seccomp *sc = s->linux_.seccomp;
        assert_non_null(sc);
        assert_string_equal(sc->default_action, "SCMP_ACT_ERRNO");
        assert_true(sc->has_default_errno_ret);
        assert_int_equal(sc->default_errno_ret, 1);
        assert_int_equal(sc->n_architectures, 2);
        assert_string_equal(sc->architectures[1], "SCMP_ARCH_X86");
        assert_string_equal(sc->flags[0], "SECCOMP_FILTER_FLAG_LOG");
        assert_string_equal(sc->listener_path, "/run/seccomp.sock");
        assert_string_equal(sc->listener_metadata, "meta");
        assert_int_equal(sc->n_syscalls, 2);
        assert_int_equal(sc->syscalls[0].n_names, 2);
        assert_string_equal(sc->syscalls[0].names[1], "write");
        assert_false(sc->syscalls[0].has_errno_ret);
        assert_true(sc->syscalls[1].has_errno_ret);
        assert_int_equal(sc->syscalls[1].errno_ret, 38);
        assert_int_equal(sc->syscalls[1].n_args, 1);
        assert_int_equal(sc->syscalls[1].args[0].value, 255);
        assert_int_equal(sc->syscalls[1].args[0].value_two, 8);
        assert_string_equal(sc->syscalls[1].args[0].op, "SCMP_CMP_MASKED_EQ");
        oci_spec_free(s);
}

/* A minimal valid config that mutation cases below start from. */
static const char base_config[] =
    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
    " \"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0},"
    "  \"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_CHOWN\",\"CAP_SETUID\",\"CAP_SETGID\"]},"
    "  \"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}]},"
    " \"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"
    " \"hooks\":{\"prestart\":[{\"path\":\"/bin/true\"}]},"
    " \"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"user\"}],"
    "  \"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}],"
    "  \"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}],"
    "  \"devices\":[{\"path\":\"/dev/null2\",\"type\":\"c\",\"major\":1,\"minor\":3}],"
    "  \"resources\":{\"devices\":[{\"allow\":false}]},"
    "  \"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\","
    "   \"syscalls\":[{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_ERRNO\","
    "     \"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}}}";

/* Walks a path like "linux.namespaces[2].type" and sets (or, with value NULL, deletes) it. */
static void set_path(struct json_object *root, const char *path, const char *value)
{
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", path);
        struct json_object *cur = root;
        char *p = buf;
        for (;;) {
                size_t n = strcspn(p, ".[");
                char key[128];
                snprintf(key, sizeof(key), "%.*s", (int)n, p);
                p += n;
                int idx = -1;
                if (*p == '[') {
                        idx = atoi(p + 1);
                        p = strchr(p, ']') + 1;
                }
                bool last = *p == '\0';
                if (idx < 0 && last) {
                        if (value)
                                json_object_object_add(cur, key, json_tokener_parse(value));
                        else
                                json_object_object_del(cur, key);
                        return;
                }
                if (*key)
                        cur = json_object_object_get(cur, key);
                if (idx >= 0) {
                        if (last) {
                                struct json_object *v = value ? json_tokener_parse(value) : NULL;
                                if (value && !v)
                                        v = json_object_new_null();
                                json_object_array_put_idx(cur, (size_t)idx, v);
                                return;
                        }
                        cur = json_object_array_get_idx(cur, (size_t)idx);
                }
                assert_non_null(cur);
                if (*p == '.')
                        p++;
        }
}

struct bad_case {
        const char *path;  /* what to change */
        const char *value; /* JSON text; NULL deletes */
        const char *msg;   /* the exact error message */
};

static const struct bad_case bad_cases[] = {
    /* top level */
    {"ociVersion", NULL, "ociVersion: required field missing"},
    {"ociVersion", "1", "ociVersion: expected a string, got 1"},
    {"ociVersion", "\"2.0.0\"",
     "ociVersion: unsupported version \"2.0.0\" (cella supports 1.x, runtime-spec 1.0.0 to "
     "1.3)"},
    {"ociVersion", "\"0.9.0\"",
     "ociVersion: unsupported version \"0.9.0\" (cella supports 1.x, runtime-spec 1.0.0 to "
     "1.3)"},
    {"ociVersion", "\"garbage\"",
     "ociVersion: invalid version \"garbage\" (expected MAJOR.MINOR.PATCH, e.g. \"1.2.0\")"},
    {"ociVersion", "\"1.2\"",
     "ociVersion: invalid version \"1.2\" (expected MAJOR.MINOR.PATCH, e.g. \"1.2.0\")"},
    {"ociVersion", "\"1.0.0x\"",
     "ociVersion: invalid version \"1.0.0x\" (expected MAJOR.MINOR.PATCH, e.g. \"1.2.0\")"},
    {"root", NULL, "root: required field missing"},
    {"root", "[]", "root: expected an object, got an array"},
    {"root.path", NULL, "root.path: required field missing"},
    {"root.path", "\"\"", "root.path: must not be empty"},
    {"root.readonly", "\"yes\"", "root.readonly: expected a boolean, got \"yes\""},
    {"hostname", "5", "hostname: expected a string, got 5"},
    {"domainname", "false", "domainname: expected a string, got false"},
    {"annotations", "[]", "annotations: expected an object, got an array"},
    {"annotations", "{\"a\":1}", "annotations[\"a\"]: expected a string, got 1"},
    {"annotations", "{\"\":\"x\"}", "annotations[\"\"]: empty key"},
    /* mounts */
    {"mounts", "{}", "mounts: expected an array, got an object"},
    {"mounts[0]", "\"proc\"", "mounts[0]: expected an object, got \"proc\""},
    {"mounts[0].destination", NULL, "mounts[0].destination: required field missing"},
    {"mounts[0].destination", "\"\"", "mounts[0].destination: must not be empty"},
    {"mounts[0].type", "7", "mounts[0].type: expected a string, got 7"},
    {"mounts[0].options", "\"ro\"", "mounts[0].options: expected an array, got \"ro\""},
    {"mounts[0].options", "[\"ro\",3]", "mounts[0].options[1]: expected a string, got 3"},
    {"mounts[0].uidMappings", "[{\"containerID\":0,\"hostID\":0,\"size\":1}]",
     "mounts[0]: uidMappings and gidMappings must be given together"},
    /* process */
    {"process", "[]", "process: expected an object, got an array"},
    {"process.args", NULL, "process.args: must not be empty (the program to run)"},
    {"process.args", "[]", "process.args: must not be empty (the program to run)"},
    {"process.args", "[\"\"]", "process.args[0]: must not be an empty string"},
    {"process.args", "\"sh\"", "process.args: expected an array, got \"sh\""},
    {"process.args", "[\"sh\",null]", "process.args[1]: expected a string, got null"},
    {"process.args", "[\"a\\u0000b\"]", "process.args[0]: string contains a NUL byte: \"a\\x00b\""},
    {"process.cwd", NULL, "process.cwd: required field missing"},
    {"process.cwd", "\"tmp\"", "process.cwd: must be an absolute path, got \"tmp\""},
    {"process.cwd", "\"\"", "process.cwd: must be an absolute path, got \"\""},
    {"process.env", "[\"PATH=/bin\",\"NOEQUALS\"]",
     "process.env[1]: invalid environment variable \"NOEQUALS\" (expected NAME=VALUE)"},
    {"process.env", "[\"=x\"]",
     "process.env[0]: invalid environment variable \"=x\" (expected NAME=VALUE)"},
    {"process.terminal", "1", "process.terminal: expected a boolean, got 1"},
    {"process.consoleSize", "{\"height\":1}", "process.consoleSize.width: required field missing"},
    {"process.consoleSize", "{\"height\":1,\"width\":70000}",
     "process.consoleSize.width: 70000 out of range [0, 65535]"},
    {"process.user", "\"root\"", "process.user: expected an object, got \"root\""},
    {"process.user.uid", "-1", "process.user.uid: -1 out of range [0, 4294967295]"},
    {"process.user.uid", "4294967296", "process.user.uid: 4294967296 out of range [0, 4294967295]"},
    {"process.user.uid", "1.5", "process.user.uid: expected an integer, got 1.5"},
    {"process.user.uid", "\"0\"", "process.user.uid: expected an integer, got \"0\""},
    {"process.user.gid", "true", "process.user.gid: expected an integer, got true"},
    {"process.user.umask", "4096", "process.user.umask: 4096 out of range [0, 4095]"},
    {"process.user.additionalGids", "[1,-2]",
     "process.user.additionalGids[1]: -2 out of range [0, 4294967295]"},
    {"process.capabilities", "[]", "process.capabilities: expected an object, got an array"},
    {"process.capabilities.bounding[3]", "\"CAP_FOO\"",
     "process.capabilities.bounding[3]: unknown capability \"CAP_FOO\""},
    {"process.capabilities.bounding[1]", "\"chown\"",
     "process.capabilities.bounding[1]: unknown capability \"chown\""},
    {"process.capabilities.ambient", "[\"CAP_KILL\",5]",
     "process.capabilities.ambient[1]: expected a string, got 5"},
    {"process.capabilities.effective", "\"CAP_KILL\"",
     "process.capabilities.effective: expected an array, got \"CAP_KILL\""},
    {"process.rlimits[0].type", "\"RLIMIT_FOO\"",
     "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
    {"process.rlimits[0].type", NULL, "process.rlimits[0].type: required field missing"},
    {"process.rlimits[0].soft", "2048",
     "process.rlimits[0]: RLIMIT_NOFILE soft limit 2048 exceeds hard limit 1024"},
    {"process.rlimits[0].hard", NULL, "process.rlimits[0].hard: required field missing"},
    {"process.rlimits[0].hard", "-1",
     "process.rlimits[0].hard: -1 out of range [0, 18446744073709551615]"},
    {"process.rlimits[1]", "{\"type\":\"RLIMIT_NOFILE\",\"hard\":1,\"soft\":1}",
     "process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\""},
    {"process.noNewPrivileges", "\"true\"",
     "process.noNewPrivileges: expected a boolean, got \"true\""},
    {"process.oomScoreAdj", "1001", "process.oomScoreAdj: 1001 out of range [-1000, 1000]"},
    {"process.apparmorProfile", "[]", "process.apparmorProfile: expected a string, got an array"},
    {"process.scheduler", "{\"policy\":\"SCHED_FAST\"}",
     "process.scheduler.policy: unknown scheduler policy \"SCHED_FAST\""},
    {"process.scheduler", "{\"nice\":1}", "process.scheduler.policy: required field missing"},
    {"process.scheduler", "{\"policy\":\"SCHED_OTHER\",\"nice\":20}",
     "process.scheduler.nice: 20 out of range [-20, 19]"},
    {"process.scheduler", "{\"policy\":\"SCHED_OTHER\",\"flags\":[\"X\"]}",
     "process.scheduler.flags[0]: unknown scheduler flag \"X\""},
    {"process.ioPriority", "{\"class\":\"IOPRIO_CLASS_NONE\"}",
     "process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_NONE\""},
    {"process.ioPriority", "{\"class\":\"IOPRIO_CLASS_RT\",\"priority\":8}",
     "process.ioPriority.priority: 8 out of range [0, 7]"},
    /* hooks */
    {"hooks", "[]", "hooks: expected an object, got an array"},
    {"hooks.prestrat", "[]",
     "hooks: unknown hook kind \"prestrat\" (expected prestart, createRuntime, "
     "createContainer, startContainer, poststart or poststop)"},
    {"hooks.poststop", "{}", "hooks.poststop: expected an array, got an object"},
    {"hooks.prestart[0].path", "\"true\"",
     "hooks.prestart[0].path: must be an absolute path, got \"true\""},
    {"hooks.prestart[0].path", NULL, "hooks.prestart[0].path: required field missing"},
    {"hooks.prestart[0].timeout", "0", "hooks.prestart[0].timeout: must be greater than 0, got 0"},
    {"hooks.prestart[0].timeout", "-5",
     "hooks.prestart[0].timeout: must be greater than 0, got -5"},
    {"hooks.prestart[0].timeout", "1.5", "hooks.prestart[0].timeout: expected an integer, got 1.5"},
    {"hooks.prestart[0].args", "[1]", "hooks.prestart[0].args[0]: expected a string, got 1"},
    {"hooks.prestart[0].env", "[\"X\"]",
     "hooks.prestart[0].env[0]: invalid environment variable \"X\" (expected NAME=VALUE)"},
    /* linux */
    {"linux", "true", "linux: expected an object, got true"},
    {"linux.namespaces[2].type", "\"netx\"",
     "linux.namespaces[2].type: unknown namespace \"netx\""},
    {"linux.namespaces[1].type", "\"pid\"",
     "linux.namespaces[1].type: duplicate namespace \"pid\""},
    {"linux.namespaces[0].type", NULL, "linux.namespaces[0].type: required field missing"},
    {"linux.namespaces[0].path", "\"ns/pid\"",
     "linux.namespaces[0].path: must be an absolute path, got \"ns/pid\""},
    {"linux.namespaces[2].type", "\"ipc\"",
     "linux.uidMappings: id mappings given but linux.namespaces has no \"user\" namespace"},
    {"linux.uidMappings[0].size", "0", "linux.uidMappings[0].size: must be greater than 0"},
    {"linux.uidMappings[0].size", NULL, "linux.uidMappings[0].size: required field missing"},
    {"linux.uidMappings[0].hostID", "-1",
     "linux.uidMappings[0].hostID: -1 out of range [0, 4294967295]"},
    {"linux.gidMappings[0].containerID", "4294967295",
     "linux.gidMappings[0]: range containerID 4294967295 / hostID 1000 + size 10 exceeds the "
     "32-bit id space"},
    {"linux.uidMappings[1]", "{\"containerID\":5,\"hostID\":5000,\"size\":10}",
     "linux.uidMappings[1]: containerID range 5-14 overlaps linux.uidMappings[0]"},
    {"linux.gidMappings[1]", "{\"containerID\":100,\"hostID\":1009,\"size\":1}",
     "linux.gidMappings[1]: hostID range 1009-1009 overlaps linux.gidMappings[0]"},
    {"linux.timeOffsets", "{\"realtime\":{\"secs\":1}}",
     "linux.timeOffsets: unknown clock \"realtime\" (expected monotonic or boottime)"},
    {"linux.timeOffsets", "{\"boottime\":{\"nanosecs\":1000000000}}",
     "linux.timeOffsets.boottime.nanosecs: 1000000000 out of range [0, 999999999]"},
    {"linux.devices[0].type", "\"x\"",
     "linux.devices[0].type: unknown device type \"x\" (expected c, b, u or p)"},
    {"linux.devices[0].path", "\"/dev/\"",
     "linux.devices[0].path: must be an absolute path to a file, got \"/dev/\""},
    {"linux.devices[0].path", "\"dev/null\"",
     "linux.devices[0].path: must be an absolute path to a file, got \"dev/null\""},
    {"linux.devices[0].major", NULL, "linux.devices[0].major: required field missing"},
    {"linux.devices[0].minor", "-3", "linux.devices[0].minor: -3 out of range [0, 1048575]"},
    {"linux.devices[0].fileMode", "65535",
     "linux.devices[0].fileMode: 65535 out of range [0, 4095]"},
    {"linux.devices[0].uid", "\"0\"", "linux.devices[0].uid: expected an integer, got \"0\""},
    {"linux.resources.devices[0].allow", NULL,
     "linux.resources.devices[0].allow: required field missing"},
    {"linux.resources.devices[0].type", "\"z\"",
     "linux.resources.devices[0].type: unknown device type \"z\" (expected a, c or b)"},
    {"linux.resources.devices[0].access", "\"rwx\"",
     "linux.resources.devices[0].access: invalid access \"rwx\" (expected a combination of "
     "r, w and m)"},
    {"linux.resources.memory", "{\"limit\":-2}",
     "linux.resources.memory.limit: -2 out of range [-1, 9223372036854775807]"},
    {"linux.resources.memory", "{\"swappiness\":101}",
     "linux.resources.memory.swappiness: 101 out of range [0, 100]"},
    {"linux.resources.memory", "{\"limit\":\"1G\"}",
     "linux.resources.memory.limit: expected an integer, got \"1G\""},
    {"linux.resources.cpu", "{\"shares\":-1}",
     "linux.resources.cpu.shares: -1 out of range [0, 18446744073709551615]"},
    {"linux.resources.cpu", "{\"cpus\":0}", "linux.resources.cpu.cpus: expected a string, got 0"},
    {"linux.resources.pids", "{\"limit\":\"max\"}",
     "linux.resources.pids.limit: expected an integer, got \"max\""},
    {"linux.resources.blockIO", "{\"weight\":70000}",
     "linux.resources.blockIO.weight: 70000 out of range [0, 65535]"},
    {"linux.resources.blockIO", "{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0}]}",
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required field missing"},
    {"linux.resources.hugepageLimits", "[{\"limit\":1}]",
     "linux.resources.hugepageLimits[0].pageSize: required field missing"},
    {"linux.resources.network", "{\"priorities\":[{\"name\":\"eth0\"}]}",
     "linux.resources.network.priorities[0].priority: required field missing"},
    {"linux.resources.rdma", "{\"mlx\":[]}",
     "linux.resources.rdma[\"mlx\"]: expected an object, got an array"},
    {"linux.resources.unified", "{\"memory.max\":5}",
     "linux.resources.unified[\"memory.max\"]: expected a string, got 5"},
    {"linux.sysctl", "{\"net.ipv4.ip_forward\":1}",
     "linux.sysctl[\"net.ipv4.ip_forward\"]: expected a string, got 1"},
    {"linux.sysctl", "[\"a=b\"]", "linux.sysctl: expected an object, got an array"},
    {"linux.seccomp.defaultAction", NULL, "linux.seccomp.defaultAction: required field missing"},
    {"linux.seccomp.defaultAction", "\"SCMP_ACT_NOPE\"",
     "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_NOPE\""},
    {"linux.seccomp.architectures", "[\"SCMP_ARCH_Z80\"]",
     "linux.seccomp.architectures[0]: unknown seccomp architecture \"SCMP_ARCH_Z80\""},
    {"linux.seccomp.flags", "[\"SECCOMP_FILTER_FLAG_X\"]",
     "linux.seccomp.flags[0]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_X\""},
    {"linux.seccomp.syscalls[0].names", "[]", "linux.seccomp.syscalls[0].names: must not be empty"},
    {"linux.seccomp.syscalls[0].action", "\"ALLOW\"",
     "linux.seccomp.syscalls[0].action: unknown seccomp action \"ALLOW\""},
    {"linux.seccomp.syscalls[0].args[0].op", "\"SCMP_CMP_XOR\"",
     "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_XOR\""},
    {"linux.seccomp.syscalls[0].args[0].index", "6",
     "linux.seccomp.syscalls[0].args[0].index: 6 out of range [0, 5]"},
    {"linux.seccomp.syscalls[0].args[0].value", NULL,
     "linux.seccomp.syscalls[0].args[0].value: required field missing"},
    {"linux.rootfsPropagation", "\"sideways\"",
     "linux.rootfsPropagation: unknown propagation \"sideways\""},
    {"linux.maskedPaths", "[\"/proc/kcore\",\"proc/keys\"]",
     "linux.maskedPaths[1]: must be an absolute path, got \"proc/keys\""},
    {"linux.readonlyPaths", "[5]", "linux.readonlyPaths[0]: expected a string, got 5"},
    {"linux.personality", "{\"domain\":\"LINUX64\"}",
     "linux.personality.domain: unknown personality domain \"LINUX64\""},
    {"linux.intelRdt", "{\"closID\":1}", "linux.intelRdt.closID: expected a string, got 1"},
};

static void test_bad_values(void **state)
{
        for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
                const struct bad_case *c = &bad_cases[i];
                struct json_object *root = json_tokener_parse(base_config);
                assert_non_null(root);
                set_path(root, c->path, c->value);
                const char *text = json_object_to_json_string(root);
                struct oci_spec *s = NULL;
                struct cella_error err = {0};
                int r = oci_spec_parse(text, 0, &s, &err);
                if (r >= 0 || strcmp(err.msg, c->msg) != 0) {
                        print_error("case %zu: %s = %s\n  want: %s\n  got:  %s (r=%d)\n", i,
                                    c->path, c->value ? c->value : "(deleted)", c->msg,
                                    r < 0 ? err.msg : "success", r);
                        oci_spec_free(s);
                        json_object_put(root);
                        fail();
                }
                assert_null(s);
                assert_int_equal(err.code, -r);
                json_object_put(root);
        }
}

static void test_base_ok(void **state)
{
        struct oci_spec *s = parse_ok(base_config);
        assert_false(s->has_linux && s->linux_.n_namespaces != 3);
        oci_spec_free(s);
}

static void expect_error(const char *json, const char *msg)
{
        struct oci_spec *s = NULL;
        struct cella_error err = {0};
        int r = oci_spec_parse(json, 0, &s, &err);
        if (r >= 0)
                fail_msg("parsed, expected error %s", msg);
        assert_string_equal(err.msg, msg);
        assert_null(s);
}

static void test_bad_json(void **state)
{
        expect_error("[]", "config: expected an object, got an array");
        expect_error("null", "invalid JSON: document is null");
        expect_error("{\"ociVersion\":\"1.0.0\",", "invalid JSON: unexpected end of input");
        expect_error("{} x", "invalid JSON at line 1 (byte 3): unexpected character");
        expect_error("{}\n\n{}", "invalid JSON at line 3 (byte 4): unexpected character");
        expect_error("12", "config: expected an object, got 12");
        expect_error("{\"a\":tru}", "invalid JSON at line 1 (byte 8): boolean expected");
        expect_error("{}", "ociVersion: required field missing");
        /* json-c would saturate these to INT64/UINT64 limits; a typo must not mean "unlimited". */
        expect_error("{\"x\":[1,\"2\",99999999999999999999]}",
                     "invalid JSON at line 1 (byte 12): integer 99999999999999999999 does not fit "
                     "in 64 bits");
        expect_error("{\"x\":\n-9223372036854775809}",
                     "invalid JSON at line 2 (byte 6): integer -9223372036854775809 does not fit "
                     "in 64 bits");
        expect_error("{\"99999999999999999999\":1.99999999999999999999,\"y\":1e400}",
                     "ociVersion: required field missing");
        struct oci_spec *s = NULL;
        struct cella_error err = {0};
        assert_int_equal(oci_spec_parse("{} \0", 4, &s, &err), -EINVAL);
        assert_string_equal(err.msg, "invalid JSON: trailing data at byte 3");
}

static void test_versions(void **state)
{
        static const char *const ok[] = {"1.0.0", "1.0.1",      "1.0.2",         "1.0.2-dev",
                                         "1.1.0", "1.1.0-rc.1", "1.2.0",         "1.2.1",
                                         "1.3.0", "1.3.5",      "1.10.0+build.5"};
        char buf[512];
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                snprintf(buf, sizeof(buf), "{\"ociVersion\":\"%s\",\"root\":{\"path\":\"r\"}}",
                         ok[i]);
                struct oci_spec *s = parse_ok(buf);
                assert_string_equal(s->oci_version, ok[i]);
                assert_false(s->has_process);
                assert_false(s->has_linux);
                oci_spec_free(s);
        }
        static const char *const bad[] = {"2.0.0",  "0.1.0",   "11.0.0", "1",    "1.0",
                                          "v1.0.0", "1.0.0.0", "",       "1..0", "1.0.a"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                snprintf(buf, sizeof(buf), "{\"ociVersion\":\"%s\",\"root\":{\"path\":\"r\"}}",
                         bad[i]);
                struct oci_spec *s = NULL;
                struct cella_error err = {0};
                assert_int_equal(oci_spec_parse(buf, 0, &s, &err), -EINVAL);
                assert_non_null(strstr(err.msg, "ociVersion: "));
                assert_non_null(strstr(err.msg, bad[i]));
        }
}

/* runc 1.1 takes a relative destination with a warning, relative to the container root. */
static void test_relative_mount_destination(void **state)
{
        struct oci_spec *s =
            parse_ok("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},"
                     "\"mounts\":[{\"destination\":\"data/x\",\"type\":\"tmpfs\"}]}");
        assert_string_equal(s->mounts[0].destination, "/data/x");
        oci_spec_free(s);
        /* Allowed without a warning since runtime-spec 1.2.0. */
        s = parse_ok("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"},"
                     "\"mounts\":[{\"destination\":\"run\",\"type\":\"tmpfs\"}]}");
        assert_string_equal(s->mounts[0].destination, "/run");
        oci_spec_free(s);
}

static void test_null_is_absent(void **state)
{
        struct oci_spec *s = parse_ok("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},"
                                      "\"hostname\":null,\"mounts\":null,\"linux\":null,"
                                      "\"hooks\":{\"prestart\":null}}");
        assert_null(s->hostname);
        assert_int_equal(s->n_mounts, 0);
        assert_false(s->has_linux);
        oci_spec_free(s);
}

static void test_load(void **state)
{
        char dir[] = "/tmp/test-oci-XXXXXX", path[64];
        struct oci_spec *s = NULL;
        struct cella_error err = {0};
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/config.json", dir);
        assert_int_equal(oci_spec_load(path, &s, &err), -ENOENT);
        char want[256];
        snprintf(want, sizeof(want), "%s: no such file; run `cella spec` to create one", path);
        assert_string_equal(err.msg, want);

        const char *bad = "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},"
                          "\"linux\":{\"namespaces\":[{\"type\":\"netx\"}]}}";
        assert_int_equal(fs_write_file(path, bad, strlen(bad), 0644), 0);
        assert_int_equal(oci_spec_load(path, &s, &err), -EINVAL);
        snprintf(want, sizeof(want), "%s: linux.namespaces[0].type: unknown namespace \"netx\"",
                 path);
        assert_string_equal(err.msg, want);

        assert_int_equal(fs_write_file(path, "", 0, 0644), 0);
        assert_int_equal(oci_spec_load(path, &s, &err), -EINVAL);
        snprintf(want, sizeof(want), "%s: file is empty", path);
        assert_string_equal(err.msg, want);

        assert_int_equal(fs_write_file(path, full_config, strlen(full_config), 0644), 0);
        assert_int_equal(oci_spec_load(path, &s, &err), 0);
        assert_string_equal(s->hostname, "box");
        oci_spec_free(s);
        unlink(path);
        rmdir(dir);
}

static void test_process_parse(void **state)
{
        struct oci_process *p = NULL;
        struct cella_error err = {0};
        const char *ok = "{\"args\":[\"ls\"],\"cwd\":\"/tmp\",\"env\":[\"A=1\"],"
                         "\"capabilities\":{\"bounding\":[\"CAP_SYS_ADMIN\"]}}";
        assert_int_equal(oci_process_parse(ok, 0, &p, &err), 0);
        assert_string_equal(p->args[0], "ls");
        assert_string_equal(p->cwd, "/tmp");
        assert_int_equal(p->capabilities.sets[OCI_CAP_BOUNDING], 1ull << 21);
        oci_process_free(p);
        assert_int_equal(oci_process_parse("{\"args\":[\"ls\"],\"cwd\":\"x\"}", 0, &p, &err),
                         -EINVAL);
        assert_string_equal(err.msg, "process.cwd: must be an absolute path, got \"x\"");
        assert_int_equal(oci_process_parse("[]", 0, &p, &err), -EINVAL);
        assert_string_equal(err.msg, "process: expected an object, got an array");
}

static void test_names(void **state)
{
        assert_int_equal(oci_cap_last(), 40);
        assert_int_equal(oci_cap_from_name("CAP_CHOWN"), 0);
        assert_int_equal(oci_cap_from_name("CAP_SYS_ADMIN"), 21);
        assert_int_equal(oci_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
        assert_int_equal(oci_cap_from_name("CAP_BPF"), 39);
        assert_int_equal(oci_cap_from_name("cap_chown"), -1);
        assert_int_equal(oci_cap_from_name(NULL), -1);
        for (int c = 0; c <= oci_cap_last(); c++)
                assert_int_equal(oci_cap_from_name(oci_cap_name(c)), c);
        assert_null(oci_cap_name(41));
        assert_null(oci_cap_name(-1));
        assert_int_equal(oci_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
        assert_int_equal(oci_rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
        assert_int_equal(oci_rlimit_from_name("RLIMIT_AS"), RLIMIT_AS);
        assert_int_equal(oci_rlimit_from_name("NOFILE"), -1);
        for (int r = 0; r < RLIM_NLIMITS; r++)
                assert_int_equal(oci_rlimit_from_name(oci_rlimit_name(r)), r);
        assert_string_equal(oci_ns_type_name(OCI_NS_NETWORK), "network");
        assert_string_equal(oci_ns_proc_name(OCI_NS_NETWORK), "net");
        assert_string_equal(oci_ns_proc_name(OCI_NS_MOUNT), "mnt");
        assert_int_equal(oci_ns_clone_flag(OCI_NS_PID), CLONE_NEWPID);
        assert_int_equal(oci_ns_clone_flag(OCI_NS_USER), CLONE_NEWUSER);
        assert_int_equal(oci_ns_clone_flag(OCI_NS_TIME), 0x80);
        for (int t = 0; t < OCI_NS_COUNT; t++) {
                assert_int_equal(oci_ns_type_from_name(oci_ns_type_name(t)), t);
                char p[64];
                snprintf(p, sizeof(p), "/proc/self/ns/%s", oci_ns_proc_name(t));
                /* The kernel names are the truth; time needs Linux 5.6. */
                if (access(p, F_OK) < 0 && t != OCI_NS_TIME)
                        fail_msg("%s missing", p);
        }
        assert_int_equal(oci_ns_type_from_name("net"), -1);
        assert_string_equal(oci_hook_kind_name(OCI_HOOK_CREATE_RUNTIME), "createRuntime");
        assert_int_equal(oci_hook_kind_from_name("poststop"), OCI_HOOK_POSTSTOP);
        assert_int_equal(oci_hook_kind_from_name("postStop"), -1);
}

/* Every capability the running kernel knows must be in the table (/proc/sys/kernel/cap_last_cap).
 */
static void test_cap_last_vs_kernel(void **state)
{
        _cleanup_free_ char *buf = NULL;
        if (fs_read_file("/proc/sys/kernel/cap_last_cap", 64, &buf, NULL) < 0)
                skip();
        assert_true(oci_cap_last() >= atoi(buf));
}

static struct json_object *get(struct json_object *o, const char *key)
{
        struct json_object *v = NULL;
        if (!json_object_object_get_ex(o, key, &v))
                fail_msg("missing key %s", key);
        return v;
}

static bool strv_has(struct json_object *arr, const char *s)
{
        for (size_t i = 0; i < json_object_array_length(arr); i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s) == 0)
                        return true;
        return false;
}

static struct oci_spec *parse_obj(struct json_object *o)
{
        return parse_ok(json_to_string(o, 0));
}

static void test_default_spec(void **state)
{
        struct json_object *o = oci_default_spec(false);
        struct oci_spec *s = parse_obj(o);
        assert_string_equal(s->oci_version, "1.1.0");
        assert_string_equal(s->root.path, "rootfs");
        assert_true(s->root.readonly);
        assert_true(s->process.terminal);
        assert_string_equal(s->process.args[0], "sh");
        assert_int_equal(s->process.n_args, 1);
        assert_string_equal(s->process.cwd, "/");
        assert_true(s->process.no_new_privileges);
        static const int docker_caps[] = {0, 1, 4, 3, 27, 13, 6, 7, 31, 8, 10, 18, 5, 29};
        uint64_t want = 0;
        for (size_t i = 0; i < sizeof(docker_caps) / sizeof(docker_caps[0]); i++)
                want |= 1ull << docker_caps[i];
        assert_int_equal(s->process.capabilities.sets[OCI_CAP_BOUNDING], want);
        assert_int_equal(s->process.capabilities.sets[OCI_CAP_EFFECTIVE], want);
        assert_int_equal(s->process.capabilities.sets[OCI_CAP_PERMITTED], want);
        assert_false(s->process.capabilities.present[OCI_CAP_INHERITABLE]);
        assert_false(s->process.capabilities.present[OCI_CAP_AMBIENT]);
        assert_int_equal(s->process.n_rlimits, 1);
        assert_int_equal(s->process.rlimits[0].resource, RLIMIT_NOFILE);
        assert_int_equal(s->process.rlimits[0].soft, 1024);
        assert_int_equal(s->process.rlimits[0].hard, 1024);
        /* Namespaces: pid, network, ipc, uts, mount, cgroup; no user. */
        assert_int_equal(s->linux_.n_namespaces, 6);
        assert_non_null(oci_spec_namespace(s, OCI_NS_NETWORK));
        assert_non_null(oci_spec_namespace(s, OCI_NS_CGROUP));
        assert_null(oci_spec_namespace(s, OCI_NS_USER));
        assert_int_equal(s->linux_.n_masked_paths, 11);
        assert_int_equal(s->linux_.n_readonly_paths, 5);
        assert_true(s->linux_.has_resources);
        assert_int_equal(s->n_mounts, 7);
        for (size_t i = 0; i < s->n_mounts; i++) {
                const struct oci_mount *m = &s->mounts[i];
                if (strcmp(m->destination, "/proc") == 0)
                        continue;
                /* Everything but /proc and /dev is nosuid,nodev or nosuid,noexec at least. */
                bool nosuid = false;
                for (size_t j = 0; j < m->n_options; j++)
                        nosuid |= strcmp(m->options[j], "nosuid") == 0;
                assert_true(nosuid);
        }
        assert_string_equal(s->mounts[5].type, "sysfs");
        assert_int_equal(s->mounts[2].n_options, 6); /* devpts keeps gid=5 */
        struct json_object *masked = get(get(o, "linux"), "maskedPaths");
        assert_true(strv_has(masked, "/sys/devices/virtual/powercap"));
        assert_true(strv_has(masked, "/proc/kcore"));
        oci_spec_free(s);
        json_object_put(o);
}

static void test_default_spec_rootless(void **state)
{
        struct json_object *o = oci_default_spec(true);
        struct oci_spec *s = parse_obj(o);
        assert_null(oci_spec_namespace(s, OCI_NS_NETWORK));
        assert_non_null(oci_spec_namespace(s, OCI_NS_USER));
        assert_int_equal(s->linux_.n_namespaces, 6);
        assert_int_equal(s->linux_.n_uid_mappings, 1);
        assert_int_equal(s->linux_.uid_mappings[0].container_id, 0);
        assert_int_equal(s->linux_.uid_mappings[0].host_id, geteuid());
        assert_int_equal(s->linux_.uid_mappings[0].size, 1);
        assert_int_equal(s->linux_.gid_mappings[0].host_id, getegid());
        assert_false(s->linux_.has_resources);
        assert_string_equal(s->mounts[5].destination, "/sys");
        assert_string_equal(s->mounts[5].type, "none");
        assert_string_equal(s->mounts[5].source, "/sys");
        assert_string_equal(s->mounts[5].options[0], "rbind");
        assert_int_equal(s->mounts[2].n_options, 5);
        for (size_t j = 0; j < s->mounts[2].n_options; j++)
                assert_null(strstr(s->mounts[2].options[j], "gid="));
        oci_spec_free(s);
        json_object_put(o);
}

/* Runs `runc spec [--rootless]` and checks cella's document has the same shape. */
static void test_default_spec_vs_runc(void **state)
{
        if (access("/usr/sbin/runc", X_OK) < 0)
                skip();
        for (int rootless = 0; rootless < 2; rootless++) {
                char dir[] = "/tmp/test-oci-runc-XXXXXX", cmd[256], path[128];
                assert_non_null(mkdtemp(dir));
                snprintf(cmd, sizeof(cmd), "cd %s && /usr/sbin/runc spec %s", dir,
                         rootless ? "--rootless" : "");
                assert_int_equal(system(cmd), 0);
                snprintf(path, sizeof(path), "%s/config.json", dir);
                struct json_object *runc = json_object_from_file(path);
                assert_non_null(runc);
                struct json_object *ours = oci_default_spec(rootless);
                /* Same top-level keys and the same mounts in the same order. */
                json_object_object_foreach(runc, key, val)
                {
                        (void)val;
                        get(ours, key);
                }
                struct json_object *rm = get(runc, "mounts"), *om = get(ours, "mounts");
                assert_int_equal(json_object_array_length(rm), json_object_array_length(om));
                for (size_t i = 0; i < json_object_array_length(rm); i++) {
                        struct json_object *a = json_object_array_get_idx(rm, i);
                        struct json_object *b = json_object_array_get_idx(om, i);
                        /* /proc differs on purpose: Docker's nosuid,noexec,nodev (runc: none). */
                        if (strcmp(json_object_get_string(get(a, "destination")), "/proc") == 0)
                                assert_string_equal(json_object_get_string(get(b, "type")), "proc");
                        else
                                assert_true(json_object_equal(a, b));
                }
                struct json_object *rl = get(runc, "linux"), *ol = get(ours, "linux");
                json_object_object_foreach(rl, lkey, lval)
                {
                        (void)lval;
                        get(ol, lkey);
                }
                if (rootless) {
                        assert_true(
                            json_object_equal(get(rl, "uidMappings"), get(ol, "uidMappings")));
                        assert_true(
                            json_object_equal(get(rl, "gidMappings"), get(ol, "gidMappings")));
                } else {
                        assert_true(json_object_equal(get(rl, "resources"), get(ol, "resources")));
                }
                assert_true(json_object_equal(get(rl, "readonlyPaths"), get(ol, "readonlyPaths")));
                json_object_put(runc);
                json_object_put(ours);
                unlink(path);
                rmdir(dir);
        }
}

static const char schema_check_py[] =
    "import json, sys, warnings\n"
    "warnings.simplefilter('ignore')\n"
    "import jsonschema\n"
    "d = sys.argv[1] + '/'\n"
    "schema = json.load(open(d + 'config-schema.json'))\n"
    "res = jsonschema.RefResolver('file://' + d, schema)\n"
    "jsonschema.validate(json.load(open(sys.argv[2])), schema, resolver=res)\n";

/* Validates a document against Debian's runtime-spec JSON schema; returns the exit status. */
static int schema_validate(struct json_object *doc)
{
        char dir[] = "/tmp/test-oci-schema-XXXXXX", py[128], js[128], cmd[512];
        assert_non_null(mkdtemp(dir));
        snprintf(py, sizeof(py), "%s/check.py", dir);
        snprintf(js, sizeof(js), "%s/config.json", dir);
        assert_int_equal(fs_write_file(py, schema_check_py, strlen(schema_check_py), 0644), 0);
        const char *text = json_to_string(doc, 0);
        assert_int_equal(fs_write_file(js, text, strlen(text), 0644), 0);
        snprintf(cmd, sizeof(cmd), "python3 %s %s %s 2>/dev/null", py, SCHEMA_DIR, js);
        int st = system(cmd);
        unlink(py);
        unlink(js);
        rmdir(dir);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_default_spec_schema(void **state)
{
        if (access(SCHEMA_DIR "/config-schema.json", R_OK) < 0 ||
            system("python3 -c 'import jsonschema' 2>/dev/null") != 0) {
                print_message("skip: needs golang-github-opencontainers-specs-dev and "
                              "python3-jsonschema\n");
                skip();
        }
        for (int rootless = 0; rootless < 2; rootless++) {
                struct json_object *o = oci_default_spec(rootless);
                assert_int_equal(schema_validate(o), 0);
                /* The check can fail: a bad namespace type must be refused by the schema. */
                set_path(o, "linux.namespaces[0].type", "\"netx\"");
                assert_int_not_equal(schema_validate(o), 0);
                json_object_put(o);
        }
}

static void test_features(void **state)
{
        struct json_object *f = oci_features();
        assert_string_equal(json_object_get_string(get(f, "ociVersionMin")), "1.0.0");
        assert_string_equal(json_object_get_string(get(f, "ociVersionMax")), "1.3.0");
        struct json_object *hooks = get(f, "hooks");
        assert_int_equal(json_object_array_length(hooks), 6);
        assert_true(strv_has(hooks, "createRuntime"));
        struct json_object *mo = get(f, "mountOptions");
        assert_true(strv_has(mo, "rro"));
        assert_true(strv_has(mo, "idmap") && strv_has(mo, "ridmap"));
        assert_true(strv_has(mo, "tmpcopyup"));
        assert_false(strv_has(mo, "acl"));
        assert_int_equal(json_object_array_length(mo), 62);
        struct json_object *l = get(f, "linux");
        assert_int_equal(json_object_array_length(get(l, "namespaces")), 8);
        assert_true(strv_has(get(l, "namespaces"), "time"));
        assert_int_equal(json_object_array_length(get(l, "capabilities")), 41);
        assert_false(json_object_get_boolean(get(get(l, "cgroup"), "systemd")));
        assert_true(json_object_get_boolean(get(get(l, "cgroup"), "v1")));
        assert_false(json_object_get_boolean(get(get(l, "seccomp"), "enabled")));
        assert_false(json_object_get_boolean(get(get(l, "apparmor"), "enabled")));
        assert_false(json_object_get_boolean(get(get(l, "selinux"), "enabled")));
        assert_true(
            json_object_get_boolean(get(get(get(l, "mountExtensions"), "idmap"), "enabled")));

        static const char *const archs[] = {"SCMP_ARCH_X86_64", NULL};
        oci_features_set_seccomp(f, true, archs, NULL);
        struct json_object *sc = get(l, "seccomp");
        assert_true(json_object_get_boolean(get(sc, "enabled")));
        assert_true(strv_has(get(sc, "actions"), "SCMP_ACT_NOTIFY"));
        assert_true(strv_has(get(sc, "operators"), "SCMP_CMP_MASKED_EQ"));
        assert_int_equal(json_object_array_length(get(sc, "archs")), 1);
        assert_true(strv_has(get(sc, "knownFlags"), "SECCOMP_FILTER_FLAG_TSYNC"));
        json_object_put(f);
}

/* Error paths must free what they built (run under ASan/valgrind to see leaks). */
static void test_every_prefix_fails_cleanly(void **state)
{
        size_t len = strlen(full_config);
        for (size_t n = 1; n < len; n += 7) {
                struct oci_spec *s = NULL;
                struct cella_error err = {0};
                assert_true(oci_spec_parse(full_config, n, &s, &err) < 0);
                assert_null(s);
                assert_true(err.msg[0] != '\0');
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_full_top),
            cmocka_unit_test(test_full_process),
            cmocka_unit_test(test_full_linux),
            cmocka_unit_test(test_full_resources),
            cmocka_unit_test(test_full_seccomp),
            cmocka_unit_test(test_base_ok),
            cmocka_unit_test(test_bad_values),
            cmocka_unit_test(test_bad_json),
            cmocka_unit_test(test_versions),
            cmocka_unit_test(test_relative_mount_destination),
            cmocka_unit_test(test_null_is_absent),
            cmocka_unit_test(test_load),
            cmocka_unit_test(test_process_parse),
            cmocka_unit_test(test_names),
            cmocka_unit_test(test_cap_last_vs_kernel),
            cmocka_unit_test(test_default_spec),
            cmocka_unit_test(test_default_spec_rootless),
            cmocka_unit_test(test_default_spec_vs_runc),
            cmocka_unit_test(test_default_spec_schema),
            cmocka_unit_test(test_features),
            cmocka_unit_test(test_every_prefix_fails_cleanly),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
