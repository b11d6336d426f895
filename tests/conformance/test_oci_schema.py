# SPDX-License-Identifier: Apache-2.0
"""Everything the runtime writes as config.json or prints as state, checked against the official
JSON schemas (config-schema.json, state-schema.json) and the state section of runtime.md."""
import json
import os
import subprocess

import pytest

from oci_conformance import IS_CELLA, RUNTIME, cella_bug  # noqa: F401
from helpers import TIMEOUT


def spec_config(tmp_path, *extra):
    r = subprocess.run([RUNTIME, "spec", "-b", str(tmp_path), *extra], capture_output=True,
                       text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    return json.loads((tmp_path / "config.json").read_text())


# SPEC config.md: "This configuration file contains metadata necessary to implement standard
#   operations against the container." / "there is a JSON Schema in schema/config-schema.json"
# SPEC config.md: "ociVersion (string, REQUIRED) MUST be in SemVer v2.0.0 format"
def test_spec_matches_config_schema(tmp_path, schemas):
    cfg = spec_config(tmp_path)
    schemas.check_config(cfg)
    # SPEC config.md (root.path): "The value SHOULD be the conventional rootfs."
    assert cfg["root"]["path"] == "rootfs"


# SPEC config.md (schema), for the rootless template.
def test_spec_rootless_matches_config_schema(tmp_path, schemas):
    cfg = spec_config(tmp_path, "--rootless")
    schemas.check_config(cfg)
    # SPEC config-linux.md: "If a namespace type is not specified in the namespaces array, the
    #   container MUST inherit the runtime namespace of that type." -- a rootless template
    #   needs its own user namespace with mappings for the invoking user.
    assert "user" in [n["type"] for n in cfg["linux"]["namespaces"]]
    assert cfg["linux"]["uidMappings"] and cfg["linux"]["gidMappings"]


# SPEC config.md (schema), for bundles made from an image by `cella image bundle`.
@pytest.mark.cella_only(reason="`image bundle` is a cella command")
@pytest.mark.parametrize("extra", [(), ("--rootless",)], ids=["root", "rootless"])
def test_image_bundle_matches_config_schema(tmp_path, schemas, extra):
    out = tmp_path / "b"
    r = subprocess.run([RUNTIME, "--root", str(tmp_path / "store"), "image", "bundle", *extra,
                        "busybox", str(out)], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    schemas.check_config(json.loads((out / "config.json").read_text()))


# SPEC config.md "Configuration Schema Example": the schema itself accepts the spec's example
# (a self-check of the validator set-up: a broken $ref resolution would reject everything).
def test_validator_rejects_bad_config(tmp_path, schemas):
    cfg = spec_config(tmp_path)
    cfg["process"]["user"]["uid"] = "root"
    cfg["linux"]["namespaces"].append({"type": "bogus"})
    errs = schemas.errors("config-schema.json", cfg)
    assert any("/process/user/uid" in e for e in errs), errs
    assert any("/linux/namespaces" in e for e in errs), errs
    assert schemas.errors("state-schema.json", {"id": "x"})


def check_state(schemas, state, cid, bundle_path, status):
    # SPEC runtime.md (State): "When serialized in JSON, the format MUST adhere to the JSON Schema
    #   schema/state-schema.json."
    schemas.check_state(state)
    # SPEC runtime.md: "id (string, REQUIRED) is the container's ID."
    assert state["id"] == cid
    # SPEC runtime.md: "status (string, REQUIRED) is the runtime state of the container."
    assert state["status"] == status
    # SPEC runtime.md: "bundle (string, REQUIRED) is the absolute path to the container's bundle
    #   directory."
    assert os.path.isabs(state["bundle"])
    assert os.path.samefile(state["bundle"], bundle_path)
    # SPEC runtime.md: "pid (int, REQUIRED when status is created or running on Linux ...) is the
    #   ID of the container process. For hooks executed in the runtime namespace, it is the pid
    #   as seen by the runtime."
    if status in ("created", "running"):
        assert isinstance(state.get("pid"), int) and state["pid"] > 0
        assert os.path.exists(f"/proc/{state['pid']}")
    # SPEC runtime.md: "ociVersion (string, REQUIRED) is version of the Open Container
    #   Initiative Runtime Specification with which the state complies."
    assert state["ociVersion"]


# SPEC runtime.md "Query State": "This operation MUST return the state of a container as
#   specified in the State section."
def test_state_in_every_status(bundle, rt, schemas):
    bundle.config["annotations"] = {"org.example.key": "value", "org.example.empty": ""}
    r = bundle.create(["/probe", "sleep"])
    assert r.returncode == 0, r
    st = rt.state(bundle.id)
    check_state(schemas, st, bundle.id, bundle.path, "created")
    # SPEC runtime.md: "annotations (map, OPTIONAL) contains the list of annotations associated
    #   with the container. If no annotations were provided then this property MAY either be
    #   absent or an empty map."
    assert st.get("annotations") == bundle.config["annotations"]
    assert rt("start", bundle.id).returncode == 0
    rt.wait_status(bundle.id, "running")
    check_state(schemas, rt.state(bundle.id), bundle.id, bundle.path, "running")
    assert rt("kill", bundle.id, "KILL").returncode == 0
    rt.wait_status(bundle.id, "stopped")
    check_state(schemas, rt.state(bundle.id), bundle.id, bundle.path, "stopped")


# SPEC runtime.md (State): "If no annotations were provided then this property MAY either be
#   absent or an empty map."
def test_state_without_annotations(bundle, rt, schemas):
    bundle.config.pop("annotations", None)
    assert bundle.create(["/probe", "sleep"]).returncode == 0
    st = rt.state(bundle.id)
    schemas.check_state(st)
    assert st.get("annotations") in (None, {})


# SPEC runtime.md "list" is not a spec operation, but its entries are states too: each must
# still satisfy the state schema's required fields where the runtime prints the OCI state.
def test_state_of_bundle_given_by_relative_path(bundle, rt, schemas):
    # SPEC runtime.md: "bundle (string, REQUIRED) is the absolute path to the container's bundle
    #   directory." -- even when create was given a relative --bundle.
    bundle.set_args(["/probe", "sleep"])
    bundle.write()
    # (the container keeps the runtime's stdio: files, not pipes, or run() waits for it)
    with open(bundle.err, "ab") as err:
        r = subprocess.run([RUNTIME, "--root", str(rt.state_root), "create", "--bundle", ".",
                            bundle.id], cwd=bundle.path, stdout=subprocess.DEVNULL, stderr=err,
                           timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, bundle.err.read_text()
    st = rt.state(bundle.id)
    schemas.check_state(st)
    assert os.path.isabs(st["bundle"]) and os.path.samefile(st["bundle"], bundle.path)
