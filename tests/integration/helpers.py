# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for the runtime integration tests (no pytest fixtures here)."""
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = int(os.environ.get("CELLA_TEST_TIMEOUT", "10"))  # hang guard per command


def runtime_binary():
    env = os.environ.get("CELLA")
    if env:
        return env
    for cand in (REPO / "build" / "cella", REPO / "build" / "src" / "cli" / "cella"):
        if cand.exists():
            return str(cand)
    return str(REPO / "build" / "cella")


def probe_binary():
    return os.environ.get("CELLA_PROBE", str(REPO / "build" / "tests" / "probe"))


RUNTIME = runtime_binary()


def runtime_version():
    try:
        out = subprocess.run([RUNTIME, "--version"], capture_output=True, text=True,
                             timeout=TIMEOUT)
        return out.stdout
    except OSError:
        return ""


IS_CELLA = runtime_version().startswith("cella")


def wait_for(pred, timeout=15.0, what="condition"):
    """Polls pred() until it returns a truthy value; a hang guard, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        val = pred()
        if val:
            return val
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def read_line(pipe, timeout=None):
    """One line from a text pipe of a Popen, failing instead of blocking forever."""
    import select
    ready, _, _ = select.select([pipe], [], [], TIMEOUT if timeout is None else timeout)
    assert ready, "no output line within the timeout"
    return pipe.readline()


def parse_probe(text):
    """The probe prints one JSON object per line; returns them merged in order."""
    facts = {}
    for line in text.splitlines():
        # (a terminal may echo input such as ^C in front of a line)
        start = line.find("{")
        if start >= 0 and line.rstrip().endswith("}"):
            facts.update(json.loads(line[start:]))
    return facts


def caps_mask(names):
    """Bit mask (as the probe reports it, int) for a list of CAP_* names."""
    mask = 0
    for n in names:
        mask |= 1 << CAP_NUMBERS[n]
    return mask


CAP_NUMBERS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
    "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}


def find_mount(facts, mountpoint):
    """The last (topmost) mountinfo entry for mountpoint, or None."""
    found = None
    for m in facts["mounts"]:
        if m["mountpoint"] == mountpoint:
            found = m
    return found


def mount_opts(m):
    return set(m["options"].split(","))


def build_rootfs(dest: Path, probe: str):
    """A minimal rootfs: busybox-static with applet symlinks, the probe, users and groups."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    for d in ("bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "root", "home/user", "usr/bin",
              "var", "run", "mnt"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    shutil.copy2(busybox, dest / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        link = dest / "bin" / a
        if a != "busybox" and not link.exists():
            os.symlink("busybox", link)
    shutil.copy2(probe, dest / "probe")
    os.chmod(dest / "probe", 0o755)
    (dest / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        "user:x:1000:1000:user:/home/user:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/:/bin/false\n")
    (dest / "etc" / "group").write_text(
        "root:x:0:\nuser:x:1000:\ntty:x:5:\nnogroup:x:65534:\n")
    (dest / "etc" / "hostname").write_text("rootfs\n")
    os.chown(dest / "home" / "user", 1000, 1000)


# --- leak checks -----------------------------------------------------------------------------

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_dirs_named(cid):
    """All cgroup directories (any hierarchy) whose name contains cid."""
    hits = []
    if not CGROUP_ROOT.is_dir():
        return hits
    for top in CGROUP_ROOT.iterdir():
        if not top.is_dir() or top.is_symlink():
            continue
        for dirpath, dirnames, _ in os.walk(top):
            for d in dirnames:
                if cid in d:
                    hits.append(os.path.join(dirpath, d))
    return hits


def processes_rooted_in(rootfs: Path):
    """Pids whose root directory is the given rootfs (same dev/inode)."""
    try:
        st = os.stat(rootfs)
    except OSError:
        return []
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            pst = os.stat(f"/proc/{p}/root")
        except OSError:
            continue
        if (pst.st_dev, pst.st_ino) == (st.st_dev, st.st_ino) and int(p) != os.getpid():
            pids.append(int(p))
    return pids


def processes_naming(cid):
    """Live (non-zombie) pids whose command line mentions cid: a runtime or an init that was
    forked from it without exec."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if cid.encode() in args:
            pids.append(int(p))
    return pids


def leaked_processes(cid, bundle_dir: Path):
    return sorted(set(processes_rooted_in(bundle_dir / "rootfs")) | set(processes_naming(cid)))


def mounts_referencing(path: Path):
    text = Path("/proc/self/mountinfo").read_text()
    return [line for line in text.splitlines() if str(path) in line]


def leaks(cid, bundle_dir: Path, state_root: Path):
    """Everything a container with this id and bundle may have left behind, as strings."""
    found = []
    found += [f"mount: {m}" for m in mounts_referencing(bundle_dir)]
    found += [f"mount: {m}" for m in mounts_referencing(state_root / cid)]
    found += [f"cgroup: {d}" for d in cgroup_dirs_named(cid)]
    try:
        if (state_root / cid).exists():
            found.append(f"state dir: {state_root / cid}")
    except OSError:  # e.g. an id too long to be a file name
        pass
    for pid in leaked_processes(cid, bundle_dir):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            cmd = "?"
        found.append(f"process: {pid} {cmd[:120]}")
    return found


def force_cleanup(cid, bundle_dir: Path, state_root: Path):
    """After a leak was recorded: remove it so one broken test does not poison the next ones.
    Only touches what leaks() attributes to this container."""
    for pid in leaked_processes(cid, bundle_dir):
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    for path in (bundle_dir, state_root / cid):
        points = [ln.split()[4] for ln in mounts_referencing(path)]
        for mp in sorted(set(points), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
    for d in sorted(cgroup_dirs_named(cid), key=len, reverse=True):
        for _ in range(50):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)
    shutil.rmtree(state_root / cid, ignore_errors=True)


# --- console socket --------------------------------------------------------------------------

class ConsoleSocket:
    """A --console-socket server like containerd's: receives the pty master via SCM_RIGHTS and
    keeps reading from it in a thread."""

    def __init__(self, path: Path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.master = None
        self.received = None
        self.output = b""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        self.sock.settimeout(TIMEOUT)
        try:
            conn, _ = self.sock.accept()
        except OSError:
            self._done.set()
            return
        with conn:
            msg, fds, _, _ = socket.recv_fds(conn, 4096, 4)
            self.received = (msg, fds)
            if fds:
                self.master = fds[0]
                for extra in fds[1:]:
                    os.close(extra)
        self._done.set()
        if self.master is None:
            return
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.output += chunk

    def wait_master(self, timeout=TIMEOUT):
        assert self._done.wait(timeout), "no connection on the console socket"
        return self.master

    def wait_output(self, needle: bytes, timeout=TIMEOUT):
        return wait_for(lambda: needle in self.output, timeout, f"{needle!r} on the console")

    def close(self):
        self.sock.close()
        if self.master is not None:
            try:
                os.close(self.master)
            except OSError:
                pass
        self._thread.join(timeout=5)
        try:
            os.unlink(self.path)
        except OSError:
            pass
