# SPDX-License-Identifier: Apache-2.0
"""linux.seccomp in real containers: every action the runtime-spec names that a test can
observe (ERRNO with errnoRet/defaultErrnoRet, KILL_PROCESS, LOG, NOTIFY), argument filters
(MASKED_EQ), unknown syscall names, malformed profiles. Container-side evidence is what the
probe sees (errno values, exit status); host-side evidence is the kernel log (LOG), what the
listener receives (NOTIFY), the exit status the runtime reports, and a clean state dir after
refusals. Each filter is paired with a run without it, so a runtime that ignores the profile
fails the test."""
import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from helpers import REPO, TIMEOUT, wait_for

EREMOTEIO = 121
EPROTO = 71
EHOSTDOWN = 112


def profile(default="SCMP_ACT_ALLOW", syscalls=(), **extra):
    p = {"defaultAction": default, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                                                     "SCMP_ARCH_X32"],
         "syscalls": list(syscalls)}
    if os.uname().machine != "x86_64":
        del p["architectures"]
    p.update(extra)
    return p


def with_seccomp(bundle, prof):
    bundle.config["linux"]["seccomp"] = prof


def cwd_errno(facts):
    c = facts["cwd"]
    return c.get("errno") if isinstance(c, dict) else 0


def test_errno_with_errno_ret(bundle):
    """A rule with SCMP_ACT_ERRNO and errnoRet: getcwd fails with exactly that errno; without
    the profile it works (a runtime that ignores linux.seccomp fails here)."""
    assert bundle.probe("cwd")["cwd"] == "/"
    with_seccomp(bundle, profile(syscalls=[
        {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": EREMOTEIO}]))
    f = bundle.probe("cwd", "nnp", "ids", cid=bundle.new_id())
    assert cwd_errno(f) == EREMOTEIO, f
    assert f["nnp"]["seccomp"] == "2", "no filter installed"
    assert f["ids"]["uid"] == 0, "other syscalls are untouched"


# Enough for the runtime's last steps after the filter is loaded (report READY, wait on the
# exec fifo, reset signals, execve) and for the static probe's facts used below.
ALLOW_LIST = [
    "access", "arch_prctl", "brk", "close", "close_range", "dup", "dup2", "dup3", "execve",
    "exit", "exit_group", "faccessat", "faccessat2", "fcntl", "fstat", "futex", "getdents64",
    "getegid", "geteuid", "getgid", "getgroups", "getpid", "getppid", "getrandom", "gettid",
    "getuid", "ioctl", "lseek", "lstat", "madvise", "mmap", "mprotect", "munmap", "nanosleep",
    "clock_nanosleep", "newfstatat", "open", "openat", "poll", "ppoll", "prlimit64", "read",
    "readlink", "readlinkat", "rseq", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
    "sendmsg", "sendto", "set_robust_list", "set_tid_address", "stat", "statx", "write",
    "writev", "pread64", "recvmsg", "sched_yield", "restart_syscall", "fstatfs", "statfs",
]


def test_default_errno_ret_with_allow_list(bundle):
    """defaultAction SCMP_ACT_ERRNO with defaultErrnoRet and an allow-list: a syscall outside
    the list (getcwd, uname) fails with defaultErrnoRet; listed ones work."""
    with_seccomp(bundle, profile(default="SCMP_ACT_ERRNO", defaultErrnoRet=EPROTO, syscalls=[
        {"names": ALLOW_LIST, "action": "SCMP_ACT_ALLOW"}]))
    f = bundle.probe("ids", "cwd", "uname", "read", "/etc/hostname")
    assert cwd_errno(f) == EPROTO, f
    assert f["uname"].get("errno") == EPROTO, f
    assert f["read:/etc/hostname"] == "rootfs"
    assert f["ids"]["uid"] == 0


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                    "SCMP_ACT_KILL", "SCMP_ACT_TRAP"])
def test_kill_actions(bundle, rt, action):
    """KILL_PROCESS, KILL_THREAD (= KILL) and TRAP: the single-threaded process dies of SIGSYS
    at the first getcwd; the runtime reports 128+SIGSYS like a shell (runc does the same).
    Nothing after the call runs; a run that does not call getcwd is unaffected."""
    with_seccomp(bundle, profile(syscalls=[{"names": ["getcwd"], "action": action}]))
    r = bundle.run(["/probe", "ids", "exit", "0", "cwd"])
    assert r.returncode == 0, "control: the probe runs under the filter"
    r = bundle.run(["/probe", "cwd", "ids"], cid=bundle.new_id())
    assert r.returncode == 128 + signal.SIGSYS, r
    assert "ids" not in r.stdout
    assert rt.status(bundle.ids[-1]) is None, "run left the container behind"


@pytest.mark.parametrize("flag", ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW"])
def test_filter_flags_accepted(bundle, rt, flag):
    """Each flag `features` lists as supported is accepted and the filter still works."""
    feats = json.loads(rt("features").stdout)
    supported = feats.get("linux", {}).get("seccomp", {}).get("supportedFlags", [])
    if flag not in supported:
        pytest.skip(f"{flag} not supported here")
    with_seccomp(bundle, profile(flags=[flag], syscalls=[
        {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": EREMOTEIO}]))
    assert cwd_errno(bundle.probe("cwd")) == EREMOTEIO


def test_masked_eq_argument_filter(bundle):
    """args with SCMP_CMP_MASKED_EQ: openat(2) whose flags have O_CREAT set ((flags & O_CREAT)
    == O_CREAT) fails with errnoRet; openat without O_CREAT, and every other syscall, works."""
    o_creat = os.O_CREAT
    with_seccomp(bundle, profile(syscalls=[
        {"names": ["openat"], "action": "SCMP_ACT_ERRNO", "errnoRet": EREMOTEIO,
         "args": [{"index": 2, "value": o_creat, "valueTwo": o_creat,
                   "op": "SCMP_CMP_MASKED_EQ"}]}]))
    f = bundle.probe("read", "/etc/hostname", "write", "/tmp/created", "cwd")
    assert f["read:/etc/hostname"] == "rootfs"
    assert f["write:/tmp/created"].get("errno") == EREMOTEIO, f
    assert not (bundle.rootfs / "tmp" / "created").exists()
    assert f["cwd"] == "/"


def read_kmsg_since(fd):
    lines = []
    while True:
        try:
            lines.append(os.read(fd, 8192).decode(errors="replace"))
        except BlockingIOError:
            return lines
        except OSError:  # EPIPE: messages overwritten meanwhile; keep going
            continue


def test_log_action(bundle):
    """SCMP_ACT_LOG: the syscall runs normally (cwd is "/"), and the kernel logs it — host-side
    evidence, an audit record type=1326 for getcwd (x86_64: syscall=79) from the probe."""
    try:
        with open("/proc/sys/kernel/seccomp/actions_logged") as f:
            logged = f.read().split()
    except OSError:
        logged = []
    if "log" not in logged:
        pytest.skip("kernel.seccomp.actions_logged does not include log")
    try:
        kmsg = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        pytest.skip(f"cannot read the kernel log: {e}")
    try:
        os.lseek(kmsg, 0, os.SEEK_END)
        with_seccomp(bundle, profile(syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_LOG"}]))
        r = bundle.run(["/probe", "cwd", "pid"])
        assert r.returncode == 0, r
        assert r.facts["cwd"] == "/"
        want = "syscall=79" if os.uname().machine == "x86_64" else "syscall="

        def logged_record():
            text = "".join(read_kmsg_since(kmsg))
            return [line for line in text.splitlines()
                    if "type=1326" in line and 'comm="probe"' in line and want in line]

        found = []
        deadline = time.monotonic() + 5
        while not found and time.monotonic() < deadline:
            found = logged_record()
            time.sleep(0.05)
        if not found:
            pytest.skip("no seccomp audit record in the kernel log (audit disabled/ratelimited)")
        assert "code=0x7ffc0000" in found[0], found[0]  # SECCOMP_RET_LOG
    finally:
        os.close(kmsg)


def test_unknown_syscall_name_ignored(bundle):
    """A name libseccomp does not know is skipped (as runc does); the rest of the rule holds."""
    with_seccomp(bundle, profile(syscalls=[
        {"names": ["cella_no_such_syscall", "getcwd"], "action": "SCMP_ACT_ERRNO",
         "errnoRet": EREMOTEIO}]))
    f = bundle.probe("cwd", "ids")
    assert cwd_errno(f) == EREMOTEIO
    assert f["ids"]["uid"] == 0


MALFORMED = [
    ({"names": ["getcwd"], "action": "SCMP_ACT_BOGUS"}, "linux.seccomp.syscalls[0].action"),
    ({"names": ["getcwd"], "action": "SCMP_ACT_ERRNO",
      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SORTA"}]},
     "linux.seccomp.syscalls[0].args[0].op"),
    ({"names": ["getcwd"], "action": "SCMP_ACT_ERRNO",
      "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]},
     "linux.seccomp.syscalls[0].args[0].index"),
    ({"names": ["getcwd"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5},
     "linux.seccomp.syscalls[0]"),
    ({"names": ["write"], "action": "SCMP_ACT_NOTIFY"}, "linux.seccomp"),
    ({"names": "getcwd", "action": "SCMP_ACT_ERRNO"}, "linux.seccomp.syscalls[0].names"),
]


@pytest.mark.cella_only("the messages name the JSON path of the field")
@pytest.mark.parametrize("entry,path", MALFORMED,
                         ids=["action", "op", "index", "errnoRet-with-allow", "notify-write",
                              "names-type"])
def test_malformed_entry_refused_with_json_path(bundle, entry, path):
    """A malformed entry fails `create` before any process exists, naming the field by its
    JSON path; nothing is left behind (state dir, cgroup, mounts)."""
    extra = {"listenerPath": str(bundle.path / "agent.sock")} \
        if entry["action"] == "SCMP_ACT_NOTIFY" else {}
    with_seccomp(bundle, profile(syscalls=[{"names": ["getppid"], "action": "SCMP_ACT_LOG"},
                                           entry], **extra))
    if path.startswith("linux.seccomp.syscalls[0]"):
        path = path.replace("syscalls[0]", "syscalls[1]")
    r = bundle.create(["/probe", "exit", "0"])
    assert r.returncode != 0
    assert path in r.stderr, r.stderr
    bundle.assert_no_leaks()


# --- SCMP_ACT_NOTIFY ---------------------------------------------------------------------

# struct seccomp_notif: id u64, pid u32, flags u32, data {nr s32, arch u32, ip u64, args u64[6]}
NOTIF = struct.Struct("=QIIiIQ6Q")
# struct seccomp_notif_resp: id u64, val s64, error s32, flags u32
NOTIF_RESP = struct.Struct("=QqiI")


def _iowr(nr, size):
    return (3 << 30) | (size << 16) | (ord("!") << 8) | nr


NOTIF_RECV = _iowr(0, NOTIF.size)
NOTIF_SEND = _iowr(1, NOTIF_RESP.size)


class PyAgent(threading.Thread):
    """A seccomp agent: accepts the runtime's connection, reads the containerProcessState with
    the listener fd (SCM_RIGHTS), and answers every notification with -errno."""

    def __init__(self, path, errno):
        super().__init__(daemon=True)
        self.path = str(path)
        self.errno = errno
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.sock.settimeout(TIMEOUT)
        self.state = None
        self.fds = []
        self.syscalls = []
        self.error = None
        self.start()

    def run(self):
        try:
            conn, _ = self.sock.accept()
            with conn:
                data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 4)
                self.fds = fds
                while True:
                    try:
                        self.state = json.loads(data)
                        break
                    except ValueError:
                        more = conn.recv(1 << 16)
                        if not more:
                            raise
                        data += more
            self.serve(fds[0])
        except Exception as e:  # reported by the test
            self.error = e

    def serve(self, fd):
        deadline = time.monotonic() + TIMEOUT
        p = select.poll()
        p.register(fd, select.POLLIN)
        while time.monotonic() < deadline:
            events = p.poll(200)
            if not events:
                continue
            if events[0][1] & (select.POLLHUP | select.POLLERR) and \
                    not events[0][1] & select.POLLIN:
                return
            buf = bytearray(NOTIF.size)
            try:
                fcntl.ioctl(fd, NOTIF_RECV, buf)
            except OSError:
                continue  # the target died meanwhile (ENOENT)
            fields = NOTIF.unpack(buf)
            self.syscalls.append((fields[1], fields[3]))
            resp = bytearray(NOTIF_RESP.pack(fields[0], 0, -self.errno, 0))
            try:
                fcntl.ioctl(fd, NOTIF_SEND, resp)
            except OSError:
                pass

    def close(self):
        self.sock.close()
        self.join(timeout=5)
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass


def test_notify_python_agent(bundle, rt):
    """SCMP_ACT_NOTIFY with listenerPath: the runtime connects to the agent and sends the
    containerProcessState (ociVersion, fds ["seccompFd"], pid, metadata, state) with the
    listener fd; the agent answers getcwd with -EHOSTDOWN and the container sees exactly that.
    Host-side evidence: what the agent received (the container's host pid, id, bundle)."""
    agent = PyAgent(bundle.path / "agent.sock", EHOSTDOWN)
    try:
        with_seccomp(bundle, profile(
            syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_NOTIFY"}],
            listenerPath=agent.path, listenerMetadata="cella-meta-1"))
        r = bundle.create(["/probe", "cwd", "ids", "exit", "0"])
        assert r.returncode == 0, r.stderr
        pid = rt.state(bundle.id)["pid"]
        wait_for(lambda: agent.state is not None or agent.error, what="the agent's state")
        assert agent.error is None, agent.error
        s = agent.state
        assert s["fds"] == ["seccompFd"], s
        assert s["pid"] == pid and s["metadata"] == "cella-meta-1", s
        assert s["state"]["id"] == bundle.id and s["state"]["pid"] == pid, s
        assert s["state"]["status"] == "creating", s
        assert os.path.samefile(s["state"]["bundle"], bundle.path)
        assert rt("start", bundle.id).returncode == 0
        bundle.wait_output("ids")
        f = bundle.facts()
        assert cwd_errno(f) == EHOSTDOWN, f
        if os.uname().machine == "x86_64":
            assert (pid, 79) in agent.syscalls, agent.syscalls  # getcwd from the init's pid
    finally:
        agent.close()


def contrib_agent():
    for p in (REPO / "build" / "contrib" / "seccomp-notify-agent" / "seccomp-notify-agent",):
        if p.exists():
            return p
    pytest.skip("contrib seccomp-notify-agent not built")


def test_notify_contrib_agent(bundle, workdir):
    """The example agent in contrib/ fakes success for mkdir: `mkdir /x` succeeds inside, /x
    exists nowhere (host-side: not in the rootfs), and the agent logs the call."""
    sock = bundle.path / "contrib-agent.sock"
    log = open(bundle.path / "agent.log", "w+")
    proc = subprocess.Popen([str(contrib_agent()), str(sock)], stdout=log, stderr=log)
    try:
        wait_for(lambda: sock.exists(), what="the agent's socket")
        with_seccomp(bundle, profile(
            syscalls=[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}],
            listenerPath=str(sock), listenerMetadata="meta-contrib"))
        r = bundle.run(["/bin/sh", "-c", "mkdir /made-by-mkdir && echo mkdir-ok; "
                        "test -d /made-by-mkdir && echo exists || echo absent"])
        assert r.returncode == 0, r
        assert "mkdir-ok" in r.stdout and "absent" in r.stdout, r.stdout
        assert not (bundle.rootfs / "made-by-mkdir").exists()
        wait_for(lambda: "mkdir" in (bundle.path / "agent.log").read_text(),
                 what="the agent's log line")
        assert "meta-contrib" in (bundle.path / "agent.log").read_text()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
