# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the runtime-spec conformance suite.

The runtime under test is $CELLA (default <repo>/build/cella), any runc-compatible CLI; the
suite also runs against runc (CELLA=/usr/sbin/runc) as the reference.  Bundles, the probe rootfs
and the Runtime wrapper are the integration suite's (tests/integration/conftest.py), loaded here
under another module name so both suites can be collected in one pytest session.
"""
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
INTEGRATION = HERE.parent / "integration"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(INTEGRATION))

import oci_conformance as conformance  # noqa: E402
from helpers import IS_CELLA, RUNTIME  # noqa: E402

_spec = importlib.util.spec_from_file_location("cella_integration_conftest",
                                               INTEGRATION / "conftest.py")
_it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_it)

# Re-exported fixtures (pytest finds fixtures by attribute in a conftest module).
workdir = _it.workdir
state_root = _it.state_root
base_rootfs = _it.base_rootfs
spec_template = _it.spec_template
rt = _it.rt
bundle = _it.bundle
bundle_factory = _it.bundle_factory
host_tree = _it.host_tree  # a host directory with a file and a tmpfs submount


def pytest_configure(config):
    config.addinivalue_line("markers", "cella_only(reason): behaviour runc 1.1 lacks; "
                            "skipped unless the runtime is cella")


def pytest_collection_modifyitems(config, items):
    if IS_CELLA:
        return
    for item in items:
        mark = item.get_closest_marker("cella_only")
        if mark and not any(m.name == "skip" for m in item.iter_markers()):
            reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "")
            item.add_marker(pytest.mark.skip(reason=f"cella_only: {reason}"))


def pytest_report_header(config):
    return f"conformance: runtime under test {RUNTIME} ({'cella' if IS_CELLA else 'not cella'})"


@pytest.fixture(scope="session")
def schemas():
    """Validators for the official runtime-spec JSON schemas (Debian's copy)."""
    return conformance.Schemas.load()


@pytest.fixture
def hooks(bundle):
    """Writes hook programs that log what they see into the bundle (see conformance.Hooks)."""
    return conformance.Hooks(bundle)


@pytest.fixture
def host_ns():
    return {n: os.readlink(f"/proc/self/ns/{n}") for n in conformance.NS_FILES.values()}


@pytest.fixture
def config_json(bundle):
    """Reads back the bundle's config.json as written."""
    return lambda: json.loads((bundle.path / "config.json").read_text())
