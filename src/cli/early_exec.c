/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ELF entry point of the statically linked cella (x86-64): moves `create`, `run` and
 * `exec` onto the overlayfs view of the binary (linux/sealed_exe.c, the CVE-2019-5736
 * defence) *before* glibc's start-up code runs, then jumps to glibc's _start.
 *
 * Why: those commands execute the binary twice, once as the user started it and once from the
 * overlay. glibc's static start-up (CPU feature probing with cpuid, tunables, IRELATIVE
 * relocations, TLS, $ORIGIN, stdio) costs ~0.6 ms of CPU per image on the PVM guest this was
 * measured on (an empty static glibc program: 0.9-1.3 ms per exec, a program without libc:
 * 0.25-0.4 ms), and the first image needs none of it. Skipping it saves that once per run.
 *
 * It is only an optimisation: whenever anything is unexpected (another command, an option we
 * do not know, no state root, any failed call) it returns and glibc starts as usual; main()
 * then decides as before, in lnx_ensure_sealed_self(), which also accepts the image started
 * from here (the same marker variable, the same overlay check) and falls back to the memfd
 * copy. The overlay is built exactly as open_through_overlay() builds it.
 *
 * Constraints of running before libc: no TLS (so no errno and no stack protector: this file
 * is built with -fno-stack-protector), no IFUNC-resolved functions (memcpy, strlen, ...: the
 * IRELATIVE relocations are not applied yet; -ffreestanding -fno-builtin keep the compiler
 * from emitting calls), no tables of pointers (a static-pie binary would not be relocated
 * yet). Plain syscalls only.
 */
#include <elf.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "cli/early_exec.h"

#define OVERLAY_ENV "_CELLA_SEALED_OVERLAY"
#define MAX_ENV     4096
#define PATH_BUF    4096

/* rdx holds the dynamic linker's fini function at entry (0 for a static binary): keep it. */
__asm__(".text\n"
        ".globl cella_entry\n"
        ".type cella_entry,@function\n"
        "cella_entry:\n"
        "  endbr64\n"
        "  xor %ebp, %ebp\n"
        "  mov %rsp, %rdi\n"
        "  push %rdx\n"
        "  sub $8, %rsp\n"
        "  call cella_early_exec\n"
        "  add $8, %rsp\n"
        "  pop %rdx\n"
        "  jmp _start\n"
        ".size cella_entry, .-cella_entry\n");

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
        long ret;
        register long r10 __asm__("r10") = d;
        register long r8 __asm__("r8") = e;
        register long r9 __asm__("r9") = f;
        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
        return ret;
}

#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static size_t str_len(const char *s)
{
        size_t n = 0;
        while (s[n])
                n++;
        return n;
}

static int str_eq(const char *a, const char *b)
{
        while (*a && *a == *b)
                a++, b++;
        return *a == *b;
}

/* Does the option name (up to '=' or the end) equal want? */
static int opt_is(const char *name, const char *want)
{
        while (*want && *name == *want)
                name++, want++;
        return *want == '\0' && (*name == '\0' || *name == '=');
}

static int has_prefix(const char *s, const char *prefix)
{
        while (*prefix && *s == *prefix)
                s++, prefix++;
        return *prefix == '\0';
}

/*
 * Mirrors cli_parse() over cella's global options: returns the command word, and the --root
 * value in *root; NULL if an option is not one we know (main() reports it).
 */
static const char *early_command(int argc, char **argv, const char **root)
{
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (str_eq(a, "--"))
                        return i + 1 < argc ? argv[i + 1] : NULL;
                if (a[0] != '-' || a[1] == '\0')
                        return a;
                const char *name = a + (a[1] == '-' ? 2 : 1);
                const char *eq = name;
                while (*eq && *eq != '=')
                        eq++;
                if (opt_is(name, "root") || opt_is(name, "log") || opt_is(name, "log-format") ||
                    opt_is(name, "rootless") || opt_is(name, "criu")) {
                        const char *v = *eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
                        if (!v)
                                return NULL;
                        if (opt_is(name, "root"))
                                *root = v;
                } else if (!(opt_is(name, "debug") || opt_is(name, "systemd-cgroup"))) {
                        return NULL; /* --version, --help and anything unknown: main() */
                }
        }
        return NULL;
}

/* Appends s to buf with overlayfs's lowerdir escapes; 0 if it does not fit. */
static int append_escaped(char *buf, size_t *len, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (*len + 3 >= PATH_BUF * 2)
                        return 0;
                if (s[i] == '\\' || s[i] == ':')
                        buf[(*len)++] = '\\';
                buf[(*len)++] = s[i];
        }
        buf[*len] = '\0';
        return 1;
}

/* The same overlay as open_through_overlay(): an O_PATH fd of the binary in it, or -1. */
static int open_overlay_view(const char *spare)
{
        char exe[PATH_BUF], lower[PATH_BUF * 2];
        long n = sys3(SYS_readlink, "/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 1 || exe[0] != '/')
                return -1;
        exe[n] = '\0';
        size_t slash = (size_t)n;
        while (exe[slash] != '/')
                slash--;
        size_t len = 0;
        if (!append_escaped(lower, &len, slash ? exe : "/", slash ? slash : 1))
                return -1;
        lower[len++] = ':'; /* the layer separator (append_escaped left room for it) */
        if (!append_escaped(lower, &len, spare, str_len(spare)))
                return -1;
        int fd = -1;
        long ctx = sys3(SYS_fsopen, "overlay", FSOPEN_CLOEXEC, 0);
        if (ctx < 0)
                return -1;
        long mnt = -1, self = -1;
        if (sys6(SYS_fsconfig, ctx, FSCONFIG_SET_STRING, (long)"lowerdir", (long)lower, 0, 0) < 0)
                goto out;
        sys6(SYS_fsconfig, ctx, FSCONFIG_SET_STRING, (long)"xino", (long)"off", 0, 0);
        if (sys6(SYS_fsconfig, ctx, FSCONFIG_CMD_CREATE, 0, 0, 0, 0) < 0)
                goto out;
        mnt = sys3(SYS_fsmount, ctx, FSMOUNT_CLOEXEC,
                   MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
        self = sys6(SYS_openat, AT_FDCWD, (long)"/proc/self/exe", O_RDONLY | O_CLOEXEC, 0, 0, 0);
        if (mnt < 0 || self < 0)
                goto out;
        fd = (int)sys6(SYS_openat, mnt, (long)(exe + slash + 1), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0,
                       0, 0);
        /* The top layer is the binary's own directory, so this must be the same file. */
        struct stat a, b;
        if (fd >= 0 &&
            (sys6(SYS_newfstatat, fd, (long)"", (long)&a, AT_EMPTY_PATH, 0, 0) < 0 ||
             sys6(SYS_newfstatat, self, (long)"", (long)&b, AT_EMPTY_PATH, 0, 0) < 0 ||
             !S_ISREG(a.st_mode) || a.st_size != b.st_size ||
             a.st_mtim.tv_sec != b.st_mtim.tv_sec || a.st_mtim.tv_nsec != b.st_mtim.tv_nsec)) {
                sys3(SYS_close, fd, 0, 0);
                fd = -1;
        }
out:
        if (self >= 0)
                sys3(SYS_close, self, 0, 0);
        if (mnt >= 0)
                sys3(SYS_close, mnt, 0, 0);
        sys3(SYS_close, ctx, 0, 0);
        return fd;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define PAGE_MASK_4K (~(unsigned long)4095)

/*
 * The image started from the overlay: populate its writable segment (relro, data, bss) with one
 * madvise before glibc's start-up writes it page by page (docs/benchmarks.md, finding 16).
 * Populating text and rodata as well (MADV_POPULATE_READ) cut 25 more faults but no time on
 * the PVM guest this was measured on. Uses the program headers from the auxiliary vector, so
 * a static PIE works too.
 */
static void prefault_image(char **envp)
{
        unsigned long *aux = (unsigned long *)envp;
        while (*aux)
                aux++;
        const Elf64_Phdr *ph = NULL;
        unsigned long phnum = 0;
        for (aux++; aux[0] != AT_NULL; aux += 2) {
                if (aux[0] == AT_PHDR)
                        ph = (const Elf64_Phdr *)aux[1];
                else if (aux[0] == AT_PHNUM)
                        phnum = aux[1];
        }
        if (!ph)
                return;
        unsigned long bias = 0;
        for (unsigned long i = 0; i < phnum; i++)
                if (ph[i].p_type == PT_PHDR)
                        bias = (unsigned long)ph - ph[i].p_vaddr;
        for (unsigned long i = 0; i < phnum; i++) {
                if (ph[i].p_type != PT_LOAD)
                        continue;
                unsigned long lo = (bias + ph[i].p_vaddr) & PAGE_MASK_4K;
                unsigned long hi = (bias + ph[i].p_vaddr + ph[i].p_memsz + 4095) & PAGE_MASK_4K;
                if (ph[i].p_flags & PF_W)
                        sys3(SYS_madvise, lo, hi - lo, MADV_POPULATE_WRITE);
        }
}

void cella_early_exec(long *sp)
{
        int argc = (int)sp[0];
        char **argv = (char **)(sp + 1), **envp = argv + argc + 1;
        const char *root = NULL;
        const char *cmd = early_command(argc, argv, &root);
        if (!cmd || !(str_eq(cmd, "create") || str_eq(cmd, "run") || str_eq(cmd, "exec")))
                return;
        size_t n_env = 0;
        for (; envp[n_env]; n_env++)
                if (has_prefix(envp[n_env], OVERLAY_ENV "=")) {
                        prefault_image(envp);
                        return; /* main() checks that this is the overlay's image */
                } else if (!root && has_prefix(envp[n_env], "XDG_RUNTIME_DIR=")) {
                        return; /* main() knows what to do with that */
                }
        /* cli_state_root()'s default for real root; anything else is left to main(). */
        if (!root && sys3(SYS_geteuid, 0, 0, 0) != 0)
                return;
        if (n_env + 2 > MAX_ENV)
                return;
        int fd = open_overlay_view(root ? root : "/run/cella");
        if (fd < 0)
                return;
        char *env[MAX_ENV];
        for (size_t i = 0; i < n_env; i++)
                env[i] = envp[i];
        env[n_env] = OVERLAY_ENV "=1";
        env[n_env + 1] = NULL;
        sys6(SYS_execveat, fd, (long)"", (long)argv, (long)env, AT_EMPTY_PATH, 0);
        sys3(SYS_close, fd, 0, 0);
}
