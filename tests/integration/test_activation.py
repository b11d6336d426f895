# SPDX-License-Identifier: Apache-2.0
"""systemd's service protocols through the container, as runc does them: socket activation
(LISTEN_FDS/LISTEN_PID) and sd_notify (NOTIFY_SOCKET proxied through <state>/<id>/notify)."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading

import pytest

from helpers import IS_CELLA, RUNTIME, TIMEOUT, find_mount, mount_opts, parse_probe, wait_for

NOTIFY_C = r"""
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(int argc, char **argv)
{
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if (!path || argc < 2 || strlen(path) >= sizeof(a.sun_path))
                return 2;
        strcpy(a.sun_path, path);
        int s = socket(AF_UNIX, SOCK_DGRAM, 0);
        return sendto(s, argv[1], strlen(argv[1]), 0, (struct sockaddr *)&a, sizeof(a)) < 0;
}
"""


def runtime(rt, *args, env=None, pass_fd=None, stdout=subprocess.PIPE):
    """The runtime with extra environment and, optionally, fd `pass_fd` moved to 3."""
    full = dict(os.environ, **(env or {}))
    argv = [RUNTIME, "--root", str(rt.state_root), *map(str, args)]
    if env and env.get("LISTEN_PID") == "self":
        # LISTEN_PID must be the runtime's own pid: let a shell exec it in place.
        del full["LISTEN_PID"]
        argv = ["sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh", *argv]
    kw = {}
    if pass_fd is not None:
        kw = {"preexec_fn": lambda: os.dup2(pass_fd, 3), "close_fds": False}
    # stderr through a file: a created container keeps it open
    with tempfile.TemporaryFile("w+") as err:
        r = subprocess.run(argv, env=full, stdout=stdout, stderr=err, text=True,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT, **kw)
        err.seek(0)
        r.stderr = err.read()
    return r


@pytest.fixture
def passed_file(tmp_path):
    f = tmp_path / "activation-socket"
    f.write_text("x")
    with open(f) as fh:
        yield fh.fileno()


def test_listen_fds_are_passed(bundle, rt, passed_file):
    bundle.set_args(["/probe", "fds", "env"])
    bundle.write()
    r = runtime(rt, "run", "--bundle", bundle.path, bundle.id, pass_fd=passed_file,
                env={"LISTEN_FDS": "1", "LISTEN_PID": "self"})
    assert r.returncode == 0, r
    facts = parse_probe(r.stdout)
    assert facts["fds"].get("3", "").endswith("activation-socket"), facts["fds"]
    assert "LISTEN_FDS=1" in facts["env"] and "LISTEN_PID=1" in facts["env"], facts["env"]


def test_listen_fds_for_another_pid_are_not_passed(bundle, rt, passed_file):
    bundle.set_args(["/probe", "fds", "env"])
    bundle.write()
    r = runtime(rt, "run", "--bundle", bundle.path, bundle.id, pass_fd=passed_file,
                env={"LISTEN_FDS": "1", "LISTEN_PID": "1"})
    assert r.returncode == 0, r
    facts = parse_probe(r.stdout)
    assert set(facts["fds"]) == {"0", "1", "2"}, facts["fds"]
    assert not [e for e in facts["env"] if e.startswith("LISTEN_")]


def test_listen_fds_come_before_preserved_fds(bundle, rt, passed_file):
    bundle.set_args(["/probe", "fds", "env"])
    bundle.write()
    extra = os.dup(passed_file)
    try:
        # fd 3: the activation socket, fd 4: one --preserve-fds
        full = dict(os.environ, LISTEN_FDS="1")
        argv = ["sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh", RUNTIME, "--root",
                str(rt.state_root), "run", "--preserve-fds", "1", "--bundle", str(bundle.path),
                bundle.id]

        def move():
            os.dup2(passed_file, 3)
            os.dup2(extra, 4)
        r = subprocess.run(argv, env=full, capture_output=True, text=True, preexec_fn=move,
                           close_fds=False, timeout=TIMEOUT)
    finally:
        os.close(extra)
    assert r.returncode == 0, r
    fds = parse_probe(r.stdout)["fds"]
    assert {"3", "4"} <= set(fds), fds
    assert "LISTEN_FDS=1" in parse_probe(r.stdout)["env"]


@pytest.fixture(scope="module")
def notify_tool(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.skip("no C compiler to build the sd_notify sender")
    d = tmp_path_factory.mktemp("notify")
    (d / "notify.c").write_text(NOTIFY_C)
    r = subprocess.run([cc, "-static", "-O", "-o", str(d / "notify"), str(d / "notify.c")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot build a static sd_notify sender: {r.stderr[-300:]}")
    return d / "notify"


class HostNotifySocket:
    """What systemd does for Type=notify: a datagram socket; answers BARRIER=1 by closing
    the fd that comes with it."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(TIMEOUT)
        self.messages = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                msg, fds, _, _ = socket.recv_fds(self.sock, 4096, 4)
            except OSError:
                return
            for fd in fds:
                os.close(fd)
            self.messages.append(msg.decode())
            if msg.startswith(b"BARRIER=1"):
                return

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread's recv
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=5)


def test_notify_socket_ready_is_forwarded(bundle, rt, notify_tool, tmp_path):
    shutil.copy2(notify_tool, bundle.rootfs / "notify")
    host = HostNotifySocket(tmp_path / "host-notify.sock")
    env = {"NOTIFY_SOCKET": host.path}
    try:
        bundle.set_args(["/bin/sh", "-c", "/probe env mounts > /tmp/facts; "
                         "/notify \"$(printf 'READY=1\\nSTATUS=up')\"; exec /probe sleep"])
        bundle.write()
        r = runtime(rt, "create", "--bundle", bundle.path, bundle.id, env=env,
                    stdout=subprocess.DEVNULL)
        assert r.returncode == 0, r
        # start returns once the container said READY=1 and the host acknowledged it
        r = runtime(rt, "start", bundle.id, env=env)
        assert r.returncode == 0, r
        pid = rt.state(bundle.id)["pid"]
        wait_for(lambda: f"MAINPID={pid}" in "".join(host.messages), what="MAINPID")
        assert "READY=1" in "".join(host.messages), host.messages
        if IS_CELLA:  # sd_notify_barrier: runc 1.1.5 does not send it yet
            assert host.messages[-1].startswith("BARRIER=1"), host.messages
        facts = parse_probe((bundle.rootfs / "tmp" / "facts").read_text())
        assert "NOTIFY_SOCKET=/run/notify/notify.sock" in facts["env"]
        m = find_mount(facts, "/run/notify")
        assert m and "ro" in mount_opts(m), m
    finally:
        host.close()


def test_notify_socket_start_returns_when_the_container_exits_unready(bundle, rt, tmp_path):
    host = HostNotifySocket(tmp_path / "host-notify.sock")
    env = {"NOTIFY_SOCKET": host.path}
    try:
        bundle.set_args(["/bin/true"])
        bundle.write()
        assert runtime(rt, "create", "--bundle", bundle.path, bundle.id, env=env,
                       stdout=subprocess.DEVNULL).returncode == 0
        r = runtime(rt, "start", bundle.id, env=env)
        assert r.returncode == 0, r
        assert not any("READY" in m for m in host.messages)
    finally:
        host.close()
