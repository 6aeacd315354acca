"""With a node (--api), files are read from its RPC first — one CAR per file (`dag/export`),
block by block where the CAR does not serve — each block verified."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.gateways import content_gateway
from tests.support.index import JsonHandler, serve_handler
from wheelset.fetch.http import http_client
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import write_car
from wheelset.ipfs.gateway import FetchError, GatewayFetcher
from wheelset.ipfs.importer import import_bytes
from wheelset.ipfs.loopback import LoopbackRpc
from wheelset.ipfs.resolver import NodeBlocks
from wheelset.ipfs.rpc import KuboRpc

DEAD = "http://127.0.0.1:9"  # discard port: nothing listens
ON_NODE = os.urandom(600_000)  # four blocks: a root and three leaves
ELSEWHERE = os.urandom(1000)  # never given to the node
CHUNK = os.urandom(262_144)
REPEATING = CHUNK + CHUNK + b"tail"  # its first two leaves are one block: a CAR holds it once


@pytest.fixture()
def node(ipfs_node):
    with http_client(30, indexes=False) as http:
        KuboRpc(ipfs_node.api_url, http=http).add(ON_NODE, "on-node.bin")
        KuboRpc(ipfs_node.api_url, http=http).add(REPEATING, "repeating.bin")
        yield NodeBlocks(ipfs_node.api_url, http, timeout=30), http


def test_a_file_comes_from_the_node_block_by_block(node, tmp_path: Path) -> None:
    blocks, http = node
    fetcher = GatewayFetcher([DEAD], http=http, timeout=5)
    fetcher.use_node(blocks.name, blocks.file_block)
    cid = import_bytes(ON_NODE).cid
    got = fetcher.fetch_file(cid, tmp_path / "f", size=len(ON_NODE))
    assert (tmp_path / "f").read_bytes() == ON_NODE
    assert (got.gateway, got.failures) == (blocks.name, ())
    assert got.sha256 == hashlib.sha256(ON_NODE).hexdigest()


class Counted:
    """A node's block getter that counts the blocks asked of it."""

    def __init__(self, block):
        self.block = block
        self.asked = 0

    def __call__(self, cid):
        self.asked += 1
        return self.block(cid)


@pytest.mark.parametrize("content", [ON_NODE, REPEATING], ids=["four-blocks", "repeated-leaf"])
def test_a_file_comes_from_the_node_in_one_car(node, tmp_path: Path, content: bytes) -> None:
    blocks, http = node
    fetcher = GatewayFetcher([DEAD], http=http, timeout=5)
    one_by_one = Counted(blocks.file_block)
    fetcher.use_node(blocks.name, one_by_one, blocks.file_car)
    got = fetcher.fetch_file(import_bytes(content).cid, tmp_path / "f", size=len(content))
    assert (tmp_path / "f").read_bytes() == content
    assert (got.gateway, got.failures) == (blocks.name, ())
    # The repeated leaf is in the node's CAR once: the walk asks the node for it again.
    assert one_by_one.asked == (1 if content is REPEATING else 0)


def test_a_car_the_walk_cannot_use_falls_back_to_the_nodes_blocks(node, tmp_path: Path) -> None:
    blocks, http = node
    cid = import_bytes(ON_NODE).cid
    store = MemoryBlockStore()
    other = import_bytes(ELSEWHERE, store=store)

    @contextlib.contextmanager
    def foreign_car(asked, size) -> Iterator[io.BytesIO]:
        # A well-formed CAR whose blocks are all sound, but of another file.
        out = io.BytesIO()
        write_car(out, [other.cid], store.items())
        out.seek(0)
        yield out

    for car in (foreign_car, lambda asked, size: contextlib.nullcontext(io.BytesIO(b"not a CAR"))):
        fetcher = GatewayFetcher([DEAD], http=http, timeout=5)
        one_by_one = Counted(blocks.file_block)
        fetcher.use_node(blocks.name, one_by_one, car)
        got = fetcher.fetch_file(cid, tmp_path / "f", size=len(ON_NODE))
        assert (tmp_path / "f").read_bytes() == ON_NODE
        assert (got.gateway, got.failures, one_by_one.asked) == (blocks.name, (), 4)


def test_a_file_the_node_lacks_comes_from_a_gateway_without_a_warning(node, tmp_path: Path) -> None:
    blocks, http = node
    cid = import_bytes(ELSEWHERE).cid
    with content_gateway({f"/ipfs/{cid}": ELSEWHERE}) as gateway:
        fetcher = GatewayFetcher([gateway.url], http=http, timeout=5)
        fetcher.use_node(blocks.name, blocks.file_block, blocks.file_car)
        started = time.monotonic()
        # The size known (as install knows it), the node is asked for the file's CAR.
        got = fetcher.fetch_file(cid, tmp_path / "f", size=len(ELSEWHERE))
    assert time.monotonic() - started < 10
    assert (got.gateway, got.failures) == (gateway.url, ())
    # Without any gateway holding it, the node's answer is named too.
    fetcher = GatewayFetcher([DEAD], http=http, timeout=5)
    fetcher.use_node(blocks.name, blocks.file_block, blocks.file_car)
    with pytest.raises(FetchError, match=f"{blocks.name}: .*; {DEAD}: "):
        fetcher.fetch_file(cid, tmp_path / "g")


def test_a_node_handing_out_wrong_blocks_is_said_and_passed_over(node, tmp_path: Path) -> None:
    _, http = node
    cid = import_bytes(ELSEWHERE).cid
    with content_gateway({f"/ipfs/{cid}": ELSEWHERE}) as gateway:
        fetcher = GatewayFetcher([gateway.url], http=http, timeout=5)
        fetcher.use_node("hostile-node", lambda block: b"not " + bytes(block.digest))
        got = fetcher.fetch_file(cid, tmp_path / "f")
    assert (tmp_path / "f").read_bytes() == ELSEWHERE
    assert got.gateway == gateway.url
    assert [(f.gateway, f.kind) for f in got.failures] == [("hostile-node", "mismatch")]


def test_the_node_is_asked_for_a_files_blocks_offline() -> None:
    """Kubo's global `offline` option makes a node refuse a block it lacks at once instead of
    searching the network for it (js-ipfs, offline anyway, ignores it). A stand-in RPC that
    answers as Kubo does offline records what it was asked."""
    asked: list[dict[str, list[str]]] = []

    class OfflineRpc(JsonHandler):
        def do_POST(self) -> None:
            asked.append(parse_qs(urlsplit(self.path).query))
            self.send_json(500, {"Message": "block was not found locally (offline)", "Code": 0})

    cid = import_bytes(ELSEWHERE).cid
    with (
        serve_handler(OfflineRpc) as url,
        http_client(30, indexes=False) as http,
        pytest.raises(FetchError, match="not found locally"),
    ):
        NodeBlocks(url, http, timeout=30).file_block(cid)
    assert [(q["arg"], q.get("offline")) for q in asked] == [([str(cid)], ["true"])]


@contextlib.contextmanager
def _root_through_node(ipfs_node, tmp_path: Path, wheel: Path):
    """The published root of ``wheel`` opened through the node, its requests' paths
    recorded: (published, root, node, fetcher, asked)."""
    from tests.support.roots import publish_test_root
    from wheelset.client.root import open_root, parse_root_ref, root_resolver

    published = publish_test_root(ipfs_node.api_url, [wheel])
    asked: list[str] = []
    calling = LoopbackRpc._call

    def recorded(rpc: LoopbackRpc, command: str, *args: object):
        asked.append(f"/api/v0/{command}")
        return calling(rpc, command, *args)

    # The node is on this machine: its calls go through LoopbackRpc, not the HTTP client.
    with (
        http_client(30, indexes=False) as http,
        mock.patch.object(LoopbackRpc, "_call", recorded),
    ):
        http.event_hooks["request"].append(lambda request: asked.append(request.url.path))
        fetcher = GatewayFetcher([DEAD], http=http, timeout=5)
        resolver = root_resolver(fetcher, tmp_path / "cache", api=ipfs_node.api_url, http=http)
        root = open_root(parse_root_ref(str(published.cid)), resolver)
        node = root.node()
        assert node is not None
        yield published, root, node, fetcher, asked


def test_a_small_project_comes_in_one_car_and_its_wheel_without_another_request(
    ipfs_node, tmp_path: Path
) -> None:
    """A project whose directory is small comes from the node in one `dag/export` (its
    directory, project file and wheel); the wheel's blocks it held are fetched, each
    verified, without asking the node again."""
    from tests.support.wheels import make_wheel

    wheel = make_wheel(tmp_path, "held", "1.0", files={"held/data.py": os.urandom(300_000)})
    with _root_through_node(ipfs_node, tmp_path, wheel) as (published, root, node, fetcher, asked):
        decl = published.declarations[wheel.name]
        node.export_small_dags()
        asked.clear()
        assert [e.declaration for e in root.project("held") or ()] == [decl]
        assert asked == ["/api/v0/dag/export"]
        assert node.holds(decl.content_id)
        fetcher.use_node(node.name, node.file_block, node.file_car, node.holds)
        got = fetcher.fetch_file(decl.content_id, tmp_path / "w", size=decl.size)
    assert asked == ["/api/v0/dag/export"]
    assert (tmp_path / "w").read_bytes() == wheel.read_bytes()
    assert (got.gateway, got.sha256) == (node.name, decl.sha256)
    assert not node.holds(decl.content_id)  # handed out once: not kept beyond its use


@pytest.mark.parametrize("case", ["larger-than-the-bound", "no-wheels-to-fetch"])
def test_a_project_is_read_block_by_block(
    ipfs_node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """A project larger than the bound, or read by a command that fetches no wheels (export,
    diff), comes block by block: its wheels are not sent."""
    from tests.support.wheels import make_wheel
    from wheelset.ipfs import resolver as resolver_module

    wheel = make_wheel(tmp_path, "large", "1.0", files={"large/data.py": os.urandom(30_000)})
    if case == "larger-than-the-bound":
        monkeypatch.setattr(resolver_module, "WHOLE_DAG_SIZE", 20_000)
    with _root_through_node(ipfs_node, tmp_path, wheel) as (published, root, node, _, asked):
        if case == "larger-than-the-bound":
            node.export_small_dags()
        asked.clear()
        entries = root.project("large") or ()
    assert [e.declaration for e in entries] == [published.declarations[wheel.name]]
    # The directory block, then the project file's.
    assert asked == ["/api/v0/block/get"] * 2
    assert not node.holds(entries[0].declaration.content_id)
