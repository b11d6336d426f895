# SPDX-License-Identifier: Apache-2.0
"""`cella image bundle`: image -> runtime bundle (rootfs + config.json)."""
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_image_common import (CELLA_IMAGE, Tar, busybox_layer, cella_image,  # noqa: E402
                               make_layout)

pytestmark = pytest.mark.skipif(not os.path.exists(CELLA_IMAGE),
                                reason=f"{CELLA_IMAGE} not built")

RUNC = shutil.which("runc") or "/usr/sbin/runc"


def load_config(bundle):
    return json.loads((Path(bundle) / "config.json").read_text())


def run_bundle(bundle):
    """Runs the bundle with Debian's runc (an independent check that it is a valid bundle)."""
    if os.geteuid() != 0 or not os.path.exists(RUNC):
        pytest.skip("running a bundle needs root and runc")
    cid = "cella-img-" + uuid.uuid4().hex[:8]
    root = Path(bundle).parent / "runc-state"
    p = subprocess.run([RUNC, "--root", str(root), "run", "-b", str(bundle), cid],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    subprocess.run([RUNC, "--root", str(root), "delete", "-f", cid], capture_output=True)
    return p


def test_busybox_bundle_runs(tmp_path):
    b = tmp_path / "demo"
    cella_image("bundle", "busybox", b, "--", "sh", "-c", "hostname; id; echo pid $$")
    assert (b / "rootfs" / "bin" / "busybox").is_file()
    assert os.readlink(b / "rootfs" / "bin" / "sh") == "/bin/busybox"
    assert (b / "rootfs" / "etc" / "passwd").read_text().startswith("root:x:0:0:")
    for d in ("proc", "sys", "dev", "tmp", "root"):
        assert (b / "rootfs" / d).is_dir()
    assert oct((b / "rootfs" / "tmp").stat().st_mode & 0o7777) == "0o1777"
    cfg = load_config(b)
    assert cfg["process"]["args"] == ["sh", "-c", "hostname; id; echo pid $$"]
    assert cfg["process"]["terminal"] is False  # stdin is not a tty
    assert cfg["root"]["path"] == "rootfs"
    assert any(e.startswith("PATH=") for e in cfg["process"]["env"])
    assert cfg["annotations"]["org.opencontainers.image.title"] == "busybox"
    p = run_bundle(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[1:3] == ["uid=0(root) gid=0(root)", "pid 1"]


def test_busybox_default_cmd_is_sh(tmp_path):
    cella_image("bundle", "busybox", tmp_path / "b")
    assert load_config(tmp_path / "b")["process"]["args"] == ["sh"]


def test_rootless_bundle(tmp_path):
    cella_image("bundle", "--rootless", "busybox", tmp_path / "b")
    cfg = load_config(tmp_path / "b")
    ns = [n["type"] for n in cfg["linux"]["namespaces"]]
    assert "user" in ns and "network" not in ns
    assert cfg["linux"]["uidMappings"][0]["hostID"] == os.geteuid()


def test_existing_rootfs_is_refused_and_untouched(tmp_path):
    b = tmp_path / "b"
    (b / "rootfs").mkdir(parents=True)
    (b / "rootfs" / "keep").write_text("x")
    p = cella_image("bundle", "busybox", b, check=False)
    assert p.returncode == 1
    assert "rootfs\" already exists" in p.stderr
    assert sorted(os.listdir(b)) == ["rootfs"]
    assert os.listdir(b / "rootfs") == ["keep"]


def test_unknown_image_leaves_nothing(tmp_path):
    p = cella_image("bundle", "no-such-image:v1", tmp_path / "b", check=False)
    assert p.returncode == 1
    assert "no-such-image:v1" in p.stderr and "not found" in p.stderr
    assert not (tmp_path / "b").exists()


def test_usage_errors():
    p = cella_image("bundle", "busybox", check=False)
    assert p.returncode == 2 and "expected REF and DIR" in p.stderr
    p = cella_image("frobnicate", check=False)
    assert p.returncode == 2 and "unknown command" in p.stderr


def test_image_config_to_spec(tmp_path):
    layer = (Tar().dir("etc").file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"
                                   "app:x:1234:2345::/home/app:/bin/sh\n")
             .file("etc/group", "root:x:0:\napp:x:2345:\nextra:x:777:app,other\n"
                   "staff:x:50:other\n")
             .dir("srv").bytes())
    config = {"Entrypoint": ["/bin/app", "--serve"], "Cmd": ["--port", "80"],
              "Env": ["PATH=/app/bin", "FOO=bar"], "User": "app", "WorkingDir": "/srv",
              "Labels": {"com.example.team": "infra"},
              "ExposedPorts": {"80/tcp": {}, "443/tcp": {}}, "StopSignal": "SIGINT",
              "Volumes": {"/data": {}}}
    make_layout(tmp_path / "img", [layer], config=config)
    cella_image("bundle", f"oci:{tmp_path / 'img'}", tmp_path / "b")
    cfg = load_config(tmp_path / "b")
    proc = cfg["process"]
    assert proc["args"] == ["/bin/app", "--serve", "--port", "80"]
    assert proc["env"][0] == "PATH=/app/bin" and "FOO=bar" in proc["env"]
    assert sum(e.startswith("PATH=") for e in proc["env"]) == 1
    assert proc["user"] == {"uid": 1234, "gid": 2345, "additionalGids": [777]}
    assert proc["cwd"] == "/srv"
    ann = cfg["annotations"]
    assert ann["com.example.team"] == "infra"
    assert ann["org.opencontainers.image.stopSignal"] == "SIGINT"
    assert sorted(ann["org.opencontainers.image.exposedPorts"].split(",")) == ["443/tcp",
                                                                              "80/tcp"]
    assert ann["io.cella.image.volumes"] == "/data"
    # `-- CMD` replaces Cmd but keeps the Entrypoint, like `docker run IMAGE CMD`.
    cella_image("bundle", f"oci:{tmp_path / 'img'}", tmp_path / "c", "--", "--debug")
    assert load_config(tmp_path / "c")["process"]["args"] == ["/bin/app", "--serve", "--debug"]


@pytest.mark.parametrize("user,expect", [
    ("1234", {"uid": 1234, "gid": 2345, "additionalGids": [777]}),
    ("4000", {"uid": 4000, "gid": 0}),
    ("app:staff", {"uid": 1234, "gid": 50, "additionalGids": [777]}),
    ("5:6", {"uid": 5, "gid": 6}),
])
def test_user_forms(tmp_path, user, expect):
    layer = (Tar().dir("etc").file("etc/passwd", "app:x:1234:2345::/:/bin/sh\n")
             .file("etc/group", "extra:x:777:app\nstaff:x:50:\n").bytes())
    make_layout(tmp_path / "img", [layer], config={"Cmd": ["x"], "User": user})
    cella_image("bundle", f"oci:{tmp_path / 'img'}", tmp_path / "b")
    assert load_config(tmp_path / "b")["process"]["user"] == expect


@pytest.mark.parametrize("user,msg", [
    ("nobody", "user \"nobody\" not found in the image's /etc/passwd"),
    ("app:nogroup", "group \"nogroup\" not found in the image's /etc/group"),
])
def test_unknown_user_fails_cleanly(tmp_path, user, msg):
    layer = Tar().dir("etc").file("etc/passwd", "app:x:1:1::/:/bin/sh\n").bytes()
    make_layout(tmp_path / "img", [layer], config={"Cmd": ["x"], "User": user})
    p = cella_image("bundle", f"oci:{tmp_path / 'img'}", tmp_path / "b", check=False)
    assert p.returncode == 1 and msg in p.stderr, p.stderr
    assert not (tmp_path / "b").exists()


def test_no_command_is_an_error(tmp_path):
    make_layout(tmp_path / "img", [Tar().dir("etc").bytes()], config={})
    p = cella_image("bundle", f"oci:{tmp_path / 'img'}", tmp_path / "b", check=False)
    assert p.returncode == 1 and "neither Entrypoint nor Cmd" in p.stderr
    cella_image("bundle", f"oci:{tmp_path / 'img'}", tmp_path / "b", "--", "true")
    assert load_config(tmp_path / "b")["process"]["args"] == ["true"]


def test_corrupt_layer_is_detected_and_cleaned_up(tmp_path):
    make_layout(tmp_path / "img", [busybox_layer()], compress="none")
    idx = json.loads((tmp_path / "img" / "index.json").read_text())
    blobs = tmp_path / "img" / "blobs" / "sha256"
    manifest = json.loads((blobs / idx["manifests"][0]["digest"][7:]).read_text())
    layer = blobs / manifest["layers"][0]["digest"][7:]
    data = bytearray(layer.read_bytes())
    data[1024 + 600] ^= 0xFF  # inside busybox's content: still a valid tar
    layer.write_bytes(bytes(data))
    b = tmp_path / "b"
    b.mkdir()
    p = cella_image("bundle", f"oci:{tmp_path / 'img'}", b, check=False)
    assert p.returncode == 1
    assert "corrupt or was tampered with" in p.stderr, p.stderr
    assert os.listdir(b) == []


def test_layered_image_runs(tmp_path):
    top = Tar().dir("etc").file("etc/motd", "layer two\n").bytes()
    make_layout(tmp_path / "img", [busybox_layer(), top],
                config={"Cmd": ["/bin/sh", "-c", "cat /etc/motd"]})
    cella_image("bundle", f"oci:{tmp_path / 'img'}", tmp_path / "b")
    p = run_bundle(tmp_path / "b")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "layer two\n"


def test_bundle_as_unprivileged_user(tmp_path):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root (to become an unprivileged user) and setpriv")
    import tempfile
    home = Path(tempfile.mkdtemp(prefix="cella-user-"))
    try:
        os.chmod(home, 0o755)
        os.chown(home, 65534, 65534)
        env = {"HOME": str(home), "PATH": os.environ["PATH"]}
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            CELLA_IMAGE, "bundle", "busybox", str(home / "b"), "--", "id"],
                           env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr
        cfg = load_config(home / "b")
        assert cfg["linux"]["uidMappings"][0]["hostID"] == 65534  # rootless is implied
        assert os.stat(home / "b" / "rootfs" / "bin" / "busybox").st_uid == 65534
        assert os.stat(home / "b" / "rootfs" / "tmp").st_mode & 0o7777 == 0o1777
    finally:
        shutil.rmtree(home)
