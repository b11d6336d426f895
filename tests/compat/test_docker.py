# SPDX-License-Identifier: Apache-2.0
"""dockerd 20.10 (docker.io) with cella added as a runtime (--add-runtime cella=...), its
own data root, exec root and socket, no iptables and no bridge: docker run --rm, run -d +
logs, exec (status, user, env, workdir, tty), stop. Every test runs once with --runtime cella
and once with --runtime runc."""
import os
import secrets
import shutil
import subprocess

import pytest

from engines import CELLA, IMAGE, run, run_in_pty, stop_process, wait_socket


# Debian's CLI (docker.io) matches the daemon; another `docker` may come first in PATH.
DOCKER_CLI = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"


class Docker:
    def __init__(self, sock):
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{sock}",
                        DOCKER_CONFIG=str(sock.parent / "cli"))

    def argv(self, *args):
        return [DOCKER_CLI, *args]

    def __call__(self, *args, **kw):
        return run(self.argv(*args), env=self.env, **kw)


@pytest.fixture(scope="module")
def docker(compat_dir, image_tar):
    if not shutil.which("dockerd") or not shutil.which(DOCKER_CLI):
        pytest.skip("docker is not installed (Debian package: docker.io)")
    d = compat_dir / "docker"
    d.mkdir()
    (d / "daemon.json").write_text("{}\n")
    sock = d / "d.sock"
    log = d / "dockerd.log"
    cmd = ["dockerd", "--config-file", d / "daemon.json", "--data-root", d / "data",
           "--exec-root", d / "exec", "-H", f"unix://{sock}", "--pidfile", d / "dockerd.pid",
           "--iptables=false", "--ip6tables=false", "--bridge=none", "--ip-masq=false",
           "--add-runtime", f"cella={CELLA}"]
    with open(log, "w") as f:
        p = subprocess.Popen([str(c) for c in cmd], stdout=f, stderr=f,
                             stdin=subprocess.DEVNULL)
    try:
        wait_socket(sock, p, "dockerd", log)
        dk = Docker(sock)
        r = dk("load", "-i", image_tar, timeout=120)
        if r.returncode != 0:
            pytest.skip(f"dockerd cannot load an image here: {r.stderr.strip()}")
        yield dk
        ids = dk("ps", "-aq").stdout.split()
        if ids:
            dk("rm", "-f", *ids)
    finally:
        stop_process(p, timeout=30)
        run(["umount", "-R", d / "data" / "overlay2"])


@pytest.fixture
def name(docker):
    n = f"c-{secrets.token_hex(4)}"
    yield n
    docker("rm", "-f", n)


def drun(docker, runtime, *args, **kw):
    return docker("run", "--runtime", runtime, "--network", "none", *args, **kw)


def test_run_rm(docker, runtime, runtime_path, name):
    r = drun(docker, runtime, "--rm", "--name", name, IMAGE, "echo", "hello")
    assert r.returncode == 0, r
    assert r.stdout == "hello\n"


@pytest.mark.parametrize("code", [0, 3])
def test_exit_code(docker, runtime, runtime_path, name, code):
    r = drun(docker, runtime, "--rm", "--name", name, IMAGE, "sh", "-c", f"exit {code}")
    assert r.returncode == code, r


def test_runtime_is_used(docker, runtime, runtime_path, name):
    r = drun(docker, runtime, "-d", "--name", name, IMAGE, "sleep", "1000")
    assert r.returncode == 0, r
    r = docker("inspect", "-f", "{{.HostConfig.Runtime}}", name)
    assert r.stdout.strip() == runtime


def test_exec_logs_stop(docker, runtime, runtime_path, name):
    r = drun(docker, runtime, "-d", "--name", name, IMAGE, "sh", "-c",
             "trap 'echo got-term; exit 0' TERM; echo started; while :; do sleep 0.1; done")
    assert r.returncode == 0, r
    r = docker("exec", name, "sh", "-c", "echo in-exec; exit 3")
    assert r.returncode == 3, r
    assert r.stdout == "in-exec\n"
    r = docker("exec", "-u", "65534", "-e", "X=y", "-w", "/tmp", name, "sh", "-c",
               "echo $X $(id -u) $(pwd)")
    assert r.stdout == "y 65534 /tmp\n", r
    rc, out = run_in_pty(docker.argv("exec", "-it", name, "sh", "-c", "tty; exit 6"),
                         env=docker.env)
    assert "/dev/pts/" in out and rc == 6, out
    r = docker("stop", "-t", "10", name)
    assert r.returncode == 0, r
    r = docker("inspect", "-f", "{{.State.ExitCode}}", name)
    assert r.stdout.strip() == "0", "SIGTERM must reach the container's init"
    r = docker("logs", name)
    assert r.stdout.split() == ["started", "got-term"], r


def test_exec_in_stopped_container(docker, runtime, runtime_path, name):
    r = drun(docker, runtime, "--name", name, IMAGE, "true")
    assert r.returncode == 0, r
    r = docker("exec", name, "true")
    assert r.returncode != 0
    assert "not running" in r.stderr


def test_run_it(docker, runtime, runtime_path, name):
    rc, out = run_in_pty(docker.argv("run", "--runtime", runtime, "--network", "none", "-it",
                                     "--rm", "--name", name, IMAGE, "sh", "-c",
                                     "read x; echo got-$x; tty; exit 4"),
                         data=b"hello\r", env=docker.env)
    assert "got-hello" in out and "/dev/pts/" in out, out
    assert rc == 4, out
