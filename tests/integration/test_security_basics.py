# SPDX-License-Identifier: Apache-2.0
"""Security invariants of the runtime core: mount targets stay inside the rootfs
(CVE-2021-30465 class), no host fd or cwd leaks into the container (CVE-2024-21626 class)."""
import os
import subprocess

import pytest

from helpers import RUNTIME, TIMEOUT, find_mount, parse_probe


def host_mounts():
    with open("/proc/self/mountinfo") as f:
        return f.read()


@pytest.mark.parametrize("link", ["/", "../../../../../../..", "/../.."])
def test_symlink_to_root_as_mount_destination(bundle, link):
    name = f"cella-escape-{bundle.id}"
    os.symlink(link, bundle.rootfs / "escape")
    bundle.config["mounts"].append(
        {"destination": f"/escape/{name}", "type": "tmpfs", "source": "tmpfs"})
    r = bundle.run(["/probe", "mounts"])
    try:
        assert not os.path.exists(f"/{name}"), "mount target created outside the rootfs"
        assert f"/{name}" not in host_mounts()
        if r.returncode == 0:
            m = find_mount(r.facts, f"/{name}")
            assert m is not None and m["fstype"] == "tmpfs", "mount did not land inside rootfs"
            assert (bundle.rootfs / name).is_dir()
    finally:
        if os.path.isdir(f"/{name}"):
            os.rmdir(f"/{name}")
    bundle.assert_no_leaks()


def test_symlink_to_host_dir_as_mount_destination(bundle, workdir):
    """A symlink naming an absolute host directory is resolved inside the rootfs."""
    victim = workdir / f"victim-{bundle.id}"
    victim.mkdir()
    (victim / "keep").write_text("host file\n")
    try:
        os.symlink(str(victim), bundle.rootfs / "link")
        bundle.config["mounts"].append(
            {"destination": "/link", "type": "tmpfs", "source": "tmpfs"})
        r = bundle.run(["/probe", "mounts", "ls", str(victim)])
        assert str(victim) not in host_mounts()
        assert (victim / "keep").read_text() == "host file\n"
        if r.returncode == 0:
            assert find_mount(r.facts, str(victim))["fstype"] == "tmpfs"
            assert r.facts[f"ls:{victim}"] == []
        assert (bundle.rootfs / str(victim).lstrip("/")).is_dir() or r.returncode != 0
    finally:
        subprocess.run(["rm", "-rf", str(victim)], check=False)
    bundle.assert_no_leaks()


def test_symlinked_parent_of_bind_destination(bundle, workdir):
    host = workdir / f"src-{bundle.id}"
    host.mkdir()
    (host / "f").write_text("src\n")
    try:
        (bundle.rootfs / "real").mkdir()
        os.symlink("/real", bundle.rootfs / "alias")
        bundle.config["mounts"].append(
            {"destination": "/alias/sub", "type": "bind", "source": str(host),
             "options": ["rbind", "ro"]})
        f = bundle.probe("read", "/real/sub/f", "mounts")
        assert f["read:/real/sub/f"] == "src"
        assert find_mount(f, "/real/sub") is not None
    finally:
        subprocess.run(["rm", "-rf", str(host)], check=False)


def test_masked_path_symlink_does_not_escape(bundle, workdir):
    """A maskedPath that is a symlink to a host path masks nothing on the host."""
    victim = workdir / f"masked-victim-{bundle.id}"
    victim.mkdir()
    (victim / "keep").write_text("host\n")
    try:
        os.symlink(str(victim), bundle.rootfs / "vlink")
        bundle.config["linux"]["maskedPaths"].append("/vlink")
        bundle.config["linux"]["readonlyPaths"].append("/vlink")
        r = bundle.run(["/probe", "ls", "/"])
        assert str(victim) not in host_mounts()
        assert (victim / "keep").read_text() == "host\n"
        assert r.returncode == 0, r
    finally:
        subprocess.run(["rm", "-rf", str(victim)], check=False)
    bundle.assert_no_leaks()


def run_with_host_fds(bundle, rt, extra=(), cwd=None):
    """`run` with extra inheritable host fds (a file and a directory) at fds 3 and 4."""
    leak_file = bundle.path / "host-secret"
    leak_file.write_text("secret\n")
    fd_file = os.open(leak_file, os.O_RDONLY)
    fd_dir = os.open("/", os.O_RDONLY | os.O_DIRECTORY)

    def place():
        os.dup2(fd_file, 3)
        os.dup2(fd_dir, 4)

    bundle.set_args(["/probe", "fds", "cwd", "ls", "."])
    bundle.write()
    try:
        r = subprocess.run([RUNTIME, "--root", str(rt.state_root), "run", "-b", str(bundle.path),
                            *extra, bundle.id], capture_output=True, text=True,
                           timeout=TIMEOUT, preexec_fn=place, pass_fds=(3, 4), cwd=cwd)
    finally:
        os.close(fd_file)
        os.close(fd_dir)
    assert r.returncode == 0, r
    return parse_probe(r.stdout)


def test_no_host_fds_leak(bundle, rt):
    f = run_with_host_fds(bundle, rt)
    assert set(f["fds"]) == {"0", "1", "2"}, f["fds"]


def test_only_preserved_fds_leak(bundle, rt):
    f = run_with_host_fds(bundle, rt, extra=["--preserve-fds", "1"])
    assert set(f["fds"]) == {"0", "1", "2", "3"}, f["fds"]


def test_no_host_fds_after_create_start(bundle, rt):
    bundle.create(["/probe", "fds", "cwd"])
    assert rt("start", bundle.id).returncode == 0
    bundle.wait_output("fds")
    fds = bundle.facts()["fds"]
    assert set(fds) == {"0", "1", "2"}, fds
    for target in fds.values():
        assert str(rt.state_root) not in target


def test_cwd_inside_container(bundle, rt, workdir):
    f = run_with_host_fds(bundle, rt, cwd=str(workdir))
    assert f["cwd"] == "/"
    assert "probe" in f["ls:."], "cwd is the container's root, not the host's"


def test_proc_self_cwd_and_root_inside(bundle):
    f = bundle.probe("stat", "/proc/self/cwd", "stat", "/proc/self/root", "stat", "/proc/1/cwd")
    assert f["stat:/proc/self/cwd"]["target"] == "/"
    assert f["stat:/proc/self/root"]["target"] == "/"


def test_host_root_not_visible(bundle):
    f = bundle.probe("ls", "/")
    host_only = {"work", "boot", "lib64", "usr", "opt"} - set(os.listdir(bundle.rootfs))
    assert not (set(f["ls:/"]) & host_only)


def test_runtime_binary_not_visible(bundle, rt):
    """The container sees no path to the host runtime binary (CVE-2019-5736 class)."""
    bundle.create(["/probe", "fds", "stat", "/proc/self/exe"])
    pid = rt.state(bundle.id)["pid"]
    real = os.path.realpath(RUNTIME)
    # While created, the init may be the runtime itself; it must not hold it open for writing.
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target == real:
            with open(f"/proc/{pid}/fdinfo/{fd}") as fi:
                flags = int(fi.read().split("flags:")[1].split()[0], 8)
            assert flags & 0o3 == 0, "runtime binary open for writing in the container init"
    assert rt("start", bundle.id).returncode == 0
    bundle.wait_output("fds")
    f = bundle.facts()
    assert all(real not in t for t in f["fds"].values())
    assert f["stat:/proc/self/exe"]["target"] == "/probe"


@pytest.mark.parametrize("fd", range(3, 10))
def test_cwd_through_leaked_fd(bundle, fd):
    """CVE-2024-21626: cwd /proc/self/fd/N must not reach a directory fd the runtime held
    open on the host. Either the run fails, or the process is inside its rootfs."""
    bundle.config["process"]["cwd"] = f"/proc/self/fd/{fd}"
    r = bundle.run(["/probe", "cwd", "ls", "."])
    if r.returncode != 0:
        bundle.assert_no_leaks()
        return
    f = r.facts
    assert not str(f["cwd"]).startswith("(unreachable)"), f["cwd"]
    assert isinstance(f["cwd"], str) and f["cwd"].startswith("/"), f["cwd"]
    listing = set(f["ls:."]) if isinstance(f["ls:."], list) else set()
    host_only = set(os.listdir("/")) - set(os.listdir(bundle.rootfs))
    assert not (listing & host_only and "probe" not in listing), listing
