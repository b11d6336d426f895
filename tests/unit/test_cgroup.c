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
#include "cgroup/internal.h"

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

/* ---- real cgroupfs (root) ---- */

static int skip_unless_root(void)
{
        enum cg_mode mode;
        if (geteuid() != 0 || cg_detect(&mode) < 0 || access("/sys/fs/cgroup", W_OK) < 0)
                return -1;
        return 0;
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
        /* SIGTERM to a paused container: delivered, the cgroup stays frozen. */
        assert_int_equal(cg_kill_all(&cg, SIGTERM, &err), 0);
        assert_int_equal(cg_is_frozen(&cg, &frozen, &err), 0);
        assert_true(frozen);
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

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_normalize),
            cmocka_unit_test(test_discover_hybrid),
            cmocka_unit_test(test_discover_bind_root_and_escapes),
            cmocka_unit_test(test_paths_absolute),
            cmocka_unit_test(test_paths_relative_and_default),
            cmocka_unit_test(test_json_roundtrip),
            cmocka_unit_test(test_json_rejects_bad_state),
            cmocka_unit_test(test_real_create_enter_destroy),
            cmocka_unit_test(test_real_freeze_and_kill_all),
            cmocka_unit_test(test_real_errors_name_files),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
