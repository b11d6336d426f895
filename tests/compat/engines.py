# SPDX-License-Identifier: Apache-2.0
"""Helpers for the engine compatibility tests (conftest.py has the fixtures).

Engine compatibility tests: real containerd, podman and dockerd drive cella as their OCI
runtime, and every scenario runs the same way under runc for comparison.

Each engine runs with its own state, config and socket under a temp dir (never the system's),
started once per module. Images are built here from busybox-static as a docker-archive.
Engines that are not installed (Debian: containerd, podman, docker.io) are skipped with a
reason.
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
CELLA = os.path.realpath(os.environ.get("CELLA", str(REPO / "build" / "cella")))
RUNC = shutil.which("runc") or "/usr/sbin/runc"
TIMEOUT = int(os.environ.get("CELLA_TEST_TIMEOUT", "60"))
IMAGE = "cella-compat-busybox:latest"

RUNTIMES = {"cella": CELLA, "runc": RUNC}


def run(cmd, timeout=TIMEOUT, check=False, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    if "stdout" not in kw and "stderr" not in kw:
        kw["capture_output"] = True
    r = subprocess.run([str(c) for c in cmd], text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def wait_for(pred, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        val = pred()
        if val:
            return val
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def run_in_pty(cmd, data=b"", timeout=TIMEOUT, rows=24, cols=80, env=None):
    """Runs cmd with a pty as its stdio (like an interactive terminal); returns (rc, output)."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    pid, master = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        try:
            os.execvpe(cmd[0], [str(c) for c in cmd], env or os.environ)
        finally:
            os._exit(127)
    out = b""
    deadline = time.monotonic() + timeout
    sent = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not sent and data:
                os.write(master, data)
                sent = True
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
        else:
            os.kill(pid, 9)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(master)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


# --- the test image ----------------------------------------------------------------------------

def _add_bytes(tar, name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def _layer(busybox):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for d in ("bin", "etc", "tmp", "root", "proc", "sys", "dev", "var", "run"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            t.addfile(info)
        _add_bytes(t, "bin/busybox", Path(busybox).read_bytes(), 0o755)
        applets = subprocess.run([busybox, "--list"], capture_output=True, text=True,
                                 check=True).stdout.split()
        for a in applets:
            if a == "busybox":
                continue
            info = tarfile.TarInfo(f"bin/{a}")
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            t.addfile(info)
        _add_bytes(t, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
                                    b"nobody:x:65534:65534:nobody:/:/bin/false\n")
        _add_bytes(t, "etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    return buf.getvalue()


def build_docker_archive(dest: Path, busybox: str, tag=IMAGE):
    """A docker-archive (docker save format) with one layer of busybox-static."""
    layer = _layer(busybox)
    diff_id = hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created_by": "cella tests/compat: busybox-static"}],
    }).encode()
    config_id = hashlib.sha256(config).hexdigest()
    manifest = json.dumps([{"Config": f"{config_id}.json", "RepoTags": [tag],
                            "Layers": [f"{diff_id}/layer.tar"]}]).encode()
    with tarfile.open(dest, "w") as t:
        _add_bytes(t, f"{diff_id}/layer.tar", layer)
        _add_bytes(t, f"{config_id}.json", config)
        _add_bytes(t, "manifest.json", manifest)
    return dest


def stop_process(p, sig=15, timeout=20):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_socket(path, proc, what, log):
    def ready():
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        return os.path.exists(path)
    wait_for(ready, timeout=60, what=f"{what} socket")
