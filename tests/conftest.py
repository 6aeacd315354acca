"""Shared fixtures: the real IPFS node and trustless gateway, a PEP 503 index on 127.0.0.1,
and wheel builders."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))

from ipfs_test_node import IpfsTestNode, is_installed  # noqa: E402
from trustless_gateway import TrustlessGateway  # noqa: E402
from trustless_gateway import is_installed as trustless_gateway_installed  # noqa: E402


@pytest.fixture(scope="session")
def ipfs_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IpfsTestNode]:
    """A js-ipfs daemon started offline on loopback for the whole session.

    Not skipped when missing: .ci/run installs it, and tests that need it must run.
    """
    if not is_installed():
        pytest.fail("js-ipfs test node not installed: run `npm ci` in scripts/ipfs-node")
    node = IpfsTestNode(tmp_path_factory.mktemp("ipfs") / "node")
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def trustless_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrustlessGateway]:
    """A Helia trustless gateway (no network) over an empty blockstore, for the whole session.

    Not skipped when missing: .ci/run installs it, and tests that need it must run.
    """
    if not trustless_gateway_installed():
        pytest.fail("Helia trustless gateway not installed: run `npm ci` in scripts/ipfs-node")
    gateway = TrustlessGateway(tmp_path_factory.mktemp("helia"))
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()
