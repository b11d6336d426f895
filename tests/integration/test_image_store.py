# SPDX-License-Identifier: Apache-2.0
"""The image store: load/save (OCI layout, OCI archive, docker-archive), ls, inspect, tag, rm,
prune, verification on write and read, concurrency and crash safety."""
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_image_common import (CELLA_IMAGE, Tar, busybox_layer, canonical,  # noqa: E402
                               cella_image, digest, make_layout)

pytestmark = pytest.mark.skipif(not os.path.exists(CELLA_IMAGE),
                                reason=f"{CELLA_IMAGE} not built")


@pytest.fixture
def root(tmp_path):
    return tmp_path / "store"


def img(root, *args, **kw):
    return cella_image(*args, root=root, **kw)


def names(root):
    return img(root, "ls", "-q").stdout.split()


def store_blobs(root):
    d = Path(root) / "image" / "blobs" / "sha256"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def assert_store_consistent(root):
    """Every blob hashes to its name and the index parses and points at present blobs."""
    d = Path(root) / "image"
    for p in (d / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(p.read_bytes()).hexdigest() == p.name, f"corrupt blob {p}"
    idx = json.loads((d / "index.json").read_text()) if (d / "index.json").exists() else \
        {"manifests": []}
    for m in idx["manifests"]:
        assert (d / "blobs" / "sha256" / m["digest"][7:]).exists()


def tar_dir(src, dest, compress=None):
    """Tars the directory src (an OCI layout) into the file dest."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for p in sorted(Path(src).rglob("*")):
            t.add(p, arcname=str(p.relative_to(src)), recursive=False)
    data = buf.getvalue()
    Path(dest).write_bytes(gzip.compress(data) if compress == "gzip" else data)


def docker_archive(dest, layers, config=None, tags=("example/app:v1",), dup_symlink=False):
    """A classic `docker save` tarball: <id>/layer.tar, <config hex>.json, manifest.json."""
    diff_ids = [digest(layer) for layer in layers]
    cfg = canonical({"architecture": "amd64", "os": "linux",
                     "config": config or {"Cmd": ["sh"]},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}})
    t = Tar()
    paths = []
    for i, layer in enumerate(layers):
        lid = hashlib.sha256(b"id%d" % i).hexdigest()
        t.dir(lid)
        first = layers.index(layer)
        if dup_symlink and first < i:
            t.symlink(f"{lid}/layer.tar", f"../{paths[first].split('/')[0]}/layer.tar")
        else:
            t.file(f"{lid}/layer.tar", layer)
        paths.append(f"{lid}/layer.tar")
    cname = digest(cfg)[7:] + ".json"
    t.file(cname, cfg)
    t.file("manifest.json", json.dumps([{"Config": cname, "RepoTags": list(tags),
                                         "Layers": paths}]))
    Path(dest).write_bytes(t.bytes())
    return digest(cfg)


def test_load_oci_layout_ls_inspect_tag_rm(tmp_path, root):
    make_layout(tmp_path / "lay", [busybox_layer()], config={"Cmd": ["sh"], "User": "0"},
                ref="latest")
    p = img(root, "load", "-i", tmp_path / "lay", "--name", "example.com/team/app:1.0")
    assert p.stdout.strip() == "Loaded image: example.com/team/app:1.0"
    assert names(root) == ["example.com/team/app:1.0"]
    out = img(root, "ls").stdout.splitlines()
    assert out[0].split()[:3] == ["REPOSITORY", "TAG", "DIGEST"]
    assert out[1].split()[:2] == ["example.com/team/app", "1.0"]
    info = json.loads(img(root, "inspect", "example.com/team/app:1.0").stdout)
    assert info["Config"]["config"]["User"] == "0" and len(info["Layers"]) == 1
    img(root, "tag", "example.com/team/app:1.0", "app")
    assert sorted(names(root)) == ["docker.io/library/app:latest", "example.com/team/app:1.0"]
    listing = json.loads(img(root, "ls", "--json").stdout)
    assert {e["digest"] for e in listing} == {info["Digest"]}
    n_blobs = len(store_blobs(root))
    assert n_blobs == 3
    assert "Deleted 0 blobs" in img(root, "rm", "app").stdout  # still named
    assert "Deleted 3 blobs" in img(root, "rm", "example.com/team/app:1.0").stdout
    assert names(root) == [] and store_blobs(root) == []
    p = img(root, "rm", "app", check=False)
    assert p.returncode == 1 and "not found in the store" in p.stderr


@pytest.mark.parametrize("compress", [None, "gzip"])
def test_oci_archive_roundtrip(tmp_path, root, compress):
    mdigest = make_layout(tmp_path / "lay", [busybox_layer(), Tar().file("x", "1").bytes()])
    idx = json.loads((tmp_path / "lay" / "index.json").read_text())
    idx["manifests"][0]["annotations"]["io.containerd.image.name"] = "registry.local/x:y"
    (tmp_path / "lay" / "index.json").write_text(json.dumps(idx))
    tar_dir(tmp_path / "lay", tmp_path / "a.tar", compress)
    assert img(root, "load", "-i", tmp_path / "a.tar").stdout.strip() == \
        "Loaded image: registry.local/x:y"
    img(root, "save", "--format", "oci-archive", "-o", tmp_path / "out.tar", "registry.local/x:y")
    with tarfile.open(tmp_path / "out.tar") as t:
        members = set(t.getnames())
        out_idx = json.load(t.extractfile("index.json"))
    assert {"oci-layout", "index.json", "blobs/sha256/" + mdigest[7:]} <= members
    assert out_idx["manifests"][0]["digest"] == mdigest
    assert out_idx["manifests"][0]["annotations"]["io.containerd.image.name"] == \
        "registry.local/x:y"
    # and it loads into a fresh store with the same digest
    img(tmp_path / "s2", "load", "-i", tmp_path / "out.tar")
    info = json.loads(img(tmp_path / "s2", "inspect", "registry.local/x:y").stdout)
    assert info["Digest"] == mdigest


def test_oci_dir_save(tmp_path, root):
    make_layout(tmp_path / "lay", [busybox_layer()])
    img(root, "load", "-i", tmp_path / "lay", "--name", "a/b")
    img(root, "save", "--format", "oci", "-o", tmp_path / "out", "a/b")
    idx = json.loads((tmp_path / "out" / "index.json").read_text())
    assert idx["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "latest"
    p = img(root, "save", "--format", "oci", "-o", tmp_path / "out", "a/b", check=False)
    assert p.returncode == 1 and "must not exist" in p.stderr
    # a failed save leaves nothing
    p = img(root, "save", "--format", "oci", "-o", tmp_path / "out2", "a/b", "nope", check=False)
    assert p.returncode == 1 and not (tmp_path / "out2").exists()
    p = img(root, "save", "-o", tmp_path / "out3.tar", "nope", check=False)
    assert p.returncode == 1 and not list(tmp_path.glob("out3.tar*"))


@pytest.mark.parametrize("dup", [False, True])
def test_docker_archive_load_and_bundle(tmp_path, root, dup):
    layers = [busybox_layer(), Tar().dir("etc").file("etc/motd", "hello").bytes()]
    if dup:
        layers.append(layers[1])
    docker_archive(tmp_path / "d.tar", layers, config={"Cmd": ["cat", "/etc/motd"]},
                   tags=("example/app:v1", "example/app:latest"), dup_symlink=dup)
    out = img(root, "load", "-i", tmp_path / "d.tar").stdout.split("\n")
    assert out[:2] == ["Loaded image: docker.io/example/app:v1",
                       "Loaded image: docker.io/example/app:latest"]
    img(root, "bundle", "example/app:v1", tmp_path / "b")
    assert (tmp_path / "b" / "rootfs" / "etc" / "motd").read_text() == "hello"
    cfg = json.loads((tmp_path / "b" / "config.json").read_text())
    assert cfg["process"]["args"] == ["cat", "/etc/motd"]


def test_docker_archive_save_roundtrip(tmp_path, root):
    layer = busybox_layer()
    cdigest = docker_archive(tmp_path / "d.tar", [layer], tags=("example/app:v1",))
    img(root, "load", "-i", tmp_path / "d.tar")
    img(root, "tag", "example/app:v1", "localhost:5000/app:v2")
    img(root, "save", "-o", tmp_path / "out.tar", "example/app:v1", "localhost:5000/app:v2")
    with tarfile.open(tmp_path / "out.tar") as t:
        manifest = json.load(t.extractfile("manifest.json"))
        assert manifest == [{"Config": cdigest[7:] + ".json",
                             "RepoTags": ["example/app:v1", "localhost:5000/app:v2"],
                             "Layers": [digest(layer)[7:] + "/layer.tar"]}]
        assert t.extractfile(manifest[0]["Layers"][0]).read() == layer
    p = subprocess.run([CELLA_IMAGE, "--root", str(tmp_path / "s2"), "load"],
                       stdin=open(tmp_path / "out.tar", "rb"), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "Loaded image: localhost:5000/app:v2" in p.stdout


def test_load_errors_leave_no_names(tmp_path, root):
    make_layout(tmp_path / "lay", [busybox_layer()])
    blobs = tmp_path / "lay" / "blobs" / "sha256"
    # an unnamed OCI archive needs --name
    tar_dir(tmp_path / "lay", tmp_path / "plain.tar")
    p = img(root, "load", "-i", tmp_path / "plain.tar", check=False)
    assert p.returncode == 1 and "give one with --name" in p.stderr
    assert store_blobs(root) == []  # a failed load leaves nothing behind
    # a blob whose content does not match its name
    big = max(blobs.iterdir(), key=lambda p: p.stat().st_size)
    data = bytearray(big.read_bytes())
    data[-100] ^= 1
    big.write_bytes(bytes(data))
    tar_dir(tmp_path / "lay", tmp_path / "bad.tar")
    p = img(root, "load", "-i", tmp_path / "bad.tar", "--name", "x", check=False)
    assert p.returncode == 1 and "refusing to store it" in p.stderr, p.stderr
    # a missing layer
    big.unlink()
    tar_dir(tmp_path / "lay", tmp_path / "missing.tar")
    p = img(root, "load", "-i", tmp_path / "missing.tar", "--name", "x", check=False)
    assert p.returncode == 1 and "is missing" in p.stderr, p.stderr
    # not an image archive at all
    (tmp_path / "junk.tar").write_bytes(Tar().file("hello", "x").bytes())
    p = img(root, "load", "-i", tmp_path / "junk.tar", check=False)
    assert p.returncode == 1 and "neither an OCI archive" in p.stderr
    assert names(root) == []
    img(root, "prune")
    assert store_blobs(root) == []
    assert_store_consistent(root)


def test_docker_archive_with_wrong_config_name(tmp_path, root):
    docker_archive(tmp_path / "d.tar", [Tar().file("a").bytes()])
    with tarfile.open(tmp_path / "d.tar") as t:
        members = [(m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()]
    out = Tar()
    for m, data in members:
        if m.name.endswith(".json") and m.name != "manifest.json":
            data = data.replace(b'"sh"', b'"rm"')
        if m.isdir():
            out.dir(m.name)
        else:
            out.file(m.name, data)
    (tmp_path / "e.tar").write_bytes(out.bytes())
    p = img(root, "load", "-i", tmp_path / "e.tar", check=False)
    assert p.returncode == 1 and "corrupt" in p.stderr, p.stderr


def test_corruption_in_store_is_detected_on_read(tmp_path, root):
    make_layout(tmp_path / "lay", [busybox_layer()], config={"Cmd": ["sh"]})
    img(root, "load", "-i", tmp_path / "lay", "--name", "x")
    info = json.loads(img(root, "inspect", "x").stdout)
    blob = Path(root) / "image" / "blobs" / "sha256" / info["ConfigDigest"][7:]
    blob.write_bytes(blob.read_bytes().replace(b'"sh"', b'"rm"'))
    p = img(root, "bundle", "x", tmp_path / "b", check=False)
    assert p.returncode == 1 and "digest mismatch" in p.stderr, p.stderr
    assert not (tmp_path / "b").exists()


def test_concurrent_loads_of_the_same_image(tmp_path, root):
    make_layout(tmp_path / "lay", [busybox_layer(), Tar().file("f", os.urandom(1 << 20)).bytes()])
    procs = [subprocess.Popen([CELLA_IMAGE, "--root", str(root), "load", "-i",
                               str(tmp_path / "lay"), "--name", f"app:{i}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(8)]
    for p in procs:
        out, errout = p.communicate(timeout=120)
        assert p.returncode == 0, errout
    assert sorted(names(root)) == sorted(f"docker.io/library/app:{i}" for i in range(8))
    assert len(store_blobs(root)) == 4
    assert_store_consistent(root)


def test_prune_while_loading_never_breaks_an_image(tmp_path, root):
    make_layout(tmp_path / "lay", [Tar().file("f", os.urandom(4 << 20)).bytes()])
    for i in range(5):
        loader = subprocess.Popen([CELLA_IMAGE, "--root", str(root), "load", "-i",
                                   str(tmp_path / "lay"), "--name", f"app:{i}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        img(root, "prune")
        assert loader.wait(timeout=120) == 0, loader.stderr.read()
        img(root, "bundle", f"app:{i}", tmp_path / f"b{i}", "--", "true")
    assert_store_consistent(root)


def test_kill_during_load_leaves_a_consistent_store(tmp_path, root):
    """kill -9 at whatever moment it lands: old state or new state, never a corrupt blob."""
    layers = [Tar().file(f"f{i}", os.urandom(3 << 20)).bytes() for i in range(4)]
    make_layout(tmp_path / "lay", layers, compress="none")
    img(root, "load", "-i", tmp_path / "lay", "--name", "before")
    make_layout(tmp_path / "lay2", [Tar().file("g", os.urandom(8 << 20)).bytes()] + layers,
                compress="none")
    for delay in (0.0, 0.01, 0.03, 0.1):
        p = subprocess.Popen([CELLA_IMAGE, "--root", str(root), "load", "-i",
                              str(tmp_path / "lay2"), "--name", "after"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert_store_consistent(root)
        assert "docker.io/library/before:latest" in names(root)
        img(root, "bundle", "before", tmp_path / f"b{delay}", "--", "true")
        if "docker.io/library/after:latest" in names(root):
            img(root, "rm", "after")


def test_rootless_default_store_location(tmp_path):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root (to become an unprivileged user) and setpriv")
    home = Path("/tmp") / f"cella-home-{os.getpid()}"
    home.mkdir()
    os.chown(home, 65534, 65534)
    make_layout(home / "lay", [Tar().file("a").bytes()])
    for p in home.rglob("*"):
        os.chown(p, 65534, 65534)
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "XDG_DATA_HOME": str(home / "xdg")}
    try:
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            CELLA_IMAGE, "load", "-i", str(home / "lay"), "--name", "mine"],
                           env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr
        assert (home / "xdg" / "cella" / "image" / "index.json").exists()
    finally:
        shutil.rmtree(home)


@pytest.mark.skipif(not shutil.which("skopeo"), reason="skopeo not installed")
def test_skopeo_interop(tmp_path, root):
    make_layout(tmp_path / "lay", [busybox_layer()], config={"Cmd": ["echo", "hi"]})
    img(root, "load", "-i", tmp_path / "lay", "--name", "interop/app:1")
    # cella -> skopeo, all three formats
    img(root, "save", "-o", tmp_path / "d.tar", "interop/app:1")
    img(root, "save", "--format", "oci-archive", "-o", tmp_path / "o.tar", "interop/app:1")
    img(root, "save", "--format", "oci", "-o", tmp_path / "odir", "interop/app:1")
    for ref in (f"docker-archive:{tmp_path}/d.tar", f"oci-archive:{tmp_path}/o.tar:1",
                f"oci:{tmp_path}/odir:1"):
        p = subprocess.run(["skopeo", "inspect", "--config", ref], capture_output=True,
                           text=True)
        assert p.returncode == 0, (ref, p.stderr)
        assert json.loads(p.stdout)["config"]["Cmd"] == ["echo", "hi"]
    # skopeo -> cella
    subprocess.run(["skopeo", "copy", "-q", f"oci:{tmp_path}/odir:1",
                    f"docker-archive:{tmp_path}/sk.tar:from/skopeo:v9"], check=True)
    img(tmp_path / "s2", "load", "-i", tmp_path / "sk.tar")
    info = json.loads(img(tmp_path / "s2", "inspect", "from/skopeo:v9").stdout)
    assert info["Config"]["config"]["Cmd"] == ["echo", "hi"]
    # the store itself is an OCI layout skopeo can read
    p = subprocess.run(["skopeo", "inspect", "--config", f"oci:{root}/image:1"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def multi_platform_layout(path):
    """An OCI layout whose one entry is an index of an amd64 and an arm64 (Docker v2s2) image."""
    path = Path(path)
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data):
        (blobs / digest(data)[7:]).write_bytes(data)
        return {"digest": digest(data), "size": len(data)}

    entries = []
    for arch, mt in (("amd64", "application/vnd.oci.image.manifest.v1+json"),
                     ("arm64", "application/vnd.docker.distribution.manifest.v2+json")):
        layer = gzip.compress(Tar().file("arch", arch).bytes(), mtime=0)
        cfg = canonical({"architecture": arch, "os": "linux", "config": {"Cmd": ["cat", "/arch"]},
                         "rootfs": {"type": "layers",
                                    "diff_ids": [digest(gzip.decompress(layer))]}})
        lmt = ("application/vnd.oci.image.layer.v1.tar+gzip" if arch == "amd64" else
               "application/vnd.docker.image.rootfs.diff.tar.gzip")
        cmt = ("application/vnd.oci.image.config.v1+json" if arch == "amd64" else
               "application/vnd.docker.container.image.v1+json")
        manifest = canonical({"schemaVersion": 2, "mediaType": mt,
                              "config": {"mediaType": cmt, **put(cfg)},
                              "layers": [{"mediaType": lmt, **put(layer)}]})
        entries.append({"mediaType": mt, **put(manifest),
                        "platform": {"os": "linux", "architecture": arch}})
    index = canonical({"schemaVersion": 2,
                       "mediaType": "application/vnd.oci.image.index.v1+json",
                       "manifests": entries})
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (path / "index.json").write_bytes(canonical({
        "schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json", **put(index),
            "annotations": {"io.containerd.image.name": "docker.io/library/multi:latest"}}]}))


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_platform_selection(tmp_path, root, arch):
    multi_platform_layout(tmp_path / "lay")
    img(root, "load", "-i", tmp_path / "lay")
    img(root, "bundle", "--platform", f"linux/{arch}", "multi", tmp_path / "b")
    assert (tmp_path / "b" / "rootfs" / "arch").read_text() == arch
    info = json.loads(img(root, "inspect", "--platform", f"linux/{arch}", "multi").stdout)
    assert info["Config"]["architecture"] == arch
    p = img(root, "bundle", "--platform", "linux/s390x", "multi", tmp_path / "c", check=False)
    assert p.returncode == 1 and "no image for platform linux/s390x" in p.stderr
    # docker-archive has one manifest per image: the platform picks it
    img(root, "save", "--platform", f"linux/{arch}", "-o", tmp_path / "d.tar", "multi")
    img(tmp_path / "s2", "load", "-i", tmp_path / "d.tar")
    info = json.loads(img(tmp_path / "s2", "inspect", "multi").stdout)
    assert info["Config"]["architecture"] == arch
