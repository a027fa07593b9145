import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

from testbed import Testbed, dataplane_binary  # noqa: E402


def pytest_configure(config):
    if os.geteuid() != 0:
        pytest.exit("integration tests need root (namespaces, veth, hugepages)", returncode=1)
    if not os.path.exists(dataplane_binary()):
        pytest.exit(f"{dataplane_binary()} is missing: build first (SLUICE_BUILD=dir)",
                    returncode=1)


@pytest.fixture
def bed(request):
    # A short tag per test keeps interface names within IFNAMSIZ (15).
    tag = f"{os.getpid() % 1000}{abs(hash(request.node.name)) % 100}"
    with Testbed(tag=tag) as b:
        yield b
