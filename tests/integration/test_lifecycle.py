# SPDX-License-Identifier: Apache-2.0
"""Container lifecycle: creating -> created -> running -> stopped, and misuse of it."""
import json
import os
import signal
import subprocess

import pytest

from helpers import IS_CELLA, RUNTIME, TIMEOUT, wait_for


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_transitions(bundle, rt):
    assert bundle.create(["/probe", "signals"]).returncode == 0
    assert rt.status(bundle.id) == "created"
    assert rt("start", bundle.id).returncode == 0
    bundle.wait_output('"ready"')
    assert rt.status(bundle.id) == "running"
    assert rt("kill", bundle.id, "TERM").returncode == 0
    rt.wait_status(bundle.id, "stopped")
    assert rt("delete", bundle.id).returncode == 0
    assert rt.status(bundle.id) is None


def test_created_init_sleeps_without_running_the_process(bundle, rt):
    """Between create and start the init blocks (state S), it does not spin or exec."""
    assert bundle.create(["/probe", "pid"]).returncode == 0
    pid = rt.state(bundle.id)["pid"]
    wait_for(lambda: proc_state(pid) == "S", what="init to block")
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert not f.read().startswith(b"/probe"), "user process ran before start"
    assert bundle.output() == ""


def test_stopped_when_process_exits(bundle, rt):
    assert bundle.create(["/probe", "exit", "0"]).returncode == 0
    assert rt("start", bundle.id).returncode == 0
    rt.wait_status(bundle.id, "stopped")
    st = rt.state(bundle.id)
    assert st["status"] == "stopped"
    assert st["pid"] == 0 or not os.path.exists(f"/proc/{st['pid']}") \
        or proc_state(st["pid"]) == "Z"


def test_start_twice(bundle, rt):
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    assert rt("start", bundle.id).returncode == 0
    r = rt("start", bundle.id)
    assert r.returncode == 1
    if IS_CELLA:
        assert "running" in r.stderr
    assert rt.status(bundle.id) == "running"


def test_start_stopped(bundle, rt):
    assert bundle.create(["/probe", "exit", "0"]).returncode == 0
    assert rt("start", bundle.id).returncode == 0
    rt.wait_status(bundle.id, "stopped")
    assert rt("start", bundle.id).returncode == 1


def test_delete_running_without_force(bundle, rt):
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    r = rt("delete", bundle.id)
    assert r.returncode == 1
    if IS_CELLA:
        assert "running" in r.stderr
    assert rt.status(bundle.id) == "running"


def test_kill_stopped(bundle, rt):
    assert bundle.create(["/probe", "exit", "0"]).returncode == 0
    assert rt("start", bundle.id).returncode == 0
    rt.wait_status(bundle.id, "stopped")
    r = rt("kill", bundle.id, "KILL")
    assert r.returncode == 1
    if IS_CELLA:
        assert "not running" in r.stderr


def test_missing_container(rt):
    for cmd in (["state"], ["start"], ["kill"], ["delete"]):
        r = rt(*cmd, "it-no-such-container")
        assert r.returncode == 1, cmd
        if IS_CELLA:
            assert "it-no-such-container" in r.stderr and "does not exist" in r.stderr


def test_create_id_in_use(bundle, rt):
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    pid = rt.state(bundle.id)["pid"]
    r = bundle.create(["/probe", "sleep"])
    assert r.returncode == 1
    if IS_CELLA:
        assert "already exists" in r.stderr
    st = rt.state(bundle.id)
    assert st["pid"] == pid and st["status"] == "created"


def test_invalid_container_id(bundle, rt):
    for bad in ("../escape", "a/b", ""):
        r = bundle.create(["/probe", "exit", "0"], cid=bad)
        assert r.returncode != 0, bad
    assert not (rt.state_root.parent / "escape").exists()


def test_state_json_written_atomically(bundle, rt):
    """The state dir holds no temp files after create and start."""
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    assert rt("start", bundle.id).returncode == 0
    d = rt.state_root / bundle.id
    assert d.is_dir()
    for name in os.listdir(d):
        assert not name.endswith((".tmp", "~")) and not name.startswith(".tmp"), name


def test_state_after_init_killed_externally(bundle, rt):
    """state must notice the init died even though nobody told the runtime."""
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    pid = rt.state(bundle.id)["pid"]
    os.kill(pid, 9)
    rt.wait_status(bundle.id, "stopped")
    r = rt("list", "-f", "json")
    assert {c["id"]: c["status"] for c in json.loads(r.stdout)}[bundle.id] == "stopped"


def test_many_containers_one_root(bundle, rt):
    ids = [bundle.id] + [bundle.new_id() for _ in range(3)]
    for cid in ids:
        assert bundle.create(["/probe", "sleep"], cid=cid).returncode == 0
    pids = {rt.state(cid)["pid"] for cid in ids}
    assert len(pids) == len(ids)
    for cid in ids:
        assert rt("delete", "-f", cid).returncode == 0
    wait_for(lambda: not bundle.leaks(), what="all deleted")


def spawn_with_pid(pid, tries=50):
    """Starts `sleep` with exactly this pid via ns_last_pid, or returns None."""
    for _ in range(tries):
        try:
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(pid - 1))
        except OSError:
            return None
        p = subprocess.Popen(["sleep", "60"])
        if p.pid == pid:
            return p
        p.kill()
        p.wait()
    return None


def test_pid_reuse_does_not_confuse_state(bundle, rt):
    """A dead init's pid taken by an unrelated process: still stopped, and kill spares it."""
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    pid = rt.state(bundle.id)["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="init reaped")
    impostor = spawn_with_pid(pid)
    if impostor is None:
        pytest.skip("could not place a process at the old pid (ns_last_pid)")
    try:
        assert rt.status(bundle.id) == "stopped"
        rt("kill", bundle.id, "KILL")
        assert impostor.poll() is None, "kill hit an unrelated process that reused the pid"
        assert rt("delete", bundle.id).returncode == 0
        assert impostor.poll() is None, "delete hit an unrelated process that reused the pid"
    finally:
        impostor.kill()
        impostor.wait()


@pytest.mark.cella_only(reason="runc 1.1 races here: all creates may fail, or a loser's "
                        "init is leaked")
def test_concurrent_create_same_id(bundle, rt):
    """Per-container locking: of several racing creates exactly one wins."""
    bundle.set_args(["/probe", "sleep"])
    bundle.write()
    procs = []
    for i in range(4):
        out = open(bundle.path / f"race{i}.log", "w")
        procs.append((subprocess.Popen(
            [RUNTIME, "--root", str(rt.state_root), "create", "-b", str(bundle.path), bundle.id],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out), out))
    codes = []
    for p, out in procs:
        codes.append(p.wait(TIMEOUT))
        out.close()
    assert sorted(codes) == [0, 1, 1, 1], codes
    assert rt.status(bundle.id) == "created"
    pid = rt.state(bundle.id)["pid"]
    assert rt("delete", "-f", bundle.id).returncode == 0
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="winner's init gone")
    wait_for(lambda: not bundle.leaks(), what="losers left nothing")


def test_concurrent_delete(bundle, rt):
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    procs = [subprocess.Popen([RUNTIME, "--root", str(rt.state_root), "delete", "-f", bundle.id],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for _ in range(4)]
    codes = [p.wait(TIMEOUT) for p in procs]
    for p in procs:
        p.stderr.close()
    assert all(c in (0, 1) for c in codes), codes
    assert 0 in codes
    assert rt.status(bundle.id) is None
    wait_for(lambda: not bundle.leaks(), what="no leaks")
