# SPDX-License-Identifier: Apache-2.0
"""Odd but legal input, and failures after the container exists: every path ends in a clean
state (no crash, no leak)."""
import json
import os
import signal
import subprocess

import pytest

from helpers import IS_CELLA, RUNTIME, TIMEOUT, force_cleanup, wait_for


def no_crash(r):
    assert r.returncode >= 0 and r.returncode < 128, f"runtime died: {r.returncode} {r.stderr}"


def test_id_with_all_allowed_characters(bundle, rt):
    cid = bundle.id + "_a.b+c-D9"
    bundle.ids.append(cid)
    r = bundle.run(["/probe", "exit", "0"], cid=cid)
    assert r.returncode == 0, r.stderr


def test_very_long_id(bundle, rt):
    cid = "x" * 1024
    bundle.ids.append(cid)
    r = bundle.create(["/probe", "exit", "0"], cid=cid)
    no_crash(r)
    if r.returncode == 0:
        assert rt("delete", "-f", cid).returncode == 0
    elif IS_CELLA:
        # the reason must survive however long the quoted value is
        assert "long" in r.stderr.lower(), r.stderr[-200:]
    bundle.assert_no_leaks()


def test_root_dir_created_on_demand(bundle, rt, workdir):
    root = workdir / f"fresh-root-{bundle.id}" / "nested"
    bundle.set_args(["/probe", "exit", "0"])
    bundle.write()
    r = subprocess.run([RUNTIME, "--root", str(root), "run", "-b", str(bundle.path), bundle.id],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert not (root / bundle.id).exists()


def test_pid_file_in_missing_dir_cleans_up(bundle, rt):
    r = bundle.create(["/probe", "sleep"], extra=["--pid-file", bundle.path / "no" / "dir" / "p"])
    no_crash(r)
    if r.returncode == 0:
        pytest.skip("runtime creates the pid file's directory")
    assert rt.status(bundle.id) is None
    bundle.assert_no_leaks()


def test_console_socket_missing_cleans_up(bundle, rt):
    bundle.config["process"]["terminal"] = True
    r = bundle.create(["/probe", "sleep"], extra=["--console-socket", bundle.path / "nope.sock"])
    assert r.returncode != 0
    no_crash(r)
    assert rt.status(bundle.id) is None
    bundle.assert_no_leaks()


def test_console_socket_peer_closes_without_reading(bundle, rt):
    import socket
    path = str(bundle.path / "rude.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    try:
        bundle.config["process"]["terminal"] = True
        bundle.set_args(["/probe", "exit", "0"])
        bundle.write()
        with open(bundle.err, "ab") as err:
            p = subprocess.Popen([RUNTIME, "--root", str(rt.state_root), "create", "-b",
                                  str(bundle.path), "--console-socket", path, bundle.id],
                                 stdin=subprocess.DEVNULL, stdout=err, stderr=err)
            conn, _ = s.accept()
            conn.close()
            code = p.wait(TIMEOUT)
        assert 0 <= code < 128
        if code == 0:
            assert rt("delete", "-f", bundle.id).returncode == 0
    finally:
        s.close()
    wait_for(lambda: not bundle.leaks(), what="no leaks")


def test_kill_signal_out_of_range(bundle, rt):
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    for sig in ("99", "-1", "SIGNOPE"):
        r = rt("kill", bundle.id, sig)
        assert r.returncode != 0, sig
        no_crash(r)
    assert rt.status(bundle.id) == "created"


def state_files(rt, cid):
    d = rt.state_root / cid
    return [d / n for n in os.listdir(d) if n.endswith(".json")]


def test_corrupt_state_file(bundle, rt):
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    pid = rt.state(bundle.id)["pid"]
    files = state_files(rt, bundle.id)
    if not files:
        pytest.skip("state is not kept in a .json file")
    for f in files:
        f.write_text("{ garbage")
    for cmd in (["state", bundle.id], ["list"], ["kill", bundle.id, "KILL"], ["start", bundle.id]):
        r = rt(*cmd)
        no_crash(r)
    r = rt("state", bundle.id)
    assert r.returncode != 0
    if IS_CELLA:
        assert "state" in r.stderr.lower()
    # The runtime cannot be expected to clean up what its state no longer describes.
    os.kill(pid, 9)
    force_cleanup(bundle.id, bundle.path, rt.state_root)


def test_state_dir_removed_behind_our_back(bundle, rt):
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    pid = rt.state(bundle.id)["pid"]
    subprocess.run(["rm", "-rf", str(rt.state_root / bundle.id)], check=True)
    r = rt("state", bundle.id)
    assert r.returncode == 1
    no_crash(rt("delete", "-f", bundle.id))
    os.kill(pid, 9)
    force_cleanup(bundle.id, bundle.path, rt.state_root)


def test_lxcfs_style_proc_file_mount_allowed(bundle, workdir):
    src = bundle.path / "fake-uptime"
    src.write_text("12345.67 1.00\n")
    bundle.config["mounts"].append({"destination": "/proc/uptime", "type": "bind",
                                    "source": str(src), "options": ["bind", "ro"]})
    f = bundle.probe("read", "/proc/uptime")
    assert f["read:/proc/uptime"] == "12345.67 1.00"


def test_env_without_equals(bundle):
    bundle.config["process"]["env"] = ["PATH=/bin", "NOEQUALS"]
    r = bundle.run(["/probe", "env"])
    no_crash(r)
    if r.returncode == 0:
        assert "PATH=/bin" in r.facts["env"]
    bundle.assert_no_leaks()


def test_state_lists_stopped_container_after_runtime_killed(bundle, rt):
    """A runtime killed mid-way (here: after create) leaves a container that delete -f removes."""
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    r = rt("list", "-f", "json")
    assert bundle.id in [c["id"] for c in json.loads(r.stdout)]
    assert rt("delete", "-f", bundle.id).returncode == 0
    wait_for(lambda: not bundle.leaks(), what="no leaks")


@pytest.mark.skipif(not IS_CELLA, reason="the state directory layout is cella's")
def test_state_dir_of_an_interrupted_create(rt):
    """A create killed before it wrote state.json leaves a bare, unlocked state directory:
    that is no container being created but a leftover, shown stopped and removed by delete -f."""
    cid = "interrupted-create"
    (rt.state_root / cid).mkdir(parents=True, mode=0o700)
    try:
        r = rt("state", cid)
        assert r.returncode == 0, r
        assert json.loads(r.stdout)["status"] == "stopped"
        assert "delete --force" in r.stderr, r.stderr
        assert cid in [c["id"] for c in json.loads(rt("list", "-f", "json").stdout)]
        assert rt("delete", cid).returncode != 0
        assert rt("delete", "-f", cid).returncode == 0
        assert not (rt.state_root / cid).exists()
    finally:
        subprocess.run(["rm", "-rf", str(rt.state_root / cid)])


@pytest.mark.skipif(not IS_CELLA, reason="the state directory layout is cella's")
def test_state_dir_locked_by_a_create_at_work_is_creating(rt):
    import fcntl
    cid = "create-at-work"
    d = rt.state_root / cid
    d.mkdir(parents=True, mode=0o700)
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = rt("state", cid)
        assert r.returncode == 0, r
        assert json.loads(r.stdout)["status"] == "creating"
    finally:
        os.close(fd)
        subprocess.run(["rm", "-rf", str(d)])


def unlocked(path):
    import fcntl
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


@pytest.mark.skipif(not IS_CELLA, reason="the state directory layout is cella's")
def test_run_leaves_a_new_container_with_its_id_alone(bundle, rt):
    """`run` deletes its own container when it ends. If that container was deleted behind its
    back and the id reused meanwhile, the new container is not run's to delete."""
    bundle.set_args(["/probe", "sleep"])
    bundle.write()
    p = subprocess.Popen([RUNTIME, "--root", str(rt.state_root), "run", "-b", str(bundle.path),
                          bundle.id], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: rt.status(bundle.id) == "running", what="run's container running")
        wait_for(lambda: unlocked(rt.state_root / bundle.id), what="run to release its lock")
        os.kill(p.pid, signal.SIGSTOP)  # run cannot react until we let it
        assert rt("delete", "-f", bundle.id).returncode == 0
        assert bundle.create(["/probe", "sleep"]).returncode == 0
        pid = rt.state(bundle.id)["pid"]
        os.kill(p.pid, signal.SIGCONT)
        p.wait(TIMEOUT)
        assert rt.status(bundle.id) == "created", p.stderr.read()
        assert rt.state(bundle.id)["pid"] == pid
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGCONT)
            p.kill()
            p.wait()
        p.stderr.close()
    assert rt("delete", "-f", bundle.id).returncode == 0
    bundle.assert_no_leaks()
