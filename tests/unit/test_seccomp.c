/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.seccomp: translation and validation (through libseccomp's PFC rendering), and real
 * filters loaded in forked children whose syscalls are observed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/json.h"
#include "linux/seccomp_filter.h"

/* ---- a config.json linux.seccomp fragment -> struct oci_seccomp (until the parser lands) ---- */

static char **strv_from_json(struct json_object *a, size_t *ret_n)
{
        size_t n = a ? json_object_array_length(a) : 0;
        char **v = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                v[i] = strdup(json_object_get_string(json_object_array_get_idx(a, i)));
        *ret_n = n;
        return v;
}

static struct json_object *get(struct json_object *o, const char *key)
{
        struct json_object *v = NULL;
        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static char *str_or_null(struct json_object *o, const char *key)
{
        struct json_object *v = get(o, key);
        return v ? strdup(json_object_get_string(v)) : NULL;
}

static void syscall_from_json(struct json_object *o, struct oci_seccomp_syscall *sc)
{
        sc->names = strv_from_json(get(o, "names"), &sc->n_names);
        sc->action = str_or_null(o, "action");
        struct json_object *e = get(o, "errnoRet");
        sc->has_errno_ret = e != NULL;
        sc->errno_ret = e ? (uint32_t)json_object_get_uint64(e) : 0;
        struct json_object *args = get(o, "args");
        sc->n_args = args ? json_object_array_length(args) : 0;
        sc->args = calloc(sc->n_args + 1, sizeof(*sc->args));
        for (size_t j = 0; j < sc->n_args; j++) {
                struct json_object *a = json_object_array_get_idx(args, j);
                sc->args[j].index = (uint32_t)json_object_get_uint64(get(a, "index"));
                sc->args[j].value = json_object_get_uint64(get(a, "value"));
                sc->args[j].value_two = json_object_get_uint64(get(a, "valueTwo"));
                sc->args[j].op = str_or_null(a, "op");
        }
}

static struct oci_seccomp *seccomp_from_obj(struct json_object *o)
{
        struct oci_seccomp *s = calloc(1, sizeof(*s));
        s->default_action = str_or_null(o, "defaultAction");
        struct json_object *e = get(o, "defaultErrnoRet");
        s->has_default_errno_ret = e != NULL;
        s->default_errno_ret = e ? (uint32_t)json_object_get_uint64(e) : 0;
        s->architectures = strv_from_json(get(o, "architectures"), &s->n_architectures);
        s->flags = strv_from_json(get(o, "flags"), &s->n_flags);
        s->listener_path = str_or_null(o, "listenerPath");
        s->listener_metadata = str_or_null(o, "listenerMetadata");
        struct json_object *calls = get(o, "syscalls");
        s->n_syscalls = calls ? json_object_array_length(calls) : 0;
        s->syscalls = calloc(s->n_syscalls + 1, sizeof(*s->syscalls));
        for (size_t i = 0; i < s->n_syscalls; i++)
                syscall_from_json(json_object_array_get_idx(calls, i), &s->syscalls[i]);
        return s;
}

static void strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

static void seccomp_free_spec(struct oci_seccomp *s)
{
        for (size_t i = 0; i < s->n_syscalls; i++) {
                strv_free(s->syscalls[i].names);
                free(s->syscalls[i].action);
                for (size_t j = 0; j < s->syscalls[i].n_args; j++)
                        free(s->syscalls[i].args[j].op);
                free(s->syscalls[i].args);
        }
        free(s->syscalls);
        free(s->default_action);
        strv_free(s->architectures);
        strv_free(s->flags);
        free(s->listener_path);
        free(s->listener_metadata);
        free(s);
}

/* Prepares a filter from JSON text (printf-style). */
static int __attribute__((format(printf, 3, 4)))
prepare(struct lnx_seccomp **ret, struct cella_error *err, const char *fmt, ...)
{
        char text[8192];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        struct json_object *o = NULL;
        struct cella_error perr = {0};
        if (json_parse_text(text, 0, &o, &perr) < 0)
                fail_msg("bad test JSON: %s\n%s", perr.msg, text);
        struct oci_seccomp *s = seccomp_from_obj(o);
        json_object_put(o);
        cella_error_clear(err);
        struct lnx_seccomp *f = NULL;
        int r = lnx_seccomp_prepare(s, &f, err);
        seccomp_free_spec(s);
        if (ret)
                *ret = f;
        else
                lnx_seccomp_free(f);
        return r;
}

#define PREPARE_OK(f, ...)                                                                         \
        do {                                                                                       \
                struct cella_error _e = {0};                                                       \
                int _r = prepare(&(f), &_e, __VA_ARGS__);                                          \
                if (_r < 0)                                                                        \
                        fail_msg("prepare failed: %s", _e.msg);                                    \
        } while (0)

static char *pfc_text(struct lnx_seccomp *f)
{
        int fd = memfd_create("pfc", MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(lnx_seccomp_export_pfc(f, fd), 0);
        off_t size = lseek(fd, 0, SEEK_END);
        char *buf = calloc(1, size + 1);
        assert_int_equal(pread(fd, buf, size, 0), size);
        close(fd);
        return buf;
}

static bool root(void)
{
        return geteuid() == 0;
}

/* ---- running code under a filter in a forked child ---- */

typedef int (*child_fn)(void *arg);

/* Forks; the child loads f and returns fn's result as exit status. Returns the wait status. */
static int run_filtered(struct lnx_seccomp *f, child_fn fn, void *arg)
{
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct cella_error err = {0};
                /* cmocka catches SIGSYS; a container process starts with default handlers. */
                signal(SIGSYS, SIG_DFL);
                /* Also lets the tests run without CAP_SYS_ADMIN. */
                prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                if (lnx_seccomp_load(f, NULL, &err) < 0) {
                        fprintf(stderr, "load: %s\n", err.msg);
                        _exit(200);
                }
                _exit(fn(arg));
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return status;
}

static void assert_exit(int status, int code)
{
        if (!WIFEXITED(status))
                fail_msg("child did not exit: signal %d",
                         WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        assert_int_equal(WEXITSTATUS(status), code);
}

/* Exit codes: 0 = syscall succeeded, else its errno. */
static int errno_of(long r)
{
        return r < 0 ? errno : 0;
}

static int do_getppid(void *arg)
{
        return errno_of(syscall(SYS_getppid));
}

static int do_getcwd(void *arg)
{
        char buf[256];
        return errno_of(syscall(SYS_getcwd, buf, sizeof(buf)));
}

static int do_mkdir(void *arg)
{
        /* A path that cannot exist: success is impossible without the filter's help. */
        return errno_of(syscall(SYS_mkdir, (const char *)arg, 0700));
}

static int do_umask(void *arg)
{
        return errno_of(syscall(SYS_umask, (long)(intptr_t)arg));
}

static bool features_has(const char *key, const char *name)
{
        struct json_object *feat = lnx_seccomp_features(), *a;
        bool found = false;
        if (json_object_object_get_ex(feat, key, &a))
                for (size_t i = 0; i < json_object_array_length(a); i++)
                        if (strcmp(json_object_get_string(json_object_array_get_idx(a, i)), name) ==
                            0)
                                found = true;
        json_object_put(feat);
        return found;
}

/* ---- translation ---- */

static void test_actions_translate(void **state)
{
        static const struct {
                const char *action;
                const char *extra;
                const char *pfc;
        } cases[] = {
            {"SCMP_ACT_KILL", "", "action KILL;"},
            {"SCMP_ACT_KILL_THREAD", "", "action KILL;"},
            {"SCMP_ACT_KILL_PROCESS", "", "action KILL_PROCESS;"},
            {"SCMP_ACT_TRAP", "", "action TRAP;"},
            {"SCMP_ACT_ERRNO", "", "action ERRNO(1);"},
            {"SCMP_ACT_ERRNO", ", \"errnoRet\": 38", "action ERRNO(38);"},
            {"SCMP_ACT_TRACE", "", "action TRACE(1);"},
            {"SCMP_ACT_TRACE", ", \"errnoRet\": 7", "action TRACE(7);"},
            {"SCMP_ACT_LOG", "", "action LOG;"},
            {"SCMP_ACT_NOTIFY", "", "action 0x7fc00000;"}, /* libseccomp 2.5 prints it raw */
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct lnx_seccomp *f;
                PREPARE_OK(f,
                           "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/x\","
                           " \"syscalls\": [{\"names\": [\"getppid\"], \"action\": \"%s\"%s}]}",
                           cases[i].action, cases[i].extra);
                _cleanup_free_ char *text = pfc_text(f);
                if (!strstr(text, cases[i].pfc))
                        fail_msg("%s: expected \"%s\" in:\n%s", cases[i].action, cases[i].pfc,
                                 text);
                assert_int_equal(lnx_seccomp_uses_notify(f),
                                 strcmp(cases[i].action, "SCMP_ACT_NOTIFY") == 0);
                assert_true(lnx_seccomp_program_size(f) > 0);
                lnx_seccomp_free(f);
        }
        /* ALLOW as a rule under a blocking default. */
        struct lnx_seccomp *f;
        PREPARE_OK(f, "{\"defaultAction\": \"SCMP_ACT_KILL_PROCESS\", \"syscalls\": "
                      "[{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
        _cleanup_free_ char *text = pfc_text(f);
        assert_non_null(strstr(text, "action ALLOW;"));
        assert_non_null(strstr(text, "action KILL_PROCESS;"));
        lnx_seccomp_free(f);
}

/* The rendering libseccomp gives the same rule built by hand: the translation must match it. */
static char *reference_pfc(enum scmp_compare op, uint64_t a, uint64_t b)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        struct scmp_arg_cmp cmp = {.arg = 0, .op = op, .datum_a = a, .datum_b = b};
        assert_int_equal(seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(1), SCMP_SYS(umask), 1, &cmp),
                         0);
        int fd = memfd_create("pfc", MFD_CLOEXEC);
        assert_int_equal(seccomp_export_pfc(ctx, fd), 0);
        seccomp_release(ctx);
        off_t size = lseek(fd, 0, SEEK_END);
        char *buf = calloc(1, size + 1);
        assert_int_equal(pread(fd, buf, size, 0), size);
        close(fd);
        return buf;
}

static void test_ops_translate(void **state)
{
        static const struct {
                const char *op;
                enum scmp_compare cmp;
        } cases[] = {
            {"SCMP_CMP_NE", SCMP_CMP_NE},
            {"SCMP_CMP_LT", SCMP_CMP_LT},
            {"SCMP_CMP_LE", SCMP_CMP_LE},
            {"SCMP_CMP_EQ", SCMP_CMP_EQ},
            {"SCMP_CMP_GE", SCMP_CMP_GE},
            {"SCMP_CMP_GT", SCMP_CMP_GT},
            {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct lnx_seccomp *f;
                PREPARE_OK(f,
                           "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                           "[\"umask\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, "
                           "\"value\": 18, \"valueTwo\": 2, \"op\": \"%s\"}]}]}",
                           cases[i].op);
                _cleanup_free_ char *text = pfc_text(f);
                _cleanup_free_ char *want = reference_pfc(cases[i].cmp, 18, 2);
                if (strcmp(text, want) != 0)
                        fail_msg("%s: got\n%s\nwant\n%s", cases[i].op, text, want);
                lnx_seccomp_free(f);
        }
}

static void test_archs_translate(void **state)
{
        static const struct {
                const char *name, *pfc;
        } cases[] = {
            {"SCMP_ARCH_X86", "arch x86 "},
            {"SCMP_ARCH_X86_64", "arch x86_64 "},
            {"SCMP_ARCH_X32", "arch x32 "},
            {"SCMP_ARCH_ARM", "arch arm "},
            {"SCMP_ARCH_AARCH64", "arch aarch64 "},
            {"SCMP_ARCH_MIPS", "arch mips "},
            {"SCMP_ARCH_MIPS64", "arch mips64 "},
            {"SCMP_ARCH_MIPS64N32", "arch mips64n32 "},
            {"SCMP_ARCH_MIPSEL", "arch mipsel "},
            {"SCMP_ARCH_MIPSEL64", "arch mipsel64 "},
            {"SCMP_ARCH_MIPSEL64N32", "arch mipsel64n32 "},
            {"SCMP_ARCH_PPC", "arch ppc "},
            {"SCMP_ARCH_PPC64", "arch ppc64 "},
            {"SCMP_ARCH_PPC64LE", "arch ppc64le "},
            {"SCMP_ARCH_S390", "arch s390 "},
            {"SCMP_ARCH_S390X", "arch s390x "},
            {"SCMP_ARCH_PARISC", "arch parisc "},
            {"SCMP_ARCH_PARISC64", "arch parisc64 "},
            {"SCMP_ARCH_RISCV64", "arch riscv64 "},
        };
        size_t tested = 0;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct lnx_seccomp *f;
                if (!features_has("archs", cases[i].name)) {
                        /* Other byte order than the native arch: refused, with the path. */
                        struct cella_error err;
                        assert_true(prepare(NULL, &err,
                                            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
                                            "\"architectures\": [\"%s\"]}",
                                            cases[i].name) < 0);
                        assert_non_null(strstr(err.msg, "linux.seccomp.architectures[0]"));
                        continue;
                }
                tested++;
                PREPARE_OK(
                    f,
                    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"%s\"],"
                    " \"syscalls\": [{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
                    cases[i].name);
                _cleanup_free_ char *text = pfc_text(f);
                if (!strstr(text, cases[i].pfc))
                        fail_msg("%s: expected \"%s\" in:\n%s", cases[i].name, cases[i].pfc, text);
                lnx_seccomp_free(f);
        }
        assert_true(tested >= 3);
}

static void test_flags_load(void **state)
{
        static const char *const flags[] = {
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        };
        for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
                struct lnx_seccomp *f = NULL;
                struct cella_error err;
                int r = prepare(&f, &err,
                                "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"%s\"],"
                                " \"syscalls\": [{\"names\": [\"getcwd\"], \"action\": "
                                "\"SCMP_ACT_ERRNO\", \"errnoRet\": 38}]}",
                                flags[i]);
                if (!features_has("supportedFlags", flags[i])) {
                        /* Unsupported flags must be refused with the JSON path. */
                        assert_int_equal(r, -EOPNOTSUPP);
                        assert_non_null(strstr(err.msg, "linux.seccomp.flags[0]"));
                        continue;
                }
                if (r < 0)
                        fail_msg("%s: %s", flags[i], err.msg);
                assert_exit(run_filtered(f, do_getcwd, NULL), ENOSYS);
                lnx_seccomp_free(f);
        }
}

static void test_errors_name_the_path(void **state)
{
        static const struct {
                const char *json, *msg;
        } cases[] = {
            {"{\"defaultAction\": \"SCMP_ACT_FOO\"}",
             "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\""},
            {"{\"defaultAction\": \"SCMP_ACT_NOTIFY\", \"listenerPath\": \"/x\"}",
             "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
            {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 5}",
             "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"},
            {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 5000}",
             "linux.seccomp.defaultErrnoRet: 5000 is out of range (0..4095)"},
            {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\", "
             "\"SCMP_ARCH_Z80\"]}",
             "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\""},
            {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_BOGUS\"]}",
             "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_BOGUS\""},
            {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
             "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"},"
             "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"},"
             "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"},"
             "{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_FOO\"}]}",
             "linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\""},
            {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
             "{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_KILL\", \"errnoRet\": 1}]}",
             "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or "
             "SCMP_ACT_TRACE"},
            {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
             "{\"names\": [], \"action\": \"SCMP_ACT_KILL\"}]}",
             "linux.seccomp.syscalls[0].names: must not be empty"},
            {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
             "{\"names\": [\"mkdir\", \"\"], \"action\": \"SCMP_ACT_KILL\"}]}",
             "linux.seccomp.syscalls[0].names[1]: empty name"},
            {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"], "
             "\"action\": \"SCMP_ACT_KILL\", \"args\": [{\"index\": 6, \"value\": 1, \"op\": "
             "\"SCMP_CMP_EQ\"}]}]}",
             "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (0..5)"},
            {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"], "
             "\"action\": \"SCMP_ACT_KILL\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": "
             "\"SCMP_CMP_EQ\"}, {\"index\": 1, \"value\": 1, \"op\": \"SCMP_CMP_SORTA\"}]}]}",
             "linux.seccomp.syscalls[0].args[1].op: unknown operator \"SCMP_CMP_SORTA\""},
            {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
             "{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
             "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used"},
            {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/x\", \"syscalls\": ["
             "{\"names\": [\"mkdir\", \"write\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
             "linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for \"write\""},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct cella_error err;
                struct lnx_seccomp *f = NULL;
                int r = prepare(&f, &err, "%s", cases[i].json);
                if (r >= 0)
                        fail_msg("case %zu: accepted %s", i, cases[i].json);
                assert_null(f);
                assert_int_equal(err.code, -r);
                if (strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) != 0)
                        fail_msg("case %zu: expected \"%s\", got \"%s\"", i, cases[i].msg, err.msg);
        }
}

static void test_unknown_syscall_skipped(void **state)
{
        struct lnx_seccomp *f;
        PREPARE_OK(f, "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                      "[\"no_such_syscall_42\", \"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", "
                      "\"errnoRet\": 38}]}");
        _cleanup_free_ char *text = pfc_text(f);
        assert_non_null(strstr(text, "action ERRNO(38);"));
        assert_exit(run_filtered(f, do_getcwd, NULL), ENOSYS);
        lnx_seccomp_free(f);
}

/* ---- real filters ---- */

/* What the ASan/UBSan runtimes call on their own, so a default-deny filter can run under them. */
static const char sanitizer_syscalls[] =
    "\"sigaltstack\", \"gettid\", \"getpid\", \"write\", \"mmap\", \"munmap\", \"madvise\", "
    "\"mprotect\", \"rt_sigaction\", \"rt_sigprocmask\", \"prctl\", \"futex\", \"brk\", "
    "\"sched_yield\", \"openat\", \"read\", \"close\", \"readlink\"";

static void test_errno_actions(void **state)
{
        struct lnx_seccomp *f;
        /* getcwd -> ENOSYS (errnoRet), mkdir -> default EPERM, getppid -> defaultErrnoRet. */
        PREPARE_OK(f,
                   "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 18,"
                   " \"syscalls\": ["
                   "{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38},"
                   "{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\"},"
                   "{\"names\": [\"exit\", \"exit_group\", \"umask\", %s], \"action\": "
                   "\"SCMP_ACT_ALLOW\"}]}",
                   sanitizer_syscalls);
        assert_exit(run_filtered(f, do_getcwd, NULL), ENOSYS);
        assert_exit(run_filtered(f, do_mkdir, "/nonexistent-dir/x"), EPERM);
        assert_exit(run_filtered(f, do_getppid, NULL), EXDEV);
        assert_exit(run_filtered(f, do_umask, (void *)022), 0);
        lnx_seccomp_free(f);
}

static void test_kill_actions(void **state)
{
        static const char *const actions[] = {"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                              "SCMP_ACT_KILL", "SCMP_ACT_TRAP"};
        for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
                struct lnx_seccomp *f;
                PREPARE_OK(f,
                           "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                           "[\"getppid\"], \"action\": \"%s\"}]}",
                           actions[i]);
                int status = run_filtered(f, do_getppid, NULL);
                if (!WIFSIGNALED(status))
                        fail_msg("%s: child was not killed (status 0x%x)", actions[i], status);
                assert_int_equal(WTERMSIG(status), SIGSYS);
                lnx_seccomp_free(f);
        }
}

static void test_allow_log_trace(void **state)
{
        struct lnx_seccomp *f;
        PREPARE_OK(f, "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                      "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_LOG\"},"
                      "{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_TRACE\"}]}");
        assert_exit(run_filtered(f, do_getppid, NULL), 0);
        /* With no tracer attached the kernel fails a TRACE'd syscall with ENOSYS. */
        assert_exit(run_filtered(f, do_getcwd, NULL), ENOSYS);
        assert_exit(run_filtered(f, do_umask, (void *)022), 0);
        lnx_seccomp_free(f);
}

static int do_raw(void *arg)
{
        return errno_of(syscall((long)(intptr_t)arg, 0, 0, 0, 0, 0, 0));
}

static void test_enosys_for_newer_syscalls(void **state)
{
#if defined(__x86_64__) || defined(__aarch64__) || (defined(__riscv) && __riscv_xlen == 64)
        struct lnx_seccomp *f;
        /* The highest syscall the profile names decides what is "newer". */
        PREPARE_OK(f,
                   "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": "
                   "[\"exit\", \"exit_group\", \"getppid\", %s], \"action\": \"SCMP_ACT_ALLOW\"}]}",
                   sanitizer_syscalls);
        int max = -1;
        const char *names[] = {
            "exit",           "exit_group", "getppid", "sigaltstack", "gettid",      "getpid",
            "write",          "mmap",       "munmap",  "madvise",     "mprotect",    "rt_sigaction",
            "rt_sigprocmask", "prctl",      "futex",   "brk",         "sched_yield", "openat",
            "read",           "close",      "readlink"};
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (seccomp_syscall_resolve_name(names[i]) > max)
                        max = seccomp_syscall_resolve_name(names[i]);
        /* Below the threshold and not allowed: the default action. */
        assert_exit(run_filtered(f, do_getcwd, NULL), EPERM);
        /* Above it: ENOSYS, whatever the kernel has there. */
        assert_exit(run_filtered(f, do_raw, (void *)(intptr_t)(max + 1)), ENOSYS);
        assert_exit(run_filtered(f, do_raw, (void *)(intptr_t)(max + 200)), ENOSYS);
        assert_exit(run_filtered(f, do_getppid, NULL), 0);
        lnx_seccomp_free(f);

        /* No stub under an allowing default: the kernel answers for itself. */
        PREPARE_OK(f, "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                      "[\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");
        assert_exit(run_filtered(f, do_umask, (void *)022), 0);
        assert_exit(run_filtered(f, do_getcwd, NULL), EPERM);
        lnx_seccomp_free(f);
#else
        skip();
#endif
}

struct op_case {
        const char *op;
        uint64_t value, value_two;
        int blocked[4]; /* for umask(0), umask(2), umask(3), umask(7) */
};

static void test_ops_in_kernel(void **state)
{
        static const long inputs[] = {0, 2, 3, 7};
        static const struct op_case cases[] = {
            {"SCMP_CMP_NE", 3, 0, {1, 1, 0, 1}},
            {"SCMP_CMP_LT", 3, 0, {1, 1, 0, 0}},
            {"SCMP_CMP_LE", 3, 0, {1, 1, 1, 0}},
            {"SCMP_CMP_EQ", 3, 0, {0, 0, 1, 0}},
            {"SCMP_CMP_GE", 3, 0, {0, 0, 1, 1}},
            {"SCMP_CMP_GT", 3, 0, {0, 0, 0, 1}},
            /* (x & 6) == 2: 2 and 3 match, 0 and 7 do not. */
            {"SCMP_CMP_MASKED_EQ", 6, 2, {0, 1, 1, 0}},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct lnx_seccomp *f;
                PREPARE_OK(
                    f,
                    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                    "[\"umask\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 7, \"args\": "
                    "[{\"index\": 0, \"value\": %llu, \"valueTwo\": %llu, \"op\": \"%s\"}]}]}",
                    (unsigned long long)cases[i].value, (unsigned long long)cases[i].value_two,
                    cases[i].op);
                for (size_t j = 0; j < ARRAY_SIZE(inputs); j++) {
                        int status = run_filtered(f, do_umask, (void *)inputs[j]);
                        int want = cases[i].blocked[j] ? E2BIG : 0;
                        if (!WIFEXITED(status) || WEXITSTATUS(status) != want)
                                fail_msg("%s: umask(%ld) gave status 0x%x, want exit %d",
                                         cases[i].op, inputs[j], status, want);
                }
                lnx_seccomp_free(f);
        }
}

static int do_umask_pair(void *arg)
{
        /* arg1 is ignored by umask but still visible to the filter. */
        long *v = arg;
        return errno_of(syscall(SYS_umask, v[0], v[1]));
}

static void test_args_and_or(void **state)
{
        struct lnx_seccomp *f;
        /* Same index twice: ORed (umask(5) or umask(7)). */
        PREPARE_OK(f, "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                      "[\"umask\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
                      "{\"index\": 0, \"value\": 5, \"op\": \"SCMP_CMP_EQ\"},"
                      "{\"index\": 0, \"value\": 7, \"op\": \"SCMP_CMP_EQ\"}]}]}");
        assert_exit(run_filtered(f, do_umask, (void *)5), EPERM);
        assert_exit(run_filtered(f, do_umask, (void *)7), EPERM);
        assert_exit(run_filtered(f, do_umask, (void *)6), 0);
        lnx_seccomp_free(f);

        /* Different indexes: ANDed. */
        PREPARE_OK(f, "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                      "[\"umask\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
                      "{\"index\": 0, \"value\": 5, \"op\": \"SCMP_CMP_EQ\"},"
                      "{\"index\": 1, \"value\": 9, \"op\": \"SCMP_CMP_EQ\"}]}]}");
        long both[2] = {5, 9}, first[2] = {5, 8}, second[2] = {4, 9};
        assert_exit(run_filtered(f, do_umask_pair, both), EPERM);
        assert_exit(run_filtered(f, do_umask_pair, first), 0);
        assert_exit(run_filtered(f, do_umask_pair, second), 0);
        lnx_seccomp_free(f);
}

/* ---- NOTIFY ---- */

static int send_fd(int sock, int fd)
{
        char byte = 'F';
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        memset(&u, 0, sizeof(u));
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = sizeof(u.buf)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

/* Receives up to len bytes and an fd (-1 if none). */
static ssize_t recv_fd(int sock, char *buf, size_t len, int *ret_fd)
{
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = {.iov_base = buf, .iov_len = len};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = sizeof(u.buf)};
        ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        *ret_fd = -1;
        struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL;
        if (c && c->cmsg_type == SCM_RIGHTS)
                memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        return n;
}

/* The child: load, hand the listener fd out, then mkdir a path that cannot exist. */
static pid_t spawn_notify_child(struct lnx_seccomp *f, int sock)
{
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid > 0)
                return pid;
        struct cella_error err = {0};
        int nfd = -1;
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (lnx_seccomp_load(f, &nfd, &err) < 0 || nfd < 0)
                _exit(200);
        if (send_fd(sock, nfd) < 0)
                _exit(201);
        close(nfd);
        long r = syscall(SYS_mkdir, "/nonexistent-dir/x", 0700);
        _exit(r < 0 ? errno : 0);
}

/* Answers one notification: the syscall must be mkdir; fails it with `error` (0: success). */
static void answer_one(int nfd, int error)
{
        struct seccomp_notif *req;
        struct seccomp_notif_resp *resp;
        assert_int_equal(seccomp_notify_alloc(&req, &resp), 0);
        assert_int_equal(seccomp_notify_receive(nfd, req), 0);
        assert_int_equal(req->data.nr, seccomp_syscall_resolve_name("mkdir"));
        resp->id = req->id;
        resp->val = 0;
        resp->error = -error;
        resp->flags = 0;
        assert_int_equal(seccomp_notify_respond(nfd, resp), 0);
        seccomp_notify_free(req, resp);
}

static void test_notify_socketpair(void **state)
{
        if (!features_has("actions", "SCMP_ACT_NOTIFY"))
                skip();
        struct lnx_seccomp *f;
        PREPARE_OK(f, "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/unused\","
                      " \"flags\": [\"SECCOMP_FILTER_FLAG_TSYNC\"], \"syscalls\": [{\"names\": "
                      "[\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}");
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        for (int round = 0; round < 2; round++) {
                int want = round == 0 ? EXDEV : 0; /* a chosen errno, then fake success */
                pid_t pid = spawn_notify_child(f, sv[1]);
                char c;
                int nfd;
                assert_int_equal(recv_fd(sv[0], &c, 1, &nfd), 1);
                assert_true(nfd >= 0);
                answer_one(nfd, want);
                close(nfd);
                int status;
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_exit(status, want);
        }
        close(sv[0]);
        close(sv[1]);
        lnx_seccomp_free(f);
}

static void test_notify_listener(void **state)
{
        if (!features_has("actions", "SCMP_ACT_NOTIFY"))
                skip();
        char dir[] = "/tmp/cella-seccomp-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char path[128];
        snprintf(path, sizeof(path), "%s/agent.sock", dir);
        int lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        strcpy(addr.sun_path, path);
        assert_int_equal(bind(lsock, (struct sockaddr *)&addr, sizeof(addr)), 0);
        assert_int_equal(listen(lsock, 1), 0);

        struct lnx_seccomp *f;
        PREPARE_OK(f,
                   "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"%s\","
                   " \"listenerMetadata\": \"meta-42\", \"flags\": "
                   "[\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"], \"syscalls\": [{\"names\": "
                   "[\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
                   path);
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        pid_t pid = spawn_notify_child(f, sv[1]);
        char c;
        int nfd;
        assert_int_equal(recv_fd(sv[0], &c, 1, &nfd), 1);

        /* The runtime's side: pass the fd on to the agent with the container state. */
        char state_json[256];
        snprintf(state_json, sizeof(state_json),
                 "{\"ociVersion\": \"1.2.0\", \"id\": \"c1\", \"status\": \"creating\", "
                 "\"pid\": %d, \"bundle\": \"/b\"}",
                 (int)pid);
        struct cella_error err = {0};
        if (lnx_seccomp_send_notify_fd(path, nfd, state_json, "meta-42", &err) < 0)
                fail_msg("send: %s", err.msg);
        close(nfd);

        /* The agent's side. */
        int conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
        assert_true(conn >= 0);
        char buf[4096] = {0};
        int afd;
        ssize_t n = recv_fd(conn, buf, sizeof(buf) - 1, &afd);
        assert_true(n > 0);
        assert_true(afd >= 0);
        struct json_object *doc;
        assert_int_equal(json_parse_text(buf, (size_t)n, &doc, &err), 0);
        struct json_object *v, *st;
        assert_true(json_object_object_get_ex(doc, "ociVersion", &v));
        assert_string_equal(json_object_get_string(v), "1.2.0");
        assert_true(json_object_object_get_ex(doc, "fds", &v));
        assert_int_equal(json_object_array_length(v), 1);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)), "seccompFd");
        assert_true(json_object_object_get_ex(doc, "pid", &v));
        assert_int_equal(json_object_get_int(v), pid);
        assert_true(json_object_object_get_ex(doc, "metadata", &v));
        assert_string_equal(json_object_get_string(v), "meta-42");
        assert_true(json_object_object_get_ex(doc, "state", &st));
        assert_true(json_object_object_get_ex(st, "id", &v));
        assert_string_equal(json_object_get_string(v), "c1");
        json_object_put(doc);

        answer_one(afd, ENOTSUP);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_exit(status, ENOTSUP);
        close(afd);
        close(conn);
        close(lsock);
        close(sv[0]);
        close(sv[1]);
        unlink(path);
        rmdir(dir);
        lnx_seccomp_free(f);
}

/* ---- compile cache ---- */

static struct lnx_seccomp *prepare_cached(int dir_fd, const char *json)
{
        struct json_object *o = NULL;
        struct cella_error err = {0};
        assert_int_equal(json_parse_text(json, 0, &o, &err), 0);
        struct oci_seccomp *s = seccomp_from_obj(o);
        json_object_put(o);
        struct lnx_seccomp *f = NULL;
        if (lnx_seccomp_prepare_cached(s, dir_fd, &f, &err) < 0)
                fail_msg("prepare_cached: %s", err.msg);
        seccomp_free_spec(s);
        return f;
}

static size_t count_entries(const char *dir)
{
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "ls %s | grep -c '\\.bpf$'", dir);
        FILE *p = popen(cmd, "r");
        size_t n = 0;
        assert_int_equal(fscanf(p, "%zu", &n), 1);
        pclose(p);
        return n;
}

static void test_compile_cache(void **state)
{
        static const char profile[] =
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86\"],"
            " \"syscalls\": [{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\","
            " \"errnoRet\": 38}]}";
        char dir[] = "/tmp/cella-seccomp-cache-XXXXXX";
        assert_non_null(mkdtemp(dir));
        int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dir_fd >= 0);

        /* Miss: compiled (the context has the rules) and stored. */
        struct lnx_seccomp *f1 = prepare_cached(dir_fd, profile);
        int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        assert_int_equal(lnx_seccomp_export_pfc(f1, null_fd), 0);
        assert_int_equal(count_entries(dir), 1);

        /* Hit: the program comes from the file, identical, and it works. */
        struct lnx_seccomp *f2 = prepare_cached(dir_fd, profile);
        assert_int_equal(lnx_seccomp_export_pfc(f2, null_fd), -ENODATA);
        assert_int_equal(lnx_seccomp_program_size(f2), lnx_seccomp_program_size(f1));
        assert_exit(run_filtered(f2, do_getcwd, NULL), ENOSYS);
        lnx_seccomp_free(f2);

        /* A different profile is a different entry. */
        f2 = prepare_cached(dir_fd, "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
                                    "[{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\","
                                    " \"errnoRet\": 39}]}");
        assert_int_equal(lnx_seccomp_export_pfc(f2, null_fd), 0);
        assert_int_equal(count_entries(dir), 2);
        lnx_seccomp_free(f2);

        /* A damaged entry (one key byte changed) is a miss, recompiled and rewritten. */
        char cmd[512];
        snprintf(cmd, sizeof(cmd),
                 "for f in %s/*.bpf; do printf 'Z' | dd of=$f bs=1 seek=20 conv=notrunc "
                 "status=none; done",
                 dir);
        assert_int_equal(system(cmd), 0);
        f2 = prepare_cached(dir_fd, profile);
        assert_int_equal(lnx_seccomp_export_pfc(f2, null_fd), 0);
        assert_exit(run_filtered(f2, do_getcwd, NULL), ENOSYS);
        lnx_seccomp_free(f2);
        f2 = prepare_cached(dir_fd, profile);
        assert_int_equal(lnx_seccomp_export_pfc(f2, null_fd), -ENODATA);
        lnx_seccomp_free(f2);

        lnx_seccomp_free(f1);
        close(null_fd);
        close(dir_fd);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
}

/* ---- default profile ---- */

static struct lnx_seccomp *prepare_profile(struct json_object *profile)
{
        struct oci_seccomp *s = seccomp_from_obj(profile);
        struct lnx_seccomp *f = NULL;
        struct cella_error err = {0};
        if (lnx_seccomp_prepare(s, &f, &err) < 0)
                fail_msg("default profile: %s", err.msg);
        seccomp_free_spec(s);
        return f;
}

/* Exit code: the number of the first check that failed (0: all as expected). */
static int default_profile_checks(void *arg)
{
        errno = 0;
        if (syscall(SYS_getpid) <= 0)
                return 1;
        if (mount("none", "/mnt", "tmpfs", 0, NULL) == 0 || errno != EPERM)
                return 2;
        if (unshare(CLONE_NEWUSER) == 0 || errno != EPERM)
                return 3;
        if (syscall(SYS_keyctl, 0, 0, 0, 0, 0) == 0 || errno != EPERM)
                return 4;
        if (syscall(SYS_kexec_load, 0, 0, NULL, 0) == 0 || errno != EPERM)
                return 5;
        if (syscall(SYS_bpf, 0, NULL, 0) == 0 || errno != EPERM)
                return 6;
        if (syscall(SYS_clone3, NULL, 0) == 0 || errno != ENOSYS)
                return 7;
        if (syscall(SYS_socket, 40 /* AF_VSOCK */, SOCK_STREAM, 0) >= 0 || errno != EPERM)
                return 8;
        if (syscall(SYS_personality, 0xffffffffUL) < 0)
                return 9;
        /* clone with CLONE_NEWUSER is refused, a plain fork works. */
        if (syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0) >= 0 || errno != EPERM)
                return 10;
        pid_t pid = fork();
        if (pid == 0)
                _exit(0);
        if (pid < 0 || waitpid(pid, NULL, 0) != pid)
                return 11;
        if (syscall(SYS_init_module, NULL, 0, "") == 0 || errno != EPERM)
                return 12;
        if (syscall(SYS_userfaultfd, 0) >= 0 || errno != EPERM)
                return 13;
#if defined(__x86_64__) || defined(__aarch64__)
        /* fchmodat2 (452) is newer than Docker's profile: ENOSYS, so libc falls back. */
        if (syscall(452, AT_FDCWD, "/", 0755, 0) == 0 || errno != ENOSYS)
                return 14;
#endif
        return 0;
}

static void test_default_profile(void **state)
{
        struct json_object *p = lnx_seccomp_default_profile(), *v;
        assert_true(json_object_object_get_ex(p, "defaultAction", &v));
        assert_string_equal(json_object_get_string(v), "SCMP_ACT_ERRNO");
        assert_true(json_object_object_get_ex(p, "defaultErrnoRet", &v));
        assert_int_equal(json_object_get_int(v), EPERM);
#ifdef __x86_64__
        assert_true(json_object_object_get_ex(p, "architectures", &v));
        assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)),
                            "SCMP_ARCH_X86_64");
#endif
        const char *text = json_to_string(p, 0);
        /* Capability-gated syscalls stay out with Docker's default capabilities. */
        assert_null(strstr(text, "\"mount\""));
        assert_null(strstr(text, "\"kexec_load\""));
        assert_null(strstr(text, "\"keyctl\""));
        assert_non_null(strstr(text, "\"chroot\"")); /* CAP_SYS_CHROOT is a default cap */

        struct lnx_seccomp *f = prepare_profile(p);
        json_object_put(p);
        int status = run_filtered(f, default_profile_checks, NULL);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("default profile check %d failed (status 0x%x)", WEXITSTATUS(status),
                         status);
        lnx_seccomp_free(f);
}

static int unshare_uts(void *arg)
{
        return errno_of(unshare(CLONE_NEWUTS));
}

static void test_default_profile_caps(void **state)
{
        struct json_object *p = lnx_seccomp_default_profile_for_caps(1ULL << 21 /* SYS_ADMIN */);
        const char *text = json_to_string(p, 0);
        assert_non_null(strstr(text, "\"mount\""));
        assert_null(strstr(text, "SCMP_CMP_MASKED_EQ")); /* clone is unrestricted */
        assert_null(strstr(text, "\"chroot\""));         /* no CAP_SYS_CHROOT */
        struct lnx_seccomp *f = prepare_profile(p);
        json_object_put(p);
        if (root())
                assert_exit(run_filtered(f, unshare_uts, NULL), 0);
        lnx_seccomp_free(f);

        /* Without CAP_SYS_ADMIN the same call is refused by the filter, not the kernel. */
        p = lnx_seccomp_default_profile();
        f = prepare_profile(p);
        json_object_put(p);
        assert_exit(run_filtered(f, unshare_uts, NULL), EPERM);
        lnx_seccomp_free(f);
}

/* The real config.json parser and the filter agree on the whole default profile. */
static void test_default_profile_via_spec_parser(void **state)
{
        struct json_object *cfg = json_object_new_object(), *root = json_object_new_object();
        struct json_object *lx = json_object_new_object();
        json_object_object_add(cfg, "ociVersion", json_object_new_string("1.2.0"));
        json_object_object_add(root, "path", json_object_new_string("rootfs"));
        json_object_object_add(cfg, "root", root);
        json_object_object_add(lx, "seccomp", lnx_seccomp_default_profile());
        json_object_object_add(cfg, "linux", lx);
        struct oci_spec *spec = NULL;
        struct cella_error err = {0};
        if (oci_spec_parse(json_to_string(cfg, 0), 0, &spec, &err) < 0)
                fail_msg("parse: %s", err.msg);
        json_object_put(cfg);
        assert_non_null(spec->linux_.seccomp);
        struct lnx_seccomp *f = NULL;
        if (lnx_seccomp_prepare(spec->linux_.seccomp, &f, &err) < 0)
                fail_msg("prepare: %s", err.msg);
        oci_spec_free(spec);
        int status = run_filtered(f, default_profile_checks, NULL);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("default profile check %d failed (status 0x%x)", WEXITSTATUS(status),
                         status);
        lnx_seccomp_free(f);
}

/* A misspelt name would be skipped silently at prepare time; catch it here. */
static void test_default_profile_names_known(void **state)
{
        struct json_object *p = lnx_seccomp_default_profile_for_caps(~0ULL), *calls, *names;
        assert_true(json_object_object_get_ex(p, "syscalls", &calls));
        size_t total = 0;
        for (size_t i = 0; i < json_object_array_length(calls); i++) {
                assert_true(json_object_object_get_ex(json_object_array_get_idx(calls, i), "names",
                                                      &names));
                for (size_t j = 0; j < json_object_array_length(names); j++, total++) {
                        const char *name =
                            json_object_get_string(json_object_array_get_idx(names, j));
                        if (seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR)
                                fail_msg("default profile: unknown syscall \"%s\"", name);
                }
        }
        assert_true(total > 300);
        json_object_put(p);
}

static void test_features(void **state)
{
        struct json_object *feat = lnx_seccomp_features(), *v;
        assert_true(json_object_object_get_ex(feat, "enabled", &v));
        assert_true(json_object_get_boolean(v));
        assert_true(json_object_object_get_ex(feat, "operators", &v));
        assert_int_equal(json_object_array_length(v), 7);
        assert_true(json_object_object_get_ex(feat, "knownFlags", &v));
        assert_int_equal(json_object_array_length(v), 4);
        struct json_object *sup;
        assert_true(json_object_object_get_ex(feat, "supportedFlags", &sup));
        assert_true(json_object_array_length(sup) <= 4);
        json_object_put(feat);
        /* Every kernel cella runs on (>= 5.6) has these. */
        assert_true(features_has("actions", "SCMP_ACT_ALLOW"));
        assert_true(features_has("actions", "SCMP_ACT_KILL_PROCESS"));
        assert_true(features_has("actions", "SCMP_ACT_LOG"));
        assert_true(features_has("actions", "SCMP_ACT_NOTIFY"));
        assert_true(features_has("supportedFlags", "SECCOMP_FILTER_FLAG_TSYNC"));
        assert_true(features_has("archs", "SCMP_ARCH_X86_64"));
        assert_true(features_has("archs", "SCMP_ARCH_AARCH64"));
        assert_false(features_has("archs", "SCMP_ARCH_Z80"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_actions_translate),
            cmocka_unit_test(test_ops_translate),
            cmocka_unit_test(test_archs_translate),
            cmocka_unit_test(test_flags_load),
            cmocka_unit_test(test_errors_name_the_path),
            cmocka_unit_test(test_unknown_syscall_skipped),
            cmocka_unit_test(test_errno_actions),
            cmocka_unit_test(test_kill_actions),
            cmocka_unit_test(test_allow_log_trace),
            cmocka_unit_test(test_ops_in_kernel),
            cmocka_unit_test(test_enosys_for_newer_syscalls),
            cmocka_unit_test(test_args_and_or),
            cmocka_unit_test(test_compile_cache),
            cmocka_unit_test(test_notify_socketpair),
            cmocka_unit_test(test_notify_listener),
            cmocka_unit_test(test_default_profile),
            cmocka_unit_test(test_default_profile_caps),
            cmocka_unit_test(test_default_profile_names_known),
            cmocka_unit_test(test_default_profile_via_spec_parser),
            cmocka_unit_test(test_features),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
