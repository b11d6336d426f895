# SPDX-License-Identifier: Apache-2.0
"""The safe layer unpacker (`cella image unpack-layer`), fed hand-made tars.

Attack tests build a sentinel directory next to the target and check, whatever the command's
outcome, that nothing outside the target changed.
"""
import gzip
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_image_common import CELLA_IMAGE, Tar, cella_image, tree  # noqa: E402

pytestmark = pytest.mark.skipif(not os.path.exists(CELLA_IMAGE),
                                reason=f"{CELLA_IMAGE} not built")

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="needs root (ownership, device nodes)")


def apply(tmp_path, *layers, rootless=False, check=True, name="layer"):
    """Writes the layers (bytes) to files and applies them onto tmp_path/root."""
    paths = []
    for i, data in enumerate(layers):
        p = tmp_path / f"{name}{i}.tar"
        p.write_bytes(data)
        paths.append(p)
    args = ["unpack-layer"] + (["--rootless"] if rootless else []) + [tmp_path / "root"] + paths
    return cella_image(*args, check=check)


@pytest.fixture
def outside(tmp_path):
    """A directory outside the target with a sentinel file; asserts it is untouched after."""
    out = tmp_path / "outside"
    out.mkdir()
    (out / "sentinel").write_text("original")
    (out / "dir").mkdir()
    before = tree(out)
    yield out
    assert tree(out) == before, "something was written outside the target"
    assert (out / "sentinel").read_text() == "original"
    assert os.stat(out / "sentinel").st_nlink == 1


# ---- escapes: every one of these must keep all writes inside the target ----

def test_absolute_path_lands_inside(tmp_path, outside):
    apply(tmp_path, Tar().file(str(outside / "pwned"), "x").bytes())
    assert (tmp_path / "root" / str(outside).lstrip("/") / "pwned").read_text() == "x"


@pytest.mark.parametrize("name", ["../pwned", "../../../../../../pwned", "a/../../pwned",
                                  "./../outside/pwned"])
def test_dotdot_is_clamped(tmp_path, outside, name):
    apply(tmp_path, Tar().file(name, "x").bytes())
    assert not (tmp_path / "pwned").exists()
    inside = [p for p in tree(tmp_path / "root") if p.endswith("pwned")]
    assert len(inside) == 1


@pytest.mark.parametrize("target", ["ABS", "../../../../../../../../ABS", "../" * 30])
def test_symlinked_parent_resolves_inside(tmp_path, outside, target):
    link = target.replace("ABS", str(outside).lstrip("/"))
    apply(tmp_path, Tar().dir(str(outside)).symlink("l", link if target != "ABS" else str(outside))
          .file("l/pwned", "x").dir("l/newdir").file("l/sentinel", "evil").bytes())
    found = [p for p in tree(tmp_path / "root") if p.endswith("pwned")]
    assert found, "the entry should have been written inside the target"


def test_dangling_symlinked_parent_fails_cleanly(tmp_path, outside):
    p = apply(tmp_path, Tar().symlink("l", str(outside)).file("l/pwned", "x").bytes(),
              check=False)
    assert p.returncode == 1 and "dangling symlink" in p.stderr, p.stderr


def test_symlink_then_file_replaces_the_symlink(tmp_path, outside):
    apply(tmp_path, Tar().symlink("f", str(outside / "sentinel")).file("f", "evil").bytes())
    f = tmp_path / "root" / "f"
    assert not f.is_symlink() and f.read_text() == "evil"


def test_symlink_then_file_in_later_layer(tmp_path, outside):
    apply(tmp_path, Tar().symlink("f", str(outside / "sentinel")).bytes(),
          Tar().file("f", "evil").bytes())
    assert (tmp_path / "root" / "f").read_text() == "evil"


def test_symlink_to_dir_then_dir_and_file_through_it(tmp_path, outside):
    apply(tmp_path, Tar().dir(str(outside)).symlink("d", str(outside)).dir("d/dir").file("d/dir/x", "evil")
          .bytes())
    assert (tmp_path / "root" / str(outside).lstrip("/") / "dir" / "x").read_text() == "evil"


def test_symlink_replacing_dir_then_file_through_it(tmp_path, outside):
    apply(tmp_path, Tar().dir("d").file("d/a", "1").dir(str(outside)).bytes(),
          Tar().symlink("d", str(outside)).file("d/sentinel", "evil").bytes())
    assert (tmp_path / "root" / str(outside).lstrip("/") / "sentinel").read_text() == "evil"


@pytest.mark.parametrize("target", ["ABS/sentinel", "../../../../../ABS/sentinel",
                                    "l/sentinel"])
def test_hardlink_to_outside_file_is_refused(tmp_path, outside, target):
    t = Tar().symlink("l", str(outside))
    t.hardlink("h", target.replace("ABS", str(outside)))
    p = apply(tmp_path, t.bytes(), check=False)
    assert p.returncode == 1
    assert "target not found in the image" in p.stderr, p.stderr
    assert not (tmp_path / "root" / "h").exists()


def test_hardlink_to_symlink_pointing_outside(tmp_path, outside):
    apply(tmp_path, Tar().symlink("s", str(outside / "sentinel")).hardlink("h", "s")
          .file("h", "evil").bytes())
    assert (tmp_path / "root" / "h").read_text() == "evil"


def test_write_never_goes_through_a_hardlink(tmp_path):
    apply(tmp_path, Tar().file("a", "one").hardlink("b", "a").bytes(),
          Tar().file("b", "two").bytes())
    assert (tmp_path / "root" / "a").read_text() == "one"
    assert (tmp_path / "root" / "b").read_text() == "two"


def test_whiteouts_through_symlinks_stay_inside(tmp_path, outside):
    apply(tmp_path, Tar().symlink("l", str(outside)).file("l/.wh.sentinel").file("l/.wh.dir")
          .bytes())
    apply(tmp_path, Tar().dir(str(outside)).file(str(outside / "sentinel"))
          .symlink("m", str(outside)).file("m/.wh..wh..opq").bytes(), name="second")
    apply(tmp_path, Tar().file("../.wh.outside").file("/.wh.outside").bytes())


def test_opaque_through_symlink_stays_inside(tmp_path, outside):
    p = apply(tmp_path, Tar().symlink("l", str(outside)).file("l/.wh..wh..opq").bytes(),
              check=False)
    assert p.returncode == 1 and "dangling symlink" in p.stderr, p.stderr


def test_invalid_whiteout_is_an_error(tmp_path):
    p = apply(tmp_path, Tar().file("a/.wh..").bytes(), check=False)
    assert p.returncode == 1 and "invalid whiteout" in p.stderr


def test_symlink_loop_in_parent_fails_cleanly(tmp_path, outside):
    p = apply(tmp_path, Tar().symlink("a", "b").symlink("b", "a").file("a/x", "x").bytes(),
              check=False)
    assert p.returncode == 1 and "a/x" in p.stderr


def test_file_as_parent_fails_cleanly(tmp_path):
    p = apply(tmp_path, Tar().file("f", "x").file("f/x", "y").bytes(), check=False)
    assert p.returncode == 1 and "not a directory" in p.stderr, p.stderr


def test_devices_skipped_when_rootless(tmp_path):
    apply(tmp_path, Tar().dir("dev").chardev("dev/null", 1, 3).chardev("dev/mem", 1, 1)
          .fifo("fifo").bytes(), rootless=True)
    assert not (tmp_path / "root" / "dev" / "null").exists()
    assert not (tmp_path / "root" / "dev" / "mem").exists()
    assert stat.S_ISFIFO(os.lstat(tmp_path / "root" / "fifo").st_mode)


@needs_root
def test_devices_created_when_root(tmp_path):
    apply(tmp_path, Tar().dir("dev").chardev("dev/null", 1, 3, mode=0o666).bytes())
    st = os.lstat(tmp_path / "root" / "dev" / "null")
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert st.st_mode & 0o7777 == 0o666


# ---- layer semantics ----

def test_whiteout_file_and_dir(tmp_path):
    apply(tmp_path, Tar().dir("a").file("a/x", "1").file("a/y", "2").dir("b").file("b/z").bytes(),
          Tar().file("a/.wh.x").file(".wh.b").file(".wh.missing").bytes())
    assert tree(tmp_path / "root") == ["a", "a/y"]


def test_whiteout_never_hides_same_layer_entries(tmp_path):
    apply(tmp_path, Tar().file("x", "old").bytes(),
          Tar().file("x", "new").file(".wh.x").bytes())
    assert (tmp_path / "root" / "x").read_text() == "new"


@pytest.mark.parametrize("marker_first", [True, False])
def test_opaque_in_any_order(tmp_path, marker_first):
    lower = (Tar().dir("d").file("d/old", "1").dir("d/sub").file("d/sub/old2", "2")
             .file("keep", "k").bytes())
    t = Tar()
    if marker_first:
        t.dir("d").file("d/.wh..wh..opq")
    t.file("d/new", "n").file("d/sub/new2", "n2")
    if not marker_first:
        t.file("d/.wh..wh..opq")
    apply(tmp_path, lower, t.bytes())
    assert tree(tmp_path / "root") == ["d", "d/new", "d/sub", "d/sub/new2", "keep"]


def test_hardlinks_share_the_inode(tmp_path):
    apply(tmp_path, Tar().dir("bin").file("bin/a", "data", mode=0o755).hardlink("bin/b", "bin/a")
          .hardlink("c", "./bin/a").bytes())
    a, b, c = (os.stat(tmp_path / "root" / p) for p in ("bin/a", "bin/b", "c"))
    assert a.st_ino == b.st_ino == c.st_ino and a.st_nlink == 3


def test_hardlink_to_lower_layer_file(tmp_path):
    apply(tmp_path, Tar().file("a", "data").bytes(), Tar().hardlink("b", "a").bytes())
    assert os.stat(tmp_path / "root" / "a").st_ino == os.stat(tmp_path / "root" / "b").st_ino


def test_hardlink_to_directory_is_refused(tmp_path):
    p = apply(tmp_path, Tar().dir("d").hardlink("h", "d").bytes(), check=False)
    assert p.returncode == 1 and "directory" in p.stderr


def test_modes_times_and_replacements(tmp_path):
    apply(tmp_path,
          Tar().dir("ro", mode=0o555, mtime=1000000000).file("ro/f", "x", mode=0o400, mtime=1234)
          .file("suid", "x", mode=0o4755).file("sgid", "x", mode=0o2711)
          .dir("sticky", mode=0o1777).file("to-dir", "x").dir("to-file").file("to-file/x")
          .dir("to-link").bytes(),
          Tar().dir("to-dir").file("to-file", "now a file").symlink("to-link", "ro").bytes())
    r = tmp_path / "root"
    assert os.stat(r / "ro").st_mode & 0o7777 == 0o555
    assert os.stat(r / "ro").st_mtime == 1000000000
    assert os.stat(r / "ro" / "f").st_mode & 0o7777 == 0o400
    assert os.stat(r / "ro" / "f").st_mtime == 1234
    assert os.stat(r / "suid").st_mode & 0o7777 == 0o4755
    assert os.stat(r / "sgid").st_mode & 0o7777 == 0o2711
    assert os.stat(r / "sticky").st_mode & 0o7777 == 0o1777
    assert (r / "to-dir").is_dir() and (r / "to-file").read_text() == "now a file"
    assert os.readlink(r / "to-link") == "ro"


@needs_root
def test_ownership_and_setuid_survive_chown(tmp_path):
    apply(tmp_path, Tar().file("suid", "x", mode=0o4755, uid=1000, gid=1001)
          .dir("d", mode=0o2750, uid=7, gid=8).symlink("l", "suid", uid=5, gid=6).bytes())
    r = tmp_path / "root"
    st = os.stat(r / "suid")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1000, 1001, 0o4755)
    st = os.stat(r / "d")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (7, 8, 0o2750)
    st = os.lstat(r / "l")
    assert (st.st_uid, st.st_gid) == (5, 6)


def test_root_entry_sets_root_metadata(tmp_path):
    apply(tmp_path, Tar().dir("./", mode=0o750, mtime=1500000000).file("f").bytes())
    st = os.stat(tmp_path / "root")
    assert st.st_mode & 0o7777 == 0o750 and st.st_mtime == 1500000000


def test_xattrs(tmp_path):
    t = Tar().file("f", "x", pax={"SCHILY.xattr.user.test": "hello",
                                  "SCHILY.xattr.trusted.overlay.opaque": "y"})
    try:
        os.setxattr(tmp_path, "user.probe", b"1")
    except OSError:
        pytest.skip("the test filesystem has no user xattrs")
    apply(tmp_path, t.bytes())
    f = tmp_path / "root" / "f"
    assert os.getxattr(f, "user.test") == b"hello"
    assert "trusted.overlay.opaque" not in os.listxattr(f)


@pytest.mark.parametrize("codec", ["gzip", "zstd", "none", "gzip-multi"])
def test_compressions(tmp_path, codec):
    tar = Tar().dir("d").file("d/f", "x" * 100000).bytes()
    if codec == "gzip":
        data = gzip.compress(tar)
    elif codec == "gzip-multi":
        data = gzip.compress(tar[:5000]) + gzip.compress(tar[5000:])
    elif codec == "zstd":
        if not shutil.which("zstd"):
            pytest.skip("zstd not installed")
        data = subprocess.run(["zstd", "-q", "-c"], input=tar, capture_output=True,
                              check=True).stdout
    else:
        data = tar
    apply(tmp_path, data)
    assert (tmp_path / "root" / "d" / "f").read_text() == "x" * 100000


def test_truncated_and_corrupt_streams(tmp_path):
    data = gzip.compress(Tar().file("f", os.urandom(200000)).bytes())
    p = apply(tmp_path, data[: len(data) // 2], check=False)
    assert p.returncode == 1 and "truncated gzip" in p.stderr, p.stderr
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xFF
    p = apply(tmp_path, bytes(bad), check=False, name="bad")
    assert p.returncode == 1 and "gzip" in p.stderr, p.stderr
    p = apply(tmp_path, b"this is not a tar at all" * 100, check=False, name="junk")
    assert p.returncode == 1


def test_long_names(tmp_path):
    deep = "/".join(["d" * 100] * 20) + "/f"
    apply(tmp_path, Tar().file(deep, "x").file("n" * 255, "y").bytes())
    assert (tmp_path / "root" / deep).read_text() == "x"
    p = apply(tmp_path, Tar().file("n" * 256, "y").bytes(), check=False, name="toolong")
    assert p.returncode == 1 and "too long" in p.stderr


@needs_root
def test_rootless_as_unprivileged_user(tmp_path):
    """A real unprivileged caller: no chown, read-only directories stay writable for us."""
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("setpriv not installed")
    work = Path(tempfile.mkdtemp(prefix="cella-rootless-"))
    os.chmod(work, 0o755)
    (work / "l0.tar").write_bytes(Tar().dir("ro", mode=0o555).file("ro/a", "1", uid=0)
                                  .dir("dev").chardev("dev/null", 1, 3).bytes())
    (work / "l1.tar").write_bytes(Tar().file("ro/b", "2").file("ro/.wh.a").bytes())
    os.chown(work, 65534, 65534)
    for f in work.iterdir():
        os.chown(f, 65534, 65534)
    p = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                        CELLA_IMAGE, "unpack-layer", str(work / "root"), str(work / "l0.tar"),
                        str(work / "l1.tar")], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert tree(work / "root") == ["dev", "ro", "ro/b"]
    assert os.stat(work / "root" / "ro" / "b").st_uid == 65534
    shutil.rmtree(work)


def test_mutated_layers_fail_cleanly(tmp_path):
    """Random byte flips and truncations of a layer (fixed seed): every run ends with success or
    a clean error (exit 1), never a crash, and never writes outside the target."""
    import random
    rng = random.Random(1234)
    base = (Tar().dir("a").file("a/f", "x" * 3000).symlink("a/l", "../../..").hardlink("h", "a/f")
            .file("a/.wh.g").dir("b").file("b/.wh..wh..opq").fifo("p")
            .file("n" * 120 + "/" + "m" * 120, "deep").bytes())
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sentinel").write_text("original")
    for i in range(int(os.environ.get("CELLA_FUZZ_RUNS", "150"))):
        data = bytearray(gzip.compress(base) if i % 2 else base)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        layer = tmp_path / "m.tar"
        layer.write_bytes(bytes(data))
        target = tmp_path / f"t{i}"
        p = cella_image("unpack-layer", target, layer, check=False)
        assert p.returncode in (0, 1), (i, p.returncode, p.stderr)
        if p.returncode == 1:
            assert p.stderr.startswith("cella image: "), p.stderr
    assert tree(outside) == ["sentinel"] and (outside / "sentinel").read_text() == "original"


def test_user_xattr_on_symlink_is_skipped(tmp_path):
    """The kernel never allows user.* xattrs on symlinks; such an entry must not fail the layer."""
    apply(tmp_path, Tar().file("f", "x").symlink("l", "f", pax={"SCHILY.xattr.user.a": "1"})
          .bytes())
    assert os.readlink(tmp_path / "root" / "l") == "f"
