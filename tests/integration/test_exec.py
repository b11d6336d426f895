# SPDX-License-Identifier: Apache-2.0
"""`exec`: every runc flag, the namespaces/cgroup/identity of the new process, its exit status,
signals, terminals, and the errors runc gives (stopped, paused, bad command)."""
import json
import os
import pty
import signal
import subprocess
import termios
import fcntl
import struct
import sys
import tempfile
from pathlib import Path

import pytest

from helpers import IS_CELLA, RUNTIME, TIMEOUT, ConsoleSocket, caps_mask, parse_probe, wait_for


@pytest.fixture
def running(bundle, rt):
    """A running container whose init sleeps; exec targets it."""
    r = bundle.run_detached(["/probe", "sleep"])
    assert r.returncode == 0, r
    return bundle


def exec_detached(rt, *args):
    """exec -d: the process keeps the stdio it inherits, so do not hand it our pipes."""
    with tempfile.TemporaryFile("w+") as err:
        r = rt("exec", "-d", *args, stdout=subprocess.DEVNULL, stderr=err)
        err.seek(0)
        r.stderr = err.read()
    return r


def probe_exec(rt, b, *what, flags=()):
    r = rt("exec", *flags, b.id, "/probe", *what)
    assert r.returncode == 0, r
    return parse_probe(r.stdout)


def init_pid(rt, b):
    return rt.state(b.id)["pid"]


def host_ns(pid):
    return {n: os.readlink(f"/proc/{pid}/ns/{n}")
            for n in ("cgroup", "ipc", "mnt", "net", "pid", "uts", "user")}


def test_exit_status_is_the_process_s(running, rt):
    assert rt("exec", running.id, "/probe", "exit", "7").returncode == 7
    assert rt("exec", running.id, "/bin/true").returncode == 0
    r = rt("exec", running.id, "/bin/sh", "-c", "kill -KILL $$")
    assert r.returncode == 128 + signal.SIGKILL, r


def test_output_and_stdin_are_the_caller_s(running, rt):
    r = subprocess.run([RUNTIME, "--root", str(rt.state_root), "exec", running.id, "/bin/sh",
                        "-c", "cat; echo err >&2"], input="from stdin", capture_output=True,
                       text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r
    assert r.stdout == "from stdin"
    assert "err" in r.stderr


def test_joins_every_namespace_of_the_init(running, rt):
    facts = probe_exec(rt, running, "namespaces")["namespaces"]
    want = host_ns(init_pid(rt, running))
    for name, link in want.items():
        assert facts[name] == link, f"{name}: exec {facts[name]} init {link}"
    assert facts["pid_for_children"] == want["pid"]


def test_pid_namespace_and_root(running, rt):
    pid = probe_exec(rt, running, "pid")["pid"]
    assert pid["pid"] > 1, "exec must not become the container's init"
    r = rt("exec", running.id, "/bin/ls", "/")
    assert "probe" in r.stdout.split(), r  # the container's rootfs, not the host's
    r = rt("exec", running.id, "/bin/sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
    assert r.stdout.startswith("/probe sleep"), r


def test_cgroup_is_the_init_s(running, rt, tmp_path):
    pidfile = tmp_path / "exec.pid"
    r = exec_detached(rt, "--pid-file", pidfile, running.id, "/probe", "sleep")
    assert r.returncode == 0, r
    pid = int(pidfile.read_text())
    init = init_pid(rt, running)
    assert Path(f"/proc/{pid}/cgroup").read_text() == Path(f"/proc/{init}/cgroup").read_text()
    assert os.readlink(f"/proc/{pid}/root") == os.readlink(f"/proc/{init}/root")


def test_pid_file_and_detach(running, rt, tmp_path):
    pidfile = tmp_path / "sub" / "exec.pid"
    pidfile.parent.mkdir()
    r = exec_detached(rt, "--pid-file", pidfile, running.id, "/probe", "sleep")
    assert r.returncode == 0, r
    pid = int(pidfile.read_text())
    assert pidfile.read_text() == str(pid), "runc writes the bare pid, no newline"
    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert cmd[:2] == [b"/probe", b"sleep"], "the pid file names the exec'd process"
    # Detached: it outlives the exec command; the container's kill --all reaches it.
    assert rt("kill", "--all", running.id, "KILL").returncode == 0
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or
             Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z",
             what="the exec'd process to die")


def test_env_from_config_plus_flags(running, rt):
    running.config["process"]["env"] = ["PATH=/bin", "KEEP=1", "OVER=old"]
    running.write()
    r = rt("exec", "-e", "OVER=new", "-e", "ADDED=x y", running.id, "/probe", "env")
    env = parse_probe(r.stdout)["env"]
    assert {"PATH=/bin", "KEEP=1", "OVER=new", "ADDED=x y"} <= set(env), env
    assert "OVER=old" not in env


def test_user_and_additional_gids(running, rt):
    ids = probe_exec(rt, running, "ids", flags=("-u", "1000:1001", "--additional-gids", "5",
                                               "--additional-gids", "65534"))["ids"]
    assert (ids["uid"], ids["euid"], ids["gid"], ids["egid"]) == (1000, 1000, 1001, 1001)
    assert sorted(ids["groups"]) == [5, 65534]
    ids = probe_exec(rt, running, "ids", flags=("--user", "1000"))["ids"]
    assert ids["uid"] == 1000 and ids["gid"] == 0


def test_user_must_be_numeric(running, rt):
    r = rt("exec", "-u", "nobody", running.id, "/bin/true")
    assert r.returncode != 0


def test_cwd(running, rt):
    assert probe_exec(rt, running, "cwd", flags=("--cwd", "/tmp"))["cwd"] == "/tmp"
    assert probe_exec(rt, running, "cwd")["cwd"] == running.config["process"]["cwd"]


def test_cwd_missing_is_an_error(running, rt):
    r = rt("exec", "--cwd", "/does/not/exist", running.id, "/bin/true")
    assert r.returncode != 0
    assert "/does/not/exist" in r.stderr


def test_caps_from_config_and_cap_flag(running, rt):
    cfg = running.config["process"]["capabilities"]
    base = probe_exec(rt, running, "caps")["caps"]
    assert int(base["effective"], 16) == caps_mask(cfg["effective"])
    more = probe_exec(rt, running, "caps", flags=("--cap", "CAP_SYS_ADMIN", "--cap",
                                                  "CAP_NET_ADMIN"))["caps"]
    want = caps_mask(cfg["effective"]) | caps_mask(["CAP_SYS_ADMIN", "CAP_NET_ADMIN"])
    assert int(more["effective"], 16) == want
    assert int(more["bounding"], 16) & want == want
    assert int(more["inheritable"], 16) == 0, "--cap must not add inheritable (CVE-2022-29162)"


def test_no_new_privs(bundle, rt):
    bundle.config["process"]["noNewPrivileges"] = False
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    assert probe_exec(rt, bundle, "nnp")["nnp"]["no_new_privs"] == "0"
    nnp = probe_exec(rt, bundle, "nnp", flags=("--no-new-privs",))["nnp"]
    assert nnp["no_new_privs"] == "1"


@pytest.mark.cella_only("runc 1.1 (built with Go >= 1.19) leaves exec's RLIMIT_NOFILE soft "
                        "limit raised to the hard one")
def test_rlimits_from_config(bundle, rt):
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    lim = probe_exec(rt, bundle, "rlimits")["rlimits"]
    assert lim["RLIMIT_NOFILE"] == [321, 654], lim


def test_seccomp_of_the_container_applies(bundle, rt):
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 1}]}
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    r = rt("exec", bundle.id, "/bin/mkdir", "/tmp/blocked")
    assert r.returncode != 0
    assert "Operation not permitted" in r.stderr, r
    assert probe_exec(rt, bundle, "nnp")["nnp"]["seccomp"] == "2"


def test_process_file(running, rt, tmp_path):
    proc = {"args": ["/probe", "ids", "cwd", "env"], "env": ["ONLY=this"], "cwd": "/home",
            "user": {"uid": 1000, "gid": 1000, "additionalGids": [5]}, "terminal": False}
    f = tmp_path / "process.json"
    f.write_text(json.dumps(proc))
    # Command-line overrides are ignored with --process, as in runc.
    r = rt("exec", "--process", f, "-e", "IGNORED=1", running.id)
    assert r.returncode == 0, r
    facts = parse_probe(r.stdout)
    assert facts["ids"]["uid"] == 1000 and facts["ids"]["groups"] == [5]
    assert facts["cwd"] == "/home"
    assert "ONLY=this" in facts["env"] and not any(e.startswith("IGNORED") for e in facts["env"])


def test_process_file_errors_name_the_field(running, rt, tmp_path):
    f = tmp_path / "process.json"
    f.write_text(json.dumps({"args": "not-a-list", "cwd": "/"}))
    r = rt("exec", "--process", f, running.id)
    assert r.returncode == 255, "runc's exit code for exec errors"
    assert "args" in r.stderr


def test_fds_do_not_leak(running, rt):
    fds = probe_exec(rt, running, "fds")["fds"]
    assert set(fds) == {"0", "1", "2"}, fds


def test_preserve_fds(running, rt, tmp_path):
    f = tmp_path / "passed"
    f.write_text("x")
    with open(f) as keep:
        fd = keep.fileno()
        # preserved fds are numbered from 3: move ours there in the child
        r = subprocess.run(
            [RUNTIME, "--root", str(rt.state_root), "exec", "--preserve-fds", "1", running.id,
             "/probe", "fds"],
            capture_output=True, text=True, preexec_fn=lambda: os.dup2(fd, 3),
            close_fds=False, timeout=TIMEOUT)
    assert r.returncode == 0, r
    fds = parse_probe(r.stdout)["fds"]
    assert "3" in fds and fds["3"].endswith("passed"), fds


def test_console_socket_tty(running, rt, tmp_path):
    sock = ConsoleSocket(tmp_path / "console.sock")
    try:
        r = exec_detached(rt, "-t", "--console-socket", sock.path, running.id, "/probe", "tty")
        assert r.returncode == 0, r
        sock.wait_master()
        sock.wait_output(b"}")
        facts = parse_probe(sock.output.decode(errors="replace").replace("\r", ""))
        assert facts["tty"]["0"]["isatty"] and facts["tty"]["1"]["name"].startswith("/dev/pts/")
    finally:
        sock.close()


def test_tty_detached_needs_console_socket(running, rt):
    r = rt("exec", "-t", "-d", running.id, "/bin/true")
    assert r.returncode == 255, "runc's exit code for exec errors"
    assert "console socket" in r.stderr


def test_console_socket_without_tty_is_refused(running, rt, tmp_path):
    r = rt("exec", "-d", "--console-socket", tmp_path / "x.sock", running.id, "/bin/true")
    assert r.returncode == 255, "runc's exit code for exec errors"
    assert "console socket" in r.stderr


def test_tty_foreground_proxies_the_pty(running, rt):
    pid, master = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 31, 97, 0, 0))
        os.execv(RUNTIME, [RUNTIME, "--root", str(rt.state_root), "exec", "-t", running.id,
                           "/bin/sh", "-c", "read x; echo got-$x; stty size; tty; exit 5"])
    os.write(master, b"hello\n")
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(master)
    assert os.WEXITSTATUS(status) == 5, out
    text = out.decode(errors="replace")
    assert "got-hello" in text and "/dev/pts/" in text, text
    if IS_CELLA:  # runc 1.1 sizes the pty only on SIGWINCH
        assert "31 97" in text, "the pty takes the caller's terminal size"


def test_signals_are_forwarded(running, rt):
    p = subprocess.Popen([RUNTIME, "--root", str(rt.state_root), "exec", running.id,
                          "/probe", "signals"], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip().endswith('{"ready":true}')
        p.send_signal(signal.SIGUSR1)
        line = p.stdout.readline()
        assert json.loads(line) == {"signal": signal.SIGUSR1}
        assert p.wait(timeout=TIMEOUT) == 0
    finally:
        p.kill()
        p.wait()


def test_exec_in_created_container(bundle, rt):
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    assert rt("exec", bundle.id, "/bin/true").returncode == 0
    assert rt.status(bundle.id) == "created"


def test_stopped_container(bundle, rt):
    assert bundle.run_detached(["/bin/true"]).returncode == 0
    rt.wait_status(bundle.id, "stopped")
    r = rt("exec", bundle.id, "/bin/true")
    assert r.returncode == 255, "runc's exit code for exec errors"
    assert "cannot exec in a stopped container" in r.stderr


def test_missing_container(rt):
    r = rt("exec", "no-such-container-xyz", "/bin/true")
    assert r.returncode == 255, "runc's exit code for exec errors"
    assert "no-such-container-xyz" in r.stderr or "does not exist" in r.stderr


def freezer_dir(pid):
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if "freezer" in ctrls.split(","):
            return Path("/sys/fs/cgroup/freezer") / path.lstrip("/")
    return None


def set_paused(rt, b, paused):
    if rt("pause" if paused else "resume", b.id).returncode == 0:
        return True
    d = freezer_dir(init_pid(rt, b))
    if not d or not d.exists():
        return False
    (d / "freezer.state").write_text("FROZEN" if paused else "THAWED")
    return True


def test_paused_container(running, rt, tmp_path):
    if not set_paused(rt, running, True):
        pytest.skip("no pause command and no v1 freezer")
    try:
        rt.wait_status(running.id, "paused")
        r = rt("exec", running.id, "/bin/true")
        assert r.returncode == 255, "runc's exit code for exec errors"
        assert "cannot exec in a paused container" in r.stderr
        # --ignore-paused: accepted; the process joins the frozen cgroup, so (as with runc)
        # it runs once the container is resumed.
        p = subprocess.Popen([RUNTIME, "--root", str(rt.state_root), "exec", "--ignore-paused",
                              running.id, "/bin/echo", "ran"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            with pytest.raises(subprocess.TimeoutExpired):
                p.wait(timeout=1)
            set_paused(rt, running, False)
            out, err = p.communicate(timeout=TIMEOUT)
            assert p.returncode == 0, err
            assert out == "ran\n"
        finally:
            p.kill()
            p.wait()
    finally:
        set_paused(rt, running, False)


def test_bad_command_reaches_the_user_and_leaves_nothing(running, rt):
    r = rt("exec", running.id, "/no/such/binary")
    assert r.returncode != 0
    assert "/no/such/binary" in r.stderr
    r = rt("exec", running.id, "not-in-path-xyz")
    assert r.returncode != 0
    assert "not-in-path-xyz" in r.stderr
    assert rt.status(running.id) == "running"
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    for p in pids:
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            continue
        assert b"not-in-path-xyz" not in cmd


def test_empty_args(running, rt):
    r = rt("exec", running.id)
    assert r.returncode == 255, "runc's exit code for exec errors"
    assert "args" in r.stderr


def test_sub_cgroup(running, rt, tmp_path):
    init = init_pid(rt, running)
    pids_dir = None
    for line in Path(f"/proc/{init}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if "pids" in ctrls.split(","):
            pids_dir = Path("/sys/fs/cgroup/pids") / path.lstrip("/")
    if not pids_dir or not pids_dir.exists():
        pytest.skip("no v1 pids hierarchy")
    sub = pids_dir / "sub"
    sub.mkdir()
    try:
        pidfile = tmp_path / "p.pid"
        r = exec_detached(rt, "--pid-file", pidfile, "--cgroup", "pids:sub", running.id,
                          "/probe", "sleep")
        assert r.returncode == 0, r
        pid = int(pidfile.read_text())
        assert str(pid) in (sub / "cgroup.procs").read_text().split()
    finally:
        rt("kill", "--all", running.id, "KILL")
        wait_for(lambda: not (sub / "cgroup.procs").read_text().strip(), what="sub cgroup empty")
        sub.rmdir()


def test_foreground_exec_is_reaped_by_the_runtime(running, rt):
    """The exec'd process is the runtime's child, so its parent (outside the pid ns) is 0."""
    pid = probe_exec(rt, running, "pid")["pid"]
    assert pid["ppid"] == 0


def test_json_log_line_for_exec_failure(running, rt, tmp_path):
    """containerd's shim reads the last error from --log-format json lines."""
    log = tmp_path / "log.json"
    r = rt("exec", running.id, "/no/such/binary", global_args=("--log", str(log),
                                                                 "--log-format", "json"))
    assert r.returncode == 255
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    errors = [e for e in lines if e["level"] == "error"]
    assert errors, lines
    assert errors[-1]["msg"].startswith("exec failed: ") and "/no/such/binary" in errors[-1]["msg"]
    assert set(errors[-1]) >= {"level", "msg", "time"}


SUBREAPER = r"""
import ctypes, os, subprocess, sys, time
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
pidfile = sys.argv[sys.argv.index("--pid-file") + 1]
pid = int(open(pidfile).read())
ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
print(r.returncode, ppid, os.getpid())
"""


def test_detached_exec_is_reparented_to_the_subreaper(running, rt, tmp_path):
    """Like containerd's shim: the caller is a subreaper, so it inherits the exec'd process."""
    pidfile = tmp_path / "exec.pid"
    r = subprocess.run([sys.executable, "-c", SUBREAPER, RUNTIME, "--root", str(rt.state_root),
                        "exec", "-d", "--pid-file", str(pidfile), running.id, "/probe", "sleep"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r
    rc, ppid, me = map(int, r.stdout.split())
    assert rc == 0
    assert ppid == me, "the exec'd process must be reparented to the caller (a subreaper)"
