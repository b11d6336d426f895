# SPDX-License-Identifier: Apache-2.0
"""The hardened defaults of `cella spec`, checked against Docker's (moby oci/defaults.go and
profiles/seccomp/default.json): capability set, masked and read-only paths, mount options,
noNewPrivileges, the default seccomp profile — first in the JSON, then in a real container
made from it (what the probe sees), with host-side evidence (host sysctls unchanged). Where a
check could pass vacuously, the same container with the protection removed shows the attack
working, so each check can fail."""
import json
import os
import subprocess

import pytest

from helpers import IS_CELLA, RUNTIME, TIMEOUT, caps_mask, find_mount, mount_opts
from security_util import build_syscall_helper, install, read_sysctl

DOCKER_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
               "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
               "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
DOCKER_MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                 "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                 "/proc/sched_debug", "/proc/scsi", "/sys/firmware"]
DOCKER_READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
# Docker's mount options that harden (rw, sizes and modes aside).
DOCKER_MOUNT_FLAGS = {
    "/proc": {"nosuid", "noexec", "nodev"},
    "/dev": {"nosuid"},
    "/dev/pts": {"nosuid", "noexec"},
    "/sys": {"nosuid", "noexec", "nodev", "ro"},
    "/sys/fs/cgroup": {"nosuid", "noexec", "nodev", "ro"},
    "/dev/mqueue": {"nosuid", "noexec", "nodev"},
    "/dev/shm": {"nosuid", "noexec", "nodev"},
}
HOST_SYSCTL = "/proc/sys/kernel/printk_ratelimit"  # integer: "probe\n" cannot change it
EROFS, EINVAL, EPERM = 30, 22, 1


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    d = tmp_path_factory.mktemp("spec")
    r = subprocess.run([RUNTIME, "spec", "-b", str(d)], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    return json.loads((d / "config.json").read_text())


@pytest.fixture
def spec_bundle(bundle, spec):
    """A bundle whose config is exactly `cella spec`'s, made runnable (no terminal, rw root)."""
    cfg = json.loads(json.dumps(spec))
    cfg["process"]["terminal"] = False
    cfg["root"] = {"path": "rootfs", "readonly": False}
    cfg["hostname"] = "cella-test"
    bundle.config = cfg
    return bundle


@pytest.fixture
def host_sysctl_guard():
    before = read_sysctl(HOST_SYSCTL)
    yield
    after = read_sysctl(HOST_SYSCTL)
    if after != before:
        with open(HOST_SYSCTL, "w") as f:
            f.write(before)
        pytest.fail(f"host {HOST_SYSCTL} changed from the container (restored)")


def masked_files():
    return [p for p in ("/proc/kcore", "/proc/timer_list", "/proc/keys") if os.path.exists(p)]


# --- the JSON --------------------------------------------------------------------------------

def test_spec_capabilities_are_dockers(spec):
    caps = spec["process"]["capabilities"]
    for kind in ("bounding", "effective", "permitted"):
        assert sorted(caps[kind]) == sorted(DOCKER_CAPS), kind
    assert not caps.get("inheritable"), "inheritable must stay empty (CVE-2022-29162)"
    assert not caps.get("ambient")


def test_spec_masked_and_readonly_paths(spec):
    assert set(DOCKER_MASKED) <= set(spec["linux"]["maskedPaths"])
    assert set(DOCKER_READONLY) <= set(spec["linux"]["readonlyPaths"])


PROC_GAP = ("cella gap: `cella spec` mounts /proc without nosuid,noexec,nodev (Docker's "
            "default spec sets them; runc's does not)")


def mount_cases():
    return [pytest.param(d, id=d) for d in sorted(DOCKER_MOUNT_FLAGS)]


@pytest.mark.parametrize("dest", mount_cases())
def test_spec_mount_options(spec, dest):
    """Docker's hardening flags on each default mount (a naive `spec` that copies runc's
    leaves /proc without them)."""
    mounts = {m["destination"]: m for m in spec["mounts"]}
    assert dest in mounts, f"no {dest} mount"
    missing = DOCKER_MOUNT_FLAGS[dest] - set(mounts[dest].get("options", []))
    assert not missing, f"{dest}: missing {missing}"


def test_spec_no_new_privileges_and_namespaces(spec):
    assert spec["process"]["noNewPrivileges"] is True
    kinds = {n["type"] for n in spec["linux"]["namespaces"]}
    assert {"pid", "network", "ipc", "uts", "mount"} <= kinds


def test_spec_default_seccomp_profile(spec):
    s = spec["linux"].get("seccomp")
    if s is None:
        pytest.skip("`cella spec` has no default seccomp profile")
    assert s["defaultAction"] in ("SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS",
                                  "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL")
    allowed = set()
    for rule in s["syscalls"]:
        if rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("args"):
            allowed |= set(rule["names"])
    for name in ("mount", "umount2", "unshare", "setns", "keyctl", "add_key", "kexec_load",
                 "kexec_file_load", "bpf", "init_module", "finit_module", "open_by_handle_at",
                 "userfaultfd", "perf_event_open"):
        assert name not in allowed, f"{name} allowed unconditionally by the default profile"
    for name in ("read", "write", "openat", "execve", "clone", "exit_group", "mmap"):
        assert any(name in r["names"] for r in s["syscalls"]
                   if r["action"] == "SCMP_ACT_ALLOW"), f"{name} not allowed"


# --- a container made from it ------------------------------------------------------------------

def test_container_caps_are_exactly_the_defaults(spec_bundle):
    """The process holds exactly Docker's 14 capabilities in permitted, effective and bounding,
    nothing inheritable or ambient, and no_new_privs is set."""
    f = spec_bundle.probe("caps", "nnp")
    want = caps_mask(DOCKER_CAPS)
    c = f["caps"]
    for kind in ("permitted", "effective", "bounding"):
        assert int(c[kind], 16) == want, (kind, c[kind], hex(want))
    assert int(c["inheritable"], 16) == 0 and int(c["ambient"], 16) == 0, c
    assert f["nnp"]["no_new_privs"] == "1"


def test_container_proc_is_protected(spec_bundle, host_sysctl_guard):
    """/proc/sys and /proc/sysrq-trigger are read-only (EROFS), masked files read as empty
    and are the null device, /sys/firmware is empty, /sys is read-only; the host's sysctl is
    unchanged."""
    masked = masked_files()
    args = ["write", HOST_SYSCTL, "write", "/proc/sysrq-trigger", "ls", "/sys/firmware",
            "mounts"]
    for p in masked:
        args += ["read", p, "stat", p]
    f = spec_bundle.probe(*args)
    assert f[f"write:{HOST_SYSCTL}"].get("errno") == EROFS, f[f"write:{HOST_SYSCTL}"]
    sysrq = f["write:/proc/sysrq-trigger"].get("errno")
    assert sysrq == EROFS or (sysrq == 2 and not os.path.exists("/proc/sysrq-trigger")), sysrq
    for p in masked:
        assert f[f"read:{p}"] == "", p
        assert f[f"stat:{p}"]["type"] == "char" and f[f"stat:{p}"]["rdev"] == [1, 3], p
    fw = f["ls:/sys/firmware"]
    assert fw == [] or "errno" in fw, fw
    assert "ro" in mount_opts(find_mount(f, "/sys"))


def test_container_proc_check_can_fail(spec_bundle, host_sysctl_guard):
    """The same container without readonlyPaths and maskedPaths: the write reaches the host
    sysctl (EINVAL: the handle is writable, the value does not parse, nothing changes) and the
    masked files are readable. So the test above detects a runtime that skips them."""
    spec_bundle.config["linux"]["readonlyPaths"] = []
    spec_bundle.config["linux"]["maskedPaths"] = []
    masked = [p for p in masked_files() if p != "/proc/keys"]
    if not masked:
        pytest.skip("no non-empty masked file on this kernel")
    args = ["write", HOST_SYSCTL]
    for p in masked:
        args += ["read", p]
    f = spec_bundle.probe(*args)
    assert f[f"write:{HOST_SYSCTL}"].get("errno") == EINVAL, f
    for p in masked:
        assert isinstance(f[f"read:{p}"], str) and f[f"read:{p}"] != "", p


@pytest.mark.parametrize("dest", sorted(DOCKER_MOUNT_FLAGS))
def test_container_mount_flags(spec_bundle, spec, dest):
    """The mounts carry the flags the spec asks for, as the kernel reports them."""
    f = spec_bundle.probe("mounts")
    m = find_mount(f, dest)
    if dest == "/sys/fs/cgroup" and m is None:
        pytest.skip("no cgroup mount in this layout")
    assert m is not None, dest
    want = {o for o in next(x for x in spec["mounts"] if x["destination"] == dest)
            .get("options", []) if o in ("nosuid", "noexec", "nodev", "ro")}
    assert want <= mount_opts(m), (dest, m["options"])


# --- the default seccomp profile ---------------------------------------------------------------

@pytest.fixture
def sysc(workdir):
    helper = build_syscall_helper(workdir)
    if helper is None:
        pytest.skip("no C compiler to build the syscall helper")
    return helper


BLOCKED = ["mount", "unshare-user", "keyctl", "kexec_load", "bpf"]


def test_default_seccomp_refuses_dangerous_syscalls(spec_bundle, spec, sysc):
    """Under the default profile mount, unshare(CLONE_NEWUSER), keyctl, kexec_load and bpf
    fail with EPERM. The container also holds CAP_SYS_BOOT so that kexec_load passes the
    capability check: only seccomp can refuse it. Then the same calls without the profile
    (the validation run) do not fail with EPERM — the refusals come from the filter."""
    if "seccomp" not in spec["linux"]:
        pytest.skip("`cella spec` has no default seccomp profile")
    install(spec_bundle, sysc)
    caps = spec_bundle.config["process"]["capabilities"]
    for kind in ("bounding", "effective", "permitted"):
        caps[kind] = sorted(set(caps[kind]) | {"CAP_SYS_BOOT"})
    r = spec_bundle.run(["/sysc", *BLOCKED])
    assert r.returncode == 0, r
    for name in BLOCKED:
        assert r.facts[f"sys:{name}"] == EPERM, (name, r.facts)
    del spec_bundle.config["linux"]["seccomp"]
    r = spec_bundle.run(["/sysc", *BLOCKED], cid=spec_bundle.new_id())
    assert r.returncode == 0, r
    open_calls = [n for n in BLOCKED if r.facts[f"sys:{n}"] != EPERM]
    assert set(open_calls) >= {"mount", "keyctl", "bpf", "kexec_load"}, r.facts


def test_default_seccomp_ordinary_programs_work(spec_bundle, spec):
    """A shell session of ordinary work runs unchanged under the default profile."""
    if "seccomp" not in spec["linux"]:
        pytest.skip("`cella spec` has no default seccomp profile")
    script = ("set -e; ls / >/dev/null; echo data > /tmp/f; cat /tmp/f; mkdir -p /tmp/d/e; "
              "ln -s /tmp/f /tmp/l; cp /tmp/f /tmp/d/g; chmod 600 /tmp/d/g; "
              "sh -c 'exit 3' || test $? = 3; ps >/dev/null; date >/dev/null; "
              "sleep 0.1 & wait; id -u; echo done")
    r = spec_bundle.run(["/bin/sh", "-c", script])
    assert r.returncode == 0, r
    assert r.stdout.split() == ["data", "0", "done"], r.stdout
    f = spec_bundle.probe("ids", "cwd", "uname", "nnp", "fds", cid=spec_bundle.new_id())
    assert f["cwd"] == "/" and f["uname"]["hostname"] == "cella-test"
    assert f["nnp"]["seccomp"] == "2"
