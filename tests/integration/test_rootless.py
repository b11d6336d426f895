# SPDX-License-Identifier: Apache-2.0
"""Rootless use: an unprivileged user runs `spec --rootless` and `run` with its own state root."""
import json
import os
import shutil
import subprocess

import pytest

from helpers import IS_CELLA, RUNTIME, TIMEOUT, parse_probe, wait_for

UID = GID = 1000


def userns_allowed():
    try:
        with open("/proc/sys/kernel/unprivileged_userns_clone") as f:
            if f.read().strip() == "0":
                return False
    except OSError:
        pass
    try:
        with open("/proc/sys/user/max_user_namespaces") as f:
            return int(f.read()) > 0
    except OSError:
        return True


class User:
    def __init__(self, home):
        self.home = home
        self.xdg = home / "xdg"

    def env(self):
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home),
                "XDG_RUNTIME_DIR": str(self.xdg), "USER": "user"}

    def __call__(self, *args, root=True, cwd=None, stdin=None):
        def drop():
            os.setgroups([])
            os.setgid(GID)
            os.setuid(UID)

        cmd = [self.runtime] + (["--root", str(self.xdg / "state")] if root else []) + \
            [str(a) for a in args]
        # stdin a pipe the user owns (runc fchowns stdio to the container's root)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                              preexec_fn=drop, env=self.env(), cwd=cwd,
                              input=stdin if stdin is not None else "")


@pytest.fixture
def user(workdir, request):
    if not userns_allowed():
        pytest.skip("unprivileged user namespaces are disabled")
    home = workdir / f"home-{request.node.name[:30]}"
    (home / "xdg").mkdir(parents=True)
    for d in (home, home / "xdg"):
        os.chown(d, UID, GID)
    os.chmod(home / "xdg", 0o700)
    u = User(home)
    # The build tree may sit in a directory the user cannot enter (a CI clone in a 0700
    # mktemp dir): give the user its own copy of the runtime.
    u.runtime = str(home / "cella")
    shutil.copy2(RUNTIME, u.runtime)
    os.chmod(u.runtime, 0o755)
    u.ids = []
    yield u
    for cid in u.ids:
        u("delete", "-f", cid)
        u("delete", "-f", cid, root=False)
    shutil.rmtree(home, ignore_errors=True)


def rootless_config(user, bundle):
    d = user.home / "spec"
    d.mkdir()
    os.chown(d, UID, GID)
    r = user("spec", "--rootless", "-b", d)
    assert r.returncode == 0, r.stderr
    cfg = json.loads((d / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["root"] = {"path": str(bundle.rootfs), "readonly": False}
    return cfg


def test_spec_rootless_as_user(user, bundle):
    cfg = rootless_config(user, bundle)
    assert cfg["linux"]["uidMappings"][0]["hostID"] == UID
    assert cfg["linux"]["gidMappings"][0]["hostID"] == GID


def test_rootless_run(user, bundle):
    bundle.config = rootless_config(user, bundle)
    bundle.config["process"]["args"] = ["/probe", "ids", "namespaces", "read",
                                        "/proc/self/uid_map"]
    bundle.write()
    user.ids.append(bundle.id)
    r = user("run", "-b", bundle.path, bundle.id)
    assert r.returncode == 0, r.stderr
    f = parse_probe(r.stdout)
    assert f["ids"]["uid"] == 0
    assert f["read:/proc/self/uid_map"].split() == ["0", str(UID), "1"]
    assert f["namespaces"]["user"] != os.readlink("/proc/self/ns/user")
    assert not (user.xdg / "state" / bundle.id).exists()


def test_rootless_default_root(user, bundle):
    bundle.config = rootless_config(user, bundle)
    bundle.config["process"]["args"] = ["/probe", "sleep"]
    bundle.write()
    user.ids.append(bundle.id)
    out = open(user.home / "out", "w")
    os.chown(user.home / "out", UID, GID)
    try:
        def drop():
            os.setgroups([])
            os.setgid(GID)
            os.setuid(UID)
        r = subprocess.run([user.runtime, "run", "-d", "-b", str(bundle.path), bundle.id],
                           stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=TIMEOUT,
                           preexec_fn=drop, env=user.env())
    finally:
        out.close()
    assert r.returncode == 0, (user.home / "out").read_text()
    name = "cella" if IS_CELLA else "runc"
    assert (user.xdg / name / bundle.id).is_dir()
    st = user("state", bundle.id, root=False)
    assert st.returncode == 0 and json.loads(st.stdout)["status"] == "running"
    assert user("delete", "-f", bundle.id, root=False).returncode == 0
    wait_for(lambda: not (user.xdg / name / bundle.id).exists(), what="state removed")


def test_rootless_cannot_map_other_ids(user, bundle):
    bundle.config = rootless_config(user, bundle)
    bundle.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
    bundle.config["process"]["args"] = ["/probe", "ids"]
    bundle.write()
    user.ids.append(bundle.id)
    r = user("run", "-b", bundle.path, bundle.id)
    assert r.returncode != 0
    assert not (user.xdg / "state" / bundle.id).exists()
    bundle.assert_no_leaks()


def test_rootless_create_start_exec_delete(user, bundle):
    """The whole lifecycle as an unprivileged user, including exec into the running container."""
    bundle.config = rootless_config(user, bundle)
    bundle.config["process"]["args"] = ["/probe", "sleep"]
    bundle.write()
    user.ids.append(bundle.id)
    out = user.home / "create.out"
    out.touch()
    os.chown(out, UID, GID)

    def drop():
        os.setgroups([])
        os.setgid(GID)
        os.setuid(UID)
    # The init keeps create's stdio: a file, not a pipe a capture would wait on forever.
    with open(out, "w") as f:
        r = subprocess.run([user.runtime, "--root", str(user.xdg / "state"), "create", "-b",
                            str(bundle.path), bundle.id], stdin=subprocess.DEVNULL, stdout=f,
                           stderr=f, timeout=TIMEOUT, preexec_fn=drop, env=user.env())
    assert r.returncode == 0, out.read_text()
    assert user("start", bundle.id).returncode == 0
    r = user("exec", bundle.id, "/probe", "ids")
    assert r.returncode == 0, r.stderr
    assert parse_probe(r.stdout)["ids"]["uid"] == 0
    assert user("kill", bundle.id, "KILL").returncode == 0
    wait_for(lambda: json.loads(user("state", bundle.id).stdout)["status"] == "stopped",
             what="the container to stop")
    r = user("delete", bundle.id)
    assert r.returncode == 0, r.stderr
    assert not (user.xdg / "state" / bundle.id).exists()
