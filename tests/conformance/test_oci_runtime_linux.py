# SPDX-License-Identifier: Apache-2.0
"""runtime-linux.md (file descriptors, /dev symlinks) and the terminal parts of config.md and
config-linux.md that need a console socket."""
import os

from helpers import ConsoleSocket, parse_probe
from oci_conformance import IS_CELLA, cella_bug, runc_xfail  # noqa: F401


# SPEC runtime-linux.md (File descriptors): "By default, only the stdin, stdout and stderr file
#   descriptors are kept open for the application by the runtime."
def test_only_stdio_fds(bundle, workdir):
    leak = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)  # inheritable, passed to the runtime
    try:
        r = bundle.run(["/probe", "fds"], pass_fds=(leak,))
    finally:
        os.close(leak)
    assert r.returncode == 0, r
    fds = parse_probe(r.stdout)["fds"]
    assert sorted(fds) == ["0", "1", "2"], fds


# SPEC runtime-linux.md (Dev symbolic links): "While creating the container (step 2 in the
#   lifecycle), runtimes MUST create the following symlinks if the source file exists after
#   processing mounts: /proc/self/fd -> /dev/fd, /proc/self/fd/0 -> /dev/stdin,
#   /proc/self/fd/1 -> /dev/stdout, /proc/self/fd/2 -> /dev/stderr"
def test_dev_symlinks(bundle):
    want = {"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
            "/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2"}
    args = []
    for p in want:
        args += ["stat", p]
    facts = bundle.probe(*args)
    for link, target in want.items():
        st = facts[f"stat:{link}"]
        assert st.get("type") == "symlink" and st["target"] == target, (link, st)


def run_with_terminal(bundle, rt, args, size=None):
    sock = ConsoleSocket(bundle.path / "console.sock")
    try:
        bundle.config["process"]["terminal"] = True
        if size:
            bundle.config["process"]["consoleSize"] = size
        r = bundle.create(args, extra=["--console-socket", sock.path])
        assert r.returncode == 0, r.stderr
        assert sock.wait_master() is not None, f"no pty master received: {sock.received}"
        assert rt("start", bundle.id).returncode == 0
        rt.wait_status(bundle.id, "stopped")
        sock.wait_output(b"}\r\n")
        return parse_probe(sock.output.decode(errors="replace").replace("\r\n", "\n"))
    finally:
        sock.close()


# SPEC config.md (terminal): "if set to true on Linux a pseudoterminal pair is allocated for the
#   process and the pseudoterminal pty is duplicated on the process's standard streams."
# SPEC config-linux.md (Default Devices): "/dev/console is set up if terminal is enabled in the
#   config by bind mounting the pseudoterminal pty to /dev/console."
def test_terminal_and_dev_console(bundle, rt):
    facts = run_with_terminal(bundle, rt, ["/probe", "tty", "stat", "/dev/console", "exit", "0"])
    tty = facts["tty"]
    for fd in ("0", "1", "2"):
        assert tty[fd]["isatty"] is True and tty[fd]["name"].startswith("/dev/pts/"), tty
    console = facts["stat:/dev/console"]
    assert console.get("type") == "char" and console["rdev"][0] == 136, console  # a pts


# SPEC config.md (consoleSize): "specifies the console size in characters of the terminal."
#   (height, width)
def test_console_size(bundle, rt):
    facts = run_with_terminal(bundle, rt, ["/probe", "tty", "exit", "0"],
                              size={"height": 37, "width": 121})
    assert (facts["tty"]["1"]["rows"], facts["tty"]["1"]["cols"]) == (37, 121)
