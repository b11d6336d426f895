/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The LSM decision logic (src/linux/lsm.c) against fake sysfs trees: no AppArmor or SELinux
 * runs on the development machine, so what cella decides for each host is tested here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fs.h"
#include "linux/lsm.h"

static void put(const char *root, const char *path, const char *text)
{
        char full[256], cmd[600];
        snprintf(full, sizeof(full), "%s%s", root, path);
        snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", full);
        assert_int_equal(system(cmd), 0);
        if (text)
                assert_int_equal(fs_write_file(full, text, strlen(text), 0644), 0);
        else
                assert_int_equal(mkdir(full, 0755), 0);
}

static char *fake_root(void)
{
        static char dir[64];
        snprintf(dir, sizeof(dir), "/tmp/test-lsm-XXXXXX");
        assert_non_null(mkdtemp(dir));
        return dir;
}

static struct oci_spec spec_with(const char *apparmor, const char *selinux)
{
        struct oci_spec s;
        memset(&s, 0, sizeof(s));
        s.process.apparmor_profile = (char *)apparmor;
        s.process.selinux_label = (char *)selinux;
        return s;
}

static void test_detect(void **state)
{
        struct lnx_lsm lsm;
        char *root = fake_root();
        lnx_lsm_detect(root, &lsm);
        assert_false(lsm.apparmor);
        assert_false(lsm.selinux);
        /* AppArmor needs both securityfs and the module saying Y. */
        put(root, "/sys/kernel/security/apparmor", NULL);
        put(root, "/sys/module/apparmor/parameters/enabled", "N\n");
        lnx_lsm_detect(root, &lsm);
        assert_false(lsm.apparmor);
        put(root, "/sys/module/apparmor/parameters/enabled", "Y\n");
        put(root, "/sys/fs/selinux/enforce", "0\n");
        lnx_lsm_detect(root, &lsm);
        assert_true(lsm.apparmor);
        assert_true(lsm.selinux); /* permissive is still enabled */
        assert_int_equal(fs_rm_rf(root), 0);
}

static void test_apparmor_profile_without_apparmor_is_an_error(void **state)
{
        struct lnx_lsm none = {0}, aa = {.apparmor = true};
        struct oci_spec s = spec_with("docker-default", NULL);
        struct cella_error err = {0};
        assert_int_equal(lnx_lsm_validate(&s, &none, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "process.apparmorProfile \"docker-default\""));
        assert_non_null(strstr(err.msg, "not enabled"));
        assert_int_equal(lnx_lsm_validate(&s, &aa, &err), 0);
}

static void test_selinux_label_without_selinux_is_ignored(void **state)
{
        struct lnx_lsm none = {0};
        struct oci_spec s = spec_with(NULL, "system_u:system_r:container_t:s0");
        struct cella_error err = {0};
        char buf[256];
        const char *file = NULL;
        assert_int_equal(lnx_lsm_validate(&s, &none, &err), 0);
        assert_null(lnx_lsm_exec_attr(&s, &none, buf, sizeof(buf), &file));
        assert_int_equal(lnx_lsm_apply(&s, &none, &err), 0);
}

static void test_exec_attributes(void **state)
{
        struct lnx_lsm aa = {.apparmor = true}, se = {.selinux = true};
        char buf[256];
        const char *file = NULL;
        struct oci_spec s = spec_with("docker-default", "system_u:system_r:container_t:s0");
        assert_string_equal(lnx_lsm_exec_attr(&s, &aa, buf, sizeof(buf), &file),
                            "exec docker-default");
        assert_string_equal(file, "/proc/self/attr/apparmor/exec");
        assert_string_equal(lnx_lsm_exec_attr(&s, &se, buf, sizeof(buf), &file),
                            "system_u:system_r:container_t:s0");
        assert_string_equal(file, "/proc/self/attr/exec");
        struct oci_spec empty = spec_with(NULL, NULL);
        assert_null(lnx_lsm_exec_attr(&empty, &aa, buf, sizeof(buf), &file));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_detect),
            cmocka_unit_test(test_apparmor_profile_without_apparmor_is_an_error),
            cmocka_unit_test(test_selinux_label_without_selinux_is_ignored),
            cmocka_unit_test(test_exec_attributes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
