# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the engine compatibility tests (engines.py says what they do)."""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from engines import CELLA, RUNTIMES, build_docker_archive


def pytest_generate_tests(metafunc):
    """Tests taking `runtime` run once with cella and once with runc (the reference)."""
    if "runtime" in metafunc.fixturenames:
        metafunc.parametrize("runtime", list(RUNTIMES), ids=list(RUNTIMES))


@pytest.fixture(scope="session", autouse=True)
def _requirements():
    if os.geteuid() != 0:
        pytest.skip("engine compatibility tests run engines as root")
    if not os.path.exists(CELLA):
        pytest.skip(f"{CELLA} not built")


@pytest.fixture
def runtime_path(runtime):
    path = RUNTIMES[runtime]
    if not os.path.exists(path):
        pytest.skip(f"{runtime} ({path}) is not installed")
    return path


@pytest.fixture(scope="session")
def compat_dir():
    d = Path(tempfile.mkdtemp(prefix="cella-compat-"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def image_tar(compat_dir):
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        pytest.skip("busybox-static is not installed")
    return build_docker_archive(compat_dir / "busybox.tar", busybox)
