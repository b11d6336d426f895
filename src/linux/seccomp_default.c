/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cella's default seccomp profile: the same effect as Docker's default profile
 * (moby profiles/seccomp/default.json), kept as C tables and resolved for one container's
 * capabilities and this build's architecture into plain runtime-spec linux.seccomp JSON.
 *
 * Shape: an allow-list. Anything not listed fails with EPERM. Rules gated on a capability are
 * only emitted when the container holds it, so the filter never allows what the capability set
 * already forbids and never forbids what it grants (e.g. CAP_SYS_ADMIN brings mount, setns and
 * unshare back). See docs/seccomp.md for what is blocked and why.
 */
#include "seccomp_filter.h"

#include <errno.h>
#include <linux/capability.h>
#include <stddef.h>

#include "base/cleanup.h"

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define CAP(c)     (1ULL << (c))

/* Docker names architectures like Go does; these are the ones its profile mentions. */
enum {
        A_AMD64 = 1 << 0,
        A_X32 = 1 << 1,
        A_X86 = 1 << 2,
        A_ARM = 1 << 3,
        A_ARM64 = 1 << 4,
        A_S390 = 1 << 5,
        A_S390X = 1 << 6,
        A_PPC64LE = 1 << 7,
        A_RISCV64 = 1 << 8,
        A_OTHER = 1 << 9,
};

#if defined(__x86_64__) && defined(__ILP32__)
#define NATIVE_ARCH   A_X32
#define NATIVE_ARCHES NAMES("SCMP_ARCH_X32", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86")
#elif defined(__x86_64__)
#define NATIVE_ARCH   A_AMD64
#define NATIVE_ARCHES NAMES("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")
#elif defined(__i386__)
#define NATIVE_ARCH   A_X86
#define NATIVE_ARCHES NAMES("SCMP_ARCH_X86")
#elif defined(__aarch64__)
#define NATIVE_ARCH   A_ARM64
#define NATIVE_ARCHES NAMES("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM")
#elif defined(__arm__)
#define NATIVE_ARCH   A_ARM
#define NATIVE_ARCHES NAMES("SCMP_ARCH_ARM")
#elif defined(__s390x__)
#define NATIVE_ARCH   A_S390X
#define NATIVE_ARCHES NAMES("SCMP_ARCH_S390X", "SCMP_ARCH_S390")
#elif defined(__s390__)
#define NATIVE_ARCH   A_S390
#define NATIVE_ARCHES NAMES("SCMP_ARCH_S390")
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_ARCH   A_PPC64LE
#define NATIVE_ARCHES NAMES("SCMP_ARCH_PPC64LE")
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH   A_RISCV64
#define NATIVE_ARCHES NAMES("SCMP_ARCH_RISCV64")
#else
#define NATIVE_ARCH   A_OTHER
#define NATIVE_ARCHES NAMES("")
#endif

/* The namespace bits of clone(2) flags: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET.
 */
#define CLONE_NS_MASK 0x7E020000ULL

struct profile_arg {
        unsigned int index;
        uint64_t value;
        const char *op;
};

struct profile_rule {
        const char *const *names;
        const char *action; /* NULL: SCMP_ACT_ALLOW */
        int errno_ret;      /* 0: none */
        struct profile_arg arg;
        bool has_arg;
        uint64_t caps_all;       /* emitted only if the container holds all of these */
        uint64_t caps_none;      /* dropped if the container holds any of these */
        unsigned int arch_only;  /* emitted only on these architectures (0: all) */
        unsigned int arch_never; /* dropped on these architectures */
};

#define ARG(i, v, o) .arg = {(i), (v), (o)}, .has_arg = true

/* Harmless everywhere: file, memory, time, signal, socket, IPC and process basics. */
static const char *const allow_always[] = {
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_time64",
    "futex_waitv",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    NULL,
};

static const struct profile_rule rules[] = {
    {.names = allow_always},
    /*
     * ptrace is safe to allow since Linux 4.8 (seccomp is re-checked after the tracer
     * changes a syscall); cella needs a newer kernel anyway, so Docker's minKernel gate
     * is always true here.
     */
    {.names = NAMES("process_vm_readv", "process_vm_writev", "ptrace")},
    /* AF_VSOCK (40) sockets reach the hypervisor; every other family is fine. */
    {.names = NAMES("socket"), ARG(0, 40, "SCMP_CMP_NE")},
    /* personality: only the harmless domains (PER_LINUX, PER_LINUX32, UNAME26, query). */
    {.names = NAMES("personality"), ARG(0, 0x0, "SCMP_CMP_EQ")},
    {.names = NAMES("personality"), ARG(0, 0x8, "SCMP_CMP_EQ")},
    {.names = NAMES("personality"), ARG(0, 0x20000, "SCMP_CMP_EQ")},
    {.names = NAMES("personality"), ARG(0, 0x20008, "SCMP_CMP_EQ")},
    {.names = NAMES("personality"), ARG(0, 0xffffffff, "SCMP_CMP_EQ")},
    /* Architecture-specific basics. */
    {.names = NAMES("sync_file_range2", "swapcontext"), .arch_only = A_PPC64LE},
    {.names = NAMES("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
                    "cacheflush", "set_tls"),
     .arch_only = A_ARM | A_ARM64},
    {.names = NAMES("arch_prctl"), .arch_only = A_AMD64 | A_X32},
    {.names = NAMES("modify_ldt"), .arch_only = A_AMD64 | A_X32 | A_X86},
    {.names = NAMES("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"),
     .arch_only = A_S390 | A_S390X},
    {.names = NAMES("riscv_flush_icache"), .arch_only = A_RISCV64},
    /* Capability-gated: the syscall is only useful with the capability. */
    {.names = NAMES("open_by_handle_at"), .caps_all = CAP(CAP_DAC_READ_SEARCH)},
    {.names = NAMES("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
                    "fspick", "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
                    "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
                    "setns", "syslog", "umount", "umount2", "unshare"),
     .caps_all = CAP(CAP_SYS_ADMIN)},
    /* Without CAP_SYS_ADMIN: clone may not create namespaces (notably user namespaces). */
    {.names = NAMES("clone"),
     ARG(0, CLONE_NS_MASK, "SCMP_CMP_MASKED_EQ"),
     .caps_none = CAP(CAP_SYS_ADMIN),
     .arch_never = A_S390 | A_S390X},
    {.names = NAMES("clone"),
     ARG(1, CLONE_NS_MASK, "SCMP_CMP_MASKED_EQ"),
     .caps_none = CAP(CAP_SYS_ADMIN),
     .arch_only = A_S390 | A_S390X},
    /*
     * clone3 passes its flags in memory, which seccomp cannot inspect: answer ENOSYS so
     * libc falls back to clone, whose flags the rule above checks.
     */
    {.names = NAMES("clone3"),
     .action = "SCMP_ACT_ERRNO",
     .errno_ret = 38,
     .caps_none = CAP(CAP_SYS_ADMIN)},
    {.names = NAMES("reboot"), .caps_all = CAP(CAP_SYS_BOOT)},
    {.names = NAMES("chroot"), .caps_all = CAP(CAP_SYS_CHROOT)},
    {.names = NAMES("delete_module", "init_module", "finit_module"),
     .caps_all = CAP(CAP_SYS_MODULE)},
    {.names = NAMES("acct"), .caps_all = CAP(CAP_SYS_PACCT)},
    {.names = NAMES("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                    "process_vm_writev", "ptrace"),
     .caps_all = CAP(CAP_SYS_PTRACE)},
    {.names = NAMES("iopl", "ioperm"), .caps_all = CAP(CAP_SYS_RAWIO)},
    {.names = NAMES("settimeofday", "stime", "clock_settime", "clock_settime64"),
     .caps_all = CAP(CAP_SYS_TIME)},
    {.names = NAMES("vhangup"), .caps_all = CAP(CAP_SYS_TTY_CONFIG)},
    {.names = NAMES("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
     .caps_all = CAP(CAP_SYS_NICE)},
    {.names = NAMES("syslog"), .caps_all = CAP(CAP_SYSLOG)},
    {.names = NAMES("bpf"), .caps_all = CAP(CAP_BPF)},
    {.names = NAMES("perf_event_open"), .caps_all = CAP(CAP_PERFMON)},
};

/* Docker's default capability set (also what `cella spec` puts in the bounding set). */
static const uint64_t docker_default_caps =
    CAP(CAP_CHOWN) | CAP(CAP_DAC_OVERRIDE) | CAP(CAP_FSETID) | CAP(CAP_FOWNER) | CAP(CAP_MKNOD) |
    CAP(CAP_NET_RAW) | CAP(CAP_SETGID) | CAP(CAP_SETUID) | CAP(CAP_SETFCAP) | CAP(CAP_SETPCAP) |
    CAP(CAP_NET_BIND_SERVICE) | CAP(CAP_SYS_CHROOT) | CAP(CAP_KILL) | CAP(CAP_AUDIT_WRITE);

static bool rule_applies(const struct profile_rule *r, uint64_t caps)
{
        if ((caps & r->caps_all) != r->caps_all)
                return false;
        if (caps & r->caps_none)
                return false;
        if (r->arch_only && !(r->arch_only & NATIVE_ARCH))
                return false;
        return !(r->arch_never & NATIVE_ARCH);
}

static struct json_object *names_json(const char *const *names)
{
        struct json_object *a = json_object_new_array();
        for (; *names; names++)
                if (**names)
                        json_object_array_add(a, json_object_new_string(*names));
        return a;
}

static struct json_object *rule_json(const struct profile_rule *r)
{
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "names", names_json(r->names));
        json_object_object_add(o, "action",
                               json_object_new_string(r->action ? r->action : "SCMP_ACT_ALLOW"));
        if (r->errno_ret)
                json_object_object_add(o, "errnoRet", json_object_new_int(r->errno_ret));
        if (r->has_arg) {
                struct json_object *arg = json_object_new_object();
                json_object_object_add(arg, "index", json_object_new_int((int)r->arg.index));
                json_object_object_add(arg, "value", json_object_new_uint64(r->arg.value));
                json_object_object_add(arg, "op", json_object_new_string(r->arg.op));
                struct json_object *args = json_object_new_array();
                json_object_array_add(args, arg);
                json_object_object_add(o, "args", args);
        }
        return o;
}

struct json_object *lnx_seccomp_default_profile_for_caps(uint64_t caps)
{
        struct json_object *p = json_object_new_object();
        json_object_object_add(p, "defaultAction", json_object_new_string("SCMP_ACT_ERRNO"));
        json_object_object_add(p, "defaultErrnoRet", json_object_new_int(EPERM));
        struct json_object *arches = names_json(NATIVE_ARCHES);
        if (json_object_array_length(arches) > 0)
                json_object_object_add(p, "architectures", arches);
        else
                json_object_put(arches);
        struct json_object *syscalls = json_object_new_array();
        for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
                if (rule_applies(&rules[i], caps))
                        json_object_array_add(syscalls, rule_json(&rules[i]));
        json_object_object_add(p, "syscalls", syscalls);
        return p;
}

struct json_object *lnx_seccomp_default_profile(void)
{
        return lnx_seccomp_default_profile_for_caps(docker_default_caps);
}
