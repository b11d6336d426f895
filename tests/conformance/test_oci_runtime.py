# SPDX-License-Identifier: Apache-2.0
"""runtime.md: lifecycle, the standard operations and their errors, errors and warnings."""
import json
import os
import signal
import time

import pytest

from oci_conformance import (IS_CELLA, cella_bug, create_fails, run_ok, runc_compat,  # noqa: F401
                             wait_for)


def created(bundle, args=("/probe", "sleep")):
    r = bundle.create(list(args))
    assert r.returncode == 0, r
    return r


def running(bundle, rt, args=("/probe", "sleep")):
    created(bundle, args)
    assert rt("start", bundle.id).returncode == 0
    rt.wait_status(bundle.id, "running")


def stopped(bundle, rt):
    created(bundle, ["/probe", "exit", "0"])
    assert rt("start", bundle.id).returncode == 0
    rt.wait_status(bundle.id, "stopped")


def snapshot(rt, cid):
    r = rt("state", cid)
    return (r.returncode, json.loads(r.stdout) if r.returncode == 0 else None)


# --- Query State ---------------------------------------------------------------------------------

# SPEC runtime.md (Query State): "This operation MUST generate an error if it is not provided the
#   ID of a container."
def test_state_without_id(rt):
    assert rt("state").returncode != 0


# SPEC runtime.md (Query State): "Attempting to query a container that does not exist MUST
#   generate an error."
def test_state_of_missing_container(rt):
    assert rt("state", "conformance-no-such-container").returncode != 0


# --- Create --------------------------------------------------------------------------------------

# SPEC runtime.md (Create): "This operation MUST generate an error if it is not provided a path to
#   the bundle and the container ID to associate with the container."
def test_create_without_id(bundle, rt):
    bundle.set_args(["/probe", "exit", "0"])
    bundle.write()
    before = set(rt.state_root.iterdir())
    with open(os.devnull, "w") as null:
        r = rt("create", "--bundle", bundle.path, stdout=null, stderr=null)
    assert r.returncode != 0
    assert set(rt.state_root.iterdir()) == before, "create without an id made a container"


# SPEC runtime.md (Create): "This operation MUST generate an error if it is not provided a path to
#   the bundle ..." -- the path given must hold a bundle (bundle.md: config.json "MUST reside in
#   the root of the bundle directory").
def test_create_with_bundle_without_config(bundle):
    (bundle.path / "config.json").unlink(missing_ok=True)
    r = bundle.create(["/probe", "exit", "0"], write=False)
    assert r.returncode != 0
    assert bundle.rt.status(bundle.id) is None
    bundle.assert_no_leaks()


# SPEC runtime.md (Create): "If the ID provided is not unique across all containers within the
#   scope of the runtime, or is not valid in any other way, the implementation MUST generate an
#   error and a new container MUST NOT be created."
def test_create_duplicate_id(bundle, rt):
    created(bundle)
    before = snapshot(rt, bundle.id)
    r = bundle.create(["/probe", "exit", "0"])
    assert r.returncode != 0
    assert snapshot(rt, bundle.id) == before, "the existing container changed"


# SPEC runtime.md (Create): "... or is not valid in any other way, the implementation MUST
#   generate an error and a new container MUST NOT be created."
@pytest.mark.parametrize("cid", ["../escape", "a/b", ".", ".."])
def test_create_invalid_id(bundle, rt, cid):
    r = bundle.create(["/probe", "exit", "0"], cid=cid)
    assert r.returncode != 0
    assert not (rt.state_root.parent / "escape").exists()
    bundle.assert_no_leaks()


# SPEC runtime.md (Create): "This operation MUST create a new container." / "All of the properties
#   configured in config.json except for process MUST be applied. process.args MUST NOT be
#   applied until triggered by the start operation."
# SPEC runtime.md (Lifecycle 2): "While the resources requested in the config.json MUST be
#   created, the user-specified program (from process) MUST NOT be run at this time."
def test_create_applies_config_but_not_args(bundle, rt):
    created(bundle, ["/bin/sh", "-c", "echo ran > /ran; exec /probe sleep"])
    st = rt.state(bundle.id)
    assert st["status"] == "created"
    pid = st["pid"]
    # the environment exists: the container process lives in its own namespaces, with the
    # configured hostname ...
    for ns in ("mnt", "pid", "uts", "ipc", "net"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    # ... but the program has not run
    time.sleep(0.2)
    assert not (bundle.rootfs / "ran").exists()
    assert os.readlink(f"/proc/{pid}/exe") != "/bin/busybox"
    assert rt("start", bundle.id).returncode == 0
    wait_for(lambda: (bundle.rootfs / "ran").exists(), what="process.args to run after start")


# SPEC runtime.md (Lifecycle 2): "Any updates to config.json after this step MUST NOT affect the
#   container."  (Create: "Any changes made to the config.json file after this operation will
#   not have an effect on the container.")
def test_config_changes_after_create_have_no_effect(bundle, rt):
    created(bundle, ["/probe", "uname", "env"])
    bundle.config["process"]["args"] = ["/probe", "exit", "7"]
    bundle.config["process"]["env"] = ["CHANGED=1"]
    bundle.config["hostname"] = "changed"
    bundle.write()
    assert rt("start", bundle.id).returncode == 0
    rt.wait_status(bundle.id, "stopped")
    facts = bundle.facts()
    assert facts["uname"]["hostname"] == "cella-test"
    assert "CHANGED=1" not in facts["env"]


# SPEC runtime.md (Create): "If the runtime cannot apply a property as specified in the
#   configuration, it MUST generate an error and a new container MUST NOT be created."
# SPEC runtime.md (Lifecycle 2): "If the runtime is unable to create the environment specified in
#   the config.json, it MUST generate an error."
def test_create_fails_when_a_property_cannot_be_applied(bundle):
    bundle.config["mounts"].append({"destination": "/mnt/x", "type": "bind",
                                    "source": "/nonexistent-conformance-src",
                                    "options": ["bind"]})
    create_fails(bundle)


# --- Start ---------------------------------------------------------------------------------------

# SPEC runtime.md (Start): "This operation MUST generate an error if it is not provided the
#   container ID."
def test_start_without_id(rt):
    assert rt("start").returncode != 0


# SPEC runtime.md (Start): "Attempting to start a container that is not created MUST have no
#   effect on the container and MUST generate an error."
def test_start_running_container(bundle, rt):
    running(bundle, rt)
    before = snapshot(rt, bundle.id)
    assert rt("start", bundle.id).returncode != 0
    assert snapshot(rt, bundle.id) == before


# SPEC runtime.md (Start): "Attempting to start a container that is not created MUST have no
#   effect on the container and MUST generate an error."
def test_start_stopped_container(bundle, rt):
    stopped(bundle, rt)
    before = snapshot(rt, bundle.id)
    assert rt("start", bundle.id).returncode != 0
    assert snapshot(rt, bundle.id) == before


# SPEC runtime.md (Start): "Attempting to start a container that is not created ... MUST generate
#   an error." -- a container that does not exist is not created either.
def test_start_missing_container(rt):
    assert rt("start", "conformance-no-such-container").returncode != 0


# SPEC runtime.md (Start): "This operation MUST run the user-specified program as specified by
#   process."  (Lifecycle 8: "The runtime MUST run the user-specified program, as specified by
#   process.")
def test_start_runs_the_program(bundle, rt):
    created(bundle, ["/probe", "pid", "cwd", "exit", "0"])
    assert rt("start", bundle.id).returncode == 0
    rt.wait_status(bundle.id, "stopped")
    facts = bundle.facts()
    assert facts["pid"]["pid"] == 1 and facts["cwd"] == "/"


# SPEC runtime.md (Start): "This operation MUST generate an error if process was not set."
# SPEC config.md: "process (object, OPTIONAL) ... This property is REQUIRED when start is called."
def test_start_without_process(bundle, rt):
    bundle.config.pop("process")
    r = bundle.create(write=True)
    if r.returncode != 0:
        return  # refusing already at create is an error before start, as well
    assert rt("start", bundle.id).returncode != 0


# --- Kill ----------------------------------------------------------------------------------------

# SPEC runtime.md (Kill): "This operation MUST generate an error if it is not provided the
#   container ID."
def test_kill_without_id(rt):
    assert rt("kill").returncode != 0


# SPEC runtime.md (Kill): "Attempting to send a signal to a container that is neither created nor
#   running MUST have no effect on the container and MUST generate an error."
def test_kill_stopped_container(bundle, rt):
    stopped(bundle, rt)
    before = snapshot(rt, bundle.id)
    assert rt("kill", bundle.id, "KILL").returncode != 0
    assert snapshot(rt, bundle.id) == before


# SPEC runtime.md (Kill): "Attempting to send a signal to a container that is neither created nor
#   running MUST ... generate an error." (a container that does not exist is neither)
def test_kill_missing_container(rt):
    assert rt("kill", "conformance-no-such-container", "KILL").returncode != 0


# SPEC runtime.md (Kill): "This operation MUST send the specified signal to the container
#   process."
@pytest.mark.parametrize("sig", ["USR1", "SIGHUP", "15", str(int(signal.SIGRTMIN) + 1)])
def test_kill_sends_the_signal(bundle, rt, sig):
    running(bundle, rt, ["/probe", "signals"])
    bundle.wait_output('"ready"')
    assert rt("kill", bundle.id, sig).returncode == 0
    rt.wait_status(bundle.id, "stopped")
    want = int(sig) if sig.isdigit() else int(getattr(signal, sig if sig.startswith("SIG")
                                                       else "SIG" + sig))
    assert bundle.facts()["signal"] == want


# SPEC runtime.md (Kill): "This operation MUST send the specified signal to the container
#   process." -- a created container can be signalled too (Kill: "created nor running").
def test_kill_created_container(bundle, rt):
    created(bundle)
    assert rt("kill", bundle.id, "KILL").returncode == 0
    rt.wait_status(bundle.id, "stopped")


# --- Delete --------------------------------------------------------------------------------------

# SPEC runtime.md (Delete): "This operation MUST generate an error if it is not provided the
#   container ID."
def test_delete_without_id(rt):
    assert rt("delete").returncode != 0


# SPEC runtime.md (Delete): "Attempting to delete a container that is not stopped MUST have no
#   effect on the container and MUST generate an error."
@pytest.mark.parametrize("status", [
    pytest.param("created", marks=runc_compat(
        "runc (and so cella) `delete` destroys a created container without --force; containerd "
        "deletes never-started tasks this way (runtime.md: 'Attempting to delete a container "
        "that is not stopped MUST have no effect on the container and MUST generate an "
        "error.')")),
    "running"])
def test_delete_not_stopped(bundle, rt, status):
    if status == "created":
        created(bundle)
    else:
        running(bundle, rt)
    before = snapshot(rt, bundle.id)
    assert rt("delete", bundle.id).returncode != 0
    assert snapshot(rt, bundle.id) == before
    assert os.path.exists(f"/proc/{before[1]['pid']}")


# SPEC runtime.md (Delete): "Deleting a container MUST delete the resources that were created
#   during the create step."  (Lifecycle 12: "The container MUST be destroyed by undoing the
#   steps performed during create phase (step 2).")
def test_delete_removes_created_resources(bundle, rt):
    stopped(bundle, rt)
    assert rt("delete", bundle.id).returncode == 0
    assert rt.status(bundle.id) is None
    bundle.assert_no_leaks()


# SPEC runtime.md (Delete): "Note that resources associated with the container, but not created
#   by this container, MUST NOT be deleted."
def test_delete_keeps_resources_it_did_not_create(bundle, rt, workdir):
    src = workdir / f"{bundle.id}-volume"
    src.mkdir()
    (src / "data").write_text("keep")
    bundle.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": str(src),
                                    "options": ["rbind"]})
    stopped(bundle, rt)
    assert rt("delete", bundle.id).returncode == 0
    assert (src / "data").read_text() == "keep"
    assert (bundle.path / "config.json").exists() and (bundle.rootfs / "probe").exists()


# SPEC runtime.md (Delete): "Once a container is deleted its ID MAY be used by a subsequent
#   container."  (MAY: checked because runc-compatible callers rely on it)
def test_id_reusable_after_delete(bundle, rt):
    stopped(bundle, rt)
    assert rt("delete", bundle.id).returncode == 0
    run_ok(bundle, ["/probe", "exit", "0"])


# --- Lifecycle and errors ------------------------------------------------------------------------

# SPEC runtime.md (Lifecycle 10): "The container process exits. This MAY happen due to erroring
#   out, exiting, crashing or the runtime's kill operation being invoked."
# SPEC runtime.md (State): "stopped: the container process has exited"
def test_stopped_after_process_crash(bundle, rt):
    created(bundle, ["/bin/sh", "-c", "kill -SEGV $$"])
    assert rt("start", bundle.id).returncode == 0
    rt.wait_status(bundle.id, "stopped")


# SPEC runtime.md (Errors): "When a runtime ... generates an error ... the state of the
#   environment MUST be as if the operation had never been attempted (modulo any possible
#   trivial ancillary changes such as logging)."
def test_failed_create_leaves_nothing(bundle, rt):
    bundle.config["process"]["cwd"] = "/probe/not-a-dir"
    create_fails(bundle)
    # and the id is free again
    bundle.config["process"]["cwd"] = "/"
    run_ok(bundle, ["/probe", "exit", "0"])


# SPEC runtime.md (Scope of a container): "Barring access control concerns, the entity using a
#   runtime to create a container MUST be able to use the operations defined in this
#   specification against that same container."
def test_operations_on_own_container(bundle, rt):
    created(bundle)
    assert rt("state", bundle.id).returncode == 0
    assert rt("start", bundle.id).returncode == 0
    assert rt("kill", bundle.id, "KILL").returncode == 0
    rt.wait_status(bundle.id, "stopped")
    assert rt("delete", bundle.id).returncode == 0


# SPEC runtime.md (State): "id (string, REQUIRED) is the container's ID. This MUST be unique
#   across all containers on this host."
def test_ids_are_distinct_containers(bundle, rt):
    created(bundle)
    other = bundle.new_id()
    r = bundle.create(["/probe", "sleep"], cid=other)
    assert r.returncode == 0, r
    a, b = rt.state(bundle.id), rt.state(other)
    assert a["id"] != b["id"] and a["pid"] != b["pid"]


# SPEC runtime.md (State): "created: the runtime has finished the create operation ..., and the
#   container process has neither exited nor executed the user-specified program";
#   "running: the container process has executed the user-specified program but has not exited"
def test_status_transitions(bundle, rt):
    created(bundle)
    assert rt.status(bundle.id) == "created"
    assert rt("start", bundle.id).returncode == 0
    rt.wait_status(bundle.id, "running")
    pid = rt.state(bundle.id)["pid"]
    wait_for(lambda: os.readlink(f"/proc/{pid}/exe") == "/probe", what="the program to run")
    assert rt("kill", bundle.id, "KILL").returncode == 0
    rt.wait_status(bundle.id, "stopped")
