"""wheelset's gateway client against a real trustless gateway: Helia 7 + @helia/verified-fetch 8.

The gateway (scripts/ipfs-node/trustless-gateway.mjs, fixture ``trustless_gateway``) holds
only what the tests import: CARs written by wheelset's importer and CAR writer. Its blocks
are stored as given, so a test can make it serve a substituted block. What it answers, as
observed here and checked below (the facts wheelset's verified path resolution rests on):

- ``?format=raw`` or ``Accept: application/vnd.ipld.raw``: 200, exactly the block,
  ``Content-Type: application/vnd.ipld.raw``, with Content-Length. With a path
  (``/ipfs/<dir>/<name>?format=raw``) the path is resolved and the last block is answered;
  ``X-Ipfs-Roots`` lists the CIDs along the path, as CIDv1.
- ``?format=car`` or ``Accept: application/vnd.ipld.car``: 200, chunked (no Content-Length),
  ``Content-Type: application/vnd.ipld.car; version=1; order=unk; dups=y`` unless the Accept
  header asks ``order=dfs`` / ``dups=n`` (echoed in the answer's type).
  The CAR header's single root is the CID the path ENDS at, not the CID in the URL.
  Blocks, every one hashing to its CID unless the store was given a bad one:
  - first the blocks that lead to the target, root first (directory blocks, and in a HAMT
    directory each shard on the way), then the target's scope;
  - ``dag-scope=entity``: a file's whole DAG in depth-first pre-order (whatever ``order``
    says); for a directory only its own block (a HAMT: all its shard blocks), no entries;
  - ``dag-scope=block``: the target's block only;
  - ``dag-scope=all`` (the default): the whole DAG, breadth-first, or depth-first pre-order
    with ``order=dfs``;
  - ``dups=y`` repeats a block each time the DAG links it (a file of zeros: one leaf, many
    times); ``dups=n`` sends it once.
- A block the gateway does not hold: ``?format=raw`` answers 412 (verified-fetch offline);
  a missing name on a path 404; a CAR or a file whose later block is missing starts 200 and
  the connection is cut mid-body (httpx: RemoteProtocolError).
- A path request without format or Accept answers the file's bytes
  (``application/octet-stream`` for random bytes); a directory's own dag-pb block
  (``application/vnd.ipld.dag-pb``), no HTML listing; ``/ipfs/bafkqaaa`` 200 and empty.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import httpx
import pytest

from tests.support.gateways import tampering_proxy
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import InvalidCAR, read_car, write_car
from wheelset.ipfs.cid import CID, DAG_PB
from wheelset.ipfs.dagpb import decode_node
from wheelset.ipfs.directory import build_directory, hamt_hash
from wheelset.ipfs.gateway import FetchError, GatewayFetcher, gateway_urls
from wheelset.ipfs.importer import Imported, ImportParams, import_bytes

CHUNK = 262_144
CAR_TYPE = "application/vnd.ipld.car; version=1; order=unk; dups=y"
RAW_TYPE = "application/vnd.ipld.raw"
KUBO = ImportParams()
# Small chunks and links make a three-level DAG of 30 blocks out of 20 KiB, so orders differ.
DEEP = ImportParams(chunk_size=1024, max_links=4)


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


class Dag:
    """Blocks built by wheelset's importer, and a CAR of them from wheelset's writer."""

    def __init__(self) -> None:
        self.store = MemoryBlockStore()

    def file(self, data: bytes, params: ImportParams = KUBO) -> Imported:
        return import_bytes(data, params, store=self.store)

    def directory(self, entries: dict[str, Imported], **kwargs: int) -> Imported:
        return build_directory(entries.items(), store=self.store, **kwargs)

    def block(self, cid: CID) -> bytes:
        return self.store.get(cid)

    def car(self, root: CID, replace: dict[CID, bytes] | None = None) -> bytes:
        replace = replace or {}
        out = io.BytesIO()
        write_car(out, [root], ((c, replace.get(c, b)) for c, b in self.store.items()))
        return out.getvalue()

    def preorder(self, cid: CID) -> list[CID]:
        """The DAG below ``cid`` depth first, parents before children, links in order."""
        if cid.codec != DAG_PB:
            return [cid]
        order = [cid]
        for link in decode_node(self.block(cid)).links:
            order += self.preorder(link.cid)
        return order

    def breadth_first(self, cid: CID) -> list[CID]:
        order, level = [], [cid]
        while level:
            order += level
            level = [
                link.cid
                for c in level
                if c.codec == DAG_PB
                for link in decode_node(self.block(c)).links
            ]
        return order


@pytest.fixture()
def http():
    with httpx.Client(timeout=60) as client:
        yield client


def _get(http: httpx.Client, url: str, accept: str | None = None) -> httpx.Response:
    return http.get(url, headers={"Accept": accept} if accept else {})


def _car_cids(response: httpx.Response) -> tuple[list[CID], list[CID]]:
    """The CAR's roots and its blocks' CIDs in order; read_car hashes every block."""
    assert response.status_code == 200, response.text
    car = read_car(response.content)
    return list(car.roots), [cid for cid, _ in car.blocks]


def _import(gateway, dag: Dag, root: Imported, **kwargs) -> None:
    answer = gateway.import_car(dag.car(root.cid, **kwargs))
    assert answer == {"roots": [str(root.cid)], "blocks": len(dag.store)}


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 5 * CHUNK + 123])
def test_helia_adds_files_with_the_cids_wheelset_computes(trustless_gateway, size: int) -> None:
    data = random_bytes(size, seed=size)
    assert trustless_gateway.add(data) == str(import_bytes(data).cid)


def test_a_multi_block_file_from_a_wheelset_car_is_served_whole(
    trustless_gateway, http, tmp_path: Path
) -> None:
    data = random_bytes(4 * CHUNK + 1000, seed=1)
    dag = Dag()
    root = dag.file(data)
    assert len(dag.store) == 6  # five leaves and their parent
    _import(trustless_gateway, dag, root)
    response = _get(http, f"{trustless_gateway.url}/ipfs/{root.cid}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == data
    fetched = GatewayFetcher([trustless_gateway.url], http=http).fetch_file(
        root.cid, tmp_path / "out", size=len(data)
    )
    assert (fetched.gateway, fetched.failures) == (trustless_gateway.url, ())
    assert (tmp_path / "out").read_bytes() == data


def test_raw_blocks_in_both_request_forms(trustless_gateway, http) -> None:
    dag = Dag()
    root = dag.file(random_bytes(2 * CHUNK + 7, seed=2))
    _import(trustless_gateway, dag, root)
    for base in (trustless_gateway.url, trustless_gateway.trustless_only_url):
        for cid, block in dag.store.items():
            for url, accept in ((f"/ipfs/{cid}?format=raw", None), (f"/ipfs/{cid}", RAW_TYPE)):
                response = _get(http, base + url, accept)
                assert response.status_code == 200, (url, accept)
                assert response.headers["content-type"] == RAW_TYPE
                assert response.headers["content-length"] == str(len(block))
                assert response.content == block


def test_the_trustless_only_face_refuses_file_bytes(trustless_gateway, http) -> None:
    dag = Dag()
    root = dag.file(b"only verifiable responses\n")
    _import(trustless_gateway, dag, root)
    assert _get(http, f"{trustless_gateway.trustless_only_url}/ipfs/{root.cid}").status_code == 406
    assert _get(http, f"{trustless_gateway.url}/ipfs/{root.cid}").content == (
        b"only verifiable responses\n"
    )


@pytest.mark.parametrize(
    ("size", "params", "blocks"),
    [(4 * CHUNK + 1000, KUBO, 6), (20 * 1024 + 5, DEEP, 30)],
    ids=["kubo-layout", "three-levels"],
)
def test_wheelset_reads_a_file_block_by_block_from_helia(
    trustless_gateway, http, tmp_path: Path, size: int, params: ImportParams, blocks: int
) -> None:
    data = random_bytes(size, seed=size)
    dag = Dag()
    root = dag.file(data, params)
    assert len(dag.store) == blocks
    _import(trustless_gateway, dag, root)
    # A recording proxy in front shows what the client asked for.
    with tampering_proxy(trustless_gateway.trustless_only_url) as proxy:
        fetched = GatewayFetcher([proxy.url], http=http).fetch_file(
            root.cid, tmp_path / "out", size=size
        )
    assert (tmp_path / "out").read_bytes() == data
    assert (fetched.cid, fetched.size, fetched.failures) == (root.cid, size, ())
    # One refused file request, one CAR request (the recording proxy passes no content
    # type, so its answer is not taken for a CAR), then each block once, raw, depth first.
    assert proxy.requests == [
        f"/ipfs/{root.cid}",
        f"/ipfs/{root.cid}?format=car&dag-scope=entity",
    ] + [f"/ipfs/{cid}?format=raw" for cid in dag.preorder(root.cid)]


def test_car_entity_of_a_file_is_its_dag_depth_first(trustless_gateway, http) -> None:
    dag = Dag()
    root = dag.file(random_bytes(20 * 1024 + 5, seed=3), DEEP)
    _import(trustless_gateway, dag, root)
    expected = ([root.cid], dag.preorder(root.cid))
    url = f"{trustless_gateway.url}/ipfs/{root.cid}"
    by_format = _get(http, f"{url}?format=car&dag-scope=entity")
    assert by_format.headers["content-type"] == CAR_TYPE
    assert "content-length" not in by_format.headers
    assert _car_cids(by_format) == expected
    by_accept = _get(http, f"{url}?dag-scope=entity", "application/vnd.ipld.car")
    assert by_accept.headers["content-type"] == CAR_TYPE
    assert by_accept.content == by_format.content
    only = f"{trustless_gateway.trustless_only_url}/ipfs/{root.cid}?format=car&dag-scope=entity"
    assert _get(http, only).content == by_format.content


def test_car_scopes_and_orders_of_a_directory(trustless_gateway, http) -> None:
    dag = Dag()
    big = dag.file(random_bytes(20 * 1024 + 5, seed=4), DEEP)
    small = dag.file(random_bytes(3000, seed=5), DEEP)
    root = dag.directory({"big.bin": big, "small.bin": small})
    _import(trustless_gateway, dag, root)
    url = f"{trustless_gateway.url}/ipfs/{root.cid}?format=car"
    assert _car_cids(_get(http, url + "&dag-scope=entity")) == ([root.cid], [root.cid])
    assert _car_cids(_get(http, url + "&dag-scope=block")) == ([root.cid], [root.cid])
    assert _car_cids(_get(http, url)) == ([root.cid], dag.breadth_first(root.cid))
    dfs = _get(http, url, "application/vnd.ipld.car; order=dfs")
    assert dfs.headers["content-type"] == "application/vnd.ipld.car; version=1; order=dfs; dups=y"
    assert _car_cids(dfs) == ([root.cid], dag.preorder(root.cid))
    by_query = _get(http, url + "&car-order=dfs")
    assert by_query.content == dfs.content


def test_car_duplicates_follow_dups(trustless_gateway, http) -> None:
    dag = Dag()
    root = dag.file(bytes(3 * CHUNK))  # three links to one all-zero leaf
    _import(trustless_gateway, dag, root)
    (leaf,) = {link.cid for link in decode_node(dag.block(root.cid)).links}
    url = f"{trustless_gateway.url}/ipfs/{root.cid}?format=car&dag-scope=entity"
    assert _car_cids(_get(http, url)) == ([root.cid], [root.cid, leaf, leaf, leaf])
    once = _get(http, url, "application/vnd.ipld.car; dups=n")
    assert once.headers["content-type"] == "application/vnd.ipld.car; version=1; order=unk; dups=n"
    assert _car_cids(once) == ([root.cid], [root.cid, leaf])
    assert _get(http, url + "&car-dups=n").content == once.content


def test_car_of_a_path_carries_the_blocks_leading_to_it(trustless_gateway, http) -> None:
    dag = Dag()
    wheel = dag.file(random_bytes(2 * CHUNK + 11, seed=6))
    other = dag.file(random_bytes(100, seed=7))
    project = dag.directory({"lib-1.0-py3-none-any.whl": wheel, "index.html": other})
    root = dag.directory({"lib": project, "README": other})
    _import(trustless_gateway, dag, root)
    base = f"{trustless_gateway.url}/ipfs/{root.cid}"
    on_path = [root.cid, project.cid]
    # The CAR's root is where the path ends; the path's blocks come first, root first.
    entity = _get(http, f"{base}/lib/lib-1.0-py3-none-any.whl?format=car&dag-scope=entity")
    assert _car_cids(entity) == ([wheel.cid], on_path + dag.preorder(wheel.cid))
    block = _get(http, f"{base}/lib/lib-1.0-py3-none-any.whl?format=car&dag-scope=block")
    assert _car_cids(block) == ([wheel.cid], [*on_path, wheel.cid])
    listing = _get(http, f"{base}/lib?format=car&dag-scope=entity")
    assert _car_cids(listing) == ([project.cid], on_path)
    raw = _get(http, f"{base}/lib/lib-1.0-py3-none-any.whl?format=raw")
    assert raw.content == dag.block(wheel.cid)
    assert raw.headers["x-ipfs-roots"] == ",".join(str(c.to_v1()) for c in [*on_path, wheel.cid])
    assert _get(http, f"{base}/lib/missing.whl?format=car").status_code == 404


def _colliding_names() -> list[str]:
    """Names whose first two, and only those, share a HAMT bucket: a nested shard."""
    seen: dict[int, str] = {}
    for i in range(10_000):
        name = f"project-{i}"
        bucket = hamt_hash(name.encode())[0]
        if bucket in seen:
            pair = [seen[bucket], name]
            break
        seen[bucket] = name
    return pair + [n for n in seen.values() if n != pair[0]]


def test_car_of_a_path_through_a_hamt_carries_each_shard_on_the_way(
    trustless_gateway, http
) -> None:
    dag = Dag()
    names = _colliding_names()
    files = {name: dag.file(random_bytes(300, seed=100 + i)) for i, name in enumerate(names)}
    root = dag.directory(files, hamt_threshold=0)
    _import(trustless_gateway, dag, root)
    top = decode_node(dag.block(root.cid))
    bucket = f"{hamt_hash(names[1].encode())[0]:02X}"
    (shard,) = [link.cid for link in top.links if link.name == bucket]
    assert sorted(link.name[2:] for link in decode_node(dag.block(shard)).links) == sorted(
        names[:2]
    )
    response = _get(http, f"{trustless_gateway.url}/ipfs/{root.cid}/{names[1]}?format=car")
    assert _car_cids(response) == ([files[names[1]].cid], [root.cid, shard, files[names[1]].cid])
    shards = [root.cid] + [link.cid for link in top.links if len(link.name) == 2]
    listing = _get(http, f"{trustless_gateway.url}/ipfs/{root.cid}?format=car&dag-scope=entity")
    assert _car_cids(listing) == ([root.cid], shards)


def test_missing_blocks(trustless_gateway, http, tmp_path: Path) -> None:
    dag = Dag()
    data = random_bytes(4 * CHUNK + 5, seed=8)
    root = dag.file(data)
    leaves = [link.cid for link in decode_node(dag.block(root.cid)).links]
    dag.store = _without(dag.store, leaves[2])
    trustless_gateway.import_car(dag.car(root.cid))
    url = f"{trustless_gateway.url}/ipfs"
    assert _get(http, f"{url}/{leaves[2]}?format=raw").status_code == 412
    # Started with 200, then cut at the missing block: never a clean end of a partial body.
    for path in (f"{root.cid}?format=car&dag-scope=entity", f"{root.cid}"):
        with pytest.raises(httpx.RemoteProtocolError):
            _get(http, f"{url}/{path}")
    fetcher = GatewayFetcher(
        [trustless_gateway.url, trustless_gateway.trustless_only_url], http=http
    )
    with pytest.raises(FetchError) as info:
        fetcher.fetch_file(root.cid, tmp_path / "out", size=len(data))
    cut, missing = info.value.failures
    # Both answer with a body cut at the missing block: the file, and the one CAR response
    # the trustless-only face is asked for.
    assert (cut.kind, missing.kind) == ("transport", "transport")
    assert cut.reason.startswith("RemoteProtocolError: peer closed connection")
    assert not (tmp_path / "out").exists()


def _without(store: MemoryBlockStore, cid: CID) -> MemoryBlockStore:
    kept = MemoryBlockStore()
    for c, block in store.items():
        if c != cid:
            kept.put(c, block)
    return kept


def test_a_substituted_block_is_served_and_wheelset_refuses_it(
    trustless_gateway, ipfs_node, http, tmp_path: Path
) -> None:
    dag = Dag()
    data = random_bytes(4 * CHUNK + 9, seed=9)
    root = dag.file(data)
    leaves = [link.cid for link in decode_node(dag.block(root.cid)).links]
    # Another leaf of the same file: well-formed dag-pb, but not the block its CID names.
    bad = {leaves[1]: dag.block(leaves[2])}
    _import(trustless_gateway, dag, root, replace=bad)
    helia = f"{trustless_gateway.url}/ipfs"
    assert _get(http, f"{helia}/{leaves[1]}?format=raw").content == dag.block(leaves[2])
    with pytest.raises(InvalidCAR, match=f"section 3: block does not match its CID {leaves[1]}"):
        read_car(_get(http, f"{helia}/{root.cid}?format=car&dag-scope=entity").content)
    # The js-ipfs node, a path gateway, holds the real blocks.
    imported = httpx.post(
        f"{ipfs_node.api_url}/api/v0/dag/import",
        files={"file": ("file.car", dag.car(root.cid), "application/vnd.ipld.car")},
        timeout=300,
    )
    assert json.loads(imported.text.splitlines()[0])["Root"]["Cid"]["/"] == str(root.cid)
    gateways = [trustless_gateway.trustless_only_url, trustless_gateway.url, ipfs_node.gateway_url]
    fetched = GatewayFetcher(gateways, http=http).fetch_file(root.cid, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == data
    assert fetched.gateway == ipfs_node.gateway_url
    by_blocks, whole = fetched.failures
    # The trustless-only face is asked for one CAR: the substituted block is refused there.
    assert (by_blocks.gateway, by_blocks.kind) == (gateways[0], "invalid")
    assert str(leaves[1]) in by_blocks.reason
    assert (whole.gateway, whole.kind) == (gateways[1], "mismatch")
    assert whole.reason.startswith("content is ") and whole.reason.endswith(f", not {root.cid}")


def test_the_local_gateway_probe(trustless_gateway, http) -> None:
    environ = {"WHEELSET_LOCAL_GATEWAY": trustless_gateway.url, "WHEELSET_GATEWAY": "http://x"}
    assert gateway_urls([], environ=environ, http=http) == [trustless_gateway.url, "http://x"]
