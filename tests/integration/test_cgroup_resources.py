# SPDX-License-Identifier: Apache-2.0
"""linux.resources: the values land in the container's cgroup files (v1, hybrid or v2, with
the spec's v1 values converted on v2), the kernel enforces them (OOM kill at the memory limit,
fork failing at the pids limit, a device open refused), and a limit the host cannot apply is an
error that names it, with nothing left behind."""
import math
import os
from pathlib import Path

import pytest

from helpers import CGROUP_ROOT, IS_CELLA

MiB = 1 << 20


def is_v2():
    return (CGROUP_ROOT / "cgroup.controllers").exists()


def container_cgroups(pid):
    """{controller: host directory} for each hierarchy the process is in ("" is cgroup2)."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.rstrip("\n").split(" - ", 1)
            fields, (fstype, _src, opts) = pre.split(), post.split(" ", 2)
            if fstype == "cgroup2":
                mounts[""] = fields[4]
            elif fstype == "cgroup":
                for o in opts.split(","):
                    mounts.setdefault(o, fields[4])
    dirs = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _hid, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                if c in mounts:
                    dirs[c] = Path(mounts[c]) / path.lstrip("/")
    return dirs


def read(d, name):
    return (d / name).read_text().strip()


def start_sleeping(bundle, rt, resources):
    bundle.config["linux"]["resources"] = resources
    r = bundle.run_detached(["sleep", "1000"])
    assert r.returncode == 0, r.stderr
    return container_cgroups(rt.state(bundle.id)["pid"])


def weights_for(shares):
    """cpu.weight for shares: the quadratic conversion (crun 1.23+, runc 1.3.2+, cella) or the
    linear one older runtimes use."""
    l = math.log2(shares)
    quadratic = math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34))
    linear = 1 + (shares - 2) * 9999 // 262142
    return {quadratic} if IS_CELLA else {quadratic, linear}


def test_limits_are_written(bundle, rt):
    res = {"memory": {"limit": 64 * MiB, "reservation": 32 * MiB},
           "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
           "pids": {"limit": 20}}
    cg = start_sleeping(bundle, rt, res)
    if is_v2():
        d = cg[""]
        assert read(d, "memory.max") == str(64 * MiB)
        assert read(d, "memory.low") == str(32 * MiB)
        assert int(read(d, "cpu.weight")) in weights_for(512)
        assert read(d, "cpu.max") == "50000 100000"
        assert read(d, "cpuset.cpus") == "0"
        assert read(d, "pids.max") == "20"
    else:
        assert read(cg["memory"], "memory.limit_in_bytes") == str(64 * MiB)
        assert read(cg["memory"], "memory.soft_limit_in_bytes") == str(32 * MiB)
        assert read(cg["cpu"], "cpu.shares") == "512"
        assert read(cg["cpu"], "cpu.cfs_quota_us") == "50000"
        assert read(cg["cpu"], "cpu.cfs_period_us") == "100000"
        assert read(cg["cpuset"], "cpuset.cpus") == "0"
        assert read(cg["pids"], "pids.max") == "20"


def test_oom_kill_at_memory_limit(bundle):
    limit = 16 * MiB
    # swap == limit: no swap on top of the limit, so the hog is killed instead of swapping.
    bundle.config["linux"]["resources"] = {"memory": {"limit": limit, "swap": limit}}
    if not is_v2() and not Path("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists():
        del bundle.config["linux"]["resources"]["memory"]["swap"]
    # A string that doubles until the kernel kills the shell.
    r = bundle.run(["sh", "-c", "a=0123456789abcdef; while :; do a=$a$a; done"])
    assert r.returncode == 128 + 9, r


def test_fork_fails_at_pids_limit(bundle):
    bundle.config["linux"]["resources"] = {"pids": {"limit": 4}}
    r = bundle.run(["sh", "-c",
                    "i=0; while [ $i -lt 8 ]; do sleep 30 & i=$((i+1)); done; kill $(jobs -p)"])
    out = r.stdout + r.stderr
    assert "Resource temporarily unavailable" in out or "can't fork" in out, r


def test_device_filter_allows_listed_and_refuses_others(bundle):
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/loopa", "type": "b", "major": 7, "minor": 0, "fileMode": 0o600},
        {"path": "/dev/loopb", "type": "b", "major": 7, "minor": 1, "fileMode": 0o600}]
    bundle.config["linux"]["resources"] = {"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "b", "major": 7, "minor": 0, "access": "r"}]}
    f = bundle.probe("read", "/dev/loopa", "read", "/dev/loopb", "write", "/dev/loopa")
    ok = f["read:/dev/loopa"]  # the data read, or {"errno": N}
    assert not (isinstance(ok, dict) and ok.get("errno") == 1), f
    assert f["read:/dev/loopb"]["errno"] == 1, f  # EPERM: not listed
    assert f["write:/dev/loopa"]["errno"] == 1, f  # EPERM: read-only rule


def test_default_devices_stay_usable(bundle):
    bundle.config["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    r = bundle.run(["sh", "-c", "echo hi >/dev/null && head -c 4 /dev/zero | wc -c"])
    assert r.returncode == 0, r
    assert r.stdout.strip() == "4"


def unsupported_cases():
    cases = []
    if not is_v2() and not Path("/sys/fs/cgroup/net_cls").exists() and \
            not Path("/sys/fs/cgroup/net_cls,net_prio").exists():
        cases.append(("network.classID", {"network": {"classID": 1048577}}))
    # (blkio weights cannot be probed from the root: only child cgroups have the files.)
    rdma_v1 = any(p.name.split(",").count("rdma") for p in CGROUP_ROOT.iterdir())
    unified = CGROUP_ROOT / ("cgroup.controllers" if is_v2() else "unified/cgroup.controllers")
    rdma_v2 = unified.exists() and "rdma" in unified.read_text().split()
    if not rdma_v1 and not rdma_v2:
        cases.append(("rdma", {"rdma": {"mlx5_0": {"hcaHandles": 3}}}))
    if is_v2():
        cases.append(("memory.kernelTCP", {"memory": {"kernelTCP": 8 * MiB}}))
    return cases


@pytest.mark.skipif(not IS_CELLA, reason="error wording is cella's")
@pytest.mark.parametrize("field,resources", unsupported_cases() or
                         [pytest.param(None, None, marks=pytest.mark.skip(
                             reason="this host supports every probed limit"))])
def test_unsupported_limit_is_an_error_naming_it(bundle, field, resources):
    bundle.config["linux"]["resources"] = resources
    r = bundle.create()
    assert r.returncode != 0
    assert f"linux.resources.{field}" in r.stderr, r.stderr
    bundle.assert_no_leaks()


@pytest.mark.skipif(not IS_CELLA, reason="error wording is cella's")
def test_bad_unified_key_is_refused(bundle):
    bundle.config["linux"]["resources"] = {"unified": {"../../etc/passwd": "x"}}
    r = bundle.create()
    assert r.returncode != 0
    assert "linux.resources.unified" in r.stderr, r.stderr
    assert os.path.exists("/etc/passwd")
    bundle.assert_no_leaks()


# --- the cgroup is made and joined while the init already sets up (docs/benchmarks.md) -------

def test_cgroup_failure_while_init_sets_up_leaves_nothing(bundle):
    """cella creates and joins the container's cgroup while the init already builds its
    rootfs. A failure there (here mkdir fails: the path goes through a cgroup.procs file) must
    still fail create, kill and reap the init, and leave no state, cgroup or process behind.
    A runtime that forgets the running init leaks it."""
    bundle.config["linux"]["cgroupsPath"] = f"/cgroup.procs/{bundle.id}"
    for _ in range(3):
        r = bundle.create(["/probe", "sleep"])
        assert r.returncode != 0
        if IS_CELLA:
            assert "cgroup.procs" in r.stderr and "Not a directory" in r.stderr, r.stderr
        bundle.assert_no_leaks()


@pytest.mark.skipif(not IS_CELLA, reason="error wording is cella's")
def test_init_error_is_reported_not_the_cgroup_join(bundle):
    """The init fails at its first mount while cella is still making and joining its cgroup.
    The init's own error must be reported, not a cgroup write for a pid that is gone or a
    broken sync socket, and nothing may be left behind."""
    bundle.config["mounts"].insert(0, {"destination": "/cella-bad", "type": "cella-nosuchfs",
                                       "source": "none"})
    for _ in range(5):
        r = bundle.create(["/probe", "sleep"])
        assert r.returncode != 0
        assert "cella-nosuchfs" in r.stderr and "mounts[0]" in r.stderr, r.stderr
        bundle.assert_no_leaks()
