# SPDX-License-Identifier: Apache-2.0
"""OCI hooks: each kind runs at its moment, in the namespace the spec names, with the state
JSON on stdin and its own args and env; timeouts are enforced; a failing prestart,
createRuntime, createContainer or startContainer hook fails the container (and leaves nothing
behind), a failing poststart or poststop hook is only a warning."""
import json
import os
import sys

import pytest

from helpers import IS_CELLA, RUNTIME, wait_for

KINDS_HOST = ("prestart", "createRuntime", "createContainer", "poststart", "poststop")


def record(d, kind, argv0="sh"):
    """A hook that records its state (stdin), args, env and mount namespace under d.
    (argv0 must stay "sh" for hooks run by the container's busybox.)"""
    script = (f'cat > {d}/{kind}.state; tr "\\0" " " < /proc/$$/cmdline > {d}/{kind}.args; '
              f'env > {d}/{kind}.env; readlink /proc/self/ns/mnt > {d}/{kind}.mnt; '
              f'ls {d} > {d}/{kind}.seen')
    return {"path": "/bin/sh", "args": [argv0, "-c", script, "one", "two words"],
            "env": ["HOOKVAR=" + kind, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}


def failing(code=3, msg="hook-failure-output"):
    return {"path": "/bin/sh", "args": ["sh", "-c", f"echo {msg}; exit {code}"]}


@pytest.fixture
def logdir(workdir, request):
    d = workdir / f"hooks-{request.node.name[:40]}"
    d.mkdir()
    os.chmod(d, 0o777)
    return d


def state_of(d, kind):
    return json.loads((d / f"{kind}.state").read_text())


def test_every_kind_at_its_moment(bundle, rt, logdir):
    hooks = {k: [record(logdir, k)] for k in KINDS_HOST}
    # startContainer runs in the container: its path and files are the container's.
    hooks["startContainer"] = [record("/tmp", "startContainer")]
    bundle.config["hooks"] = hooks
    # The process shows whether startContainer ran before it.
    r = bundle.create(["/bin/sh", "-c", "ls /tmp > /tmp/process.seen; exec /probe sleep"])
    assert r.returncode == 0, r
    init = rt.state(bundle.id)["pid"]
    for k in ("prestart", "createRuntime", "createContainer"):
        st = state_of(logdir, k)
        assert st["id"] == bundle.id, st
        # runtime.md (State): hooks in the runtime namespace see the host's pid, hooks in the
        # container namespace (createContainer) the pid as the container sees it.
        assert st["pid"] == (1 if k == "createContainer" else init), (k, st)
        assert st["status"] == "creating", st
        assert st["bundle"] == str(bundle.path)
    if IS_CELLA:  # runc 1.1 runs poststart at the end of create (fixed in runc 1.2)
        assert not (logdir / "poststart.state").exists()
    assert not (bundle.rootfs / "tmp" / "startContainer.state").exists()
    # prestart and createRuntime: runtime namespace; createContainer: the container's.
    host_mnt = os.readlink("/proc/self/ns/mnt")
    init_mnt = os.readlink(f"/proc/{init}/ns/mnt")
    assert (logdir / "createRuntime.mnt").read_text().strip() == host_mnt
    assert (logdir / "prestart.mnt").read_text().strip() == host_mnt
    assert (logdir / "createContainer.mnt").read_text().strip() == init_mnt
    # prestart before createRuntime before createContainer
    assert "prestart.state" in (logdir / "createRuntime.seen").read_text()
    assert "createRuntime.state" in (logdir / "createContainer.seen").read_text()

    assert rt("start", bundle.id).returncode == 0
    # poststart has run when start returns
    st = state_of(logdir, "poststart")
    assert st["pid"] == init
    if IS_CELLA:
        assert st["status"] == "running"
    sc = bundle.rootfs / "tmp"
    wait_for(lambda: (sc / "process.seen").exists(), what="the process to start")
    assert "startContainer.state" in (sc / "process.seen").read_text(), \
        "startContainer runs before the process"
    st = json.loads((sc / "startContainer.state").read_text())
    assert st["id"] == bundle.id
    assert (sc / "startContainer.mnt").read_text() == (sc / "process.seen").parent.joinpath(
        "startContainer.mnt").read_text()
    assert not (logdir / "poststop.state").exists()

    assert rt("kill", bundle.id, "KILL").returncode == 0
    rt.wait_status(bundle.id, "stopped")
    assert rt("delete", bundle.id).returncode == 0
    st = state_of(logdir, "poststop")
    assert st["id"] == bundle.id and st["status"] == "stopped"


def test_start_container_runs_in_the_container_mount_ns(bundle, rt):
    bundle.config["hooks"] = {"startContainer": [record("/tmp", "startContainer")]}
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    init = rt.state(bundle.id)["pid"]
    mnt = bundle.rootfs / "tmp" / "startContainer.mnt"
    wait_for(mnt.exists, what="the startContainer hook")
    assert mnt.read_text().strip() == os.readlink(f"/proc/{init}/ns/mnt")


def test_args_and_env_are_the_hook_s_own(bundle, rt, logdir, monkeypatch):
    monkeypatch.setenv("CELLA_HOST_ONLY", "leak")
    bundle.config["hooks"] = {"createRuntime": [record(logdir, "createRuntime", argv0="zero")]}
    assert bundle.create().returncode == 0
    args = (logdir / "createRuntime.args").read_text()
    assert args.startswith("zero -c ") and args.endswith(" one two words "), args
    env = (logdir / "createRuntime.env").read_text().split("\n")
    assert "HOOKVAR=createRuntime" in env
    assert not [e for e in env if e.startswith("CELLA_HOST_ONLY")]


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create_and_cleans_up(bundle, rt, kind):
    bundle.config["hooks"] = {kind: [failing(3)]}
    r = bundle.create()
    assert r.returncode != 0
    if IS_CELLA:
        assert kind in r.stderr and "3" in r.stderr, r.stderr
    assert rt("state", bundle.id).returncode != 0
    wait_for(lambda: not bundle.leaks(), timeout=5, what="cleanup")


def test_later_hooks_do_not_run_after_a_failure(bundle, rt, logdir):
    bundle.config["hooks"] = {"createRuntime": [failing(1), record(logdir, "createRuntime")],
                              "createContainer": [record(logdir, "createContainer")]}
    assert bundle.create().returncode != 0
    assert not (logdir / "createRuntime.state").exists()
    assert not (logdir / "createContainer.state").exists()


def test_failing_start_container_hook_stops_the_container(bundle, rt):
    bundle.config["hooks"] = {"startContainer": [failing(1)]}
    r = bundle.create(["/bin/sh", "-c", "touch /tmp/process-ran; exec /probe sleep"])
    assert r.returncode == 0, r
    r = rt("start", bundle.id)
    # runtime.md Lifecycle 7: an error, the container stopped and destroyed (runc 1.1 leaves a
    # stopped container behind).
    if IS_CELLA:
        assert r.returncode != 0 and "startContainer" in r.stderr, r
        wait_for(lambda: rt.status(bundle.id) is None, what="the container to be destroyed")
    else:
        rt.wait_status(bundle.id, "stopped")
    assert not (bundle.rootfs / "tmp" / "process-ran").exists()


@pytest.mark.cella_only("runc 1.1 fails `start` (and kills the container) on a poststart error")
def test_failing_poststart_is_a_warning(bundle, rt):
    bundle.config["hooks"] = {"poststart": [failing(1)]}
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    r = rt("start", bundle.id)
    assert r.returncode == 0, r
    assert "poststart" in r.stderr and "warn" in r.stderr, r.stderr
    assert rt.status(bundle.id) == "running"


def test_failing_poststop_is_a_warning(bundle, rt):
    bundle.config["hooks"] = {"poststop": [failing(1)]}
    assert bundle.run_detached(["/bin/true"]).returncode == 0
    rt.wait_status(bundle.id, "stopped")
    r = rt("delete", bundle.id)
    assert r.returncode == 0, r
    assert rt("state", bundle.id).returncode != 0
    if IS_CELLA:
        assert "poststop" in r.stderr


def test_timeout_is_enforced(bundle, rt):
    hook = {"path": "/bin/sleep", "args": ["sleep", "60"], "timeout": 1}
    bundle.config["hooks"] = {"createRuntime": [hook]}
    r = bundle.create()
    assert r.returncode != 0
    if IS_CELLA:
        assert "timed out" in r.stderr, r.stderr
    wait_for(lambda: not bundle.leaks(), timeout=5, what="cleanup")


@pytest.mark.cella_only("runc keeps hook output in its error message, not in the log")
def test_hook_output_goes_to_the_log(bundle, rt, tmp_path):
    log = tmp_path / "runtime.log"
    bundle.config["hooks"] = {"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", "echo hook-stdout; echo hook-stderr >&2"]}]}
    r = bundle.create(global_args=("--log", str(log)))
    assert r.returncode == 0, r
    text = log.read_text()
    assert "hook-stdout" in text and "hook-stderr" in text


def test_missing_hook_binary_fails_create(bundle, rt):
    bundle.config["hooks"] = {"prestart": [{"path": "/no/such/hook"}]}
    r = bundle.create()
    assert r.returncode != 0
    assert rt("state", bundle.id).returncode != 0


def test_state_command_says_creating_until_create_returns(bundle, rt, logdir):
    """`state` takes no lock: until create is done it must not find a "created" container,
    even though the runtime may have written what it will publish."""
    query = f"{RUNTIME} --root {rt.state_root} state {bundle.id} > {logdir}/state.out"
    hook = {"path": "/bin/sh", "args": ["sh", "-c", query]}
    bundle.config["hooks"] = {"createRuntime": [hook], "createContainer": [hook]}
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    assert json.loads((logdir / "state.out").read_text())["status"] == "creating"
    assert rt.status(bundle.id) == "created"
    leftovers = {p.name for p in (rt.state_root / bundle.id).iterdir()} - {"state.json",
                                                                          "exec.fifo"}
    if IS_CELLA:
        assert not leftovers, leftovers


def test_runtime_namespace_hooks_find_the_containers_network_namespace(bundle, rt, logdir):
    """prestart and createRuntime hooks (CNI plugins, say) configure /proc/<pid>/ns/net: the
    init is in its own network namespace by the time they run, whoever made it."""
    def netns_recorder(kind):
        script = ("import json, os, sys; pid = json.load(sys.stdin)['pid']; "
                  f"open('{logdir}/{kind}.net', 'w').write(os.readlink(f'/proc/{{pid}}/ns/net'))")
        return {"path": sys.executable, "args": ["python3", "-c", script]}
    kinds = ("prestart", "createRuntime")
    bundle.config["hooks"] = {k: [netns_recorder(k)] for k in kinds}
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    init_net = os.readlink(f"/proc/{rt.state(bundle.id)['pid']}/ns/net")
    assert init_net != os.readlink("/proc/self/ns/net")
    for k in kinds:
        assert (logdir / f"{k}.net").read_text() == init_net, k
