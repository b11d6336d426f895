# SPDX-License-Identifier: Apache-2.0
"""containerd 1.6 (io.containerd.runc.v2 shim) with cella as the runc binary, driven by `ctr`:
run, run with a tty, exec (plain and tty), kill, pause/resume, task list/ps, exit codes. Every
test runs once with cella and once with runc."""
import os
import secrets
import shutil
import subprocess

import pytest

from engines import (IMAGE, run, run_in_pty, stop_process, wait_for, wait_socket)

NS = "cella-compat"
REF = f"docker.io/library/{IMAGE}"


@pytest.fixture(scope="module")
def containerd(compat_dir, image_tar):
    binary = shutil.which("containerd")
    if not binary or not shutil.which("ctr"):
        pytest.skip("containerd is not installed (Debian package: containerd)")
    d = compat_dir / "containerd"
    d.mkdir()
    sock = d / "c.sock"
    (d / "config.toml").write_text(f"""version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
""")
    log = d / "containerd.log"
    with open(log, "w") as f:
        p = subprocess.Popen([binary, "--config", str(d / "config.toml")], stdout=f, stderr=f,
                             stdin=subprocess.DEVNULL)
    try:
        wait_socket(sock, p, "containerd", log)
        ctr = Ctr(sock)
        r = ctr("image", "import", image_tar)
        assert r.returncode == 0, r
        yield ctr
        for task in ctr.ids("task"):
            ctr("task", "kill", "-s", "SIGKILL", task)
            ctr("task", "delete", "-f", task)
        for c in ctr.ids("container"):
            ctr("container", "delete", c)
    finally:
        stop_process(p)


class Ctr:
    def __init__(self, sock):
        self.sock = sock

    def argv(self, *args):
        return ["ctr", "-a", str(self.sock), "-n", NS, *map(str, args)]

    def __call__(self, *args, **kw):
        return run(self.argv(*args), **kw)

    def ids(self, what):
        r = self(what, "ls", "-q")
        return r.stdout.split() if r.returncode == 0 else []

    def task_status(self, cid):
        r = self("task", "ls")
        for line in r.stdout.splitlines()[1:]:
            f = line.split()
            if f and f[0] == cid:
                return f[2]
        return None


@pytest.fixture
def cid(containerd):
    name = f"t-{secrets.token_hex(4)}"
    yield name
    containerd("task", "kill", "-s", "SIGKILL", name)
    wait_for(lambda: containerd.task_status(name) in (None, "STOPPED"), what="task stop")
    containerd("task", "delete", "-f", name)
    containerd("container", "delete", name)


def start_detached(ctr, runtime_path, cid, *cmd):
    r = ctr("run", "-d", "--runc-binary", runtime_path, REF, cid, *cmd)
    assert r.returncode == 0, r
    wait_for(lambda: ctr.task_status(cid) == "RUNNING", what="task running")


def test_run_rm(containerd, runtime_path, cid):
    r = containerd("run", "--rm", "--runc-binary", runtime_path, REF, cid, "echo", "hello")
    assert r.returncode == 0, r
    assert r.stdout == "hello\n"
    assert cid not in containerd.ids("container")


@pytest.mark.parametrize("code", [0, 3, 77])
def test_exit_codes(containerd, runtime_path, cid, code):
    r = containerd("run", "--rm", "--runc-binary", runtime_path, REF, cid, "sh", "-c",
                   f"exit {code}")
    assert r.returncode == code, r


def test_run_tty(containerd, runtime_path, cid):
    rc, out = run_in_pty(containerd.argv("run", "--rm", "-t", "--runc-binary", runtime_path,
                                         REF, cid, "sh", "-c", "tty; exit 5"))
    assert "/dev/pts/" in out, out
    assert rc == 5, out


def test_exec_and_task_list(containerd, runtime_path, cid):
    start_detached(containerd, runtime_path, cid, "sleep", "1000")
    r = containerd("task", "ls")
    line = [ln for ln in r.stdout.splitlines() if ln.startswith(cid)]
    assert line and line[0].split()[2] == "RUNNING", r.stdout
    pid = int(line[0].split()[1])
    assert os.path.exists(f"/proc/{pid}")
    r = containerd("task", "exec", "--exec-id", "e1", cid, "sh", "-c",
                   "echo in-exec $$; cat /proc/1/cmdline; exit 4")
    assert r.returncode == 4, r
    assert r.stdout.startswith("in-exec "), r
    assert "sleep" in r.stdout
    r = containerd("task", "ps", cid)
    assert r.returncode == 0, r
    assert str(pid) in r.stdout


def test_exec_tty(containerd, runtime_path, cid):
    start_detached(containerd, runtime_path, cid, "sleep", "1000")
    rc, out = run_in_pty(containerd.argv("task", "exec", "-t", "--exec-id", "e2", cid, "sh",
                                         "-c", "tty; exit 6"))
    assert "/dev/pts/" in out, out
    assert rc == 6, out


@pytest.mark.parametrize("sig,status", [("SIGTERM", 143), ("SIGKILL", 137)])
def test_kill(containerd, runtime_path, cid, sig, status):
    # pid 1 only dies of signals it handles (or SIGKILL from outside): trap TERM
    start_detached(containerd, runtime_path, cid, "sh", "-c",
                   "trap 'exit 143' TERM; while :; do sleep 0.1; done")
    r = containerd("task", "kill", "-s", sig, cid)
    assert r.returncode == 0, r
    wait_for(lambda: containerd.task_status(cid) == "STOPPED", what="task stopped")
    r = containerd("task", "delete", cid)
    assert r.returncode == 0, r
    assert f"exit code {status}" in r.stderr, r


def test_pause_resume(containerd, runtime_path, cid):
    start_detached(containerd, runtime_path, cid, "sleep", "1000")
    r = containerd("task", "pause", cid)
    assert r.returncode == 0, r
    assert containerd.task_status(cid) == "PAUSED"
    r = containerd("task", "resume", cid)
    assert r.returncode == 0, r
    assert containerd.task_status(cid) == "RUNNING"
    r = containerd("task", "exec", "--exec-id", "after", cid, "true")
    assert r.returncode == 0, r


def test_exec_missing_binary(containerd, runtime_path, cid):
    start_detached(containerd, runtime_path, cid, "sleep", "1000")
    r = containerd("task", "exec", "--exec-id", "bad", cid, "/no/such/binary")
    assert r.returncode != 0
    assert "/no/such/binary" in r.stderr, r
    assert containerd.task_status(cid) == "RUNNING"
