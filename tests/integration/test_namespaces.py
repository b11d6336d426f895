# SPDX-License-Identifier: Apache-2.0
"""linux.namespaces: new, host, joined by path; user namespace id maps; time offsets."""
import os

import pytest

from helpers import wait_for

# spec type -> /proc/self/ns name
KINDS = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt",
         "cgroup": "cgroup"}


def host_ns(name):
    return os.readlink(f"/proc/self/ns/{name}")


def set_namespaces(bundle, entries):
    bundle.config["linux"]["namespaces"] = entries
    if not any(n["type"] == "uts" and "path" not in n for n in entries):
        bundle.config.pop("hostname", None)
        bundle.config.pop("domainname", None)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_new_namespace(bundle, kind):
    types = {n["type"] for n in bundle.config["linux"]["namespaces"]} | {kind}
    set_namespaces(bundle, [{"type": t} for t in sorted(types)])
    f = bundle.probe("namespaces")
    assert f["namespaces"][KINDS[kind]] != host_ns(KINDS[kind])


@pytest.mark.parametrize("kind", sorted(set(KINDS) - {"mount"}))
def test_host_namespace(bundle, kind):
    set_namespaces(bundle, [n for n in bundle.config["linux"]["namespaces"]
                            if n["type"] != kind])
    f = bundle.probe("namespaces")
    assert f["namespaces"][KINDS[kind]] == host_ns(KINDS[kind])


def test_pid_namespace_init_is_pid_1(bundle):
    assert bundle.probe("pid")["pid"] == {"pid": 1, "ppid": 0}


@pytest.mark.parametrize("kind", ["network", "ipc", "uts", "pid", "cgroup"])
def test_join_namespace_by_path(bundle_factory, rt, kind):
    first = bundle_factory()
    if not any(n["type"] == "cgroup" for n in first.config["linux"]["namespaces"]):
        first.config["linux"]["namespaces"].append({"type": "cgroup"})
    assert first.run_detached(["/probe", "sleep"]).returncode == 0
    pid = rt.state(first.id)["pid"]
    target = os.readlink(f"/proc/{pid}/ns/{KINDS[kind]}")

    second = bundle_factory()
    ns = [n for n in second.config["linux"]["namespaces"] if n["type"] != kind]
    ns.append({"type": kind, "path": f"/proc/{pid}/ns/{KINDS[kind]}"})
    set_namespaces(second, ns)
    if kind != "uts":
        second.config["hostname"] = "joiner"
    f = second.probe("namespaces", "pid")
    assert f["namespaces"][KINDS[kind]] == target
    if kind == "pid":
        assert f["pid"]["pid"] != 1


def test_hostname_without_uts_namespace_refused(bundle):
    bundle.config["linux"]["namespaces"] = [
        n for n in bundle.config["linux"]["namespaces"] if n["type"] != "uts"]
    bundle.config["hostname"] = "nope"
    r = bundle.create(["/probe", "exit", "0"])
    assert r.returncode != 0
    assert os.uname().nodename != "nope"
    bundle.assert_no_leaks()


def test_join_missing_namespace_path_fails(bundle):
    bundle.config["linux"]["namespaces"].append(
        {"type": "cgroup", "path": "/proc/999999999/ns/cgroup"})
    r = bundle.create(["/probe", "exit", "0"])
    assert r.returncode != 0
    bundle.assert_no_leaks()


def userns_bundle(bundle, host_uid=100000, size=65536):
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    bundle.config["linux"]["uidMappings"] = [
        {"containerID": 0, "hostID": host_uid, "size": size}]
    bundle.config["linux"]["gidMappings"] = [
        {"containerID": 0, "hostID": host_uid, "size": size}]


def test_user_namespace_maps(bundle):
    userns_bundle(bundle)
    f = bundle.probe("ids", "namespaces", "read", "/proc/self/uid_map",
                     "read", "/proc/self/gid_map", "stat", "/probe")
    assert f["ids"]["uid"] == 0 and f["ids"]["gid"] == 0
    assert f["namespaces"]["user"] != host_ns("user")
    assert f["read:/proc/self/uid_map"].split() == ["0", "100000", "65536"]
    assert f["read:/proc/self/gid_map"].split() == ["0", "100000", "65536"]
    # The rootfs is owned by host root, which is unmapped inside.
    assert f["stat:/probe"]["uid"] == 65534


def test_user_namespace_process_runs_as_mapped_host_uid(bundle, rt):
    userns_bundle(bundle)
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    pid = rt.state(bundle.id)["pid"]
    st = os.stat(f"/proc/{pid}")
    assert (st.st_uid, st.st_gid) == (101000, 101000)


def test_user_namespace_multiple_ranges(bundle):
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    bundle.config["linux"]["uidMappings"] = [
        {"containerID": 0, "hostID": 200000, "size": 1000},
        {"containerID": 1000, "hostID": 300000, "size": 10}]
    bundle.config["linux"]["gidMappings"] = [
        {"containerID": 0, "hostID": 200000, "size": 2000}]
    f = bundle.probe("read", "/proc/self/uid_map", "read", "/proc/self/gid_map")
    rows = [ln.split() for ln in f["read:/proc/self/uid_map"].splitlines()]
    assert rows == [["0", "200000", "1000"], ["1000", "300000", "10"]]
    assert f["read:/proc/self/gid_map"].split() == ["0", "200000", "2000"]


def test_user_namespace_caps_are_full_inside(bundle):
    userns_bundle(bundle)
    caps = bundle.config["process"]["capabilities"]
    for k in caps:
        caps[k] = ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]
    f = bundle.probe("caps")
    assert int(f["caps"]["effective"], 16) == (1 << 21) | (1 << 12)


def test_user_namespace_without_mappings_refused(bundle):
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    bundle.config["linux"].pop("uidMappings", None)
    bundle.config["linux"].pop("gidMappings", None)
    r = bundle.create(["/probe", "exit", "0"])
    if r.returncode == 0:
        pytest.skip("runtime accepts a user namespace without maps (unmapped root)")
    bundle.assert_no_leaks()


def time_ns_available():
    return os.path.exists("/proc/self/ns/time")


@pytest.mark.cella_only(reason="runc 1.1 has no time namespace support")
def test_time_namespace_offsets(bundle):
    if not time_ns_available():
        pytest.skip("kernel has no time namespaces")
    bundle.config["linux"]["namespaces"].append({"type": "time"})
    bundle.config["linux"]["timeOffsets"] = {
        "boottime": {"secs": 10 * 86400, "nanosecs": 0},
        "monotonic": {"secs": 86400, "nanosecs": 0}}
    f = bundle.probe("namespaces", "read", "/proc/uptime", "read", "/proc/self/timens_offsets")
    assert f["namespaces"]["time"] != host_ns("time")
    with open("/proc/uptime") as fh:
        host_uptime = float(fh.read().split()[0])
    assert float(f["read:/proc/uptime"].split()[0]) >= host_uptime + 10 * 86400 - 60
    offsets = {ln.split()[0]: ln.split()[1:] for ln in
               f["read:/proc/self/timens_offsets"].splitlines()}
    assert offsets["boottime"][0] == str(10 * 86400)
    assert offsets["monotonic"][0] == "86400"


@pytest.mark.cella_only(reason="runc 1.1 has no time namespace support")
def test_time_namespace_host(bundle):
    if not time_ns_available():
        pytest.skip("kernel has no time namespaces")
    f = bundle.probe("namespaces")
    assert f["namespaces"]["time"] == host_ns("time")


def test_cgroup_namespace_root_is_own_cgroup(bundle):
    ns = [n for n in bundle.config["linux"]["namespaces"] if n["type"] != "cgroup"]
    bundle.config["linux"]["namespaces"] = ns + [{"type": "cgroup"}]
    f = bundle.probe("cgroup")
    for line in f["cgroup"].splitlines():
        assert line.split(":", 2)[2] == "/", f["cgroup"]


def test_network_namespace_has_only_loopback(bundle):
    f = bundle.probe("ls", "/sys/class/net")
    assert f["ls:/sys/class/net"] == ["lo"]


def test_ipc_namespace_isolated(bundle):
    f = bundle.probe("read", "/proc/sysvipc/shm")
    lines = f["read:/proc/sysvipc/shm"].splitlines()
    assert len(lines) == 1, "a fresh ipc namespace has no shm segments"


def test_uts_namespace_hostname_does_not_leak(bundle):
    before = os.uname().nodename
    bundle.config["hostname"] = "inside-only"
    assert bundle.probe("uname")["uname"]["hostname"] == "inside-only"
    assert os.uname().nodename == before


def nsfs_mounts():
    with open("/proc/self/mountinfo") as f:
        return [ln for ln in f if " - nsfs " in ln]


def test_namespace_files_not_left_behind(bundle, rt):
    before = nsfs_mounts()
    assert bundle.run_detached(["/probe", "sleep"]).returncode == 0
    assert rt("delete", "-f", bundle.id).returncode == 0
    wait_for(lambda: not bundle.leaks(), what="no leaks")
    assert nsfs_mounts() == before
