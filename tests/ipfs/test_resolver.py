"""Verified path resolution against a trustless gateway of ours that lies in every way a
CAR or a raw block can: each lie is refused with one line naming the path, and the next
gateway is used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.trustless import Blocks, Tamper, path_blocks, trustless_server
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import write_car
from wheelset.ipfs.cid import CID, RAW, cid_for_block
from wheelset.ipfs.dagpb import HAMT_SHARD, decode_node, decode_unixfs
from wheelset.ipfs.directory import build_tree
from wheelset.ipfs.gateway import GatewayFetcher
from wheelset.ipfs.importer import import_bytes
from wheelset.ipfs.resolver import (
    BlockDir,
    CarBlocks,
    GatewayBlocks,
    NoSuchPath,
    PathError,
    PathResolver,
)
from wheelset.ipfs.varint import encode_varint

COUNT = 7000  # entries: past Kubo's HAMT threshold, two shard levels below the root
BIG = bytes(range(256)) * 4096  # 1 MiB: a file of several blocks


def content(name: str) -> bytes:
    return f'{{"name": "{name}"}}\n'.encode()


def build(store: MemoryBlockStore, salt: str = "") -> CID:
    tree: dict = {
        f"p{i:04d}": {"index.json": import_bytes(content(f"p{i:04d}{salt}"), store=store)}
        for i in range(COUNT)
    }
    tree["big"] = {"data.bin": import_bytes(BIG, store=store)}
    return build_tree(tree, store=store).cid


@pytest.fixture(scope="module")
def store() -> MemoryBlockStore:
    return MemoryBlockStore()


@pytest.fixture(scope="module")
def root(store: MemoryBlockStore) -> CID:
    return build(store)


@pytest.fixture(scope="module")
def other() -> tuple[MemoryBlockStore, CID]:
    """Another root with the same names and different file contents."""
    store = MemoryBlockStore()
    return store, build(store, salt="-other")


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def resolver(http: httpx.Client, *gateways: str, cache: Path | None = None) -> PathResolver:
    fetcher = GatewayFetcher(list(gateways), http=http, timeout=5)
    return PathResolver(
        [GatewayBlocks(fetcher, g) for g in gateways],
        cache=BlockDir(cache) if cache is not None else None,
    )


def test_root_is_sharded_and_reads_verify(store: MemoryBlockStore, root: CID, http) -> None:
    meta = decode_unixfs(decode_node(store.get(root)).data or b"")
    assert meta.type == HAMT_SHARD
    on_path = path_blocks(store, root, ["p0042", "index.json"])
    assert len(on_path) >= 4  # root shard, a sub-shard, the project directory, the file
    with trustless_server(store) as gateway:
        reader = resolver(http, gateway.url)
        assert reader.read(root, ["p0042", "index.json"], max_size=1000) == content("p0042")
        assert reader.read(root, ["big", "data.bin"], max_size=2 << 20) == BIG
        # One CAR request per path, not one request per block.
        assert [("format=car" in r) for r in gateway.requests] == [True, True]
        listing = reader.listing(root)
        assert len(listing) == COUNT + 1
        # A gateway's 404 proves nothing: the absence is read from verified blocks.
        with pytest.raises(NoSuchPath, match="no entry 'p9999'"):
            reader.read(root, ["p9999", "index.json"], max_size=1000)
    assert any("format=raw" in r for r in gateway.requests[3:])


def _swap(index: int) -> Tamper:
    """Replace the index-th block on the path by a self-consistent block of other bytes."""

    def blocks(sent: Blocks) -> Blocks:
        cid, block = sent[index]
        forged = block + b"\x00" if cid.codec == 0x55 else block[:-1] + bytes([block[-1] ^ 1])
        sent = list(sent)
        sent[index] = (cid_for_block(forged, version=cid.version, codec=cid.codec), forged)
        return sent

    return Tamper(blocks=blocks)


def _foreign(other: tuple[MemoryBlockStore, CID]) -> Tamper:
    """The project file's block taken from another root."""
    store, other_root = other

    def blocks(sent: Blocks) -> Blocks:
        return [*sent[:-1], path_blocks(store, other_root, ["p0042", "index.json"])[-1]]

    return Tamper(blocks=blocks)


def _extra(sent: Blocks) -> Blocks:
    block = b"an unrelated block"
    return [*sent, (cid_for_block(block, codec=0x55, version=1), block)]


def _car_without_header_cut(body: bytes) -> bytes:
    return body[: len(body) - 7]


LIES = {
    "root directory substituted": lambda other: _swap(0),
    "HAMT shard substituted": lambda other: _swap(1),
    "project directory substituted": lambda other: _swap(-2),
    "project file substituted": lambda other: _swap(-1),
    "block from another root": _foreign,
    "truncated CAR": lambda other: Tamper(car=_car_without_header_cut),
    "CAR with an extra block": lambda other: Tamper(blocks=_extra),
    "CAR with a missing block": lambda other: Tamper(blocks=lambda sent: sent[:-1]),
}


@pytest.mark.parametrize("lie", sorted(LIES))
def test_a_lying_car_is_refused_and_the_next_gateway_used(
    lie: str, store: MemoryBlockStore, root: CID, other, http
) -> None:
    tamper = LIES[lie](other)
    with trustless_server(store, tamper) as bad, trustless_server(store) as good:
        with pytest.raises(PathError) as refused:
            resolver(http, bad.url).read(root, ["p0042", "index.json"], max_size=1000)
        message = refused.value.one_line()
        assert "/p0042/index.json" in message and bad.url in message
        assert "\n" not in message
        data = resolver(http, bad.url, good.url).read(root, ["p0042", "index.json"], max_size=1000)
        assert data == content("p0042")
        assert len(good.requests) == 1


def test_a_raw_block_that_lies_is_refused(store: MemoryBlockStore, root: CID, http) -> None:
    def raw(cid: CID, block: bytes) -> bytes:
        return block + b"x"

    tamper = Tamper(raw=raw, blocks=lambda sent: sent)
    with trustless_server(store, tamper, car=False) as bad, trustless_server(store) as good:
        with pytest.raises(PathError, match="answer is not block"):
            resolver(http, bad.url).read(root, ["p0001", "index.json"], max_size=1000)
        reader = resolver(http, bad.url, good.url)
        assert reader.read(root, ["p0001", "index.json"], max_size=1000) == content("p0001")


def test_without_car_blocks_come_one_by_one(store: MemoryBlockStore, root: CID, http) -> None:
    with trustless_server(store, car=False) as gateway:
        reader = resolver(http, gateway.url)
        assert reader.read(root, ["p0007", "index.json"], max_size=1000) == content("p0007")
    raw = [r for r in gateway.requests if "format=raw" in r]
    assert len(raw) == len(path_blocks(store, root, ["p0007", "index.json"]))


def test_cached_blocks_need_no_gateway_and_shorten_the_car(
    tmp_path: Path, store: MemoryBlockStore, root: CID, http
) -> None:
    with trustless_server(store) as gateway:
        reader = resolver(http, gateway.url, cache=tmp_path / "blocks")
        reader.read(root, ["p0003", "index.json"], max_size=1000)
        first = reader.fetched_bytes
        assert reader.read(root, ["p0003", "index.json"], max_size=1000) == content("p0003")
        assert reader.fetched_bytes == first and len(gateway.requests) == 1
    # A planted cache file is not trusted: the block is refetched.
    for file in (tmp_path / "blocks").iterdir():
        file.write_bytes(b"planted")
    with trustless_server(store) as gateway:
        reader = resolver(http, gateway.url, cache=tmp_path / "blocks")
        assert reader.read(root, ["p0003", "index.json"], max_size=1000) == content("p0003")
        assert len(gateway.requests) == 1


def test_a_car_file_is_a_source(tmp_path: Path, store: MemoryBlockStore, root: CID) -> None:
    car = tmp_path / "root.car"
    with car.open("wb") as out:
        write_car(out, [root], store.items())
    source = CarBlocks(car)
    assert source.roots() == (root,)
    reader = PathResolver([source])
    assert reader.read(root, ["p0100", "index.json"], max_size=1000) == content("p0100")


def test_a_car_file_read_out_of_order(tmp_path: Path, store: MemoryBlockStore, root: CID) -> None:
    # The store's order is not depth-first from the root: searches wrap, then it is indexed.
    car = tmp_path / "root.car"
    with car.open("wb") as out:
        write_car(out, [root], store.items())
    reader = PathResolver([CarBlocks(car)])
    for i in reversed(range(0, COUNT, 61)):
        name = f"p{i:04d}"
        assert reader.read(root, [name, "index.json"], max_size=1000) == content(name)
    with pytest.raises(NoSuchPath):
        reader.read(root, ["p9999", "index.json"], max_size=1000)


def test_a_car_file_naming_blocks_by_other_cid_versions(
    tmp_path: Path, store: MemoryBlockStore, root: CID
) -> None:
    car = tmp_path / "v1.car"  # every section's CID a CIDv1; the directories link CIDv0s
    with car.open("wb") as out:
        write_car(out, [root.to_v1()], ((cid.to_v1(), block) for cid, block in store.items()))
    reader = PathResolver([CarBlocks(car)])
    assert reader.read(root, ["p0100", "index.json"], max_size=1000) == content("p0100")


def test_a_car_search_skips_a_cid_inside_another_block(tmp_path: Path) -> None:
    target = b"the real block"
    cid = cid_for_block(target, version=1, codec=RAW)
    # A block before it holds what looks like its section: length, CID, other bytes.
    decoy = encode_varint(len(cid.to_bytes()) + len(target)) + cid.to_bytes() + b"x" * len(target)
    car = tmp_path / "decoy.car"
    with car.open("wb") as out:
        write_car(out, [cid], [(cid_for_block(decoy, version=1, codec=RAW), decoy), (cid, target)])
    assert CarBlocks(car).block(cid) == target
    assert PathResolver([CarBlocks(car)]).block(cid) == target


def test_no_source_says_so(root: CID) -> None:
    with pytest.raises(PathError, match="no source of blocks"):
        PathResolver([]).read(root, ["p0001", "index.json"], max_size=1000)


def test_differences_fetch_only_the_shards_that_differ(http) -> None:
    blocks = MemoryBlockStore()
    a = build(blocks)
    # B: one entry changed, one removed, one added; the other 6,998 the same.
    tree: dict = {
        f"p{i:04d}": {"index.json": import_bytes(content(f"p{i:04d}"), store=blocks)}
        for i in range(COUNT)
        if i != 20
    }
    tree["p0010"] = {"index.json": import_bytes(content("p0010-new"), store=blocks)}
    tree["p9999"] = {"index.json": import_bytes(content("p9999"), store=blocks)}
    tree["big"] = {"data.bin": import_bytes(BIG, store=blocks)}
    b = build_tree(tree, store=blocks).cid
    with trustless_server(blocks) as gateway:
        found = resolver(http, gateway.url).differences(a, b)
        assert sorted(found) == ["p0010", "p0020", "p9999"]
        assert found["p0020"][1] is None and found["p9999"][0] is None
        assert None not in found["p0010"] and found["p0010"][0] != found["p0010"][1]
        # Each change is at most three shards deep in each root: the ~270 shards of the
        # two root directories are not all read.
        assert len(gateway.requests) <= 2 + 3 * 2 * 2, gateway.requests
        assert resolver(http, gateway.url).differences(a, a) == {}
