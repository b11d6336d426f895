# SPDX-License-Identifier: Apache-2.0
"""The runc-compatible command line: global flags, commands, output formats."""
import json
import os
import re
import signal
import subprocess
from datetime import datetime

import pytest

from helpers import IS_CELLA, RUNTIME, TIMEOUT, ConsoleSocket, parse_probe, read_line, wait_for

COMMANDS = ["create", "start", "run", "state", "list", "kill", "delete", "spec", "features"]


def test_version(rt):
    r = rt("--version")
    assert r.returncode == 0, r.stderr
    assert "version" in r.stdout.splitlines()[0]
    if IS_CELLA:
        assert r.stdout.startswith("cella version")
        assert re.search(r"^spec: 1\.", r.stdout, re.M), "runc prints the runtime-spec version"


def test_help_lists_commands_and_global_flags(rt):
    r = rt("--help")
    assert r.returncode == 0, r.stderr
    for cmd in COMMANDS:
        assert re.search(rf"^\s+{cmd}\b", r.stdout, re.M), f"{cmd} missing from --help"
    for flag in ("--root", "--log", "--log-format", "--debug", "--systemd-cgroup"):
        assert flag in r.stdout


@pytest.mark.parametrize("cmd,flags", [
    ("create", ["--bundle", "--console-socket", "--pid-file", "--no-pivot", "--no-new-keyring",
                "--preserve-fds"]),
    ("run", ["--bundle", "--console-socket", "--pid-file", "--detach", "--keep"]),
    ("delete", ["--force"]),
    ("kill", ["--all"]),
    ("list", ["--format", "--quiet"]),
    ("spec", ["--bundle", "--rootless"]),
])
def test_help_command(rt, cmd, flags):
    r = rt("help", cmd)
    assert r.returncode == 0, r.stderr
    for f in flags:
        assert f in r.stdout, f"help {cmd} does not mention {f}"


def test_unknown_command_fails(rt):
    r = rt("no-such-command")
    assert r.returncode != 0


# --- spec ------------------------------------------------------------------------------------

def test_spec_writes_default_config(rt, workdir, tmp_path):
    r = rt("spec", "-b", tmp_path)
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["ociVersion"].startswith("1.")
    assert cfg["root"]["path"] == "rootfs"
    assert cfg["process"]["args"]
    types = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert {"pid", "mount", "ipc", "uts", "network"} <= types
    assert "user" not in types
    dests = [m["destination"] for m in cfg["mounts"]]
    assert "/proc" in dests and "/dev" in dests
    assert cfg["linux"]["maskedPaths"] and cfg["linux"]["readonlyPaths"]


def test_spec_in_cwd_and_refuses_to_overwrite(rt, tmp_path):
    r = rt("spec", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "config.json").exists()
    r = rt("spec", cwd=tmp_path)
    assert r.returncode == 1
    if IS_CELLA:
        assert "config.json" in r.stderr and "exists" in r.stderr


def test_spec_rootless(rt, tmp_path):
    r = rt("spec", "--rootless", "-b", tmp_path)
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path / "config.json").read_text())
    types = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert "user" in types
    assert "network" not in types
    assert cfg["linux"]["uidMappings"][0]["hostID"] == os.geteuid()
    assert cfg["linux"]["gidMappings"][0]["hostID"] == os.getegid()
    assert "resources" not in cfg["linux"] or "devices" not in cfg["linux"]["resources"]


def test_spec_output_is_runnable(rt, bundle):
    """The config `spec` writes must work unchanged except for args/terminal."""
    d = bundle.path / "fresh"
    d.mkdir()
    assert rt("spec", "-b", d).returncode == 0
    cfg = json.loads((d / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["root"]["path"] = str(bundle.rootfs)
    bundle.config = cfg
    f = bundle.probe("ids", "uname")
    assert f["ids"]["uid"] == 0


# --- create / start / state ------------------------------------------------------------------

STATE_FIELDS = {"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"}


def parse_rfc3339(s):
    s = re.sub(r"(\.\d{6})\d+", r"\1", s).replace("Z", "+00:00")
    return datetime.fromisoformat(s)


def test_create_start_state(bundle, rt):
    bundle.config["annotations"] = {"org.cella.test": "yes"}
    r = bundle.create(["/probe", "pid", "exit", "0"])
    assert r.returncode == 0, r.stderr
    st = rt.state(bundle.id)
    assert STATE_FIELDS <= set(st), st
    assert set(st) <= STATE_FIELDS | {"annotations"}
    assert st["ociVersion"].startswith("1.")
    assert st["id"] == bundle.id
    assert st["status"] == "created"
    assert st["pid"] > 0 and os.path.exists(f"/proc/{st['pid']}")
    assert os.path.realpath(st["bundle"]) == os.path.realpath(bundle.path)
    assert os.path.realpath(st["rootfs"]) == os.path.realpath(bundle.rootfs)
    assert st["annotations"] == {"org.cella.test": "yes"}
    assert st["owner"] == ""
    parse_rfc3339(st["created"])
    assert bundle.output() == "", "the process must not run before start"

    r = rt("start", bundle.id)
    assert r.returncode == 0, r.stderr
    bundle.wait_output("pid")
    f = bundle.facts()
    assert f["pid"]["pid"] == 1
    rt.wait_status(bundle.id, "stopped")
    st = rt.state(bundle.id)
    assert st["status"] == "stopped"
    assert rt("delete", bundle.id).returncode == 0
    assert rt("state", bundle.id).returncode != 0
    bundle.assert_no_leaks()


def test_state_running_pid_is_container_init(bundle, rt):
    r = bundle.create(["/probe", "sleep"])
    assert r.returncode == 0, r.stderr
    assert rt("start", bundle.id).returncode == 0
    rt.wait_status(bundle.id, "running")
    st = rt.state(bundle.id)
    with open(f"/proc/{st['pid']}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == b"/probe"


# --- list ------------------------------------------------------------------------------------

def test_list_formats(bundle, rt):
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    second = bundle.new_id()
    assert bundle.create(["/probe", "sleep"], cid=second).returncode == 0
    assert rt("start", second).returncode == 0
    rt.wait_status(second, "running")

    r = rt("list", "-q")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == sorted([bundle.id, second])

    r = rt("list", "-f", "json")
    assert r.returncode == 0, r.stderr
    items = {c["id"]: c for c in json.loads(r.stdout)}
    assert set(items) == {bundle.id, second}
    assert items[bundle.id]["status"] == "created"
    assert items[second]["status"] == "running"
    for c in items.values():
        assert {"id", "pid", "status", "bundle", "created", "owner"} <= set(c)
        assert os.path.realpath(c["bundle"]) == os.path.realpath(bundle.path)

    r = rt("list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    rows = {ln.split()[0]: ln.split() for ln in lines[1:]}
    assert rows[bundle.id][2] == "created"
    assert rows[second][2] == "running"
    assert rows[second][1] == str(rt.state(second)["pid"])

    r = rt("list", "-f", "table")
    assert r.returncode == 0 and r.stdout.splitlines()[0].startswith("ID")


def test_list_empty_root(rt, workdir):
    r = subprocess.run([RUNTIME, "--root", str(workdir / "empty-root"), "list", "-f", "json"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout or "null") in (None, [])


# --- kill ------------------------------------------------------------------------------------

def start_signal_probe(bundle, rt):
    assert bundle.create(["/probe", "signals"]).returncode == 0
    assert rt("start", bundle.id).returncode == 0
    bundle.wait_output('"ready"')


@pytest.mark.parametrize("sig,num", [
    ("USR1", 10), ("SIGUSR1", 10), ("10", 10), ("HUP", 1), ("SIGWINCH", 28), (None, 15),
    ("usr2", 12), ("sigterm", 15),
])
def test_kill_signal_spellings(bundle, rt, sig, num):
    start_signal_probe(bundle, rt)
    args = ["kill", bundle.id] + ([sig] if sig else [])
    r = rt(*args)
    assert r.returncode == 0, r.stderr
    bundle.wait_output('"signal"')
    assert bundle.facts()["signal"] == num
    rt.wait_status(bundle.id, "stopped")


def test_kill_bad_signal(bundle, rt):
    start_signal_probe(bundle, rt)
    r = rt("kill", bundle.id, "NOTASIGNAL")
    assert r.returncode != 0
    assert rt.status(bundle.id) == "running"


def test_kill_all(bundle, rt):
    # A pid namespace shared with the host, so killing init would not kill the child.
    bundle.config["linux"]["namespaces"] = [
        n for n in bundle.config["linux"]["namespaces"] if n["type"] != "pid"]
    assert bundle.create(["/bin/sh", "-c", "/probe sleep & exec /probe signals"]).returncode == 0
    assert rt("start", bundle.id).returncode == 0
    bundle.wait_output('"ready"')
    wait_for(lambda: len(procs_in(bundle)) == 2, what="two processes")
    r = rt("kill", "-a", bundle.id, "KILL")
    assert r.returncode == 0, r.stderr
    rt.wait_status(bundle.id, "stopped")
    wait_for(lambda: not procs_in(bundle), what="all processes gone")


def procs_in(bundle):
    from helpers import processes_rooted_in
    return processes_rooted_in(bundle.rootfs)


# --- delete ----------------------------------------------------------------------------------

def test_delete_created_container(bundle, rt):
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    pid = rt.state(bundle.id)["pid"]
    r = rt("delete", "-f", bundle.id)
    assert r.returncode == 0, r.stderr
    assert rt("state", bundle.id).returncode != 0
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or zombie(pid), what="init gone")
    bundle.assert_no_leaks()


def test_delete_force_running(bundle, rt):
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    assert rt.status(bundle.id) == "running"
    assert rt("delete", "-f", bundle.id).returncode == 0
    assert rt("state", bundle.id).returncode != 0
    wait_for(lambda: not bundle.leaks(), what="no leaks after delete -f")


def test_delete_force_missing_is_ok(rt):
    assert rt("delete", "-f", "it-never-existed").returncode == 0


def zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


# --- run -------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [0, 3, 42])
def test_run_exit_status(bundle, code):
    r = bundle.run(["/probe", "exit", str(code)])
    assert r.returncode == code, r
    bundle.assert_no_leaks()


def test_run_killed_exit_status(bundle, rt):
    bundle.set_args(["/probe", "signals"])
    bundle.write()
    p = subprocess.Popen([RUNTIME, "--root", rt.state_root, "run", "-b", bundle.path, bundle.id],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
    try:
        assert '"ready"' in read_line(p.stdout)
        # runc 1.1 `run` writes state.json only after the process started
        rt.wait_status(bundle.id, "running")
        assert rt("kill", bundle.id, "KILL").returncode == 0
        assert p.wait(TIMEOUT) == 128 + 9
    finally:
        p.kill()
        p.wait()


def test_run_forwards_signals(bundle, rt):
    bundle.set_args(["/probe", "signals"])
    bundle.write()
    p = subprocess.Popen([RUNTIME, "--root", rt.state_root, "run", "-b", bundle.path, bundle.id],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
    try:
        assert '"ready"' in read_line(p.stdout)
        p.send_signal(signal.SIGUSR2)
        out, err = p.communicate(timeout=TIMEOUT)
        assert parse_probe(out)["signal"] == signal.SIGUSR2
        assert p.returncode == 0, err
    finally:
        p.kill()
        p.wait()


def test_run_detached(bundle, rt):
    r = bundle.run_detached(["/probe", "pid", "sleep"])
    assert r.returncode == 0, r.stderr
    assert rt.status(bundle.id) == "running"
    bundle.wait_output("pid")
    assert bundle.facts()["pid"]["pid"] == 1


def test_run_removes_container_after_exit(bundle, rt):
    assert bundle.run(["/probe", "exit", "0"]).returncode == 0
    assert rt("state", bundle.id).returncode != 0
    bundle.assert_no_leaks()


def test_run_keep(bundle, rt):
    r = bundle.run(["/probe", "exit", "5"], extra=["--keep"])
    assert r.returncode == 5, r
    assert rt.status(bundle.id) == "stopped"
    assert rt("delete", bundle.id).returncode == 0
    bundle.assert_no_leaks()


@pytest.mark.parametrize("cmd", ["create", "run"])
def test_pid_file(bundle, rt, cmd):
    pidfile = bundle.path / "sub" / "ct.pid"
    pidfile.parent.mkdir()
    extra = ["--pid-file", pidfile]
    r = (bundle.create if cmd == "create" else bundle.run_detached)(["/probe", "sleep"],
                                                                    extra=extra)
    assert r.returncode == 0, r.stderr
    text = pidfile.read_text()
    assert text.strip() == str(rt.state(bundle.id)["pid"])


def test_pid_file_relative(bundle, rt):
    bundle.set_args(["/probe", "sleep"])
    bundle.write()
    with open(bundle.err, "ab") as err:
        r = rt("create", "--bundle", bundle.path, "--pid-file", "rel.pid", bundle.id,
               cwd=bundle.path, stdout=err, stderr=err)
    assert r.returncode == 0, bundle.err.read_text()
    assert (bundle.path / "rel.pid").read_text().strip() == str(rt.state(bundle.id)["pid"])


# --- console socket --------------------------------------------------------------------------

def test_console_socket(bundle, rt):
    sock = ConsoleSocket(bundle.path / "console.sock")
    try:
        bundle.config["process"]["terminal"] = True
        bundle.config["process"]["consoleSize"] = {"height": 37, "width": 121}
        r = bundle.create(["/probe", "tty", "stat", "/dev/console", "exit", "0"],
                          extra=["--console-socket", sock.path])
        assert r.returncode == 0, r.stderr
        master = sock.wait_master()
        assert master is not None, f"no fd received: {sock.received}"
        assert os.isatty(master)
        assert rt("start", bundle.id).returncode == 0
        rt.wait_status(bundle.id, "stopped")
        sock.wait_output(b"}\r\n")
        f = parse_probe(sock.output.decode().replace("\r\n", "\n"))
        for fd in ("0", "1", "2"):
            assert f["tty"][fd]["isatty"], f["tty"]
            assert f["tty"][fd]["name"].startswith("/dev/pts/")
        assert f["tty"]["0"]["rows"] == 37 and f["tty"]["0"]["cols"] == 121
        assert f["stat:/dev/console"]["type"] == "char"
        assert f["stat:/dev/console"]["rdev"][0] == 136, "/dev/console is the pty slave"
    finally:
        sock.close()


def test_terminal_without_console_socket_fails_for_create(bundle, rt):
    bundle.config["process"]["terminal"] = True
    r = bundle.create(["/probe", "exit", "0"])
    assert r.returncode != 0
    bundle.assert_no_leaks()


# --- logging ---------------------------------------------------------------------------------

def test_log_json_on_error(bundle, rt):
    log = bundle.path / "log.json"
    bundle.config["linux"]["namespaces"].append({"type": "netx"})
    r = bundle.create(["/probe", "exit", "0"],
                      global_args=["--log", str(log), "--log-format", "json"])
    assert r.returncode != 0
    lines = [ln for ln in log.read_text().splitlines() if ln.strip()]
    assert lines, "nothing logged"
    entries = [json.loads(ln) for ln in lines]
    for e in entries:
        assert {"level", "msg", "time"} <= set(e), e
        parse_rfc3339(e["time"])
    assert any(e["level"] == "error" and "netx" in e["msg"] for e in entries), entries
    bundle.assert_no_leaks()


def test_log_text_file(bundle, rt):
    log = bundle.path / "log.txt"
    bundle.config["linux"]["namespaces"].append({"type": "netx"})
    r = bundle.create(["/probe", "exit", "0"], global_args=["--log", str(log)])
    assert r.returncode != 0
    text = log.read_text()
    assert "netx" in text and "error" in text, text


# --- fds, pivot, misc create flags -----------------------------------------------------------

def run_with_fd3(bundle, rt, extra):
    """`run` with a host file open as fd 3 in the runtime's environment."""
    secret = bundle.path / "fd3-file"
    secret.write_text("host data\n")
    fd = os.open(secret, os.O_RDONLY)

    def dup_to_3():
        os.dup2(fd, 3)

    bundle.set_args(["/probe", "fds"])
    bundle.write()
    try:
        r = subprocess.run([RUNTIME, "--root", rt.state_root, "run", "-b", bundle.path, *extra,
                            bundle.id], capture_output=True, text=True, timeout=TIMEOUT,
                           preexec_fn=dup_to_3, pass_fds=(3,) if fd != 3 else ())
    finally:
        os.close(fd)
    assert r.returncode == 0, r.stderr
    return parse_probe(r.stdout)["fds"], str(secret)


def test_preserve_fds(bundle, rt):
    fds, secret = run_with_fd3(bundle, rt, ["--preserve-fds", "1"])
    assert fds.get("3") == secret, fds
    assert set(fds) == {"0", "1", "2", "3"}


def test_no_pivot(bundle):
    r = bundle.run(["/probe", "cwd", "mounts", "stat", "/probe"], extra=["--no-pivot"])
    assert r.returncode == 0, r
    f = r.facts
    assert f["cwd"] == "/"
    assert f["stat:/probe"]["type"] == "file"
    assert any(m["mountpoint"] == "/proc" and m["fstype"] == "proc" for m in f["mounts"])


def test_no_new_keyring_accepted(bundle):
    r = bundle.run(["/probe", "exit", "0"], extra=["--no-new-keyring"])
    assert r.returncode == 0, r


def test_systemd_cgroup_flag_accepted(rt):
    r = rt("list", global_args=["--systemd-cgroup"])
    assert r.returncode == 0, r.stderr


def test_debug_flag(bundle, rt):
    bundle.set_args(["/probe", "exit", "0"])
    bundle.write()
    r = rt("run", "-b", bundle.path, bundle.id, global_args=["--debug"])
    assert r.returncode == 0, r.stderr


# --- features --------------------------------------------------------------------------------

def test_features(rt):
    r = rt("features")
    assert r.returncode == 0, r.stderr
    f = json.loads(r.stdout)
    assert f["ociVersionMin"].startswith("1.0")
    assert f["ociVersionMax"].startswith("1.")
    linux = f["linux"]
    assert {"pid", "network", "ipc", "uts", "mount", "user", "cgroup"} <= set(linux["namespaces"])
    assert "CAP_SYS_ADMIN" in linux["capabilities"]
    for opt in ("bind", "rbind", "ro", "nosuid", "nodev", "noexec", "rshared", "rprivate"):
        assert opt in f["mountOptions"], opt
    if IS_CELLA:
        assert "time" in linux["namespaces"]
        assert "rro" in f["mountOptions"]
        assert linux["cgroup"]["v1"] and linux["cgroup"]["v2"]


def test_run_detached_with_console_socket(bundle, rt):
    sock = ConsoleSocket(bundle.path / "console.sock")
    try:
        bundle.config["process"]["terminal"] = True
        r = bundle.run_detached(["/probe", "tty", "signals"],
                                extra=["--console-socket", sock.path])
        assert r.returncode == 0, r.stderr
        assert sock.wait_master() is not None
        sock.wait_output(b'"ready"')
        f = parse_probe(sock.output.decode().replace("\r\n", "\n"))
        assert f["tty"]["1"]["isatty"]
        os.write(sock.master, b"\x03")  # ^C through the pty reaches the container as SIGINT
        sock.wait_output(b'"signal"')
        assert parse_probe(sock.output.decode().replace("\r\n", "\n"))["signal"] == 2
        rt.wait_status(bundle.id, "stopped")
    finally:
        sock.close()


def test_kill_created_container(bundle, rt):
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    assert rt("kill", bundle.id, "KILL").returncode == 0
    rt.wait_status(bundle.id, "stopped")
    assert rt("start", bundle.id).returncode == 1
    assert rt("delete", bundle.id).returncode == 0
    wait_for(lambda: not bundle.leaks(), what="no leaks")


def test_delete_created_without_force(bundle, rt):
    """runc deletes a created (never started) container without -f; containerd relies on it."""
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    r = rt("delete", bundle.id)
    assert r.returncode == 0, r.stderr
    assert rt.status(bundle.id) is None
    wait_for(lambda: not bundle.leaks(), what="no leaks")


def test_relative_bundle_path(bundle, rt):
    bundle.set_args(["/probe", "sleep"])
    bundle.write()
    with open(bundle.err, "ab") as err:
        r = rt("create", "-b", bundle.path.name, bundle.id, cwd=bundle.path.parent,
               stdout=err, stderr=err)
    assert r.returncode == 0, bundle.err.read_text()
    st = rt.state(bundle.id)
    assert os.path.isabs(st["bundle"])
    assert os.path.realpath(st["bundle"]) == os.path.realpath(bundle.path)


def test_bundle_defaults_to_cwd(bundle, rt):
    bundle.set_args(["/probe", "cwd"])
    bundle.write()
    r = rt("run", bundle.id, cwd=bundle.path)
    assert r.returncode == 0, r.stderr
    assert parse_probe(r.stdout)["cwd"] == "/"


def test_run_foreground_with_terminal(bundle, rt):
    """`run` with process.terminal and no console socket, from an interactive terminal: the
    runtime relays its own terminal to the container's pty (interactive `runc run`)."""
    import fcntl
    import pty
    import termios
    bundle.config["process"]["terminal"] = True
    bundle.set_args(["/probe", "tty", "exit", "3"])
    bundle.write()
    master, slave = pty.openpty()

    def ctty():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen([RUNTIME, "--root", str(rt.state_root), "run", "-b", str(bundle.path),
                          bundle.id], stdin=slave, stdout=slave, stderr=slave, preexec_fn=ctty)
    os.close(slave)
    out = b""
    try:
        while True:
            import select
            ready, _, _ = select.select([master], [], [], TIMEOUT)
            assert ready, f"no output from the runtime: {out!r}"
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        assert p.wait(TIMEOUT) == 3, out
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
            p.wait()
    f = parse_probe(out.decode(errors="replace").replace("\r\n", "\n"))
    assert f["tty"]["0"]["isatty"] and f["tty"]["1"]["isatty"], out


def test_features_namespaces_and_capabilities_work(bundle, rt):
    """Every namespace and capability that `features` advertises is accepted by create."""
    f = json.loads(rt("features").stdout)
    types = {n["type"] for n in bundle.config["linux"]["namespaces"]}
    for ns in f["linux"]["namespaces"]:
        if ns not in types:
            bundle.config["linux"]["namespaces"].append({"type": ns})
    bundle.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    caps = f["linux"]["capabilities"]
    bundle.config["process"]["capabilities"] = {"bounding": caps, "effective": caps,
                                                "permitted": caps}
    r = bundle.run(["/probe", "namespaces", "caps"])
    assert r.returncode == 0, r.stderr
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        last = int(fh.read())
    want = 0
    for c in caps:
        from helpers import CAP_NUMBERS
        if c in CAP_NUMBERS and CAP_NUMBERS[c] <= last:
            want |= 1 << CAP_NUMBERS[c]
    assert int(r.facts["caps"]["bounding"], 16) == want
