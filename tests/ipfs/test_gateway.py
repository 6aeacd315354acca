"""Gateway fetching: verified by CID, every failure mode falls back to the next gateway."""

from __future__ import annotations

import hashlib
import inspect
import os
import tempfile
import threading
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.gateways import BEHAVIOURS, block_gateway, content_gateway
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.cid import CID, cid_for_block
from wheelset.ipfs.dagpb import FILE, PBLink, PBNode, UnixFSData, encode_node, encode_unixfs
from wheelset.ipfs.directory import build_directory
from wheelset.ipfs.gateway import (
    DEFAULT_GATEWAYS,
    FetchCancelled,
    FetchError,
    FetchOptions,
    GatewayFetcher,
    configured_gateways,
    gateway_urls,
    normalise_gateway,
)
from wheelset.ipfs.importer import ImportParams, import_bytes

DATA = os.urandom(700_000)  # three chunks: a real multi-block DAG
CID0 = import_bytes(DATA).cid
SHA = hashlib.sha256(DATA).hexdigest()
FILES = {f"/ipfs/{CID0}": DATA}
DEAD = "http://127.0.0.1:9"  # discard port: nothing listens, connection refused


@pytest.fixture()
def http():
    with httpx.Client(follow_redirects=True) as client:
        yield client


def _fetch(gateways: list[str], http: httpx.Client, dest: Path, **kwargs):
    fetcher = GatewayFetcher(gateways, http=http, timeout=kwargs.pop("timeout", 5.0))
    return fetcher.fetch_file(CID0, dest, size=len(DATA), sha256=SHA, label="data.bin", **kwargs)


def test_fetch_verifies_and_reports_the_gateway(tmp_path: Path, http) -> None:
    with content_gateway(FILES) as good:
        got = _fetch([good.url], http, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == DATA
    assert (got.cid, got.size, got.sha256, got.gateway, got.failures) == (
        CID0,
        len(DATA),
        SHA,
        good.url,
        (),
    )


@pytest.mark.parametrize(
    ("behaviour", "kind"),
    [
        ("flip", "mismatch"),
        ("truncate", "transport"),
        ("short", "truncated"),
        ("oversize", "oversized"),
        ("stall", "timeout"),
        ("404", "not-found"),
        ("500", "http"),
    ],
)
def test_each_failure_falls_back_to_the_next_gateway(
    tmp_path: Path, http, behaviour: str, kind: str
) -> None:
    with (
        content_gateway(FILES, behaviour, stall_seconds=3) as bad,
        content_gateway(FILES) as good,
    ):
        got = _fetch([bad.url, good.url], http, tmp_path / "out", timeout=0.5)
    assert got.gateway == good.url
    assert [(f.gateway, f.kind) for f in got.failures] == [(bad.url, kind)]
    assert (tmp_path / "out").read_bytes() == DATA


def test_all_gateways_failing_is_one_line_naming_each(tmp_path: Path, http) -> None:
    with (
        content_gateway(FILES, "flip") as flipper,
        content_gateway(FILES, "404") as missing,
        pytest.raises(FetchError) as info,
    ):
        _fetch([flipper.url, missing.url, DEAD], http, tmp_path / "out")
    line = info.value.one_line()
    assert "\n" not in line
    assert "data.bin" in line and str(CID0) in line
    for url in (flipper.url, missing.url, DEAD):
        assert url in line
    assert [f.kind for f in info.value.failures] == ["mismatch", "not-found", "transport"]
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_oversized_body_is_abandoned_early(tmp_path: Path, http) -> None:
    big = {f"/ipfs/{CID0}": DATA * 20}
    with content_gateway(big) as liar, pytest.raises(FetchError) as info:
        _fetch([liar.url], http, tmp_path / "out")
    assert info.value.failures[0].kind == "oversized"


def test_right_cid_but_wrong_declared_sha256_is_not_retried(tmp_path: Path, http) -> None:
    with content_gateway(FILES) as first, content_gateway(FILES) as second:
        fetcher = GatewayFetcher([first.url, second.url], http=http)
        with pytest.raises(FetchError, match="sha256"):
            fetcher.fetch_file(CID0, tmp_path / "out", sha256="0" * 64)
        assert second.fetches_of(CID0) == 0


def test_progress_is_rewound_for_abandoned_attempts(tmp_path: Path, http) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def progress(delta: int) -> None:
        with lock:
            seen.append(delta)

    with content_gateway(FILES, "flip") as bad, content_gateway(FILES) as good:
        _fetch([bad.url, good.url], http, tmp_path / "out", on_progress=progress)
    assert sum(seen) == len(DATA)
    assert any(d < 0 for d in seen)


def test_cancel_stops_the_fetch(tmp_path: Path, http) -> None:
    cancel = threading.Event()
    cancel.set()
    with content_gateway(FILES) as good, pytest.raises(FetchCancelled):
        _fetch([good.url], http, tmp_path / "out", cancel=cancel)


def test_fetch_file_forwards_exactly_fetch_intos_keywords(tmp_path: Path, http) -> None:
    keywords = [
        p.name
        for p in inspect.signature(GatewayFetcher.fetch_into).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert keywords == list(FetchOptions.__annotations__)
    with pytest.raises(TypeError, match="sha"):
        _fetch(["http://127.0.0.1:1"], http, tmp_path / "out", sha="0" * 64)
    assert list(tmp_path.iterdir()) == []  # no file, no temporary file left


def test_cidv1_raw_leaves_content_is_verified(tmp_path: Path, http) -> None:
    cid1 = import_bytes(DATA, ImportParams(cid_version=1)).cid
    with content_gateway({f"/ipfs/{cid1}": DATA}) as good:
        got = GatewayFetcher([good.url], http=http).fetch_file(cid1, tmp_path / "out")
    assert got.cid == cid1 and got.size == len(DATA)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://gw.example/ipfs/", "https://gw.example"),
        (" https://gw.example/sub/ipfs ", "https://gw.example/sub"),
    ],
)
def test_normalise_gateway(text: str, expected: str) -> None:
    assert normalise_gateway(text) == expected


@pytest.mark.parametrize("text", ["", "ftp://x", "127.0.0.1:8080", "http://"])
def test_normalise_gateway_rejects_non_http(text: str) -> None:
    with pytest.raises(FetchError):
        normalise_gateway(text)


def test_configured_gateways_order() -> None:
    env = {"WHEELSET_GATEWAY": "http://a.test, http://b.test http://a.test"}
    assert configured_gateways(["http://x.test/"], env) == ["http://x.test"]
    assert configured_gateways([], env) == ["http://a.test", "http://b.test"]
    assert configured_gateways([], {}) == list(DEFAULT_GATEWAYS)


def test_a_local_node_answering_is_put_first(http) -> None:
    with content_gateway({"/ipfs/bafkqaaa": b""}) as local:
        env = {"WHEELSET_LOCAL_GATEWAY": local.url}
        assert gateway_urls(["http://remote.test"], environ=env, http=http) == [
            local.url,
            "http://remote.test",
        ]
    env = {"WHEELSET_LOCAL_GATEWAY": DEAD}
    assert gateway_urls(["http://remote.test"], environ=env, http=http) == ["http://remote.test"]
    env = {"WHEELSET_LOCAL_GATEWAY": "off"}
    assert gateway_urls(["http://remote.test"], environ=env, http=http) == ["http://remote.test"]


def test_no_gateway_is_an_error(http) -> None:
    with pytest.raises(FetchError):
        GatewayFetcher([], http=http)


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=600_000), st.sampled_from(BEHAVIOURS[:5]))
def test_any_content_survives_one_bad_gateway(data: bytes, behaviour: str) -> None:
    cid: CID = import_bytes(data).cid
    files = {f"/ipfs/{cid}": data}
    with (
        httpx.Client() as client,
        tempfile.TemporaryDirectory() as tmp,
        content_gateway(files, behaviour) as bad,
        content_gateway(files) as good,
    ):
        got = GatewayFetcher([bad.url, good.url], http=client).fetch_file(
            cid, Path(tmp) / "out", size=len(data)
        )
        assert Path(tmp, "out").read_bytes() == data
    assert got.cid == cid


def _blocks(data: bytes, params: ImportParams | None = None) -> tuple[CID, dict[str, bytes]]:
    store = MemoryBlockStore()
    params = params or ImportParams()
    cid = import_bytes(data, params, store=store).cid
    return cid, {str(c): block for c, block in store.items()}


@pytest.mark.parametrize("params", [ImportParams(), ImportParams(cid_version=1)])
def test_a_trustless_only_gateway_is_read_block_by_block(
    tmp_path: Path, http, params: ImportParams
) -> None:
    cid, blocks = _blocks(DATA, params)
    assert len(blocks) == 4  # three leaves and their parent
    with block_gateway(blocks) as trustless:
        got = GatewayFetcher([trustless.url], http=http).fetch_file(
            cid, tmp_path / "out", size=len(DATA), sha256=SHA
        )
    assert (tmp_path / "out").read_bytes() == DATA
    assert (got.gateway, got.size, got.sha256, got.failures) == (trustless.url, len(DATA), SHA, ())
    assert sum("format=raw" in r for r in trustless.requests) == 4


@pytest.mark.parametrize(
    ("behaviour", "kind"), [("flip", "mismatch"), ("404", "not-found"), ("oversize", "mismatch")]
)
def test_a_bad_block_falls_back_to_the_next_gateway(
    tmp_path: Path, http, behaviour: str, kind: str
) -> None:
    cid, blocks = _blocks(DATA)
    leaf = next(c for c in blocks if c != str(cid))
    with block_gateway(blocks, behaviour, only=leaf) as bad, content_gateway(FILES) as good:
        got = GatewayFetcher([bad.url, good.url], http=http).fetch_file(cid, tmp_path / "out")
    assert got.gateway == good.url and [(f.gateway, f.kind) for f in got.failures] == [
        (bad.url, kind)
    ]
    assert (tmp_path / "out").read_bytes() == DATA


def test_a_dag_larger_than_declared_is_refused(tmp_path: Path, http) -> None:
    cid, blocks = _blocks(DATA)
    with block_gateway(blocks) as trustless, pytest.raises(FetchError) as info:
        GatewayFetcher([trustless.url], http=http).fetch_file(cid, tmp_path / "out", size=1000)
    assert info.value.failures[0].kind == "oversized"


def test_a_directory_is_not_a_file(tmp_path: Path, http) -> None:
    store = MemoryBlockStore()
    child = import_bytes(b"hello", store=store)
    directory = build_directory([("a.txt", child)], store=store)
    blocks = {str(c): b for c, b in store.items()}
    with block_gateway(blocks) as trustless, pytest.raises(FetchError) as info:
        GatewayFetcher([trustless.url], http=http).fetch_file(directory.cid, tmp_path / "out")
    assert info.value.failures[0].kind == "invalid"


def test_a_dag_of_empty_blocks_is_cut_off(tmp_path: Path, http) -> None:
    # Each node links the one below 1000 times, down to an empty leaf: 1000**3 leaves to
    # walk and not a byte written, so only a count of blocks can stop it.
    empty = import_bytes(b"", ImportParams(cid_version=1))
    blocks = {str(empty.cid): b""}
    below = empty.cid
    for _ in range(3):
        node = encode_node(
            PBNode(
                tuple(PBLink(below, "", 0) for _ in range(1000)), encode_unixfs(UnixFSData(FILE))
            )
        )
        below = cid_for_block(node, version=1)
        blocks[str(below)] = node
    with block_gateway(blocks) as trustless, pytest.raises(FetchError) as info:
        GatewayFetcher([trustless.url], http=http).fetch_file(below, tmp_path / "out", size=10)
    assert info.value.failures[0].kind == "invalid"
    assert "more blocks than a file of 10 bytes" in str(info.value)
    assert len(trustless.requests) < 100
