# SPDX-License-Identifier: Apache-2.0
"""config-linux.md: default filesystems, namespaces, id mappings, time offsets, devices, cgroups,
sysctl, seccomp, rootfs propagation, masked and read-only paths, personality."""
import json
import os
import socket
import threading
from pathlib import Path

import pytest

from helpers import find_mount, mount_opts
from oci_conformance import (IS_CELLA, NS_FILES, cella_bug, create_fails, run_ok,  # noqa: F401
                             runc_compat, runc_xfail, wait_for)

# --- default filesystems -------------------------------------------------------------------------


# SPEC config-linux.md: "The following filesystems SHOULD be made available in each container's
#   filesystem: /proc proc, /sys sysfs, /dev/pts devpts, /dev/shm tmpfs"  (with the runtime's own
#   `spec` template)
def test_default_filesystems(bundle):
    facts = bundle.probe("mounts")
    for mp, fstype in (("/proc", "proc"), ("/sys", "sysfs"), ("/dev/pts", "devpts"),
                       ("/dev/shm", "tmpfs")):
        m = find_mount(facts, mp)
        assert m is not None and m["fstype"] == fstype, mp


# --- namespaces ----------------------------------------------------------------------------------

NS_TYPES = ["pid", "network", "mount", "ipc", "uts", "cgroup"]


def set_namespaces(bundle, types):
    bundle.config["linux"]["namespaces"] = [{"type": t} for t in types]


# SPEC config-linux.md: "If path is not specified, the runtime MUST create a new container
#   namespace of type type."
# SPEC config-linux.md: "If a namespace type is not specified in the namespaces array, the
#   container MUST inherit the runtime namespace of that type."
@pytest.mark.parametrize("ns", NS_TYPES)
def test_namespace_created_or_inherited(bundle, ns):
    host = {t: os.readlink(f"/proc/self/ns/{NS_FILES[t]}") for t in NS_TYPES}
    others = [t for t in NS_TYPES if t != ns]
    # with the type: a new namespace
    set_namespaces(bundle, NS_TYPES)
    got = bundle.probe("namespaces")["namespaces"]
    assert got[NS_FILES[ns]] != host[ns]
    # without it: the runtime's
    set_namespaces(bundle, others)
    if ns == "uts":
        bundle.config.pop("hostname", None)
    if ns == "mount":
        pytest.skip("a container without a mount namespace would pivot the host's root")
    got = bundle.probe("namespaces")["namespaces"]
    assert got[NS_FILES[ns]] == host[ns]


# SPEC config-linux.md: "time the container will be able to have its own clocks." (the
#   namespace types "SHOULD be supported")
@runc_xfail("runc 1.1 has no time namespace (runtime-spec 1.2); config-linux.md: 'The following "
            "namespace types SHOULD be supported: ... time'")
def test_time_namespace(bundle):
    bundle.config["linux"]["namespaces"].append({"type": "time"})
    got = bundle.probe("namespaces")["namespaces"]
    assert got["time"] != os.readlink("/proc/self/ns/time")


# SPEC config-linux.md (timeOffsets): "timeOffsets (object, OPTIONAL) sets the offset for Time
#   Namespace." "secs (int64, OPTIONAL) - is the offset of clock (in seconds) in the container."
#   "nanosecs (uint32, OPTIONAL) - is the offset of clock (in nanoseconds) in the container."
@runc_xfail("runc 1.1 has no time namespace; config-linux.md (1.2): 'timeOffsets (object, "
            "OPTIONAL) sets the offset for Time Namespace.'")
def test_time_offsets(bundle):
    bundle.config["linux"]["namespaces"].append({"type": "time"})
    bundle.config["linux"]["timeOffsets"] = {"monotonic": {"secs": 86400, "nanosecs": 5},
                                             "boottime": {"secs": 3600}}
    text = bundle.probe("read", "/proc/self/timens_offsets")["read:/proc/self/timens_offsets"]
    lines = {line.split()[0]: line.split()[1:] for line in text.splitlines()}
    assert lines["monotonic"] == ["86400", "5"]
    assert lines["boottime"] == ["3600", "0"]


# SPEC config-linux.md (path): "The runtime MUST place the container process in the namespace
#   associated with that path."
def test_namespace_path_joined(bundle_factory, rt):
    a, b = bundle_factory(), bundle_factory()
    assert a.create(["/probe", "sleep"]).returncode == 0
    pid = rt.state(a.id)["pid"]
    types = ["network", "ipc", "uts", "pid"]
    b.config["linux"]["namespaces"] = [
        {"type": t, "path": f"/proc/{pid}/ns/{NS_FILES[t]}"} if t in types else {"type": t}
        for t in ("pid", "network", "ipc", "uts", "mount")]
    b.config.pop("hostname", None)
    got = b.probe("namespaces")["namespaces"]
    for t in types:
        want = os.readlink(f"/proc/{pid}/ns/{NS_FILES[t]}")
        assert got[NS_FILES[t]] == want, t


# SPEC config-linux.md (path): "The runtime MUST generate an error if path is not associated
#   with a namespace of type type."
@pytest.mark.parametrize("path", ["/proc/self/ns/uts", "/etc/hostname"])
def test_namespace_path_of_wrong_type(bundle, path):
    for ns in bundle.config["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = path
    create_fails(bundle)


# SPEC config-linux.md (path): "This value MUST be an absolute path in the runtime mount
#   namespace."
def test_namespace_path_relative(bundle):
    for ns in bundle.config["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = "proc/self/ns/net"
    create_fails(bundle)


# SPEC config-linux.md: "If a namespaces field contains duplicated namespaces with same type, the
#   runtime MUST generate an error."
def test_duplicate_namespace(bundle):
    bundle.config["linux"]["namespaces"].append({"type": "ipc"})
    create_fails(bundle)


# --- user namespace mappings ---------------------------------------------------------------------

def userns(bundle, host_id=100000):
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    m = [{"containerID": 0, "hostID": host_id, "size": 65536}]
    bundle.config["linux"]["uidMappings"] = m
    bundle.config["linux"]["gidMappings"] = [dict(x) for x in m]
    # a cgroup v1 mount in a user namespace needs delegation this test does not set up
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if m["destination"] != "/sys/fs/cgroup"]


# SPEC config-linux.md: "uidMappings (array of objects, OPTIONAL) describes the user namespace uid
#   mappings from the host to the container." / "gidMappings ..." (containerID, hostID, size)
def test_user_namespace_mappings(bundle):
    userns(bundle)
    facts = bundle.probe("read", "/proc/self/uid_map", "read", "/proc/self/gid_map", "ids")
    for f in ("uid_map", "gid_map"):
        assert facts[f"read:/proc/self/{f}"].split() == ["0", "100000", "65536"]
    assert facts["ids"]["uid"] == 0


# SPEC config-linux.md: "The runtime SHOULD NOT modify the ownership of referenced filesystems to
#   realize the mapping."
def test_user_namespace_keeps_rootfs_ownership(bundle):
    userns(bundle)
    before = {p: (p.lstat().st_uid, p.lstat().st_gid) for p in
              [bundle.rootfs, bundle.rootfs / "probe", bundle.rootfs / "etc" / "passwd"]}
    run_ok(bundle, ["/probe", "exit", "0"])
    after = {p: (p.lstat().st_uid, p.lstat().st_gid) for p in before}
    assert after == before


# --- devices -------------------------------------------------------------------------------------

# SPEC config-linux.md (devices): "devices (array of objects, OPTIONAL) lists devices that MUST be
#   available in the container." (type, path, major, minor, fileMode, uid, gid)
def test_devices(bundle):
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/conf-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o620,
         "uid": 1000, "gid": 5},
        {"path": "/dev/conf-loop", "type": "b", "major": 7, "minor": 0, "fileMode": 0o600},
        {"path": "/dev/conf-u", "type": "u", "major": 1, "minor": 7, "fileMode": 0o644},
    ]
    facts = bundle.probe("stat", "/dev/conf-null", "stat", "/dev/conf-loop", "stat",
                         "/dev/conf-u")
    null = facts["stat:/dev/conf-null"]
    assert (null["type"], null["rdev"], null["mode"], null["uid"], null["gid"]) == \
        ("char", [1, 3], 0o620, 1000, 5)
    loop = facts["stat:/dev/conf-loop"]
    assert (loop["type"], loop["rdev"]) == ("block", [7, 0])
    u = facts["stat:/dev/conf-u"]
    assert (u["type"], u["rdev"]) == ("char", [1, 7])


# SPEC config-linux.md (devices path): "The path MAY be anywhere in the container filesystem,
#   notably outside of /dev."
def test_device_outside_dev(bundle):
    bundle.config["linux"]["devices"] = [{"path": "/mnt/conf-zero", "type": "c", "major": 1,
                                          "minor": 5, "fileMode": 0o666}]
    zero = bundle.probe("stat", "/mnt/conf-zero")["stat:/mnt/conf-zero"]
    assert (zero["type"], zero["rdev"], zero["mode"]) == ("char", [1, 5], 0o666)


# SPEC config-linux.md (devices type): "type of device: c, b, u or p." -- p: a FIFO, no numbers.
def test_fifo_device(bundle):
    bundle.config["linux"]["devices"] = [{"path": "/dev/conf-fifo", "type": "p",
                                          "fileMode": 0o600}]
    st = bundle.probe("stat", "/dev/conf-fifo")["stat:/dev/conf-fifo"]
    assert st["type"] == "fifo"


# SPEC config-linux.md (devices path): "If a file already exists at path that does not match the
#   requested device, the runtime MUST generate an error."
@runc_xfail("runc 1.1 replaces an existing file at a device path; config-linux.md: 'If a file "
            "already exists at path that does not match the requested device, the runtime MUST "
            "generate an error.'")
def test_device_path_occupied_by_other_file(bundle):
    (bundle.rootfs / "etc" / "conf-dev").write_text("not a device")
    bundle.config["linux"]["devices"] = [{"path": "/etc/conf-dev", "type": "c", "major": 1,
                                          "minor": 3}]
    create_fails(bundle)
    assert (bundle.rootfs / "etc" / "conf-dev").read_text() == "not a device"


DEFAULT_DEVICES = {"/dev/null": [1, 3], "/dev/zero": [1, 5], "/dev/full": [1, 7],
                   "/dev/random": [1, 8], "/dev/urandom": [1, 9], "/dev/tty": [5, 0]}


# SPEC config-linux.md (Default Devices): "In addition to any devices configured with this
#   setting, the runtime MUST also supply: /dev/null /dev/zero /dev/full /dev/random /dev/urandom
#   /dev/tty ... /dev/ptmx. A bind-mount or symlink of the container's /dev/pts/ptmx."
def test_default_devices(bundle):
    args = []
    for p in list(DEFAULT_DEVICES) + ["/dev/ptmx"]:
        args += ["stat", p]
    args += ["write", "/dev/null", "read", "/dev/zero"]
    facts = bundle.probe(*args)
    for p, rdev in DEFAULT_DEVICES.items():
        st = facts[f"stat:{p}"]
        assert st.get("type") == "char" and st["rdev"] == rdev, (p, st)
    ptmx = facts["stat:/dev/ptmx"]
    assert (ptmx.get("type") == "symlink" and ptmx["target"] in ("pts/ptmx", "/dev/pts/ptmx")) \
        or (ptmx.get("type") == "char" and ptmx["rdev"] == [5, 2]), ptmx
    assert facts["write:/dev/null"]["errno"] == 0


# SPEC config-linux.md (Default Devices): the default devices are supplied even when the config
#   lists no devices and the device cgroup denies everything else.
def test_default_devices_usable_with_deny_all(bundle):
    bundle.config["linux"].setdefault("resources", {})["devices"] = [
        {"allow": False, "access": "rwm"}]
    facts = bundle.probe("write", "/dev/null", "write", "/dev/zero", "write", "/dev/full")
    assert facts["write:/dev/null"]["errno"] == 0
    assert facts["write:/dev/full"]["errno"] == 28  # ENOSPC: the device itself answers


# SPEC config-linux.md (Allowed Device list): "The runtime MUST apply entries in the listed
#   order."  (v1 devices controller: a later deny-all removes an earlier allow)
@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/devices"),
                    reason="no cgroup v1 devices controller on this host")
@pytest.mark.parametrize("order", [
    "deny-then-allow",
    pytest.param("allow-then-deny", marks=runc_xfail(
        "runc 1.1 appends its own allow rules (among them /dev/net/tun, c 10:200) after the "
        "configured list; config-linux.md: 'The runtime MUST apply entries in the listed "
        "order.'"))])
def test_device_cgroup_rules_in_order(bundle, order):
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("no /dev/net/tun on this host")
    deny = {"allow": False, "access": "rwm"}
    allow = {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"}
    bundle.config["linux"]["devices"] = [{"path": "/dev/net/tun", "type": "c", "major": 10,
                                          "minor": 200, "fileMode": 0o666}]
    bundle.config["linux"].setdefault("resources", {})["devices"] = \
        [deny, allow] if order == "deny-then-allow" else [allow, deny]
    got = bundle.probe("read", "/dev/net/tun")["read:/dev/net/tun"]
    errno = got["errno"] if isinstance(got, dict) else 0
    if order == "deny-then-allow":
        assert errno != 1, got   # opened; reading an unattached tun fails with EBADFD
    else:
        assert errno == 1, got   # EPERM from the device cgroup


# --- cgroups -------------------------------------------------------------------------------------

def cgroup_paths(text):
    """{controller: path} from /proc/PID/cgroup (v2 entry under key '')."""
    out = {}
    for line in text.splitlines():
        _, ctrls, path = line.split(":", 2)
        for c in ctrls.split(","):
            out[c] = path
    return out


# SPEC config-linux.md (cgroupsPath): "In the case of an absolute path (starting with /), the
#   runtime MUST take the path to be relative to the cgroups mount point."
# SPEC config-linux.md: "If the value is specified, the runtime MUST consistently attach to the
#   same place in the cgroups hierarchy given the same value of cgroupsPath."
def test_cgroups_path_absolute(bundle, rt):
    path = f"/{bundle.id}"  # one level: delete removes it, the leak check sees any rest
    bundle.config["linux"]["cgroupsPath"] = path
    bundle.config["linux"]["namespaces"] = [n for n in bundle.config["linux"]["namespaces"]
                                            if n["type"] != "cgroup"]
    seen = []
    for _ in range(2):
        r = run_ok(bundle, ["/probe", "cgroup"])
        from helpers import parse_probe
        seen.append(cgroup_paths(parse_probe(r.stdout)["cgroup"]))
    for ctrl in ("memory", "pids", "devices"):
        if os.path.isdir(f"/sys/fs/cgroup/{ctrl}"):
            assert seen[0][ctrl] == path, ctrl
            assert seen[1][ctrl] == path, ctrl


# SPEC config-linux.md (Cgroup ownership): "Runtimes SHOULD NOT change the ownership of container
#   cgroups when cgroups v1 is in use." / "If the configuration does not specify such a mount [a
#   read-write cgroup mount at /sys/fs/cgroup], the runtime SHOULD NOT change the cgroup
#   ownership."
@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/pids"), reason="no cgroup v1 pids here")
def test_cgroup_ownership_unchanged_on_v1(bundle, rt):
    userns(bundle)
    bundle.config["linux"]["cgroupsPath"] = f"/{bundle.id}"
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    for ctrl in ("pids", "memory"):
        d = Path(f"/sys/fs/cgroup/{ctrl}/{bundle.id}")
        if d.is_dir():
            st = d.stat()
            assert (st.st_uid, st.st_gid) == (0, 0), ctrl
            assert (d / "cgroup.procs").stat().st_uid == 0


# SPEC config-linux.md (Unified): "The runtime MUST generate an error when the configuration
#   refers to a cgroup controller that is not present or that cannot be enabled."
@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/unified"),
                    reason="needs a hybrid host (cgroup2 at /sys/fs/cgroup/unified)")
def test_unified_missing_controller_is_an_error(bundle):
    ctrls = Path("/sys/fs/cgroup/unified/cgroup.controllers").read_text().split()
    if "pids" in ctrls:
        pytest.skip("pids is enabled on cgroup2 here")
    bundle.config["linux"].setdefault("resources", {})["unified"] = {"pids.max": "10"}
    create_fails(bundle)


# SPEC config-linux.md (IntelRdt): "If no mounted resctrl pseudo-filesystem is available in the
#   runtime mount namespace, the runtime MUST generate an error."
def test_intel_rdt_without_resctrl(bundle):
    if any(line.split()[2] == "resctrl" for line in open("/proc/self/mounts")):
        pytest.skip("resctrl is mounted on this host")
    bundle.config["linux"]["intelRdt"] = {"closID": "conformance", "l3CacheSchema": "L3:0=f"}
    create_fails(bundle)


# --- sysctl --------------------------------------------------------------------------------------

# SPEC config-linux.md (Sysctl): "sysctl (object, OPTIONAL) allows kernel parameters to be
#   modified at runtime for the container."
def test_sysctl(bundle):
    bundle.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1",
                                        "kernel.shm_rmid_forced": "1",
                                        "net.ipv4.conf.all.accept_local": "1"}
    facts = bundle.probe("sysctl", "net.ipv4.ip_forward", "sysctl", "kernel.shm_rmid_forced",
                         "sysctl", "net.ipv4.conf.all.accept_local")
    assert facts["sysctl:net.ipv4.ip_forward"] == "1"
    assert facts["sysctl:kernel.shm_rmid_forced"] == "1"
    assert facts["sysctl:net.ipv4.conf.all.accept_local"] == "1"


# --- seccomp -------------------------------------------------------------------------------------

def seccomp(bundle, **kw):
    cfg = {"defaultAction": "SCMP_ACT_ALLOW"}
    cfg.update(kw)
    bundle.config["linux"]["seccomp"] = cfg


# SPEC config-linux.md (seccomp errnoRet): "the errno return code to use." "If not specified its
#   default value is EPERM."
def test_seccomp_errno(bundle):
    seccomp(bundle, syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO",
                               "errnoRet": 38},
                              {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}])
    r = run_ok(bundle, ["/bin/sh", "-c", "/probe cwd; mkdir /x 2>&1; echo rc=$?"])
    from helpers import parse_probe
    assert parse_probe(r.stdout)["cwd"]["errno"] == 38
    assert "Operation not permitted" in r.stdout


# SPEC config-linux.md (defaultErrnoRet): "the errno return code to use. ... If not specified then
#   its default value is EPERM."
def test_seccomp_default_errno_ret(bundle):
    unistd = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    if not unistd.exists():
        pytest.skip("needs the x86_64 syscall list (linux-libc-dev)")
    names = [line.split()[1][len("__NR_"):] for line in unistd.read_text().splitlines()
             if line.startswith("#define __NR_")]
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 95,
        "syscalls": [{"names": [n for n in names if n != "getcwd"], "action": "SCMP_ACT_ALLOW"}]}
    facts = bundle.probe("cwd")
    assert facts["cwd"]["errno"] == 95  # getcwd is not allowed: EOPNOTSUPP


# SPEC config-linux.md (errnoRet): "When the action doesn't support an errno, the runtime MUST
#   print and error and fail."
@runc_xfail("runc 1.1 accepts errnoRet on SCMP_ACT_ALLOW; config-linux.md: 'When the action "
            "doesn't support an errno, the runtime MUST print and error and fail.'")
def test_seccomp_errno_ret_on_allow_is_an_error(bundle):
    seccomp(bundle, syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_ALLOW",
                               "errnoRet": 1}])
    create_fails(bundle)


# SPEC config-linux.md (syscalls names): "names MUST contain at least one entry."
@runc_xfail("runc 1.1 accepts an empty names list; config-linux.md: 'names MUST contain at least "
            "one entry.'")
def test_seccomp_empty_names(bundle):
    seccomp(bundle, syscalls=[{"names": [], "action": "SCMP_ACT_ERRNO"}])
    create_fails(bundle)


# SPEC config-linux.md (listenerMetadata): "This field MUST NOT be set if listenerPath is not
#   set."
@runc_xfail("runc 1.1 does not check listenerMetadata; config-linux.md: 'This field MUST NOT be "
            "set if listenerPath is not set.'")
def test_seccomp_listener_metadata_without_path(bundle):
    seccomp(bundle, listenerMetadata="meta",
            syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}])
    create_fails(bundle)


class Listener:
    """A seccomp agent's socket: accepts one connection, keeps the message and fds."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(1)
        self.msgs = []
        self.fds = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(20)
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            data = b""
            while True:
                msg, fds, _, _ = socket.recv_fds(conn, 65536, 8)
                self.fds += fds
                if not msg:
                    break
                data += msg
            self.msgs.append(data)

    def close(self):
        self.sock.close()
        for fd in self.fds:
            os.close(fd)


# SPEC config-linux.md (listenerPath): "This socket MUST use AF_UNIX domain and SOCK_STREAM type.
#   The runtime MUST send exactly one container process state per connection. The connection
#   MUST NOT be reused and it MUST be closed after sending a seccomp state."
# SPEC config-linux.md (The Container Process State): "The container runtime MUST send the
#   container process state over the UNIX socket as regular payload serialized in JSON and file
#   descriptors MUST be sent using SCM_RIGHTS." (ociVersion, fds, pid, metadata, state)
def test_seccomp_notify_listener(bundle, rt, schemas):
    sock = bundle.path / "agent.sock"
    agent = Listener(sock)
    try:
        seccomp(bundle, listenerPath=str(sock), listenerMetadata="conformance-meta",
                syscalls=[{"names": ["mkdirat", "mkdir"], "action": "SCMP_ACT_NOTIFY"}])
        assert bundle.create(["/probe", "sleep"]).returncode == 0
        agent.thread.join(10)
        assert len(agent.msgs) == 1, "no (or more than one) state on the listener socket"
        st = json.loads(agent.msgs[0])
        assert st["ociVersion"] and st["fds"] == ["seccompFd"]
        assert st["metadata"] == "conformance-meta"
        assert st["pid"] == rt.state(bundle.id)["pid"]
        schemas.check_state(st["state"])
        assert st["state"]["id"] == bundle.id
        assert len(agent.fds) == 1
        assert os.readlink(f"/proc/self/fd/{agent.fds[0]}") == "anon_inode:seccomp notify"
    finally:
        agent.close()


# SPEC config-linux.md (listenerPath): "If sending to this socket fails, the runtime MUST generate
#   an error."
def test_seccomp_listener_unreachable(bundle):
    seccomp(bundle, listenerPath=str(bundle.path / "no-agent.sock"),
            syscalls=[{"names": ["mkdirat"], "action": "SCMP_ACT_NOTIFY"}])
    create_fails(bundle)


# --- rootfs propagation --------------------------------------------------------------------------

# SPEC config-linux.md (rootfsPropagation): "Its value is either shared, slave, private or
#   unbindable." shared: "the rootfs mount belongs to a new peer group"; unbindable: "a private
#   mount that cannot be bind-mounted"; private: "doesn't receive mount propagation events"
@pytest.mark.parametrize("prop,tag", [
    pytest.param("shared", "shared:", marks=runc_xfail(
        "runc 1.1 fails to set up a shared rootfs on this host (EINVAL); config-linux.md: "
        "'rootfsPropagation ... Its value is either shared, slave, private or unbindable.'")),
    pytest.param("unbindable", "unbindable", marks=[
        runc_xfail("runc 1.1 fails the same way (EINVAL bind-mounting an unbindable rootfs); "
                   "config-linux.md lists unbindable as a valid rootfsPropagation")]),
    ("private", None), ("slave", None)])
def test_rootfs_propagation(bundle, prop, tag):
    bundle.config["linux"]["rootfsPropagation"] = prop
    root = find_mount(bundle.probe("mounts"), "/")
    if tag:
        assert any(p.startswith(tag) for p in root["propagation"]), root
    else:
        assert not any(p.startswith(("shared:", "unbindable")) for p in root["propagation"]), \
            root


# --- masked and read-only paths ------------------------------------------------------------------

# SPEC config-linux.md (maskedPaths): "maskedPaths (array of strings, OPTIONAL) will mask over the
#   provided paths inside the container so that they cannot be read."
def test_masked_paths(bundle):
    (bundle.rootfs / "etc" / "secret").write_text("s3cret")
    (bundle.rootfs / "home" / "user" / "f").write_text("x")
    bundle.config["linux"]["maskedPaths"] = ["/proc/kcore", "/etc/secret", "/home/user",
                                             "/does/not/exist"]
    facts = bundle.probe("read", "/etc/secret", "ls", "/home/user", "read", "/proc/kcore")
    assert facts["read:/etc/secret"] in ("", {"errno": 13, "error": "Permission denied"})
    assert facts["ls:/home/user"] == [] or "errno" in facts["ls:/home/user"]
    kcore = facts["read:/proc/kcore"]
    assert kcore == "" or isinstance(kcore, dict)


# SPEC config-linux.md (readonlyPaths): "readonlyPaths (array of strings, OPTIONAL) will set the
#   provided paths as readonly inside the container."
def test_readonly_paths(bundle):
    bundle.config["linux"]["readonlyPaths"] = ["/proc/sys", "/home", "/does/not/exist"]
    facts = bundle.probe("write", "/home/user/f", "write", "/tmp/f", "write",
                         "/proc/sys/kernel/domainname")
    assert facts["write:/home/user/f"]["errno"] == 30
    assert facts["write:/proc/sys/kernel/domainname"]["errno"] == 30
    assert facts["write:/tmp/f"]["errno"] == 0


# SPEC config-linux.md (maskedPaths / readonlyPaths): "The values MUST be absolute paths in the
#   container namespace."  + config.md Valid values: an error.
@runc_xfail("runc 1.1 accepts relative masked/read-only paths; config-linux.md: 'The values "
            "MUST be absolute paths in the container namespace.'")
@pytest.mark.parametrize("field", ["maskedPaths", "readonlyPaths"])
def test_masked_and_readonly_paths_must_be_absolute(bundle, field):
    bundle.config["linux"][field] = ["proc/kcore"]
    create_fails(bundle)


# --- personality ---------------------------------------------------------------------------------

# SPEC config-linux.md (personality): "domain (string, REQUIRED) - the execution domain. ...
#   LINUX32 will set the uname system call to show a 32 bit CPU type, such as i686."
@runc_xfail("runc 1.1 implements runtime-spec 1.0.2 and ignores linux.personality; "
            "config-linux.md (1.2): 'LINUX32 will set the uname system call to show a 32 bit CPU "
            "type, such as i686.'")
@pytest.mark.skipif(os.uname().machine != "x86_64", reason="LINUX32 check written for x86_64")
def test_personality_linux32(bundle):
    bundle.config["linux"]["personality"] = {"domain": "LINUX32"}
    r = run_ok(bundle, ["/bin/uname", "-m"])
    assert r.stdout.strip() in ("i686", "i386")


# SPEC config-linux.md (Unified): "Each key in the map refers to a file in the cgroup unified
#   hierarchy." "The OCI runtime MUST ensure that the needed cgroup controllers are enabled for
#   the cgroup." (on this hybrid host cgroup2 carries only hugetlb)
@pytest.mark.skipif(not os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers") or "hugetlb"
                    not in open("/sys/fs/cgroup/unified/cgroup.controllers").read().split()
                    or not os.path.isdir("/sys/kernel/mm/hugepages/hugepages-2048kB"),
                    reason="needs hugetlb (2 MB pages) on the cgroup2 hierarchy")
@runc_xfail("runc 1.1 refuses linux.resources.unified unless the host is cgroup2-only; "
            "config-linux.md: 'The OCI runtime MUST ensure that the needed cgroup controllers "
            "are enabled for the cgroup.'")
def test_unified_writes_and_enables_controller(bundle, rt):
    bundle.config["linux"]["cgroupsPath"] = f"/{bundle.id}"
    bundle.config["linux"].setdefault("resources", {})["unified"] = {
        "hugetlb.2MB.max": "4194304"}
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    f = Path(f"/sys/fs/cgroup/unified/{bundle.id}/hugetlb.2MB.max")
    assert f.exists() and f.read_text().strip() == "4194304"
