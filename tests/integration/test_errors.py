# SPDX-License-Identifier: Apache-2.0
"""Bad input: exit 1, a message that names what is wrong (checked for cella; runc's text
differs), and nothing left behind."""
import json
import re
import os
import subprocess

import pytest

from helpers import IS_CELLA


def create_fails(bundle, *needles, write=True):
    r = bundle.create(write=write)
    assert r.returncode == 1, r
    assert r.stderr.strip(), "no error message"
    if IS_CELLA:
        for n in needles:
            assert n in r.stderr, f"{n!r} not in error: {r.stderr!r}"
    bundle.assert_no_leaks()
    return r


def test_broken_json(bundle):
    (bundle.path / "config.json").write_text('{"ociVersion": "1.0.2", "process": {')
    create_fails(bundle, "config.json", write=False)


def test_config_not_an_object(bundle):
    (bundle.path / "config.json").write_text("[1, 2]")
    create_fails(bundle, "config.json", write=False)


def test_missing_config(bundle):
    bundle.set_args(["/probe"])
    r = bundle.rt("create", "--bundle", bundle.path, bundle.id)
    assert r.returncode == 1
    if IS_CELLA:
        assert "config.json" in r.stderr
    bundle.assert_no_leaks()


def test_missing_bundle_dir(bundle, rt):
    r = rt("create", "--bundle", bundle.path / "nope", bundle.id)
    assert r.returncode == 1
    if IS_CELLA:
        assert str(bundle.path / "nope") in r.stderr
    bundle.assert_no_leaks()


def test_missing_rootfs(bundle):
    bundle.config["root"]["path"] = "no-such-rootfs"
    create_fails(bundle, "root.path", "no-such-rootfs")


def test_rootfs_is_a_file(bundle):
    (bundle.path / "afile").write_text("x")
    bundle.config["root"]["path"] = "afile"
    create_fails(bundle, "afile")


def test_unknown_namespace(bundle):
    bundle.config["linux"]["namespaces"].insert(2, {"type": "netx"})
    create_fails(bundle, "linux.namespaces[2].type", '"netx"')


def test_duplicate_namespace(bundle):
    bundle.config["linux"]["namespaces"].append({"type": "pid"})
    create_fails(bundle, "linux.namespaces[")


@pytest.mark.cella_only(reason="runc 1.1 only warns about unknown capabilities")
def test_unknown_capability(bundle):
    bundle.config["process"]["capabilities"]["bounding"] = ["CAP_KILL", "CAP_NOPE"]
    create_fails(bundle, "process.capabilities.bounding[1]", "CAP_NOPE")


def test_unknown_rlimit(bundle):
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NOPE", "soft": 1, "hard": 1}]
    create_fails(bundle, "process.rlimits[0].type", "RLIMIT_NOPE")


def test_rlimit_soft_above_hard(bundle):
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 900, "hard": 100}]
    create_fails(bundle, "RLIMIT_NOFILE")


@pytest.mark.parametrize("path,value,needle", [
    (("process", "args"), "/probe", "process.args"),
    (("process", "args"), [], "process.args"),
    (("process", "cwd"), "relative", "process.cwd"),
    (("process", "user", "uid"), "root", "process.user.uid"),
    (("hostname",), 5, "hostname"),
    (("mounts",), {"destination": "/x"}, "mounts"),
    (("linux", "namespaces"), "pid", "linux.namespaces"),
])
def test_bad_field(bundle, path, value, needle):
    d = bundle.config
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value
    create_fails(bundle, needle)


def test_mount_destination_relative(bundle):
    bundle.config["mounts"].append({"destination": "relative", "type": "tmpfs",
                                    "source": "tmpfs"})
    r = bundle.create(["/probe", "exit", "0"])
    if r.returncode == 0:
        pytest.skip("runtime accepts relative mount destinations (runc 1.1 does, spec 1.0 legacy)")
    if IS_CELLA:
        assert "mounts[" in r.stderr
    bundle.assert_no_leaks()


@pytest.mark.parametrize("version", ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.0", "1.3.0"])
def test_oci_versions_accepted(bundle, version):
    bundle.config["ociVersion"] = version
    r = bundle.run(["/probe", "exit", "0"])
    assert r.returncode == 0, r


def test_missing_mount_source(bundle):
    idx = len(bundle.config["mounts"])
    bundle.config["mounts"].append({"destination": "/mnt/x", "type": "bind",
                                    "source": "/nonexistent-cella-src", "options": ["rbind"]})
    create_fails(bundle, f"mounts[{idx}]", "/nonexistent-cella-src")


def test_unknown_mount_option(bundle):
    idx = len(bundle.config["mounts"])
    bundle.config["mounts"].append({"destination": "/mnt/x", "type": "tmpfs",
                                    "source": "tmpfs", "options": ["bogusopt=1"]})
    create_fails(bundle, f"mounts[{idx}]", "/mnt/x")


def test_failing_mount_in_the_middle(bundle, workdir):
    host = workdir / f"mid-{bundle.id}"
    host.mkdir()
    try:
        bundle.config["mounts"] += [
            {"destination": "/mnt/a", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/mnt/b", "type": "bind", "source": str(host), "options": ["rbind"]},
            {"destination": "/mnt/c", "type": "bind", "source": "/nonexistent-cella-mid",
             "options": ["rbind"]},
            {"destination": "/mnt/d", "type": "tmpfs", "source": "tmpfs"},
        ]
        bad = len(bundle.config["mounts"]) - 2
        create_fails(bundle, f"mounts[{bad}]", "/nonexistent-cella-mid")
        with open("/proc/self/mountinfo") as f:
            assert str(host) not in f.read()
    finally:
        host.rmdir()


def test_missing_binary(bundle):
    r = bundle.run(["/nope"])
    assert r.returncode != 0
    err = r.stderr.lower()
    # runc's text log escapes the quotes (exec: \\"/nope\\": ...)
    assert "/nope" in err and "no such file" in err, r.stderr
    if IS_CELLA:
        assert re.search(r'exec.*\\?"/nope\\?"', r.stderr), r.stderr
    bundle.assert_no_leaks()


def test_missing_binary_in_path(bundle):
    bundle.config["process"]["env"] = ["PATH=/bin:/usr/bin"]
    r = bundle.run(["nope-cmd"])
    assert r.returncode != 0
    assert "nope-cmd" in r.stderr
    bundle.assert_no_leaks()


def test_binary_not_executable(bundle):
    (bundle.rootfs / "noexec").write_text("#!/bin/sh\n")
    os.chmod(bundle.rootfs / "noexec", 0o644)
    r = bundle.run(["/noexec"])
    assert r.returncode != 0
    assert "permission denied" in r.stderr.lower(), r.stderr
    bundle.assert_no_leaks()


def test_missing_binary_create_start(bundle, rt):
    """The exec error reaches the user whether it surfaces at create or at start."""
    r = bundle.create(["/nope"])
    msgs = r.stderr
    if r.returncode == 0:
        s = rt("start", bundle.id)
        msgs += s.stderr
        assert s.returncode != 0
    assert "/nope" in msgs


def test_cwd_is_a_file(bundle):
    bundle.config["process"]["cwd"] = "/etc/passwd"
    r = bundle.run(["/probe", "cwd"])
    assert r.returncode != 0
    assert "not a directory" in r.stderr.lower(), r.stderr
    if IS_CELLA:
        assert "process.cwd" in r.stderr and "/etc/passwd" in r.stderr
    bundle.assert_no_leaks()


@pytest.mark.cella_only(reason="runc 1.1 silently ignores id maps without a user namespace")
def test_uid_map_without_user_namespace(bundle):
    bundle.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]
    bundle.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]
    create_fails(bundle, "uidMappings")


def test_error_does_not_crash_on_huge_config(bundle):
    bundle.config["process"]["env"] = [f"V{i}={'x' * 100}" for i in range(3000)]
    r = bundle.run(["/probe", "exit", "0"])
    assert r.returncode in (0, 1), r.returncode  # either works or fails cleanly, never a signal
    bundle.assert_no_leaks()


def test_config_with_unknown_fields_is_accepted(bundle):
    bundle.config["x-vendor"] = {"anything": [1, 2]}
    bundle.config["process"]["x-extra"] = True
    r = bundle.run(["/probe", "exit", "0"])
    assert r.returncode == 0, r


def test_stdin_is_not_needed(bundle, rt):
    bundle.set_args(["/probe", "exit", "0"])
    bundle.write()
    r = subprocess.run([rt_binary(), "--root", str(rt.state_root), "run", "-b", str(bundle.path),
                        bundle.id], stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert r.returncode == 0, r


def rt_binary():
    from helpers import RUNTIME
    return RUNTIME


def test_state_json_is_valid_after_failure(bundle, rt):
    bundle.config["linux"]["namespaces"].insert(0, {"type": "netx"})
    bundle.create(["/probe", "exit", "0"])
    r = rt("list", "-f", "json")
    assert r.returncode == 0
    ids = [c["id"] for c in json.loads(r.stdout or "[]") or []]
    assert bundle.id not in ids
