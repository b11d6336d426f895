/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image layer: pure logic (digests, path cleaning, whiteout rules, user lookup, platforms,
 * manifest parsing) with no files or network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "image/digest.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/snapshot.h"
#include "image/unpack.h"
#include "image/user.h"

#define A64   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B64   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C64   "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define HEX64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_digest_check(void **state)
{
        struct cella_error err = {0};
        assert_int_equal(img_digest_check("sha256:" HEX64, &err), 0);
        assert_int_equal(img_digest_check("sha256:" HEX64 "0", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "64 hex"));
        assert_int_equal(
            img_digest_check(
                "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", &err),
            -EINVAL);
        assert_int_equal(img_digest_check("sha512:" HEX64, &err), -ENOTSUP);
        assert_int_equal(img_digest_check(HEX64, &err), -EINVAL);
        assert_int_equal(img_digest_check("", &err), -EINVAL);
        assert_int_equal(img_digest_check("sha256:../../etc/passwd", &err), -EINVAL);
        assert_string_equal(img_digest_hex("sha256:" HEX64), HEX64);
}

static void test_sha256(void **state)
{
        char d[IMG_DIGEST_MAX];
        assert_int_equal(img_sha256_buf("", 0, d), 0);
        assert_string_equal(d, "sha256:" HEX64);
        assert_int_equal(img_sha256_buf("abc", 3, d), 0);
        assert_string_equal(
            d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        struct cella_error err = {0};
        assert_int_equal(img_digest_verify_buf("abd", 3, d, "blob x", &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "digest mismatch on blob x"));
}

static void check_clean(const char *in, const char *want)
{
        char *out = NULL;
        assert_int_equal(img_path_clean(in, &out), 0);
        assert_string_equal(out, want);
        free(out);
}

static void test_path_clean(void **state)
{
        check_clean("a/b/c", "a/b/c");
        check_clean("./a//b/./c/", "a/b/c");
        check_clean("/etc/passwd", "etc/passwd");
        check_clean("../../etc/passwd", "etc/passwd");
        check_clean("a/../../../b", "b");
        check_clean("a/b/../c", "a/c");
        check_clean("./", "");
        check_clean("..", "");
        check_clean("/", "");
        check_clean("a/..", "");
        check_clean("...", "...");
        check_clean("a/..b", "a/..b");
}

static void test_whiteout_kind(void **state)
{
        const char *t = NULL;
        assert_int_equal(img_whiteout_kind("file", &t), IMG_WHITEOUT_NONE);
        assert_int_equal(img_whiteout_kind(".whfile", &t), IMG_WHITEOUT_NONE);
        assert_int_equal(img_whiteout_kind(".wh..wh..opq", &t), IMG_WHITEOUT_OPAQUE);
        assert_int_equal(img_whiteout_kind(".wh.foo", &t), IMG_WHITEOUT_FILE);
        assert_string_equal(t, "foo");
        assert_int_equal(img_whiteout_kind(".wh..hidden", &t), IMG_WHITEOUT_FILE);
        assert_string_equal(t, ".hidden");
        assert_int_equal(img_whiteout_kind(".wh.", &t), IMG_WHITEOUT_INVALID);
        assert_int_equal(img_whiteout_kind(".wh..", &t), IMG_WHITEOUT_INVALID);
        assert_int_equal(img_whiteout_kind(".wh...", &t), IMG_WHITEOUT_INVALID);
        assert_int_equal(img_whiteout_kind(".wh..wh.plnk", &t), IMG_WHITEOUT_INVALID);
}

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "# comment\n"
                             "broken line\n"
                             "app:x:1000:1001::/home/app:/bin/sh\n"
                             "bad:x:notanumber:1::/:/bin/sh";
static const char group[] = "root:x:0:\n"
                            "app:x:1001:\n"
                            "wheel:x:10:root,app\n"
                            "audio:x:29:other,app\n"
                            "video:x:44:apples\n";

static void test_user_resolve(void **state)
{
        struct img_user u;
        struct cella_error err = {0};
        assert_int_equal(img_user_resolve("", passwd, group, &u, &err), 0);
        assert_int_equal(u.uid, 0);
        assert_int_equal(u.gid, 0);
        assert_int_equal(u.n_groups, 1); /* wheel */
        assert_int_equal(img_user_resolve("app", passwd, group, &u, &err), 0);
        assert_int_equal(u.uid, 1000);
        assert_int_equal(u.gid, 1001);
        assert_int_equal(u.n_groups, 2);
        assert_int_equal(u.groups[0], 10);
        assert_int_equal(u.groups[1], 29);
        assert_int_equal(img_user_resolve("1000:44", passwd, group, &u, &err), 0);
        assert_int_equal(u.uid, 1000);
        assert_int_equal(u.gid, 44);
        assert_int_equal(img_user_resolve("app:wheel", passwd, group, &u, &err), 0);
        assert_int_equal(u.gid, 10);
        assert_int_equal(img_user_resolve("4242", NULL, NULL, &u, &err), 0);
        assert_int_equal(u.uid, 4242);
        assert_int_equal(u.gid, 0);
        assert_int_equal(img_user_resolve("nobody", passwd, group, &u, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "\"nobody\" not found"));
        assert_int_equal(img_user_resolve("app:nogroup", passwd, group, &u, &err), -ENOENT);
        assert_int_equal(img_user_resolve("bad", passwd, group, &u, &err), -EINVAL);
        assert_int_equal(img_user_resolve("4294967295", passwd, group, &u, &err), -ENOENT);
        assert_int_equal(img_user_resolve("root", NULL, NULL, &u, &err), -ENOENT);
}

static void test_platform(void **state)
{
        struct img_platform p;
        struct cella_error err = {0};
        assert_int_equal(img_platform_parse("linux/amd64", &p, &err), 0);
        assert_string_equal(p.os, "linux");
        assert_string_equal(p.arch, "amd64");
        assert_string_equal(p.variant, "");
        assert_int_equal(img_platform_parse("linux/aarch64/v8", &p, &err), 0);
        assert_string_equal(p.arch, "arm64");
        assert_string_equal(p.variant, "v8");
        assert_int_equal(img_platform_parse("linux", &p, &err), -EINVAL);
        assert_int_equal(img_platform_parse("linux/arm/v7/x", &p, &err), -EINVAL);
        assert_int_equal(img_platform_parse("linux//v7", &p, &err), -EINVAL);
}

static const char index_json[] =
    "{\"schemaVersion\":2,\"manifests\":["
    "{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"sha256:" HEX64 "\",\"size\":1,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
    "{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"sha256:" HEX64 "\",\"size\":2,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
    "{\"mediaType\":\"" IMG_MT_DOCKER_MANIFEST "\",\"digest\":\"sha256:" HEX64 "\",\"size\":3,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";

static void test_index_select(void **state)
{
        struct img_index idx;
        struct img_platform p;
        struct cella_error err = {0};
        size_t i;
        assert_int_equal(img_index_parse(index_json, 0, &idx, &err), 0);
        assert_int_equal(idx.n_manifests, 3);
        img_platform_parse("linux/amd64", &p, &err);
        assert_int_equal(img_index_select(&idx, &p, &i, &err), 0);
        assert_int_equal(i, 2);
        img_platform_parse("linux/arm64/v8", &p, &err);
        assert_int_equal(img_index_select(&idx, &p, &i, &err), 0);
        assert_int_equal(i, 1);
        img_platform_parse("linux/arm/v7", &p, &err);
        assert_int_equal(img_index_select(&idx, &p, &i, &err), 0);
        assert_int_equal(i, 0);
        img_platform_parse("linux/s390x", &p, &err);
        assert_int_equal(img_index_select(&idx, &p, &i, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "linux/s390x"));
        img_index_free(&idx);
}

static void test_manifest_parse(void **state)
{
        struct img_manifest m;
        struct cella_error err = {0};
        const char *good = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" IMG_MT_OCI_CONFIG
                           "\",\"digest\":\"sha256:" HEX64
                           "\",\"size\":7},\"layers\":[{\"mediaType\":\"" IMG_MT_OCI_LAYER_GZIP
                           "\",\"digest\":\"sha256:" HEX64 "\",\"size\":9}]}";
        assert_int_equal(img_manifest_parse(good, 0, &m, &err), 0);
        assert_int_equal(m.n_layers, 1);
        assert_int_equal(m.config.size, 7);
        assert_int_equal(m.layers[0].size, 9);
        img_manifest_free(&m);
        const char *bad_digest = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":"
                                 "\"sha256:../x\",\"size\":7},\"layers\":[]}";
        assert_int_equal(img_manifest_parse(bad_digest, 0, &m, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "config"));
        const char *neg = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":"
                          "\"sha256:" HEX64 "\",\"size\":-1},\"layers\":[]}";
        assert_int_equal(img_manifest_parse(neg, 0, &m, &err), -EINVAL);
        assert_int_equal(img_manifest_parse("{\"schemaVersion\":1}", 0, &m, &err), -ENOTSUP);
        assert_int_equal(img_manifest_parse("[1,2", 0, &m, &err), -EINVAL);
        assert_int_equal(img_manifest_parse("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\","
                                            "\"digest\":\"sha256:" HEX64 "\",\"size\":7}}",
                                            0, &m, &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "layers"));
}

static void check_ref(const char *in, const char *domain, const char *path, const char *tag,
                      const char *digest, const char *full)
{
        struct img_ref r;
        struct cella_error err = {0};
        char buf[IMG_REF_NAME_MAX];
        assert_int_equal(img_ref_parse(in, &r, &err), 0);
        assert_string_equal(r.domain, domain);
        assert_string_equal(r.path, path);
        assert_string_equal(r.tag, tag);
        assert_string_equal(r.digest, digest);
        img_ref_format(&r, buf);
        assert_string_equal(buf, full);
}

static void test_reference_parse(void **state)
{
        check_ref("busybox", "docker.io", "library/busybox", "latest", "",
                  "docker.io/library/busybox:latest");
        check_ref("user/app:v1.2-rc_3", "docker.io", "user/app", "v1.2-rc_3", "",
                  "docker.io/user/app:v1.2-rc_3");
        check_ref("localhost:5000/app", "localhost:5000", "app", "latest", "",
                  "localhost:5000/app:latest");
        check_ref("localhost/app:x", "localhost", "app", "x", "", "localhost/app:x");
        check_ref("registry.example.com/a/b/c:tag", "registry.example.com", "a/b/c", "tag", "",
                  "registry.example.com/a/b/c:tag");
        check_ref("127.0.0.1:5000/x@sha256:" HEX64, "127.0.0.1:5000", "x", "", "sha256:" HEX64,
                  "127.0.0.1:5000/x@sha256:" HEX64);
        check_ref("app:1@sha256:" HEX64, "docker.io", "library/app", "1", "sha256:" HEX64,
                  "docker.io/library/app:1@sha256:" HEX64);
        check_ref("a__b/c-d--e.f", "docker.io", "a__b/c-d--e.f", "latest", "",
                  "docker.io/a__b/c-d--e.f:latest");
        check_ref("[::1]:5000/x:y", "[::1]:5000", "x", "y", "", "[::1]:5000/x:y");

        struct img_ref r;
        struct cella_error err = {0};
        const char *bad[] = {
            "",         "UPPER",          "app:",           "app:-tag", "a//b",
            "/abs",     "app@sha256:123", "app@md5:" HEX64, "-app",     "app-",
            "a___b",    "reg:99999999/x", "app:tag:more",   "a b",      "a..b/x",
            "-a.com/x", "a.com./x",       ".../x",          "[]/x",     "a_b.com/x"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (img_ref_parse(bad[i], &r, &err) == 0)
                        fail_msg("\"%s\" should not parse", bad[i]);
        }
        /* a registry name longer than its field must be refused, not overflow into path */
        char longname[400];
        memset(longname, 'a', 300);
        strcpy(longname + 300, ".com/x");
        assert_int_equal(img_ref_parse(longname, &r, &err), -EINVAL);
        char buf[IMG_REF_NAME_MAX];
        assert_int_equal(img_ref_parse("docker.io/library/busybox:1", &r, &err), 0);
        img_ref_familiar(&r, buf);
        assert_string_equal(buf, "busybox:1");
        assert_int_equal(img_ref_parse("quay.io/x/y", &r, &err), 0);
        img_ref_familiar(&r, buf);
        assert_string_equal(buf, "quay.io/x/y:latest");
        img_ref_repository(&r, buf);
        assert_string_equal(buf, "quay.io/x/y");
}

static void test_chain_ids(void **state)
{
        char *ids[] = {"sha256:" A64, "sha256:" B64, "sha256:" C64};
        char chain[3][IMG_DIGEST_MAX];
        assert_int_equal(img_chain_ids(ids, 3, chain), 0);
        assert_string_equal(chain[0], "sha256:" A64); /* ChainID(L0) = DiffID(L0) */
        /* sha256(ChainID(n-1) + " " + DiffID(n)), computed independently with Python */
        assert_string_equal(
            chain[1], "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
        assert_string_equal(
            chain[2], "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_digest_check),    cmocka_unit_test(test_sha256),
            cmocka_unit_test(test_path_clean),      cmocka_unit_test(test_whiteout_kind),
            cmocka_unit_test(test_user_resolve),    cmocka_unit_test(test_platform),
            cmocka_unit_test(test_index_select),    cmocka_unit_test(test_manifest_parse),
            cmocka_unit_test(test_reference_parse), cmocka_unit_test(test_chain_ids),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
