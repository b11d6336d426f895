# SPDX-License-Identifier: Apache-2.0
"""The container process: args, env, cwd, user, rlimits, oom score, no_new_privs,
capabilities, hostname/domainname, sysctls, and its cgroup."""
import os
import shutil
import signal
import subprocess

import pytest

from helpers import CGROUP_ROOT, IS_CELLA, caps_mask, wait_for


def test_args_passed_verbatim(bundle):
    r = bundle.run(["/bin/echo", "a  b", 'c"d', "", "$HOME"])
    assert r.returncode == 0, r
    assert r.stdout == 'a  b c"d  $HOME\n'


def test_args_resolved_via_container_path(bundle):
    bundle.config["process"]["env"] = ["PATH=/bin"]
    r = bundle.run(["echo", "found"])
    assert r.returncode == 0, r
    assert r.stdout == "found\n"


def test_env_exact(bundle, rt, monkeypatch):
    monkeypatch.setenv("CELLA_HOST_ONLY", "leak")
    bundle.config["process"]["env"] = ["PATH=/bin", "A=1", "B=two words", "EMPTY="]
    env = bundle.probe("env")["env"]
    assert {"PATH=/bin", "A=1", "B=two words", "EMPTY="} <= set(env)
    assert not [e for e in env if e.startswith("CELLA_HOST_ONLY")]
    extra = set(env) - {"PATH=/bin", "A=1", "B=two words", "EMPTY="}
    assert extra <= {"HOME=/root"}, f"unexpected variables: {extra}"


def test_home_from_passwd(bundle):
    bundle.config["process"]["env"] = ["PATH=/bin"]
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    env = bundle.probe("env")["env"]
    if IS_CELLA or "HOME=/home/user" in env:
        assert "HOME=/home/user" in env


def test_signals_ignored_by_the_caller_are_reset(bundle):
    """execve keeps SIG_IGN; the init resets what its caller ignored (and only that, since the
    runtime installs no handlers), so the container starts with default dispositions."""
    def ignore():
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        signal.signal(signal.SIGRTMIN + 3, signal.SIG_IGN)

    r = bundle.run(["/bin/grep", "^Sig", "/proc/self/status"], preexec_fn=ignore)
    assert r.returncode == 0, r
    fields = dict(line.split(":\t") for line in r.stdout.splitlines())
    assert int(fields["SigIgn"], 16) == 0, r.stdout
    assert int(fields["SigBlk"], 16) == 0, r.stdout


def test_cwd(bundle):
    bundle.config["process"]["cwd"] = "/tmp"
    assert bundle.probe("cwd")["cwd"] == "/tmp"


def test_cwd_created_when_missing(bundle):
    bundle.config["process"]["cwd"] = "/work/here"
    assert bundle.probe("cwd")["cwd"] == "/work/here"


def test_user_uid_gid(bundle):
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1001}
    ids = bundle.probe("ids")["ids"]
    assert (ids["uid"], ids["euid"], ids["gid"], ids["egid"]) == (1000, 1000, 1001, 1001)
    assert ids["groups"] == []


def test_user_additional_gids(bundle):
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5, 65534]}
    ids = bundle.probe("ids")["ids"]
    assert sorted(ids["groups"]) == [5, 65534]


def test_root_has_no_supplementary_groups(bundle):
    assert bundle.probe("ids")["ids"]["groups"] == []


@pytest.mark.parametrize("umask,expect", [(0o027, "0027"), (0, "0000"), (None, "0022")])
def test_umask(bundle, umask, expect):
    if umask is not None:
        bundle.config["process"]["user"]["umask"] = umask
    assert bundle.probe("umask")["umask"] == expect


def test_rlimits(bundle):
    bundle.config["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_NPROC", "soft": 100, "hard": 200},
        {"type": "RLIMIT_MSGQUEUE", "soft": 4096, "hard": 8192},
    ]
    lim = bundle.probe("rlimits")["rlimits"]
    assert lim["RLIMIT_NOFILE"] == [256, 512]
    assert lim["RLIMIT_CORE"] == [0, 0]
    assert lim["RLIMIT_NPROC"] == [100, 200]
    assert lim["RLIMIT_MSGQUEUE"] == [4096, 8192]


def test_rlimit_above_inherited_hard_limit_fails(bundle):
    hard = open("/proc/self/limits").read()
    if os.geteuid() == 0 and "CapEff:\t000001ffffffffff" in open("/proc/self/status").read():
        pytest.skip("this process can raise hard limits (has CAP_SYS_RESOURCE)")
    bundle.config["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 1 << 30, "hard": 1 << 30}]
    r = bundle.create(["/probe", "exit", "0"])
    assert r.returncode != 0, hard
    if IS_CELLA:
        assert "RLIMIT_NOFILE" in r.stderr
    bundle.assert_no_leaks()


@pytest.mark.parametrize("adj", [500, 1000])
def test_oom_score_adj(bundle, adj):
    bundle.config["process"]["oomScoreAdj"] = adj
    assert bundle.probe("oom")["oom_score_adj"] == str(adj)


def test_oom_score_adj_default_inherited(bundle):
    with open("/proc/self/oom_score_adj") as f:
        mine = f.read().strip()
    assert bundle.probe("oom")["oom_score_adj"] == mine


@pytest.mark.parametrize("nnp,expect", [(True, "1"), (False, "0")])
def test_no_new_privileges(bundle, nnp, expect):
    bundle.config["process"]["noNewPrivileges"] = nnp
    bundle.config["linux"].pop("seccomp", None)  # `cella spec` adds a profile; runc's has none
    f = bundle.probe("nnp")
    assert f["nnp"]["no_new_privs"] == expect
    assert f["nnp"]["seccomp"] == "0"


def caps_of(f):
    return {k: int(v, 16) for k, v in f["caps"].items()}


def test_default_capabilities(bundle):
    caps = caps_of(bundle.probe("caps"))
    want = caps_mask(bundle.config["process"]["capabilities"]["bounding"])
    assert caps["bounding"] == want
    assert caps["effective"] == caps["permitted"] == want


ROOT_CAPS = {
    "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
    "effective": ["CAP_KILL"],
    "permitted": ["CAP_CHOWN", "CAP_KILL"],
    "inheritable": ["CAP_KILL"],
}


def test_capability_sets_root_no_new_privs(bundle):
    bundle.config["process"]["capabilities"] = ROOT_CAPS
    bundle.config["process"]["noNewPrivileges"] = True
    caps = caps_of(bundle.probe("caps"))
    assert caps["bounding"] == caps_mask(ROOT_CAPS["bounding"])
    assert caps["inheritable"] == caps_mask(ROOT_CAPS["inheritable"])
    # execve as root under no_new_privs: nothing beyond the permitted set, effective = permitted
    assert caps["permitted"] == caps_mask(ROOT_CAPS["permitted"])
    assert caps["effective"] == caps["permitted"]
    assert caps["ambient"] == 0


def test_capability_sets_root(bundle):
    bundle.config["process"]["capabilities"] = ROOT_CAPS
    bundle.config["process"]["noNewPrivileges"] = False
    caps = caps_of(bundle.probe("caps"))
    assert caps["bounding"] == caps_mask(ROOT_CAPS["bounding"])
    assert caps["inheritable"] == caps_mask(ROOT_CAPS["inheritable"])
    # execve as root: permitted = inheritable | bounding, effective = permitted
    assert caps["permitted"] == caps["bounding"]
    assert caps["effective"] == caps["bounding"]
    assert caps["ambient"] == 0


def test_capability_sets_non_root_with_ambient(bundle):
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    amb = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    bundle.config["process"]["capabilities"] = {
        "bounding": amb + ["CAP_CHOWN", "CAP_SETUID"],
        "effective": amb + ["CAP_CHOWN"],
        "permitted": amb + ["CAP_CHOWN"],
        "inheritable": amb,
        "ambient": amb,
    }
    caps = caps_of(bundle.probe("caps"))
    assert caps["bounding"] == caps_mask(amb + ["CAP_CHOWN", "CAP_SETUID"])
    assert caps["inheritable"] == caps_mask(amb)
    assert caps["ambient"] == caps_mask(amb)
    # execve as non-root without file caps: permitted = effective = ambient
    assert caps["permitted"] == caps["effective"] == caps_mask(amb)


def test_capabilities_none(bundle):
    bundle.config["process"]["capabilities"] = {k: [] for k in (
        "bounding", "effective", "permitted", "inheritable", "ambient")}
    caps = caps_of(bundle.probe("caps"))
    assert caps == {k: 0 for k in caps}


def test_capability_really_dropped(bundle):
    """Without CAP_CHOWN, root cannot chown: the sets are real, not just reported."""
    bundle.config["process"]["capabilities"] = {k: ["CAP_KILL"] for k in (
        "bounding", "effective", "permitted")}
    r = bundle.run(["/bin/sh", "-c", "touch /tmp/f && chown 1000 /tmp/f; echo rc=$?"])
    assert "rc=1" in r.stdout, r


def test_hostname(bundle):
    bundle.config["hostname"] = "box1"
    assert bundle.probe("uname")["uname"]["hostname"] == "box1"


@pytest.mark.cella_only(reason="runc 1.1 ignores domainname (runtime-spec 1.1)")
def test_hostname_and_domainname(bundle):
    bundle.config["hostname"] = "box1"
    bundle.config["domainname"] = "example.test"
    u = bundle.probe("uname")["uname"]
    assert u == {"hostname": "box1", "domainname": "example.test"}


def test_namespaced_sysctls(bundle):
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_fwd = f.read()
    bundle.config["linux"]["sysctl"] = {
        "net.ipv4.ip_forward": "1", "kernel.msgmax": "4096", "net.core.somaxconn": "321",
        "kernel.shm_rmid_forced": "1"}
    f = bundle.probe("sysctl", "net.ipv4.ip_forward", "sysctl", "kernel.msgmax",
                     "sysctl", "net.core.somaxconn", "sysctl", "kernel.shm_rmid_forced")
    assert f["sysctl:net.ipv4.ip_forward"] == "1"
    assert f["sysctl:kernel.msgmax"] == "4096"
    assert f["sysctl:net.core.somaxconn"] == "321"
    assert f["sysctl:kernel.shm_rmid_forced"] == "1"
    with open("/proc/sys/net/ipv4/ip_forward") as fh:
        assert fh.read() == host_fwd


@pytest.mark.parametrize("key,value", [("vm.swappiness", "17"), ("kernel.panic", "7")])
def test_non_namespaced_sysctl_refused(bundle, key, value):
    path = "/proc/sys/" + key.replace(".", "/")
    with open(path) as f:
        before = f.read()
    bundle.config["linux"]["sysctl"] = {key: value}
    r = bundle.create(["/probe", "exit", "0"])
    assert r.returncode != 0
    if IS_CELLA:
        assert key in r.stderr and "linux.sysctl" in r.stderr, r.stderr
    with open(path) as f:
        assert f.read() == before, "host sysctl changed"
    bundle.assert_no_leaks()


def test_net_sysctl_refused_in_host_netns(bundle):
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        before = f.read()
    bundle.config["linux"]["namespaces"] = [
        n for n in bundle.config["linux"]["namespaces"] if n["type"] != "network"]
    bundle.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1" if before == "0\n" else "0"}
    r = bundle.create(["/probe", "exit", "0"])
    assert r.returncode != 0
    if IS_CELLA:
        assert "net.ipv4.ip_forward" in r.stderr
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read() == before
    bundle.assert_no_leaks()


# --- cgroups ---------------------------------------------------------------------------------

def cgroup_dirs(pid):
    """Host paths of the cgroup directories a process is in, one per hierarchy."""
    dirs = []
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            if hid == "0":
                base = CGROUP_ROOT / "unified" if (CGROUP_ROOT / "unified").is_dir() \
                    else CGROUP_ROOT
            else:
                name = ctrls.split(",")[0].replace("name=", "")
                base = CGROUP_ROOT / name
                if not base.is_dir():
                    base = CGROUP_ROOT / ctrls
            dirs.append((ctrls, base / path.lstrip("/")))
    return dirs


@pytest.fixture
def cgroup_parent():
    name = f"cella-it-{os.getpid()}"
    yield name
    for top in CGROUP_ROOT.iterdir():
        p = top / name
        if p.is_dir():
            try:
                os.rmdir(p)
            except OSError:
                pass


def test_cgroups_path(bundle, rt, cgroup_parent):
    bundle.config["linux"]["cgroupsPath"] = f"/{cgroup_parent}/{bundle.id}"
    # no cgroup namespace, so the probe sees the real path
    bundle.config["linux"]["namespaces"] = [
        n for n in bundle.config["linux"]["namespaces"] if n["type"] != "cgroup"]
    assert bundle.run_detached(["/probe", "cgroup", "sleep"]).returncode == 0
    pid = rt.state(bundle.id)["pid"]
    dirs = cgroup_dirs(pid)
    v1 = [(c, d) for c, d in dirs if c]
    assert v1 or dirs
    for ctrls, d in dirs:
        if ctrls == "" and not IS_CELLA and not str(d).endswith(bundle.id):
            continue  # runc 1.1 does not use the (empty) cgroup2 side of hybrid mode
        assert str(d).endswith(f"{cgroup_parent}/{bundle.id}"), (ctrls, d)
        assert d.is_dir(), d
        procs = (d / "cgroup.procs").read_text().split()
        assert str(pid) in procs
    # Joined before the user process ran: the probe saw its own cgroup.
    bundle.wait_output("cgroup")
    inside = bundle.facts()["cgroup"]
    assert f"/{cgroup_parent}/{bundle.id}" in inside
    assert rt("delete", "-f", bundle.id).returncode == 0
    wait_for(lambda: not any(d.exists() for _, d in dirs), what="cgroups removed")


@pytest.mark.cella_only(reason="runc 1.1 ignores the cgroup2 hierarchy in hybrid mode")
def test_cgroups_path_hybrid_unified(bundle, rt, cgroup_parent):
    if not (CGROUP_ROOT / "unified").is_dir():
        pytest.skip("not a hybrid cgroup host")
    bundle.config["linux"]["cgroupsPath"] = f"/{cgroup_parent}/{bundle.id}"
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    pid = rt.state(bundle.id)["pid"]
    d = CGROUP_ROOT / "unified" / cgroup_parent / bundle.id
    assert str(pid) in (d / "cgroup.procs").read_text().split()
    assert rt("delete", "-f", bundle.id).returncode == 0
    wait_for(lambda: not d.exists(), what="unified cgroup removed")


def cgroup_paths(pid="self"):
    with open(f"/proc/{pid}/cgroup") as f:
        return {ln.split(":", 2)[1]: ln.split(":", 2)[2].strip() for ln in f}


def test_default_cgroup(bundle, rt):
    bundle.config["linux"].pop("cgroupsPath", None)
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    pid = rt.state(bundle.id)["pid"]
    mine, theirs = cgroup_paths(), cgroup_paths(pid)
    own = [(c, d) for c, d in cgroup_dirs(pid) if theirs[c] != mine.get(c)]
    assert own, f"container shares all cgroups with the test: {theirs}"
    assert rt("delete", "-f", bundle.id).returncode == 0
    wait_for(lambda: not any(d.exists() for _, d in own), what="default cgroups removed")


def test_cgroup_removed_when_create_fails(bundle, cgroup_parent):
    bundle.config["linux"]["cgroupsPath"] = f"/{cgroup_parent}/{bundle.id}"
    bundle.config["mounts"].append(
        {"destination": "/mnt/x", "type": "bind", "source": "/nonexistent-src", "options": ["bind"]})
    r = bundle.create(["/probe", "exit", "0"])
    assert r.returncode != 0
    for top in CGROUP_ROOT.iterdir():
        assert not (top / cgroup_parent / bundle.id).exists()
    bundle.assert_no_leaks()


def test_busybox_sanity(bundle):
    """The shell in the test rootfs works (other tests rely on it)."""
    assert shutil.which("busybox") or os.path.exists("/bin/busybox")
    r = bundle.run(["/bin/sh", "-c", "echo ok"])
    assert r.stdout == "ok\n", r


# --- stdio and the process tree -------------------------------------------------------------

def test_stdin_reaches_foreground_container(bundle, rt):
    bundle.set_args(["/bin/cat"])
    bundle.write()
    r = rt("run", "-b", bundle.path, bundle.id, input="piped in\n",
           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "piped in\n"


def test_stdout_and_stderr_kept_apart(bundle):
    r = bundle.run(["/bin/sh", "-c", "echo out; echo err >&2"])
    assert r.returncode == 0, r
    assert r.stdout == "out\n"
    assert r.stderr.endswith("err\n")


def test_background_children_die_with_init(bundle):
    r = bundle.run(["/bin/sh", "-c", "/probe sleep & /probe sleep & exit 4"])
    assert r.returncode == 4, r
    wait_for(lambda: not bundle.leaks(), what="children gone")


def test_children_killed_on_delete_without_pid_namespace(bundle, rt):
    """Without a pid namespace nothing kills orphans when init exits; the runtime must kill
    what is left in the container's cgroup when it deletes it."""
    bundle.config["linux"]["namespaces"] = [
        n for n in bundle.config["linux"]["namespaces"] if n["type"] != "pid"]
    r = bundle.run(["/bin/sh", "-c", "/probe sleep & exit 0"])
    assert r.returncode == 0, r
    wait_for(lambda: not bundle.leaks(), what="orphans killed")
