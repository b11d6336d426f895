# SPDX-License-Identifier: Apache-2.0
"""The cgroup-backed commands, as runc has them: pause/resume (freezer), ps, events --stats,
update, kill --all, delete -f of a paused container. Each test asserts on the cgroup files or
the processes, not only on exit codes."""
import json
import os

import pytest

from helpers import IS_CELLA, wait_for
from test_cgroup_resources import MiB, container_cgroups, is_v2, read


def start(bundle, rt, args=("sleep", "1000"), resources=None):
    if resources is not None:
        bundle.config["linux"]["resources"] = resources
    r = bundle.run_detached(list(args))
    assert r.returncode == 0, r.stderr
    pid = rt.state(bundle.id)["pid"]
    return pid, container_cgroups(pid)


def frozen(cg):
    if is_v2():
        return "frozen 1" in read(cg[""], "cgroup.events").splitlines()
    return read(cg["freezer"], "freezer.state") == "FROZEN"


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_pause_resume(bundle, rt):
    pid, cg = start(bundle, rt)
    assert rt("pause", bundle.id).returncode == 0
    assert rt.status(bundle.id) == "paused"
    assert frozen(cg)
    r = rt("pause", bundle.id)
    assert r.returncode != 0, "pausing a paused container must fail"
    assert rt("resume", bundle.id).returncode == 0
    assert rt.status(bundle.id) == "running"
    assert not frozen(cg)
    r = rt("resume", bundle.id)
    assert r.returncode != 0, "resuming a running container must fail"


def test_delete_force_paused(bundle, rt):
    pid, cg = start(bundle, rt)
    assert rt("pause", bundle.id).returncode == 0
    r = rt("delete", "-f", bundle.id)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or proc_state(pid) == "Z",
             what="the paused init to die")
    assert not any(d.exists() for d in cg.values())
    bundle.assert_no_leaks()


def test_ps_lists_container_processes(bundle, rt):
    pid, _ = start(bundle, rt, ["sh", "-c", "sleep 1000 & sleep 1000 & wait"])

    def pids():
        r = rt("ps", "-f", "json", bundle.id)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    got = wait_for(lambda: len(pids()) >= 3 and pids(), what="three processes")
    assert pid in got
    assert all(isinstance(p, int) for p in got)
    r = rt("ps", bundle.id)
    assert r.returncode == 0, r.stderr
    assert "PID" in r.stdout.splitlines()[0]
    assert str(pid) in r.stdout


def test_events_stats(bundle, rt):
    start(bundle, rt, resources={"pids": {"limit": 77}, "memory": {"limit": 96 * MiB}})
    r = rt("events", "--stats", bundle.id)
    assert r.returncode == 0, r.stderr
    ev = json.loads(r.stdout.splitlines()[0])
    assert ev["type"] == "stats" and ev["id"] == bundle.id
    data = ev["data"]
    assert data["pids"]["current"] >= 1
    assert data["pids"]["limit"] == 77
    assert data["memory"]["usage"]["limit"] == 96 * MiB
    assert "total" in data["cpu"]["usage"] or "kernel" in data["cpu"]["usage"]


def test_update_flags(bundle, rt):
    _, cg = start(bundle, rt, resources={"memory": {"limit": 64 * MiB}, "pids": {"limit": 30}})
    r = rt("update", "--memory", "128M", "--pids-limit", "50", "--cpu-quota", "20000",
           "--cpu-period", "100000", bundle.id)
    assert r.returncode == 0, r.stderr
    if is_v2():
        d = cg[""]
        assert read(d, "memory.max") == str(128 * MiB)
        assert read(d, "pids.max") == "50"
        assert read(d, "cpu.max") == "20000 100000"
    else:
        assert read(cg["memory"], "memory.limit_in_bytes") == str(128 * MiB)
        assert read(cg["pids"], "pids.max") == "50"
        assert read(cg["cpu"], "cpu.cfs_quota_us") == "20000"


def test_update_from_resources_file(bundle, rt):
    _, cg = start(bundle, rt)
    res = bundle.path / "resources.json"
    res.write_text(json.dumps({"pids": {"limit": 12}, "cpu": {"shares": 256}}))
    r = rt("update", "-r", res, bundle.id)
    assert r.returncode == 0, r.stderr
    d = cg[""] if is_v2() else cg["pids"]
    assert read(d, "pids.max") == "12"
    if not is_v2():
        assert read(cg["cpu"], "cpu.shares") == "256"


def test_kill_all_reaches_every_process(bundle, rt):
    pid, cg = start(bundle, rt, ["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    procs = cg[""] if is_v2() or "pids" not in cg else cg["pids"]
    wait_for(lambda: len(read(procs, "cgroup.procs").split()) >= 3, what="three processes")
    r = rt("kill", "--all", bundle.id, "KILL")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: read(procs, "cgroup.procs") == "", what="every process to die")
    rt.wait_status(bundle.id, "stopped")


@pytest.mark.skipif(not IS_CELLA, reason="runc needs ~4 MiB; the 512 KiB floor is cella's goal")
def test_starts_under_512k_memory_limit(bundle):
    bundle.config["linux"]["resources"] = {"memory": {"limit": 512 * 1024}}
    r = bundle.run(["true"])
    assert r.returncode == 0, r


@pytest.mark.skipif(not os.path.exists("/run/systemd/system"),
                    reason="systemd is not init here (tests/vm/integration-v2.sh has it)")
def test_systemd_cgroup_driver(bundle, rt):
    bundle.config["linux"]["cgroupsPath"] = f"system.slice:cella-it:{bundle.id}"
    bundle.config["linux"]["resources"] = {"pids": {"limit": 21}}
    bundle.config["process"]["args"] = ["sleep", "1000"]
    bundle.write()
    with open(bundle.out, "ab") as out, open(bundle.err, "ab") as err:
        r = rt("run", "-d", "--bundle", bundle.path, bundle.id, stdout=out, stderr=err,
               global_args=["--systemd-cgroup"])
    assert r.returncode == 0, bundle.err.read_text()
    unit = f"cella-it-{bundle.id}.scope"
    pid = rt.state(bundle.id)["pid"]
    cg = container_cgroups(pid)
    d = cg[""] if is_v2() else cg["pids"]
    assert str(d).endswith(f"/system.slice/{unit}"), d
    assert os.path.exists(f"/run/systemd/transient/{unit}"), "systemd does not know the unit"
    assert read(d, "pids.max") == "21"
    r = rt("delete", "-f", bundle.id, global_args=["--systemd-cgroup"])
    assert r.returncode == 0, r.stderr
    wait_for(lambda: not d.exists(), what="the scope's cgroup to go")
