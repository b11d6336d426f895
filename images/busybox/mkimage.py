#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Builds the embedded busybox OCI image at build time from Debian's busybox-static.

Usage: mkimage.py BUSYBOX OUT_TAR OUT_ASM

OUT_TAR is an OCI archive (a tar of an OCI image layout: oci-layout, index.json,
blobs/sha256/...). OUT_ASM is an assembly file that embeds OUT_TAR with .incbin; it carries the
archive's sha256 in a comment so that it changes (and is reassembled) whenever the archive does.
Nothing is downloaded; the output is reproducible for a given busybox binary.
"""

import gzip
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tarfile

EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "1704067200"))  # 2024-01-01T00:00:00Z

PASSWD = b"""root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = b"""root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
"""

GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
          "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def add(tar, name, kind, mode, data=b"", target=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    if kind == tarfile.SYMTYPE:
        info.linkname = target
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def is_static_elf(binary):
    """No PT_INTERP program header: the kernel runs it without a dynamic loader."""
    import struct
    if binary[:4] != b"\x7fELF" or binary[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", binary, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", binary, 0x36)
    return all(struct.unpack_from("<I", binary, phoff + i * phentsize)[0] != 3
               for i in range(phnum))


def make_layer(busybox):
    with open(busybox, "rb") as f:
        binary = f.read()
    if not is_static_elf(binary):
        sys.exit(f"mkimage.py: {busybox} is not a static 64-bit ELF binary; "
                 "install Debian's busybox-static (apt-get install busybox-static)")
    applets = subprocess.run([busybox, "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()
    dirs = {"bin": 0o755, "sbin": 0o755, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755,
            "etc": 0o755, "proc": 0o555, "sys": 0o555, "dev": 0o755, "tmp": 0o1777,
            "root": 0o700, "var": 0o755, "var/tmp": 0o1777, "run": 0o755}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in sorted(dirs):
            add(tar, d + "/", tarfile.DIRTYPE, dirs[d])
        add(tar, "bin/busybox", tarfile.REGTYPE, 0o755, binary)
        for path in sorted(set(applets)):
            if path != "bin/busybox" and path.split("/")[0] in ("bin", "sbin", "usr"):
                add(tar, path, tarfile.SYMTYPE, 0o777, target="/bin/busybox")
        add(tar, "etc/passwd", tarfile.REGTYPE, 0o644, PASSWD)
        add(tar, "etc/group", tarfile.REGTYPE, 0o644, GROUP)
    diff = raw.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, compresslevel=9) as z:
        z.write(diff)
    return diff, gz.getvalue()


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def main():
    busybox, out_tar, out_asm = sys.argv[1:4]
    diff, layer = make_layer(busybox)
    created = "2024-01-01T00:00:00Z"
    config = canonical({
        "architecture": GOARCH.get(platform.machine(), platform.machine()),
        "os": "linux",
        "created": created,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
            "Labels": {"org.opencontainers.image.title": "busybox",
                       "org.opencontainers.image.description":
                           "busybox-static from Debian, embedded in cella-image"},
        },
        "rootfs": {"type": "layers", "diff_ids": [digest(diff)]},
        "history": [{"created": created, "created_by": "images/busybox/mkimage.py"}],
    })
    manifest = canonical({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": digest(layer), "size": len(layer)}],
    })
    index = canonical({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": digest(manifest), "size": len(manifest),
                       "annotations": {"org.opencontainers.image.ref.name": "latest",
                                       "io.containerd.image.name":
                                           "docker.io/library/busybox:latest"}}],
    })
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        files = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)]
        files += [("blobs/sha256/" + digest(b)[7:], b) for b in (config, manifest, layer)]
        for d in ("blobs/", "blobs/sha256/"):
            add(tar, d, tarfile.DIRTYPE, 0o755)
        for name, data in files:
            add(tar, name, tarfile.REGTYPE, 0o644, data)
    archive = out.getvalue()
    with open(out_tar, "wb") as f:
        f.write(archive)
    # The assembler resolves .incbin relative to its cwd, so give it an absolute path.
    path = os.path.abspath(out_tar).replace("\\", "\\\\").replace('"', '\\"')
    with open(out_asm, "w") as f:
        f.write(f"""/* Generated by images/busybox/mkimage.py; archive {digest(archive)} */
        .section .rodata.cella_busybox_image,"a"
        .balign 16
        .globl cella_busybox_image
        .type cella_busybox_image, @object
cella_busybox_image:
        .incbin "{path}"
        .globl cella_busybox_image_end
cella_busybox_image_end:
        .byte 0
        .section .note.GNU-stack,"",@progbits
""")


if __name__ == "__main__":
    main()
