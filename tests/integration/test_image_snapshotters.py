# SPDX-License-Identifier: Apache-2.0
"""Snapshotters for bundles: overlay (root: mounted at bundle time; rootless: mounted by the runtime
in the container from the annotation io.cella.rootfs.overlay), fuse-overlayfs, and the automatic
fallback chain overlay -> fuse-overlayfs -> copy."""
import json
import os
import shutil
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from helpers import RUNTIME  # noqa: E402
from test_image_common import (CELLA_IMAGE, Tar, busybox_layer, cella_image,  # noqa: E402
                               make_layout)
from test_image_snapshot import LOWER, UPPER, image, listing  # noqa: E402,F401 (image: fixture)

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CELLA_IMAGE), reason=f"{CELLA_IMAGE} not built"),
    pytest.mark.skipif(os.geteuid() != 0, reason="mounts and user switches need root"),
]

UID = GID = 1000
ANN = "io.cella.rootfs.overlay"
FUSE = shutil.which("fuse-overlayfs")
needs_fuse = pytest.mark.skipif(not FUSE or not os.path.exists("/dev/fuse"),
                                reason="fuse-overlayfs (Debian package) or /dev/fuse missing")
# What the container prints: /keep (changed by it), the opaque /d, whether /x (whited out by
# the top layer) exists, and /d/sub from the lower layer (hidden by the opaque marker).
SCRIPT = ("echo changed > /keep; cat /keep; ls /d; test -e /x && echo x-exists; "
          "test -e /d/sub && echo sub-exists; rm /etc/passwd; echo done")


def userns_allowed():
    try:
        with open("/proc/sys/kernel/unprivileged_userns_clone") as f:
            return f.read().strip() != "0"
    except OSError:
        return True


def mounted_below(path):
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if str(path) in line]


def run_container(runtime, bundle, state, env=None, preexec=None):
    cid = f"snap-{uuid.uuid4().hex[:10]}"
    try:
        return subprocess.run([runtime, "--root", str(state), "run", "-b", str(bundle), cid],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=60, env=env, preexec_fn=preexec)
    finally:
        subprocess.run([runtime, "--root", str(state), "delete", "-f", cid], capture_output=True,
                       env=env, preexec_fn=preexec)


def check_script_output(p):
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["changed", "new", "done"], p.stdout


def top_snapshot(store):
    """The top layer's snapshot directory (the one whose fs holds UPPER's "d/new")."""
    for fs in (Path(store) / "image" / "snapshots").glob("*/fs"):
        if (fs / "d" / "new").exists():
            return fs
    raise AssertionError("no top snapshot")


class User:
    """An unprivileged user with its own home (world-traversable), store and runtime copies."""

    def __init__(self, home):
        self.home = home
        self.runtime = str(home / "cella")
        self.image = str(home / "cella-image")

    def env(self, **extra):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home),
             "XDG_RUNTIME_DIR": str(self.home / "xdg")}
        e.update(extra)
        return e

    @staticmethod
    def drop():
        os.setgroups([])
        os.setgid(GID)
        os.setuid(UID)

    def cella_image(self, *args, env=None):
        return subprocess.run([self.image, "--root", str(self.home / "store")] +
                              [str(a) for a in args], capture_output=True, text=True,
                              timeout=120, preexec_fn=self.drop, env=env or self.env(),
                              stdin=subprocess.DEVNULL)

    def run(self, bundle):
        return run_container(self.runtime, bundle, self.home / "xdg" / "state", env=self.env(),
                             preexec=self.drop)


@pytest.fixture
def user(workdir, request):
    if not userns_allowed():
        pytest.skip("unprivileged user namespaces are disabled")
    home = workdir / f"snapuser-{uuid.uuid4().hex[:8]}"
    (home / "xdg").mkdir(parents=True)
    u = User(home)
    # The build tree may sit where the user cannot enter: give it its own copies.
    shutil.copy2(RUNTIME, u.runtime)
    shutil.copy2(CELLA_IMAGE, u.image)
    make_layout(home / "lay", [busybox_layer(), LOWER, UPPER], config={"Cmd": ["sh"]})
    for p in [home, *home.rglob("*")]:
        os.chown(p, UID, GID, follow_symlinks=False)
    os.chmod(home / "xdg", 0o700)
    r = u.cella_image("load", "-i", home / "lay", "--name", "layered")
    assert r.returncode == 0, r.stderr
    yield u
    for b in home.glob("b*"):
        u.cella_image("unbundle", b)
    subprocess.run(["chmod", "-R", "u+rwX", str(home)], capture_output=True)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def fuse_for_user():
    """/dev/fuse is 0600 here (no udev): an ACL entry lets the test user open it, for the test."""
    if not FUSE or not shutil.which("setfacl") or not os.path.exists("/dev/fuse"):
        pytest.skip("fuse-overlayfs, setfacl (Debian package acl) or /dev/fuse missing")
    had_acl = "user:" in subprocess.run(["getfacl", "-c", "/dev/fuse"], capture_output=True,
                                        text=True).stdout.replace("user::", "")
    subprocess.run(["setfacl", "-m", f"u:{UID}:rw", "/dev/fuse"], check=True)
    yield
    subprocess.run(["setfacl", "-x", f"u:{UID}", "/dev/fuse"], capture_output=True)
    if not had_acl:
        subprocess.run(["setfacl", "-b", "/dev/fuse"], capture_output=True)


@pytest.fixture
def refusing_dir(workdir):
    """A directory on overlayfs: the kernel refuses it as an overlay upper dir ("filesystem not
    supported as upperdir"), fuse-overlayfs takes it. An honest way to force the fallback.
    (In the world-traversable workdir, so the test user reaches it.)"""
    base = workdir / f"nest-{uuid.uuid4().hex[:8]}"
    for d in ("l", "u", "w", "m"):
        (base / d).mkdir(parents=True)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={base}/l,upperdir={base}/u,workdir={base}/w", str(base / "m")],
                   check=True)
    os.chmod(base / "m", 0o777)
    yield base / "m"
    for b in (base / "m").glob("*"):
        cella_image("unbundle", b, check=False)
    subprocess.run(["umount", "-l", str(base / "m")], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def snapshotter_line(p):
    lines = [ln for ln in p.stderr.splitlines() if "snapshotter" in ln]
    assert len(lines) == 1, p.stderr
    return lines[0]


# ---- root ----

def test_rootful_overlay_runs_with_cella(tmp_path, image):
    b = tmp_path / "b"
    p = cella_image("bundle", "--snapshotter", "overlay", "layered", b, "--", "sh", "-c",
                    SCRIPT, root=image)
    assert snapshotter_line(p).endswith("snapshotter overlay")
    assert os.path.ismount(b / "rootfs")
    assert ANN not in json.loads((b / "config.json").read_text()).get("annotations", {})
    check_script_output(run_container(RUNTIME, b, tmp_path / "state"))
    assert (b / ".upper" / "keep").read_text() == "changed\n"
    assert (top_snapshot(image) / "keep").read_text() == "k2"
    cella_image("unbundle", b)
    assert not b.exists() and not mounted_below(b)


def test_rootful_runtime_mounts_annotation(tmp_path, image):
    """The runtime side as root: a copy bundle whose config names the overlay by hand."""
    lowers = cella_image("snapshot", "layered", root=image).stdout.split()
    b = tmp_path / "b"
    cella_image("bundle", "layered", b, "--", "sh", "-c", SCRIPT, root=image)
    shutil.rmtree(b / "rootfs")
    for d in ("rootfs", "up", "wk"):
        (b / d).mkdir()
    cfg = json.loads((b / "config.json").read_text())
    cfg.setdefault("annotations", {})[ANN] = \
        f"lowerdir={':'.join(lowers)},upperdir={b}/up,workdir={b}/wk"
    (b / "config.json").write_text(json.dumps(cfg))
    check_script_output(run_container(RUNTIME, b, tmp_path / "state"))
    assert (b / "up" / "keep").read_text() == "changed\n"
    st = os.lstat(b / "up" / "etc" / "passwd")  # the container's rm became a whiteout
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.listdir(b / "rootfs") == [] and not mounted_below(b)


@needs_fuse
def test_fuse_overlayfs_rootful(tmp_path, image):
    b = tmp_path / "b"
    p = cella_image("bundle", "--snapshotter", "fuse-overlayfs", "layered", b, "--", "sh", "-c",
                    SCRIPT, root=image)
    assert snapshotter_line(p).endswith("snapshotter fuse-overlayfs")
    assert any("fuse.fuse-overlayfs" in ln for ln in mounted_below(b / "rootfs"))
    cella_image("bundle", "layered", tmp_path / "flat", root=image)
    assert listing(b / "rootfs") == listing(tmp_path / "flat" / "rootfs")
    check_script_output(run_container(RUNTIME, b, tmp_path / "state"))
    assert (b / ".upper" / "keep").read_text() == "changed\n"
    assert (top_snapshot(image) / "keep").read_text() == "k2"
    cella_image("unbundle", b)
    assert not b.exists() and not mounted_below(b)


@needs_fuse
def test_auto_falls_back_to_fuse_then_copy(refusing_dir, image):
    b = refusing_dir / "b1"
    p = cella_image("bundle", "--snapshotter", "auto", "layered", b, root=image)
    assert snapshotter_line(p).endswith("snapshotter fuse-overlayfs")
    assert "overlay not used: mount overlay on" in p.stderr
    assert any("fuse.fuse-overlayfs" in ln for ln in mounted_below(b / "rootfs"))
    cella_image("unbundle", b)
    assert not mounted_below(b)
    # no fuse-overlayfs either (not in PATH): a copy
    b = refusing_dir / "b2"
    p = cella_image("bundle", "--snapshotter", "auto", "layered", b, root=image,
                    env={"PATH": "/nonexistent"})
    assert snapshotter_line(p).endswith("snapshotter copy")
    assert "fuse-overlayfs not used: fuse-overlayfs is not installed" in p.stderr
    assert not os.path.ismount(b / "rootfs")
    assert (b / "rootfs" / "keep").read_text() == "k2"
    assert sorted(os.listdir(b)) == ["config.json", "rootfs"]


def test_explicit_fuse_overlayfs_missing(tmp_path, image):
    b = tmp_path / "b"
    p = cella_image("bundle", "--snapshotter", "fuse-overlayfs", "layered", b, root=image,
                    env={"PATH": "/nonexistent"}, check=False)
    assert p.returncode == 1
    assert "install the Debian package fuse-overlayfs" in p.stderr
    assert not b.exists()


def test_explicit_overlay_refused_is_an_error(refusing_dir, image):
    b = refusing_dir / "b"
    p = cella_image("bundle", "--snapshotter", "overlay", "layered", b, root=image, check=False)
    assert p.returncode == 1 and "mount overlay on" in p.stderr
    assert not b.exists() and not mounted_below(b)


@needs_fuse
def test_bundles_keep_their_snapshots_from_gc(tmp_path, image):
    b = tmp_path / "b"
    cella_image("bundle", "--snapshotter", "fuse-overlayfs", "layered", b, root=image)
    cella_image("rm", "layered", root=image)
    snaps = image / "image" / "snapshots"
    assert len(list(snaps.iterdir())) == 3  # FUSE mounts list no lowerdir in mountinfo
    assert (b / "rootfs" / "keep").read_text() == "k2"
    cella_image("unbundle", b)
    cella_image("prune", root=image)
    assert list(snaps.iterdir()) == []
    assert list((image / "image" / "bundles").iterdir()) == []


BAD = [
    ("lowerdir=relative/dir", "is not an absolute path"),
    ("lowerdir={s},upperdir={b}/up,workdir={b}/wk,redirect_dir=on", 'unknown option'),
    ("lowerdir={s},upperdir={b}/up:{s}", "contains ':'"),
    ("lowerdir={s},upperdir={b}/up\\,lowerdir=/", "contains '\\'"),
    ("lowerdir={s}/../fs", "not a normalised path"),
    ("lowerdir={s},upperdir={b}/up", "upperdir and workdir go together"),
    ("lowerdir={s},lowerdir={s}", "lowerdir is given twice"),
    ("lowerdir={b}/missing", "No such file or directory"),
    ("lowerdir={b}/config.json", "is not a directory"),
    ("upperdir={b}/up,workdir={b}/wk", "lowerdir is missing"),
    ("", "is empty (expected lowerdir="),
]


@pytest.mark.parametrize("value,message", BAD, ids=[m for _, m in BAD])
def test_bad_annotation_refused(tmp_path, image, value, message):
    lowers = cella_image("snapshot", "layered", root=image).stdout.split()
    b = tmp_path / "b"
    cella_image("bundle", "layered", b, "--", "true", root=image)
    for d in ("up", "wk"):
        (b / d).mkdir()
    cfg = json.loads((b / "config.json").read_text())
    cfg.setdefault("annotations", {})[ANN] = value.format(s=lowers[0], b=b)
    (b / "config.json").write_text(json.dumps(cfg))
    state = tmp_path / "state"
    p = run_container(RUNTIME, b, state)
    assert p.returncode != 0
    assert f'annotation "{ANN}"' in p.stderr and message in p.stderr, p.stderr
    assert not mounted_below(b)
    assert not state.exists() or os.listdir(state) == []
    assert os.listdir(b / "up") == [] and os.listdir(b / "wk") == []


# ---- an unprivileged user ----

def test_rootless_overlay_mounted_in_container(user):
    b = user.home / "b"
    p = user.cella_image("bundle", "--snapshotter", "overlay", "layered", b, "--", "sh", "-c",
                         SCRIPT)
    assert p.returncode == 0, p.stderr
    assert "snapshotter overlay (mounted by the runtime in the container)" in snapshotter_line(p)
    # nothing is mounted on the host: the rootfs is an empty directory, the config says how
    assert os.listdir(b / "rootfs") == [] and not mounted_below(b)
    ann = json.loads((b / "config.json").read_text())["annotations"][ANN]
    assert ann.endswith(f",upperdir={b}/.upper,workdir={b}/.work,userxattr")
    check_script_output(user.run(b))
    # the write went to the bundle's upper dir; the shared snapshot is as it was
    assert (b / ".upper" / "keep").read_text() == "changed\n"
    top = top_snapshot(user.home / "store")
    assert top.parent.name.endswith(".user")
    assert (top / "keep").read_text() == "k2"
    assert not mounted_below(b)
    # what the container deleted stays deleted for the next container of this bundle
    st = os.lstat(b / ".upper" / "etc" / "passwd")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    b2 = user.home / "b2"
    p = user.cella_image("bundle", "--snapshotter", "overlay", "layered", b2, "--", "sh", "-c",
                         "test -e /etc/passwd && echo passwd-exists; ls /; echo done")
    assert p.returncode == 0, p.stderr
    p = user.run(b2)
    assert p.returncode == 0 and "passwd-exists" in p.stdout, p.stdout + p.stderr
    cfg = json.loads((b / "config.json").read_text())
    cfg["process"]["args"] = ["sh", "-c", "test -e /etc/passwd && echo passwd-exists; echo done"]
    (b / "config.json").write_text(json.dumps(cfg))
    p = user.run(b)
    assert p.returncode == 0 and p.stdout.split() == ["done"], p.stdout + p.stderr
    r = user.cella_image("unbundle", b)
    assert r.returncode == 0, r.stderr
    assert not b.exists()


def test_rootless_whiteouts_stay_deleted(user):
    """Layer whiteouts (.wh.x) and opaque dirs, as user.overlay.* for userxattr."""
    b = user.home / "b"
    p = user.cella_image("bundle", "--snapshotter", "overlay", "layered", b, "--", "sh", "-c",
                         "ls -a /d; test -e /x && echo x-exists; test -e /d/old && echo old; "
                         "cat /keep; echo; echo done")
    assert p.returncode == 0, p.stderr
    p = user.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [".", "..", "new", "k2", "done"]


@needs_fuse
def test_fuse_overlayfs_rootless(user, fuse_for_user):
    b = user.home / "b"
    p = user.cella_image("bundle", "--snapshotter", "fuse-overlayfs", "layered", b, "--", "sh",
                         "-c", SCRIPT)
    assert p.returncode == 0, p.stderr
    assert snapshotter_line(p).endswith("snapshotter fuse-overlayfs")
    assert any("fuse.fuse-overlayfs" in ln for ln in mounted_below(b / "rootfs"))
    check_script_output(user.run(b))
    assert (b / ".upper" / "keep").read_text() == "changed\n"
    assert (top_snapshot(user.home / "store") / "keep").read_text() == "k2"
    r = user.cella_image("unbundle", b)  # fusermount3 -u
    assert r.returncode == 0, r.stderr
    assert not b.exists() and not mounted_below(b)


@needs_fuse
def test_rootless_auto_falls_back(user, fuse_for_user, refusing_dir):
    d = refusing_dir / "u"
    d.mkdir()
    os.chown(d, UID, GID)
    p = user.cella_image("bundle", "--snapshotter", "auto", "layered", d / "b1", "--", "sh", "-c",
                         SCRIPT)
    assert p.returncode == 0, p.stderr
    assert snapshotter_line(p).endswith("snapshotter fuse-overlayfs")
    assert "overlay not used: overlay in a user namespace: mount overlay" in p.stderr
    check_script_output(user.run(d / "b1"))
    assert user.cella_image("unbundle", d / "b1").returncode == 0
    assert not mounted_below(d)
    p = user.cella_image("bundle", "--snapshotter", "auto", "layered", d / "b2",
                         env=user.env(PATH="/nonexistent"))
    assert p.returncode == 0, p.stderr
    assert snapshotter_line(p).endswith("snapshotter copy")
    assert (d / "b2" / "rootfs" / "keep").read_text() == "k2"
    assert user.cella_image("unbundle", d / "b2").returncode == 0


def test_rootless_bad_annotation_refused(user):
    b = user.home / "b"
    p = user.cella_image("bundle", "--snapshotter", "overlay", "layered", b, "--", "true")
    assert p.returncode == 0, p.stderr
    cfg = json.loads((b / "config.json").read_text())
    cfg["annotations"][ANN] = cfg["annotations"][ANN].replace(",userxattr", ",metacopy=on")
    (b / "config.json").write_text(json.dumps(cfg))
    p = user.run(b)
    assert p.returncode != 0
    assert f'annotation "{ANN}": unknown option "metacopy=on"' in p.stderr, p.stderr
    assert os.listdir(b / ".upper") == []
    state = user.home / "xdg" / "state"
    assert not state.exists() or os.listdir(state) == []
