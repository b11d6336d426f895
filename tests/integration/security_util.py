# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the security regression suites (test_security_cve, test_security_defaults,
test_seccomp): a runtime bound to a *copy* of the binary (attacks that may overwrite it must
never touch build/cella), a small syscall helper compiled for the container, host-side
evidence (sha256 of files, host mount points)."""
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from helpers import RUNTIME, TIMEOUT



def _integration_conftest():
    """tests/integration/conftest.py as a module. `import conftest` is ambiguous when pytest
    collects several test directories in one run (tests/conformance has one too), so find the
    instance pytest loaded from this directory, or load it by path."""
    import importlib.util
    import sys
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conftest.py")
    for mod in list(sys.modules.values()):
        if os.path.abspath(getattr(mod, "__file__", "") or "") == path:
            return mod
    spec = importlib.util.spec_from_file_location("cella_integration_conftest", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


conftest = _integration_conftest()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def host_mountpoints():
    """Mount points of the host's mount namespace (field 5 of mountinfo, unescaped)."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            points.append(mp.encode().decode("unicode_escape"))
    return points


def read_sysctl(path):
    with open(path) as f:
        return f.read()


class BinaryRuntime(conftest.Runtime):
    """conftest.Runtime, but running the given binary instead of $CELLA."""

    def __init__(self, state_root, binary):
        super().__init__(state_root)
        self.binary = str(binary)

    def __call__(self, *args, check=False, timeout=TIMEOUT, global_args=(), **kw):
        cmd = [self.binary, "--root", str(self.state_root), *global_args, *map(str, args)]
        kw.setdefault("stdin", subprocess.DEVNULL)
        if "stdout" not in kw and "stderr" not in kw:
            kw["capture_output"] = True
        r = subprocess.run(cmd, text=True, timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise AssertionError(f"{cmd} failed ({r.returncode}): {r.stderr}")
        return r


def copy_runtime(dest_dir: Path, name="cella-copy"):
    """A private copy of the runtime binary (plus nothing else: no helper needs cella-image)."""
    dest = Path(dest_dir) / name
    shutil.copy2(os.path.realpath(RUNTIME), dest)
    os.chmod(dest, 0o755)
    return dest


# A static helper that makes the raw syscalls a hardened profile must refuse, with arguments
# chosen so that *without* a filter the kernel answers something other than EPERM (a path
# lookup error, EINVAL, success): a result of EPERM then really comes from seccomp.
SYSCALL_HELPER_SRC = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static long call(const char *w)
{
        char buf[256];
        if (!strcmp(w, "mount"))        /* ENOENT from the path lookup, before any cap check */
                return mount("none", "/nonexistent-cella-target", "tmpfs", 0, NULL);
        if (!strcmp(w, "unshare-user")) /* succeeds for root in a pivoted mount namespace */
                return unshare(CLONE_NEWUSER);
        if (!strcmp(w, "keyctl"))       /* KEYCTL_GET_KEYRING_ID of the session keyring */
                return syscall(SYS_keyctl, 0, -3, 0);
        if (!strcmp(w, "kexec_load"))   /* bad flags: EINVAL after the CAP_SYS_BOOT check */
                return syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0x100UL);
        if (!strcmp(w, "bpf"))          /* unknown command: EINVAL */
                return syscall(SYS_bpf, 9999, NULL, 0);
        if (!strcmp(w, "getcwd"))
                return syscall(SYS_getcwd, buf, sizeof(buf));
        if (!strcmp(w, "getppid"))
                return syscall(SYS_getppid);
        errno = EBADRQC;
        return -1;
}

int main(int argc, char **argv)
{
        printf("{");
        for (int i = 1; i < argc; i++) {
                errno = 0;
                long r = call(argv[i]);
                printf("%s\"sys:%s\":%d", i > 1 ? "," : "", argv[i], r < 0 ? errno : 0);
        }
        printf("}\n");
        return 0;
}
"""


def build_syscall_helper(workdir: Path):
    """Compiles the helper statically; returns its path or None when no compiler works."""
    out = Path(workdir) / "sysc"
    if out.exists():
        return out
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        return None
    src = Path(workdir) / "sysc.c"
    src.write_text(SYSCALL_HELPER_SRC)
    r = subprocess.run([cc, "-static", "-O1", "-o", str(out), str(src)], capture_output=True,
                       text=True, timeout=120)
    return out if r.returncode == 0 else None


def install(bundle, src, dest="/sysc"):
    """Copies (never hardlinks: the base rootfs is shared) a file into the bundle's rootfs."""
    target = bundle.rootfs / dest.lstrip("/")
    if target.exists() or target.is_symlink():
        target.unlink()
    shutil.copy2(src, target)
    os.chmod(target, 0o755)
    return target


# A hostile ELF interpreter for CVE-2019-5736: when the container's entrypoint makes the kernel
# execute the *host runtime binary* (through /proc/self/exe), the kernel loads the binary's
# PT_INTERP from the container's rootfs — this program. It runs as the process whose exe is
# the host binary, opens /proc/self/exe (fd 3, inherited across execve) and execs the attack
# script, which retries writing through /proc/self/fd/3 once nothing executes the file.
# No libc: as an interpreter it gets the host binary's auxv, which a libc startup would misread.
FAKE_LOADER_SRC = r"""
static long sys3(long n, long a, long b, long c)
{
        long r;
        __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c)
                         : "rcx", "r11", "memory");
        return r;
}

__attribute__((noreturn)) void _start(void)
{
        long fd = sys3(2 /* open */, (long)"/proc/self/exe", 0 /* O_RDONLY */, 0);
        if (fd >= 0 && fd != 3)
                sys3(33 /* dup2 */, fd, 3, 0);
        char *argv[] = {"/bin/sh", "/attack.sh", fd >= 0 ? "opened" : "refused", 0};
        char *envp[] = {"PATH=/bin", 0};
        sys3(59 /* execve */, (long)"/bin/sh", (long)argv, (long)envp);
        for (;;)
                sys3(60 /* exit */, 127, 0, 0);
}
"""


def build_fake_loader(workdir: Path):
    """Compiles the hostile interpreter (x86_64 only); returns its path or None."""
    out = Path(workdir) / "fake-ld.so"
    if out.exists():
        return out
    if os.uname().machine != "x86_64":
        return None
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    src = Path(workdir) / "fake-ld.c"
    src.write_text(FAKE_LOADER_SRC)
    r = subprocess.run([cc, "-static", "-nostdlib", "-fno-stack-protector", "-fno-pie", "-no-pie",
                        "-O1", "-o", str(out), str(src)], capture_output=True, text=True,
                       timeout=120)
    return out if r.returncode == 0 else None


def elf_interpreter(binary):
    """The PT_INTERP path of a dynamically linked ELF file, or None."""
    with open(binary, "rb") as f:
        data = f.read(1 << 16)
    marker = data.find(b"/lib")
    if marker < 0 or data[:4] != b"\x7fELF":
        return None
    end = data.find(b"\0", marker)
    return data[marker:end].decode()
