# SPDX-License-Identifier: Apache-2.0
"""Rootfs and mounts: every mount type and option, propagation, readonly root, masked and
readonly paths, default devices and linux.devices."""
import os
import subprocess

import pytest

from helpers import IS_CELLA, find_mount, mount_opts


def add_mount(bundle, dest, mtype, source, options=None):
    m = {"destination": dest, "type": mtype, "source": str(source)}
    if options is not None:
        m["options"] = options
    bundle.config["mounts"].append(m)


def test_bind_mount(bundle, host_tree):
    add_mount(bundle, "/mnt/host", "bind", host_tree, ["bind"])
    f = bundle.probe("read", "/mnt/host/file", "ls", "/mnt/host/sub", "mounts")
    assert f["read:/mnt/host/file"] == "from host"
    assert f["ls:/mnt/host/sub"] == [], "plain bind is not recursive"
    assert find_mount(f, "/mnt/host/sub") is None


def test_bind_mount_file(bundle, host_tree):
    add_mount(bundle, "/etc/host-file", "none", host_tree / "file", ["bind", "ro"])
    f = bundle.probe("read", "/etc/host-file", "stat", "/etc/host-file")
    assert f["read:/etc/host-file"] == "from host"
    assert f["stat:/etc/host-file"]["type"] == "file"


def test_rbind_mount(bundle, host_tree):
    add_mount(bundle, "/mnt/host", "bind", host_tree, ["rbind"])
    f = bundle.probe("read", "/mnt/host/sub/inner", "mounts")
    assert f["read:/mnt/host/sub/inner"] == "inner"
    assert find_mount(f, "/mnt/host/sub")["fstype"] == "tmpfs"


def test_bind_ro(bundle, host_tree):
    add_mount(bundle, "/mnt/host", "bind", host_tree, ["rbind", "ro"])
    f = bundle.probe("write", "/mnt/host/new", "mounts")
    assert f["write:/mnt/host/new"]["errno"] == 30  # EROFS
    assert "ro" in mount_opts(find_mount(f, "/mnt/host"))
    assert not (host_tree / "new").exists()


def test_bind_rw_writes_reach_host(bundle, host_tree):
    add_mount(bundle, "/mnt/host", "bind", host_tree, ["bind", "rw"])
    f = bundle.probe("write", "/mnt/host/new")
    assert f["write:/mnt/host/new"]["errno"] == 0
    assert (host_tree / "new").read_text() == "probe\n"


def test_rro(bundle, host_tree):
    add_mount(bundle, "/mnt/host", "bind", host_tree, ["rbind", "rro"])
    f = bundle.probe("write", "/mnt/host/new", "write", "/mnt/host/sub/new", "mounts")
    assert f["write:/mnt/host/new"]["errno"] == 30
    assert f["write:/mnt/host/sub/new"]["errno"] == 30
    assert "ro" in mount_opts(find_mount(f, "/mnt/host/sub"))


def test_ro_bind_keeps_submount_writable_without_rro(bundle, host_tree):
    add_mount(bundle, "/mnt/host", "bind", host_tree, ["rbind", "ro"])
    f = bundle.probe("write", "/mnt/host/sub/new")
    assert f["write:/mnt/host/sub/new"]["errno"] == 0


@pytest.mark.parametrize("opt", ["nosuid", "nodev", "noexec"])
def test_tmpfs_flags(bundle, opt):
    add_mount(bundle, "/mnt/t", "tmpfs", "tmpfs", [opt])
    m = find_mount(bundle.probe("mounts"), "/mnt/t")
    assert m["fstype"] == "tmpfs"
    assert opt in mount_opts(m)


def test_noexec_prevents_exec(bundle, host_tree):
    add_mount(bundle, "/mnt/host", "bind", host_tree, ["bind", "noexec"])
    (host_tree / "tool").write_bytes((bundle.rootfs / "probe").read_bytes())
    os.chmod(host_tree / "tool", 0o755)
    r = bundle.run(["/bin/sh", "-c", "/mnt/host/tool exit 0; echo rc=$?"])
    assert "rc=126" in r.stdout, r


def test_bind_flags_applied(bundle, host_tree):
    add_mount(bundle, "/mnt/host", "bind", host_tree, ["bind", "nosuid", "nodev", "noexec", "ro"])
    m = find_mount(bundle.probe("mounts"), "/mnt/host")
    assert {"ro", "nosuid", "nodev", "noexec"} <= mount_opts(m)


def test_tmpfs_size_and_mode(bundle):
    add_mount(bundle, "/mnt/t", "tmpfs", "tmpfs", ["size=2m", "mode=1770"])
    f = bundle.probe("mounts", "stat", "/mnt/t")
    m = find_mount(f, "/mnt/t")
    sup = set(m["super_options"].split(","))
    assert "size=2048k" in sup
    assert "mode=1770" in sup
    assert f["stat:/mnt/t"]["mode"] == 0o1770


def test_mount_order_respected(bundle, host_tree):
    """A later mount lands on top of an earlier one at a nested path."""
    add_mount(bundle, "/mnt/a", "tmpfs", "tmpfs", ["size=1m"])
    add_mount(bundle, "/mnt/a/b", "bind", host_tree, ["bind"])
    f = bundle.probe("read", "/mnt/a/b/file", "mounts")
    assert f["read:/mnt/a/b/file"] == "from host"
    assert find_mount(f, "/mnt/a/b")["parent"] == find_mount(f, "/mnt/a")["id"]


def test_mount_target_created_inside_rootfs(bundle):
    add_mount(bundle, "/new/deep/dir", "tmpfs", "tmpfs")
    f = bundle.probe("mounts")
    assert find_mount(f, "/new/deep/dir")["fstype"] == "tmpfs"
    assert (bundle.rootfs / "new" / "deep" / "dir").is_dir()


def test_default_filesystems(bundle):
    f = bundle.probe("mounts")
    assert find_mount(f, "/proc")["fstype"] == "proc"
    assert find_mount(f, "/sys")["fstype"] == "sysfs"
    assert find_mount(f, "/dev")["fstype"] == "tmpfs"
    assert find_mount(f, "/dev/pts")["fstype"] == "devpts"
    assert find_mount(f, "/dev/shm")["fstype"] == "tmpfs"
    assert find_mount(f, "/dev/mqueue")["fstype"] == "mqueue"
    assert "ro" in mount_opts(find_mount(f, "/sys"))
    pts = set(find_mount(f, "/dev/pts")["super_options"].split(","))
    assert {"mode=620", "ptmxmode=666"} <= pts


def test_devpts_is_new_instance(bundle):
    f = bundle.probe("mounts")
    with open("/proc/self/mountinfo") as fh:
        host_devs = {ln.split()[2] for ln in fh if " - devpts " in ln}
    assert find_mount(f, "/dev/pts")["dev"] not in host_devs


def test_cgroup_mount(bundle):
    f = bundle.probe("mounts")
    cg = [m for m in f["mounts"] if m["mountpoint"].startswith("/sys/fs/cgroup")
          and m["fstype"] in ("cgroup", "cgroup2")]
    assert cg, "no cgroup filesystem under /sys/fs/cgroup"
    for m in cg:
        assert "ro" in mount_opts(m), m


def test_cgroup_mount_shows_own_cgroup(bundle):
    """Without a cgroup namespace the container's cgroup mount shows its own cgroup (runc and
    Docker's cgroupns=host), not the host's whole tree."""
    bundle.config["linux"]["namespaces"] = [
        n for n in bundle.config["linux"]["namespaces"] if n["type"] != "cgroup"]
    f = bundle.probe("mounts", "cgroup")
    cg = [m for m in f["mounts"] if m["mountpoint"].startswith("/sys/fs/cgroup/")
          and m["fstype"] == "cgroup"]
    if not cg:
        pytest.skip("no cgroup v1 hierarchies mounted")
    assert all(m["root"] != "/" for m in cg), cg


def test_sysfs_and_proc_explicit(bundle):
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if m["destination"] not in ("/sys", "/sys/fs/cgroup")]
    add_mount(bundle, "/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev"])
    add_mount(bundle, "/mnt/proc2", "proc", "proc")
    f = bundle.probe("mounts")
    assert find_mount(f, "/sys")["fstype"] == "sysfs"
    assert "ro" not in mount_opts(find_mount(f, "/sys"))
    assert find_mount(f, "/mnt/proc2")["fstype"] == "proc"


def propagation(m):
    return {p.split(":")[0] for p in m["propagation"]}


@pytest.mark.parametrize("opt,expect", [
    ("private", set()), ("rprivate", set()), ("shared", {"shared"}), ("rshared", {"shared"}),
    ("unbindable", {"unbindable"}), ("runbindable", {"unbindable"}),
])
def test_mount_propagation(bundle, opt, expect):
    add_mount(bundle, "/mnt/t", "tmpfs", "tmpfs", [opt])
    m = find_mount(bundle.probe("mounts"), "/mnt/t")
    assert propagation(m) == expect, m


@pytest.fixture
def shared_host_dir(workdir, request):
    d = workdir / f"shared-{os.getpid()}-{id(request)}"
    d.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "sharedtmp", str(d)], check=True)
    subprocess.run(["mount", "--make-shared", str(d)], check=True)
    yield d
    subprocess.run(["umount", "-l", str(d)], check=False)
    d.rmdir()


@pytest.mark.parametrize("opt", ["slave", "rslave"])
def test_mount_propagation_slave(bundle, shared_host_dir, opt):
    bundle.config["linux"]["rootfsPropagation"] = "rshared"
    add_mount(bundle, "/mnt/s", "bind", shared_host_dir, ["rbind", opt])
    m = find_mount(bundle.probe("mounts"), "/mnt/s")
    assert propagation(m) == {"master"}, m


def test_host_mounts_propagate_into_rslave_container(bundle, rt, shared_host_dir):
    bundle.config["linux"]["rootfsPropagation"] = "rslave"
    add_mount(bundle, "/mnt/s", "bind", shared_host_dir, ["rbind", "rslave"])
    assert bundle.run_detached(["/probe", "signals"]).returncode == 0
    bundle.wait_output('"ready"')
    (shared_host_dir / "late").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "late", str(shared_host_dir / "late")], check=True)
    try:
        pid = rt.state(bundle.id)["pid"]
        with open(f"/proc/{pid}/mountinfo") as fh:
            assert any(ln.split()[4] == "/mnt/s/late" for ln in fh)
    finally:
        subprocess.run(["umount", "-l", str(shared_host_dir / "late")], check=False)


@pytest.mark.parametrize("prop,expect", [("private", set()), ("rprivate", set())])
def test_rootfs_propagation(bundle, prop, expect):
    bundle.config["linux"]["rootfsPropagation"] = prop
    m = find_mount(bundle.probe("mounts"), "/")
    assert propagation(m) == expect, m


@pytest.mark.cella_only(reason="runc 1.1 leaves the pivoted root mount private")
@pytest.mark.parametrize("prop", ["shared", "rshared"])
def test_rootfs_propagation_shared(bundle, prop):
    bundle.config["linux"]["rootfsPropagation"] = prop
    m = find_mount(bundle.probe("mounts"), "/")
    # Where the host's / is shared (systemd), the rootfs was a slave during setup so that the
    # runtime's own mounts stayed out of the host; it may stay "master:N" as well (runc 1.2 too).
    assert "shared" in propagation(m), m
    assert propagation(m) <= {"shared", "master"}, m


def test_container_mounts_do_not_reach_host(bundle, rt):
    bundle.config["linux"]["rootfsPropagation"] = "rprivate"
    add_mount(bundle, "/mnt/t", "tmpfs", "tmpfs")
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    with open("/proc/self/mountinfo") as fh:
        text = fh.read()
    assert str(bundle.rootfs) not in text


def test_readonly_root(bundle):
    bundle.config["root"]["readonly"] = True
    f = bundle.probe("write", "/newfile", "write", "/tmp/x", "write", "/dev/shm/x", "mounts")
    assert f["write:/newfile"]["errno"] == 30
    assert f["write:/tmp/x"]["errno"] == 30
    assert f["write:/dev/shm/x"]["errno"] == 0, "other mounts stay writable"
    assert "ro" in mount_opts(find_mount(f, "/"))


def test_writable_root(bundle):
    f = bundle.probe("write", "/newfile", "mounts")
    assert f["write:/newfile"]["errno"] == 0
    assert "rw" in mount_opts(find_mount(f, "/"))
    assert (bundle.rootfs / "newfile").exists()


def test_masked_paths(bundle):
    (bundle.rootfs / "etc" / "secret").write_text("s3cret\n")
    (bundle.rootfs / "secretdir").mkdir()
    (bundle.rootfs / "secretdir" / "f").write_text("x")
    bundle.config["linux"]["maskedPaths"] += ["/etc/secret", "/secretdir", "/does/not/exist"]
    f = bundle.probe("stat", "/proc/timer_list", "read", "/proc/keys", "ls", "/proc/acpi",
                     "read", "/etc/secret", "ls", "/secretdir", "write", "/secretdir/new",
                     "stat", "/does/not/exist")
    # (this kernel has no /proc/kcore; timer_list and keys exist on every kernel we run on)
    assert f["stat:/proc/timer_list"]["type"] == "char"
    assert f["stat:/proc/timer_list"]["rdev"] == [1, 3]
    assert f["read:/proc/keys"] == ""
    assert f["ls:/proc/acpi"] == []
    assert f["read:/etc/secret"] == ""
    assert f["ls:/secretdir"] == []
    assert f["write:/secretdir/new"]["errno"] == 30
    assert f["stat:/does/not/exist"]["errno"] == 2, "masking does not create paths"


def test_readonly_paths(bundle):
    (bundle.rootfs / "data").mkdir()
    bundle.config["linux"]["readonlyPaths"] += ["/data", "/does/not/exist"]
    f = bundle.probe("write", "/proc/sys/kernel/hostname", "write", "/data/x",
                     "read", "/proc/sys/kernel/ostype",
                     "stat", "/does/not/exist")
    assert f["write:/proc/sys/kernel/hostname"]["errno"] == 30
    assert f["write:/data/x"]["errno"] == 30
    assert f["read:/proc/sys/kernel/ostype"] == "Linux"
    assert f["stat:/does/not/exist"]["errno"] == 2


DEFAULT_DEVICES = {"/dev/null": (1, 3), "/dev/zero": (1, 5), "/dev/full": (1, 7),
                   "/dev/random": (1, 8), "/dev/urandom": (1, 9), "/dev/tty": (5, 0)}

DEV_SYMLINKS = {"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
                "/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2",
                "/dev/ptmx": "pts/ptmx"}


def test_default_devices(bundle):
    what = []
    for d in DEFAULT_DEVICES:
        what += ["stat", d]
    for s in DEV_SYMLINKS:
        what += ["stat", s]
    what += ["write", "/dev/null", "read", "/dev/zero", "stat", "/dev/pts/ptmx",
             "stat", "/dev/shm", "stat", "/dev/console"]
    f = bundle.probe(*what)
    for d, rdev in DEFAULT_DEVICES.items():
        st = f[f"stat:{d}"]
        assert st["type"] == "char", d
        assert st["rdev"] == list(rdev), d
        assert st["mode"] == 0o666, d
    for s, target in DEV_SYMLINKS.items():
        assert f[f"stat:{s}"].get("target") == target, s
    assert f["write:/dev/null"]["errno"] == 0
    assert f["read:/dev/zero"] == ""
    assert f["stat:/dev/pts/ptmx"]["type"] == "char"
    assert f["stat:/dev/shm"]["type"] == "dir"
    assert f["stat:/dev/console"]["errno"] == 2, "no /dev/console without a terminal"


def test_host_devices_not_visible(bundle):
    f = bundle.probe("ls", "/dev")
    assert not [d for d in f["ls:/dev"] if d.startswith(("sd", "vd", "nvme", "loop", "kmsg"))]


def test_linux_devices(bundle):
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/mydev", "type": "c", "major": 1, "minor": 7, "fileMode": 0o660},
        {"path": "/dev/owned", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640,
         "uid": 1000, "gid": 1001},
        {"path": "/dev/sub/blk", "type": "b", "major": 7, "minor": 0, "fileMode": 0o600},
        {"path": "/dev/fifo", "type": "p"},
    ]
    bundle.config["linux"].setdefault("resources", {}).setdefault("devices", []).append(
        {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"})
    f = bundle.probe("stat", "/dev/mydev", "write", "/dev/mydev", "stat", "/dev/owned",
                     "stat", "/dev/sub/blk",
                     "stat", "/dev/fifo")
    st = f["stat:/dev/mydev"]
    assert st["type"] == "char" and st["rdev"] == [1, 7] and st["mode"] == 0o660
    st = f["stat:/dev/owned"]
    assert st["mode"] == 0o640 and (st["uid"], st["gid"]) == (1000, 1001)
    assert f["write:/dev/mydev"]["errno"] == 28  # ENOSPC: it really is /dev/full
    blk = f["stat:/dev/sub/blk"]
    assert blk["type"] == "block" and blk["rdev"] == [7, 0] and blk["mode"] == 0o600
    assert f["stat:/dev/fifo"]["type"] == "fifo"


def test_device_cgroup_denies_unlisted(bundle):
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/loopish", "type": "b", "major": 7, "minor": 0, "fileMode": 0o600}]
    f = bundle.probe("read", "/dev/loopish")
    assert f["read:/dev/loopish"]["errno"] == 1  # EPERM from the devices cgroup


def test_every_feature_mount_option_works(bundle, rt):
    """features is truthful: each advertised mount option is accepted on a tmpfs mount."""
    import json
    r = rt("features")
    assert r.returncode == 0, r.stderr
    # "remount" (MS_REMOUNT) means nothing on a fresh mount; runc advertises it and fails it
    # runc 1.1.5 also passes "defaults" to tmpfs as data (EINVAL): a runc bug, not a spec rule
    # idmap/ridmap are for bind mounts only (test_idmapped_mounts.py)
    skip = {"bind", "rbind", "remount", "idmap", "ridmap"} | (set() if IS_CELLA else {"defaults"})
    opts = [o for o in json.loads(r.stdout)["mountOptions"] if o not in skip]
    base = list(bundle.config["mounts"])
    for i, opt in enumerate(opts):
        bundle.config["mounts"].append(
            {"destination": f"/mnt/o{i}", "type": "tmpfs", "source": "tmpfs", "options": [opt]})
    if bundle.run(["/probe", "exit", "0"]).returncode == 0:
        return
    failed = []
    for opt in opts:
        bundle.config["mounts"] = base + [
            {"destination": "/mnt/o", "type": "tmpfs", "source": "tmpfs", "options": [opt]}]
        r = bundle.run(["/probe", "exit", "0"])
        if r.returncode != 0:
            failed.append((opt, r.stderr.strip()[-200:]))
    assert not failed, failed


def test_bind_without_type(bundle, host_tree):
    """runtime-spec 1.1: a bind mount may omit "type"."""
    bundle.config["mounts"].append(
        {"destination": "/mnt/host", "source": str(host_tree), "options": ["rbind", "ro"]})
    f = bundle.probe("read", "/mnt/host/file")
    assert f["read:/mnt/host/file"] == "from host"


def test_destination_normalized(bundle):
    add_mount(bundle, "/mnt//norm/./x/", "tmpfs", "tmpfs")
    f = bundle.probe("mounts")
    assert find_mount(f, "/mnt/norm/x")["fstype"] == "tmpfs"


def test_file_bind_onto_symlink_inside_rootfs(bundle, host_tree):
    """Images often ship /etc/resolv.conf as a symlink; a bind mount onto it follows the link
    inside the rootfs (as runc does)."""
    (bundle.rootfs / "run" / "resolv.conf").write_text("image\n")
    os.symlink("../run/resolv.conf", bundle.rootfs / "etc" / "resolv.conf")
    add_mount(bundle, "/etc/resolv.conf", "bind", host_tree / "file", ["bind", "ro"])
    f = bundle.probe("read", "/etc/resolv.conf", "read", "/run/resolv.conf")
    assert f["read:/etc/resolv.conf"] == "from host"
    assert (bundle.rootfs / "run" / "resolv.conf").read_text() == "image\n"


def test_tmpfs_uid_gid(bundle):
    add_mount(bundle, "/mnt/t", "tmpfs", "tmpfs", ["uid=1000", "gid=1001", "mode=750"])
    st = bundle.probe("stat", "/mnt/t")["stat:/mnt/t"]
    assert (st["uid"], st["gid"], st["mode"]) == (1000, 1001, 0o750)


def test_mount_over_existing_file_keeps_rootfs_file(bundle, host_tree):
    (bundle.rootfs / "etc" / "over").write_text("rootfs\n")
    add_mount(bundle, "/etc/over", "bind", host_tree / "file", ["bind"])
    f = bundle.probe("read", "/etc/over")
    assert f["read:/etc/over"] == "from host"
    assert (bundle.rootfs / "etc" / "over").read_text() == "rootfs\n"
