# SPDX-License-Identifier: Apache-2.0
"""features.md: the features document (`features` command) and that the runtime accepts what it
claims."""
import json
import subprocess

import pytest

from helpers import RUNTIME, TIMEOUT
from oci_conformance import IS_CELLA, cella_bug, run_ok, runc_xfail  # noqa: F401


def features():
    try:
        r = subprocess.run([RUNTIME, "features"], capture_output=True, text=True, timeout=TIMEOUT)
    except OSError:
        return None
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


FEATURES = features()
needs_features = pytest.mark.skipif(FEATURES is None, reason=f"{RUNTIME} has no `features`")


# SPEC features.md: "ociVersionMin (string, REQUIRED)" "ociVersionMax (string, REQUIRED)" "The
#   value MUST NOT be less than the value of the ociVersionMin property."  "All properties in the
#   features document except ociVersionMin and ociVersionMax MAY either be absent or have the
#   null value."
@needs_features
def test_features_versions():
    lo, hi = FEATURES["ociVersionMin"], FEATURES["ociVersionMax"]

    def key(v):
        core = v.split("-")[0].split("+")[0]
        return tuple(int(x) for x in core.split("."))
    assert key(hi) >= key(lo)


# SPEC features.md: "ociVersionMin ... The runtime MUST accept this value as the ociVersion
#   property of config.json." (and the same for ociVersionMax)
@needs_features
@pytest.mark.parametrize("which", ["ociVersionMin", "ociVersionMax"])
def test_features_versions_accepted(bundle, which):
    bundle.config["ociVersion"] = FEATURES[which]
    run_ok(bundle, ["/probe", "exit", "0"])


# SPEC features.md (Annotations): "Annotations MUST be a key-value map that follows the same
#   convention as the Key and Values of the annotations property of config.json." (keys:
#   non-empty strings; values: strings)
@needs_features
def test_features_annotations():
    ann = FEATURES.get("annotations") or {}
    assert isinstance(ann, dict)
    for k, v in ann.items():
        assert isinstance(k, str) and k and isinstance(v, str)


# SPEC features.md (Hooks): "The runtime MUST support the elements in this array as the hooks
#   property of config.json."  (each listed hook kind runs; test_oci_hooks.py checks when and how)
@needs_features
@pytest.mark.parametrize("kind", (FEATURES or {}).get("hooks") or [])
def test_features_hooks_supported(bundle, rt, kind):
    log = bundle.rootfs / "hook-ran"
    if kind == "startContainer":
        hook = {"path": "/bin/touch", "args": ["touch", "/hook-ran"]}
    else:
        hook = {"path": "/bin/touch", "args": ["touch", str(log)]}
    bundle.config["hooks"] = {kind: [hook]}
    assert bundle.create(["/probe", "exit", "0"]).returncode == 0
    assert rt("start", bundle.id).returncode == 0
    rt.wait_status(bundle.id, "stopped")
    assert rt("delete", bundle.id).returncode == 0
    assert log.exists(), f"{kind} hook did not run"


BIND_OPTIONS = {"bind", "rbind", "idmap", "ridmap", "private", "rprivate", "shared", "rshared",
                "slave", "rslave", "unbindable", "runbindable"}
SKIP_OPTIONS = {
    "acl": "filesystem-specific (needs a filesystem with ACL mount support)",
    "noacl": "filesystem-specific (needs a filesystem with ACL mount support)",
    "mand": "mandatory locking was removed from Linux 5.15 (MAY in config.md)",
    "remount": "needs an earlier mount entry (test_oci_config.py::test_mount_option_remount)",
}


# SPEC features.md (Mount Options): "The runtime MUST recognize the elements in this array as the
#   options of mounts objects in config.json."
@needs_features
@pytest.mark.parametrize("option", [
    pytest.param(o, marks=runc_xfail("runc 1.1 lists `defaults` but passes it to mount(2) as data "
                                     "(EINVAL); features.md: 'The runtime MUST recognize the "
                                     "elements in this array'")) if o == "defaults" else o
    for o in (FEATURES or {}).get("mountOptions") or []])
def test_features_mount_options_recognized(bundle, workdir, option):
    if option in SKIP_OPTIONS:
        pytest.skip(SKIP_OPTIONS[option])
    if option in BIND_OPTIONS:
        src = workdir / f"{bundle.id}-src"
        src.mkdir()
        m = {"destination": "/mnt", "type": "none", "source": str(src),
             "options": ["rbind", option] if option not in ("bind", "rbind") else [option]}
        if option in ("idmap", "ridmap"):
            maps = [{"containerID": 0, "hostID": 1000, "size": 1}]
            m.update(uidMappings=maps, gidMappings=[dict(x) for x in maps])
    else:
        m = {"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": [option]}
    bundle.config["mounts"].append(m)
    run_ok(bundle, ["/probe", "exit", "0"])
