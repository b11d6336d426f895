# SPDX-License-Identifier: Apache-2.0
"""Fixtures for runtime integration tests.

The runtime under test is $CELLA (default <repo>/build/cella, else build/src/cli/cella):
any runc-compatible CLI. Every command runs with a per-session --root so tests never touch
/run/cella or /run/runc. Run as root with Debian's pytest:

    /usr/bin/python3 -m pytest tests/integration            # cella
    CELLA=/usr/sbin/runc /usr/bin/python3 -m pytest tests/integration   # validate against runc

Tests marked cella_only need behaviour runc 1.1 lacks and are skipped for other runtimes.
CELLA_PROBE overrides the probe binary, CELLA_TEST_TIMEOUT the per-command hang guard (s).
"""
import copy
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import helpers  # noqa: E402
from helpers import IS_CELLA, RUNTIME, TIMEOUT, parse_probe, wait_for  # noqa: E402

# What runc 1.1 `spec` writes; used only when the runtime's own `spec` fails, so that one
# broken command does not hide every other result (test_cli checks `spec` itself).
FALLBACK_SPEC = {
    "ociVersion": "1.0.2-dev",
    "process": {
        "terminal": True, "user": {"uid": 0, "gid": 0}, "args": ["sh"],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"],
        "cwd": "/",
        "capabilities": {k: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
                         for k in ("bounding", "effective", "permitted", "ambient")},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "runc",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ],
    "linux": {
        "resources": {"devices": [{"allow": False, "access": "rwm"}]},
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
        "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                        "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                          "/proc/sysrq-trigger"],
    },
}


def pytest_configure(config):
    config.addinivalue_line("markers", "cella_only(reason): behaviour runc 1.1 lacks; "
                            "skipped unless the runtime's --version starts with 'cella'")


def pytest_collection_modifyitems(config, items):
    if IS_CELLA:
        return
    for item in items:
        mark = item.get_closest_marker("cella_only")
        if mark:
            reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "")
            item.add_marker(pytest.mark.skip(
                reason=f"cella_only ({RUNTIME} is not cella): {reason}"))


def pytest_report_header(config):
    return f"runtime under test: {RUNTIME} ({'cella' if IS_CELLA else 'not cella'})"


@pytest.fixture(scope="session")
def workdir():
    """Session temp dir, world-traversable so user-namespaced containers reach their bundles."""
    if os.geteuid() != 0:
        pytest.skip("integration tests run containers as root")
    if not os.path.exists(RUNTIME):
        pytest.skip(f"runtime binary {RUNTIME} not built (set CELLA=...)")
    d = Path(tempfile.mkdtemp(prefix="cella-it-"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def state_root(workdir):
    d = workdir / "state"
    d.mkdir(mode=0o700, exist_ok=True)  # a test may have made it for its own runtime copy
    return d


@pytest.fixture(scope="session")
def base_rootfs(workdir):
    probe = helpers.probe_binary()
    if not os.path.exists(probe):
        pytest.skip(f"probe {probe} not built (ninja -C build)")
    if not (shutil.which("busybox") or os.path.exists("/bin/busybox")):
        pytest.skip("busybox-static is not installed")
    d = workdir / "base-rootfs"
    d.mkdir()
    helpers.build_rootfs(d, probe)
    return d


@pytest.fixture(scope="session")
def spec_template(workdir):
    d = workdir / "spec-template"
    d.mkdir()
    r = subprocess.run([RUNTIME, "spec", "-b", str(d)], capture_output=True, text=True,
                       timeout=TIMEOUT)
    if r.returncode == 0 and (d / "config.json").exists():
        try:
            return json.loads((d / "config.json").read_text())
        except ValueError:
            pass
    return copy.deepcopy(FALLBACK_SPEC)


def run_guarded(cmd, timeout, **kw):
    """subprocess.run, but a hung runtime fails the test instead of hanging the suite: on timeout
    its whole process group is killed, and pipes still held by a container are abandoned."""
    data = kw.pop("input", None)
    if data is not None:
        kw["stdin"] = subprocess.PIPE
    p = subprocess.Popen(cmd, text=True, start_new_session=True, **kw)
    try:
        out, err = p.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        p.wait()
        for f in (p.stdout, p.stderr):
            if f:
                f.close()
        raise AssertionError(f"{cmd} did not finish within {timeout}s (hung)") from None
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


class Runtime:
    """Runs the runtime CLI with the session's --root."""

    def __init__(self, state_root: Path):
        self.state_root = state_root

    def __call__(self, *args, check=False, timeout=TIMEOUT, global_args=(), **kw):
        cmd = [RUNTIME, "--root", str(self.state_root), *global_args, *map(str, args)]
        kw.setdefault("stdin", subprocess.DEVNULL)
        if "stdout" not in kw and "stderr" not in kw:
            kw["stdout"] = kw["stderr"] = subprocess.PIPE
        r = run_guarded(cmd, timeout, **kw)
        if check and r.returncode != 0:
            raise AssertionError(f"{cmd} failed ({r.returncode}): {r.stderr}")
        return r

    def state(self, cid):
        r = self("state", cid)
        assert r.returncode == 0, f"state {cid}: {r.stderr}"
        return json.loads(r.stdout)

    def status(self, cid):
        r = self("state", cid)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)["status"]

    def wait_status(self, cid, status):
        wait_for(lambda: self.status(cid) == status, what=f"{cid} to be {status}")


@pytest.fixture
def rt(state_root):
    return Runtime(state_root)


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr

    @property
    def facts(self):
        return parse_probe(self.stdout)

    def __repr__(self):
        return f"Result(rc={self.returncode}, stdout={self.stdout!r}, stderr={self.stderr!r})"


class Bundle:
    def __init__(self, path: Path, cid: str, config: dict, rt: Runtime):
        self.path = path
        self.rootfs = path / "rootfs"
        self.id = cid
        self.config = config
        self.rt = rt
        self.out = path / "container.out"
        self.err = path / "container.err"
        self.ids = [cid]

    def new_id(self):
        """A second unique id for tests that need more containers from one bundle."""
        cid = f"{self.id}-{len(self.ids)}"
        self.ids.append(cid)
        return cid

    def write(self):
        (self.path / "config.json").write_text(json.dumps(self.config, indent=2))

    def set_args(self, args):
        if args is not None:
            self.config["process"]["args"] = list(args)

    def run(self, args=None, extra=(), cid=None, write=True, **kw):
        """`run` in the foreground; the container's stdio is the runtime's (captured)."""
        self.set_args(args)
        if write:
            self.write()
        r = self.rt("run", "--bundle", self.path, *extra, self.id if cid is None else cid, **kw)
        return Result(r.returncode, r.stdout, r.stderr)

    def probe(self, *what, **kw):
        r = self.run(["/probe", *what], **kw)
        assert r.returncode == 0, f"probe failed: {r}"
        return r.facts

    def create(self, args=None, extra=(), cid=None, write=True, global_args=()):
        """`create`; the container's stdio goes to files because it outlives the command."""
        self.set_args(args)
        if write:
            self.write()
        with open(self.out, "ab") as out, open(self.err, "ab") as err:
            start = err.tell()
            r = self.rt("create", "--bundle", self.path, *extra, self.id if cid is None else cid,
                        stdout=out, stderr=err, global_args=global_args)
        return Result(r.returncode, "", self.err.read_bytes()[start:].decode(errors="replace"))

    def run_detached(self, args=None, extra=(), cid=None, write=True):
        self.set_args(args)
        if write:
            self.write()
        with open(self.out, "ab") as out, open(self.err, "ab") as err:
            start = err.tell()
            r = self.rt("run", "-d", "--bundle", self.path, *extra, self.id if cid is None else cid,
                        stdout=out, stderr=err)
        return Result(r.returncode, "", self.err.read_bytes()[start:].decode(errors="replace"))

    def output(self):
        return self.out.read_text(errors="replace") if self.out.exists() else ""

    def wait_output(self, needle, timeout=TIMEOUT):
        return wait_for(lambda: needle in self.output(), timeout, f"{needle!r} in output")

    def facts(self):
        return parse_probe(self.output())

    def leaks(self):
        found = []
        for cid in self.ids:
            found += helpers.leaks(cid, self.path, self.rt.state_root)
        return sorted(set(found))

    def assert_no_leaks(self):
        found = self.leaks()
        assert not found, "left behind:\n" + "\n".join(found)

    def cleanup(self):
        for cid in self.ids:
            self.rt("delete", "-f", cid)


def unique_id(request):
    name = "".join(c if c.isalnum() else "-" for c in request.node.name)[:24].strip("-")
    return f"it-{name}-{secrets.token_hex(3)}"


def make_bundle(workdir, base_rootfs, spec_template, rt, request):
    cid = unique_id(request)
    path = workdir / cid
    path.mkdir(mode=0o755)
    # Hardlink copy: cheap, and tests only ever create new files in the rootfs.
    subprocess.run(["cp", "-a", "-l", str(base_rootfs), str(path / "rootfs")], check=True)
    cfg = copy.deepcopy(spec_template)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/probe", "ids"]
    cfg["root"] = {"path": "rootfs", "readonly": False}
    cfg["hostname"] = "cella-test"
    return Bundle(path, cid, cfg, rt)


@pytest.fixture
def bundle(workdir, base_rootfs, spec_template, rt, request):
    b = make_bundle(workdir, base_rootfs, spec_template, rt, request)
    yield b
    b.cleanup()
    found = wait_for_no_leaks(b)
    shutil.rmtree(b.path, ignore_errors=True)
    assert not found, "left behind after delete -f:\n" + "\n".join(found)


@pytest.fixture
def bundle_factory(workdir, base_rootfs, spec_template, rt, request):
    """For tests that need several bundles (e.g. joining another container's namespaces)."""
    made = []

    def make():
        b = make_bundle(workdir, base_rootfs, spec_template, rt, request)
        made.append(b)
        return b

    yield make
    found = []
    for b in made:
        b.cleanup()
    for b in made:
        found += wait_for_no_leaks(b)
        shutil.rmtree(b.path, ignore_errors=True)
    assert not found, "left behind after delete -f:\n" + "\n".join(found)


def wait_for_no_leaks(b):
    """Processes killed by delete -f may take a moment to be reaped by the kernel. Whatever
    is still there is reported, then removed so that later tests start clean."""
    try:
        wait_for(lambda: not b.leaks(), timeout=3, what="cleanup")
    except AssertionError:
        pass
    found = b.leaks()
    if found:
        for cid in b.ids:
            helpers.force_cleanup(cid, b.path, b.rt.state_root)
    return found


@pytest.fixture
def host_tree(workdir, request):
    """A host directory holding a file and a tmpfs submount (with its own file)."""
    d = workdir / f"host-{request.node.name[:20]}-{os.getpid()}-{id(request)}"
    (d / "sub").mkdir(parents=True)
    (d / "file").write_text("from host\n")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "subtmp", str(d / "sub")],
                   check=True)
    (d / "sub" / "inner").write_text("inner\n")
    yield d
    subprocess.run(["umount", "-l", str(d / "sub")], check=False)
    subprocess.run(["rm", "-rf", str(d)], check=False)
