# SPDX-License-Identifier: Apache-2.0
"""podman 4.3 (rootful, conmon) with cella as --runtime: run --rm, run -d + exec + logs +
stop + rm, run -it through a pty, exec -it, --memory/--pids-limit. Every test runs once with
cella and once with runc."""
import os
import secrets
import shutil
import signal

import pytest

from engines import CELLA, IMAGE, run, run_in_pty

REF = f"localhost/{IMAGE}"

# This host's hard RLIMIT_NOFILE is below podman's default ulimit (see docs/DESIGN.md), and
# it has no CNI/netavark: no default ulimits, no network.
CONTAINERS_CONF = """[containers]
default_ulimits = []
netns = "none"
log_driver = "k8s-file"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


class Podman:
    def __init__(self, d):
        self.d = d
        self.env = dict(os.environ, CONTAINERS_CONF=str(d / "containers.conf"),
                        CONTAINERS_REGISTRIES_CONF=str(d / "registries.conf"))

    def argv(self, runtime_path, *args):
        return ["podman", "--root", self.d / "root", "--runroot", self.d / "runroot",
                "--tmpdir", self.d / "tmp", "--runtime", runtime_path, *args]

    def __call__(self, runtime_path, *args, **kw):
        return run(self.argv(runtime_path, *args), env=self.env, **kw)


@pytest.fixture(scope="module")
def podman(compat_dir, image_tar):
    if not shutil.which("podman") or not shutil.which("conmon"):
        pytest.skip("podman is not installed (Debian packages: podman, conmon)")
    d = compat_dir / "podman"
    d.mkdir()
    (d / "containers.conf").write_text(CONTAINERS_CONF)
    (d / "registries.conf").write_text("unqualified-search-registries = []\n")
    p = Podman(d)
    r = p("/usr/bin/false", "load", "-i", image_tar)
    if r.returncode != 0:
        pytest.skip(f"podman cannot load an image here: {r.stderr.strip()}")
    yield p
    p("/usr/bin/false", "rm", "-af", "-t", "0")
    run(["umount", "-R", d / "root" / "overlay"], env=p.env)


@pytest.fixture
def name(podman, runtime_path):
    n = f"c-{secrets.token_hex(4)}"
    yield n
    podman(runtime_path, "rm", "-f", "-t", "0", n)


def test_run_rm(podman, runtime_path, name):
    r = podman(runtime_path, "run", "--rm", "--name", name, REF, "echo", "hello")
    assert r.returncode == 0, r
    assert r.stdout == "hello\n"
    assert podman(runtime_path, "container", "exists", name).returncode == 1


@pytest.mark.parametrize("code", [0, 3])
def test_exit_code(podman, runtime_path, name, code):
    r = podman(runtime_path, "run", "--rm", "--name", name, REF, "sh", "-c", f"exit {code}")
    assert r.returncode == code, r


def test_detached_exec_logs_stop_rm(podman, runtime_path, name):
    r = podman(runtime_path, "run", "-d", "--name", name, REF, "sh", "-c",
               "trap 'echo got-term; exit 0' TERM; echo started; "
               "while :; do sleep 0.1; done")
    assert r.returncode == 0, r
    r = podman(runtime_path, "exec", name, "sh", "-c", "echo in-exec; ps -o pid,args; exit 3")
    assert r.returncode == 3, r
    assert "in-exec" in r.stdout and "while" in r.stdout, r
    r = podman(runtime_path, "exec", "-e", "X=y", "-u", "65534", "-w", "/tmp", name, "sh", "-c",
               "echo $X $(id -u) $(pwd)")
    assert r.stdout == "y 65534 /tmp\n", r
    r = podman(runtime_path, "stop", "-t", "10", name)
    assert r.returncode == 0, r
    assert "resorting to SIGKILL" not in r.stderr, "SIGTERM must reach the container's init"
    r = podman(runtime_path, "logs", name)
    assert r.stdout.split() == ["started", "got-term"], r
    r = podman(runtime_path, "inspect", "-f", "{{.State.ExitCode}}", name)
    assert r.stdout.strip() == "0"
    assert podman(runtime_path, "rm", name).returncode == 0


def test_run_it_through_a_pty(podman, runtime_path, name):
    rc, out = run_in_pty(podman.argv(runtime_path, "run", "-it", "--rm", "--name", name, REF,
                                     "sh", "-c", "read x; echo got-$x; tty; exit 4"),
                         data=b"hello\r", env=podman.env)
    assert "got-hello" in out and "/dev/pts/" in out, out
    assert rc == 4, out


def test_exec_it_through_a_pty(podman, runtime_path, name):
    r = podman(runtime_path, "run", "-d", "--name", name, REF, "sleep", "1000")
    assert r.returncode == 0, r
    rc, out = run_in_pty(podman.argv(runtime_path, "exec", "-it", name, "sh", "-c",
                                     "tty; exit 6"), env=podman.env)
    assert "/dev/pts/" in out, out
    assert rc == 6, out


def test_memory_and_pids_limit(podman, runtime_path, name):
    r = podman(runtime_path, "run", "--rm", "--name", name, "--memory", "64m",
               "--pids-limit", "50", REF, "sh", "-c",
               "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
               "2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max")
    assert r.returncode == 0, r
    assert r.stdout.split() == ["67108864", "50"], r


def test_pids_limit_is_enforced(podman, runtime_path, name):
    r = podman(runtime_path, "run", "--rm", "--name", name, "--pids-limit", "5", REF, "sh",
               "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait")
    assert r.returncode != 0 or "can't fork" in r.stderr or "Resource" in r.stderr, r


# --- rootless ----------------------------------------------------------------------------------

ROOTLESS_UID = ROOTLESS_GID = 1000


class RootlessPodman(Podman):
    """podman as an unprivileged user: it runs the runtime as root of its user namespace
    (no subuid range needed: the user's own uid is mapped to 0)."""

    def __init__(self, d):
        super().__init__(d)
        self.env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(d),
                    "XDG_RUNTIME_DIR": str(d / "xdg"), "USER": "cella-compat",
                    "CONTAINERS_CONF": str(d / "containers.conf"),
                    "CONTAINERS_REGISTRIES_CONF": str(d / "registries.conf")}

    def __call__(self, runtime_path, *args, **kw):
        def drop():
            os.setgroups([])
            os.setgid(ROOTLESS_GID)
            os.setuid(ROOTLESS_UID)
        return run(self.argv(self.runtimes.get(runtime_path, runtime_path), *args),
                   env=self.env, preexec_fn=drop, cwd=self.d, **kw)


@pytest.fixture(scope="module")
def rootless_podman(compat_dir, image_tar):
    if not shutil.which("podman") or not shutil.which("conmon"):
        pytest.skip("podman is not installed (Debian packages: podman, conmon)")
    d = compat_dir / "podman-rootless"
    (d / "xdg").mkdir(parents=True)
    (d / "containers.conf").write_text(CONTAINERS_CONF)
    (d / "registries.conf").write_text("unqualified-search-registries = []\n")
    # The user may not be able to enter the build tree: give it its own copy of cella.
    shutil.copy2(CELLA, d / "cella")
    shutil.copy2(image_tar, d / "image.tar")
    for p in [d, *d.rglob("*")]:
        os.chown(p, ROOTLESS_UID, ROOTLESS_GID)
    os.chmod(d / "xdg", 0o700)
    p = RootlessPodman(d)
    p.runtimes = {CELLA: str(d / "cella")}
    r = p("/usr/bin/false", "load", "-i", d / "image.tar")
    if r.returncode != 0:
        pytest.skip(f"rootless podman cannot load an image here: {r.stderr.strip()[-300:]}")
    yield p
    p("/usr/bin/false", "rm", "-af", "-t", "0")
    p("/usr/bin/false", "unshare", "rm", "-rf", d / "root")
    # podman keeps a "pause" process holding its user namespace: it is ours to end.
    for pidfile in [*(d / "tmp").rglob("pause.pid"), *(d / "xdg").rglob("pause.pid")]:
        try:
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def test_rootless_run_rm(rootless_podman, runtime_path):
    r = rootless_podman(runtime_path, "run", "--rm", REF, "sh", "-c", "echo hello; id -u")
    assert r.returncode == 0, r
    assert r.stdout == "hello\n0\n"


def test_rootless_detached_exec_logs_stop_rm(rootless_podman, runtime_path):
    name = f"r-{secrets.token_hex(4)}"
    p = rootless_podman
    try:
        r = p(runtime_path, "run", "-d", "--name", name, REF, "sh", "-c",
              "trap 'echo got-term; exit 0' TERM; echo started; while :; do sleep 0.1; done")
        assert r.returncode == 0, r
        r = p(runtime_path, "exec", "-e", "X=y", "-w", "/tmp", name, "sh", "-c",
              "echo $X $(pwd); exit 3")
        assert r.returncode == 3, r
        assert r.stdout == "y /tmp\n"
        r = p(runtime_path, "stop", "-t", "10", name)
        assert r.returncode == 0, r
        assert p(runtime_path, "logs", name).stdout.split() == ["started", "got-term"]
        assert p(runtime_path, "rm", name).returncode == 0
    finally:
        p(runtime_path, "rm", "-f", "-t", "0", name)
