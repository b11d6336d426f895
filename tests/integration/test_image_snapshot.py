# SPDX-License-Identifier: Apache-2.0
"""Overlay snapshots: layers unpacked once in overlay form, mounted per bundle."""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_image_common import (CELLA_IMAGE, Tar, busybox_layer, cella_image,  # noqa: E402
                               make_layout, tree)

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CELLA_IMAGE), reason=f"{CELLA_IMAGE} not built"),
    pytest.mark.skipif(os.geteuid() != 0, reason="overlay mounts need root"),
]

LOWER = (Tar().dir("d").file("d/old", "1").dir("d/sub").file("d/sub/old2", "2")
         .file("x", "gone soon").file("keep", "k").dir("tmp", mode=0o1777, uid=0)
         .dir("etc").file("etc/passwd", "root:x:0:0::/:/bin/sh\n").bytes())
UPPER = (Tar().file(".wh.x").file("d/.wh..wh..opq").file("d/new", "n")
         .file("tmp/created", "t").file("keep", "k2").bytes())


def snapshot_dirs(root):
    d = Path(root) / "image" / "snapshots"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def listing(root):
    """Paths with type, mode, owner and content, to compare two trees."""
    out = []
    for rel in tree(root):
        p = Path(root) / rel
        st = os.lstat(p)
        data = p.read_bytes() if stat.S_ISREG(st.st_mode) else os.readlink(p) \
            if stat.S_ISLNK(st.st_mode) else b""
        out.append((rel, stat.S_IFMT(st.st_mode), st.st_mode & 0o7777, st.st_uid, st.st_gid,
                    data))
    return out


@pytest.fixture
def image(tmp_path):
    root = tmp_path / "store"
    make_layout(tmp_path / "lay", [busybox_layer(), LOWER, UPPER], config={"Cmd": ["sh"]})
    cella_image("load", "-i", tmp_path / "lay", "--name", "layered", root=root)
    yield root
    for b in tmp_path.iterdir():  # every bundle a test made here, whatever its snapshotter
        if (b / "rootfs").is_dir():
            cella_image("unbundle", b, check=False)


def test_overlay_view_equals_flat_unpack(tmp_path, image):
    cella_image("bundle", "layered", tmp_path / "flat", root=image)
    cella_image("bundle", "--overlay", "layered", tmp_path / "ov", root=image)
    merged = tmp_path / "ov" / "rootfs"
    assert os.path.ismount(merged)
    assert listing(merged) == listing(tmp_path / "flat" / "rootfs")
    assert not (merged / "x").exists() and not (merged / "d" / "old").exists()
    assert (merged / "keep").read_text() == "k2"
    # a directory the top layer only implies keeps the mode of the real one below
    assert os.stat(merged / "tmp").st_mode & 0o7777 == 0o1777
    assert len(snapshot_dirs(image)) == 3


def test_overlay_bundle_runs_and_writes_to_upper(tmp_path, image):
    runc = shutil.which("runc") or "/usr/sbin/runc"
    if not os.path.exists(runc):
        pytest.skip("runc not installed")
    b = tmp_path / "ov"
    cella_image("bundle", "--overlay", "layered", b, "--", "/bin/sh", "-c",
                "echo changed > /keep; rm /d/new; cat /d/sub/../new 2>/dev/null; ls /d",
                root=image)
    p = subprocess.run([runc, "--root", str(tmp_path / "state"), "run", "-b", str(b), "ovrun"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    subprocess.run([runc, "--root", str(tmp_path / "state"), "delete", "-f", "ovrun"],
                   capture_output=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == []  # d is opaque: only "new" was in it, and it was removed
    assert (b / ".upper" / "keep").read_text() == "changed\n"
    # the shared snapshot is untouched: a second bundle sees the image as it was
    cella_image("bundle", "--overlay", "layered", tmp_path / "ov2", root=image)
    assert (tmp_path / "ov2" / "rootfs" / "keep").read_text() == "k2"
    assert (tmp_path / "ov2" / "rootfs" / "d" / "new").read_text() == "n"


def test_unbundle_leaves_nothing(tmp_path, image):
    b = tmp_path / "ov"
    cella_image("bundle", "--overlay", "layered", b, root=image)
    cella_image("unbundle", b)
    assert not b.exists()
    assert str(b) not in Path("/proc/self/mountinfo").read_text()


def test_snapshots_are_shared_and_collected(tmp_path, image):
    make_layout(tmp_path / "lay2", [busybox_layer(), LOWER, Tar().file("other", "o").bytes()])
    cella_image("load", "-i", tmp_path / "lay2", "--name", "sibling", root=image)
    lowers1 = cella_image("snapshot", "layered", root=image).stdout.split()
    lowers2 = cella_image("snapshot", "sibling", root=image).stdout.split()
    assert len(lowers1) == len(lowers2) == 3
    assert lowers1[1:] == lowers2[1:] and lowers1[0] != lowers2[0]  # the base is shared
    assert len(snapshot_dirs(image)) == 4
    cella_image("bundle", "--overlay", "sibling", tmp_path / "ov", root=image)
    out = cella_image("rm", "sibling", "layered", root=image).stdout
    # the mounted bundle keeps its three snapshots; the one only "layered" used goes
    assert "1 snapshots" in out, out
    assert len(snapshot_dirs(image)) == 3
    assert (tmp_path / "ov" / "rootfs" / "other").read_text() == "o"
    cella_image("unbundle", tmp_path / "ov")
    cella_image("prune", root=image)
    assert snapshot_dirs(image) == []


def test_concurrent_snapshot_preparation(tmp_path, image):
    procs = [subprocess.Popen([CELLA_IMAGE, "--root", str(image), "snapshot", "layered"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    outs = []
    for p in procs:
        out, errout = p.communicate(timeout=120)
        assert p.returncode == 0, errout
        outs.append(out)
    assert len(set(outs)) == 1
    assert all(not n.startswith(".tmp") for n in snapshot_dirs(image))
    assert len(snapshot_dirs(image)) == 3


def test_overlay_xattrs_in_a_layer_are_ignored(tmp_path):
    root = tmp_path / "store"
    evil = Tar().dir("d", pax={"SCHILY.xattr.trusted.overlay.opaque": "y"}).bytes()
    make_layout(tmp_path / "lay", [Tar().dir("d").file("d/a", "1").bytes(), evil],
                config={"Cmd": ["sh"]})
    cella_image("load", "-i", tmp_path / "lay", "--name", "evil", root=root)
    cella_image("bundle", "--overlay", "evil", tmp_path / "ov", root=root)
    try:
        assert (tmp_path / "ov" / "rootfs" / "d" / "a").read_text() == "1"
    finally:
        cella_image("unbundle", tmp_path / "ov")


def test_rootless_snapshot_form(tmp_path):
    if not shutil.which("setpriv"):
        pytest.skip("setpriv not installed")
    home = Path(tempfile.mkdtemp(prefix="cella-snap-"))
    try:
        os.chmod(home, 0o755)
        make_layout(home / "lay", [LOWER, UPPER], config={"Cmd": ["sh"]})
        for p in [home, *home.rglob("*")]:
            os.chown(p, 65534, 65534)
        run = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", CELLA_IMAGE,
               "--root", str(home / "store")]
        subprocess.run(run + ["load", "-i", str(home / "lay"), "--name", "r"], check=True,
                       capture_output=True)
        p = subprocess.run(run + ["snapshot", "r"], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        top = Path(p.stdout.split()[0])
        assert top.parent.name.endswith(".user")
        st = os.lstat(top / "x")
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0  # whiteout
        assert os.getxattr(top / "d", "user.overlay.opaque") == b"y"
        # rootless overlay: left to the runtime (test_image_snapshotters.py runs it)
        p = subprocess.run(run + ["bundle", "--overlay", "r", str(home / "b")],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert "mounted by the runtime in the container" in p.stderr
        assert os.listdir(home / "b" / "rootfs") == []
        p = subprocess.run(run + ["unbundle", str(home / "b")], capture_output=True, text=True)
        assert p.returncode == 0 and not (home / "b").exists(), p.stderr
    finally:
        shutil.rmtree(home)


def test_snapshotter_auto(tmp_path, image):
    cella_image("bundle", "--snapshotter", "auto", "layered", tmp_path / "ov", root=image)
    assert os.path.ismount(tmp_path / "ov" / "rootfs")
    # --rootless: the runtime mounts the overlay in the container's namespaces
    p = cella_image("bundle", "--snapshotter", "auto", "--rootless", "layered", tmp_path / "cp",
                    root=image)
    assert "snapshotter overlay (mounted by the runtime in the container)" in p.stderr
    assert not os.path.ismount(tmp_path / "cp" / "rootfs")
    cfg = json.loads((tmp_path / "cp" / "config.json").read_text())
    assert cfg["annotations"]["io.cella.rootfs.overlay"].endswith(",userxattr")
    cella_image("unbundle", tmp_path / "cp")
    assert not (tmp_path / "cp").exists()
