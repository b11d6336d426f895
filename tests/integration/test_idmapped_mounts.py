# SPDX-License-Identifier: Apache-2.0
"""Idmapped bind mounts (config.md: `idmap`/`ridmap` options, mount uidMappings/gidMappings):
the parent prepares each source as a detached tree with mount_setattr(MOUNT_ATTR_IDMAP), the init
attaches it. Ownership on disk never changes; what the container sees and writes is mapped."""
import os

import pytest

from helpers import IS_CELLA

MAPS = [{"containerID": 0, "hostID": 100000, "size": 65536}]


@pytest.fixture
def src(host_tree):
    """host_tree (conftest): root-owned "file" and a tmpfs submount "sub" holding "inner"."""
    return host_tree


def userns(bundle):
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    bundle.config["linux"]["uidMappings"] = [dict(m) for m in MAPS]
    bundle.config["linux"]["gidMappings"] = [dict(m) for m in MAPS]


def bind(bundle, src, options, **extra):
    bundle.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": str(src),
                                    "options": options, **extra})


def test_mount_mappings_apply(bundle, src):
    maps = [{"containerID": 0, "hostID": 4242, "size": 1}]
    bind(bundle, src, ["bind", "idmap"], uidMappings=maps, gidMappings=maps)
    f = bundle.probe("stat", "/mnt/file", "stat", "/mnt")
    assert (f["stat:/mnt/file"]["uid"], f["stat:/mnt/file"]["gid"]) == (4242, 4242)
    assert f["stat:/mnt"]["uid"] == 4242
    assert os.stat(src / "file").st_uid == 0


def test_container_maps_borrowed_in_a_user_namespace(bundle, src):
    """Without the option the root-owned files are unmapped (nobody) in the user namespace;
    with `idmap` and no mappings of its own the mount takes the container's: they are root's,
    and what container root writes lands on disk as host root."""
    userns(bundle)
    bind(bundle, src, ["bind", "idmap"])
    f = bundle.probe("stat", "/mnt/file", "write", "/mnt/new", "stat", "/mnt/new")
    assert f["stat:/mnt/file"]["uid"] == 0, f
    assert f["stat:/mnt/new"]["uid"] == 0, f
    st = os.stat(src / "new")
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_without_idmap_files_are_unmapped_in_a_user_namespace(bundle, src):
    """The control for the test above: the difference is the idmapping, not the setup."""
    userns(bundle)
    bind(bundle, src, ["rbind"])  # a user namespace may not bind a tree without its submounts
    f = bundle.probe("stat", "/mnt/file")
    assert f["stat:/mnt/file"]["uid"] == 65534


@pytest.mark.parametrize("option,sub_mapped", [("idmap", False), ("ridmap", True)])
def test_ridmap_maps_submounts(bundle, src, option, sub_mapped):
    maps = [{"containerID": 0, "hostID": 4242, "size": 1}]
    bind(bundle, src, ["rbind", option], uidMappings=maps, gidMappings=maps)
    f = bundle.probe("stat", "/mnt/file", "stat", "/mnt/sub/inner")
    assert f["stat:/mnt/file"]["uid"] == 4242
    assert f["stat:/mnt/sub/inner"]["uid"] == (4242 if sub_mapped else 0), f


def test_idmapped_mount_keeps_other_options(bundle, src):
    maps = [{"containerID": 0, "hostID": 4242, "size": 1}]
    bind(bundle, src, ["bind", "idmap", "ro", "nosuid"], uidMappings=maps, gidMappings=maps)
    f = bundle.probe("write", "/mnt/other", "mounts")
    assert f["write:/mnt/other"]["errno"] == 30  # EROFS
    m = [x for x in f["mounts"] if x["mountpoint"] == "/mnt"][0]
    assert "ro" in m["options"].split(",") and "nosuid" in m["options"].split(","), m
    assert "idmapped" in m["options"].split(","), m


@pytest.mark.skipif(not IS_CELLA, reason="error wording is cella's")
@pytest.mark.parametrize("case,needle", [
    ("no-mappings-no-userns", "uidMappings"),
    ("uid-only", "together"),
    ("not-a-bind", "need a bind mount"),
])
def test_bad_idmapped_mount_is_refused(bundle, src, case, needle):
    maps = [{"containerID": 0, "hostID": 4242, "size": 1}]
    if case == "no-mappings-no-userns":
        bind(bundle, src, ["bind", "idmap"])
    elif case == "uid-only":
        bind(bundle, src, ["bind", "idmap"], uidMappings=maps)
    else:
        bundle.config["mounts"].append({"destination": "/mnt", "type": "tmpfs",
                                        "source": "tmpfs", "options": ["idmap"],
                                        "uidMappings": maps, "gidMappings": maps})
    r = bundle.create(["/probe", "exit", "0"])
    assert r.returncode != 0
    assert needle in r.stderr and "mounts[" in r.stderr, r.stderr
    bundle.assert_no_leaks()
