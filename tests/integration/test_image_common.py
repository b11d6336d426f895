# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for the image tests: find cella-image, build OCI layouts and tars by hand.

(Named test_image_* so it lives with the image tests; it defines no tests itself.)
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 120


def image_binary():
    env = os.environ.get("CELLA_IMAGE")
    if env:
        return env
    for cand in (REPO / "build" / "cella-image", REPO / "build" / "src" / "cli" / "cella-image"):
        if cand.exists():
            return str(cand)
    return str(REPO / "build" / "cella-image")


CELLA_IMAGE = image_binary()


def cella_image(*args, check=True, root=None, input=None, env=None):
    """Runs cella-image; returns the CompletedProcess (text mode)."""
    cmd = [CELLA_IMAGE] + (["--root", str(root)] if root else []) + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                       stdin=subprocess.DEVNULL if input is None else None, input=input, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


class Tar:
    """Builds a tar in memory entry by entry, with full control over names and types."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def _add(self, name, kind, mode=0o644, data=b"", link="", uid=0, gid=0, mtime=1700000000,
             devmajor=0, devminor=0, pax=None):
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode
        info.uid, info.gid = uid, gid
        info.mtime = mtime
        info.linkname = link
        info.devmajor, info.devminor = devmajor, devminor
        if pax:
            info.pax_headers = pax
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        self.tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
        return self

    def file(self, name, data=b"", mode=0o644, **kw):
        return self._add(name, tarfile.REGTYPE, mode, data if isinstance(data, bytes)
                         else data.encode(), **kw)

    def dir(self, name, mode=0o755, **kw):
        return self._add(name, tarfile.DIRTYPE, mode, **kw)

    def symlink(self, name, target, **kw):
        return self._add(name, tarfile.SYMTYPE, 0o777, link=target, **kw)

    def hardlink(self, name, target, **kw):
        return self._add(name, tarfile.LNKTYPE, 0o644, link=target, **kw)

    def chardev(self, name, major, minor, mode=0o666, **kw):
        return self._add(name, tarfile.CHRTYPE, mode, devmajor=major, devminor=minor, **kw)

    def fifo(self, name, mode=0o644, **kw):
        return self._add(name, tarfile.FIFOTYPE, mode, **kw)

    def bytes(self):
        self.tar.close()
        return self.buf.getvalue()


def make_layout(path, layers, config=None, ref="latest", compress="gzip", arch=None,
                extra_config=None):
    """Writes an OCI image layout at path with the given layer tars (bytes). Returns the
    manifest digest."""
    import platform as _platform
    path = Path(path)
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data):
        d = digest(data)
        (blobs / d[7:]).write_bytes(data)
        return d

    descs, diff_ids = [], []
    for tar in layers:
        diff_ids.append(digest(tar))
        if compress == "gzip":
            blob, mt = gzip.compress(tar, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
        elif compress == "zstd":
            blob = subprocess.run(["zstd", "-q", "-c"], input=tar, capture_output=True,
                                  check=True).stdout
            mt = "application/vnd.oci.image.layer.v1.tar+zstd"
        else:
            blob, mt = tar, "application/vnd.oci.image.layer.v1.tar"
        descs.append({"mediaType": mt, "digest": put(blob), "size": len(blob)})
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(_platform.machine(),
                                                         _platform.machine())
    cfg = {"architecture": arch or machine, "os": "linux",
           "config": config if config is not None else {"Cmd": ["sh"]},
           "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    cfg.update(extra_config or {})
    cfg_bytes = canonical(cfg)
    manifest = canonical({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": put(cfg_bytes), "size": len(cfg_bytes)},
        "layers": descs})
    mdigest = put(manifest)
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (path / "index.json").write_bytes(canonical({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": mdigest, "size": len(manifest),
                       "annotations": {"org.opencontainers.image.ref.name": ref}}]}))
    return mdigest


def busybox_layer():
    """A layer with the host's static busybox as /bin/busybox and /bin/sh."""
    data = Path("/bin/busybox").read_bytes()
    return (Tar().dir("bin").file("bin/busybox", data, mode=0o755)
            .symlink("bin/sh", "busybox").bytes())


def tree(root):
    """Every path below root (relative, sorted), for "nothing else was written" checks."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            out.append(os.path.relpath(os.path.join(dirpath, n), root))
    return sorted(out)
