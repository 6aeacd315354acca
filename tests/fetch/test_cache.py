"""The CID-keyed cache: only verified files enter, cached files are re-verified on use."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from tests.support.gateways import content_gateway
from wheelset.fetch.cache import Cache, default_cache_dir
from wheelset.ipfs.gateway import FetchError, GatewayFetcher
from wheelset.ipfs.importer import import_bytes

DATA = os.urandom(300_000)
CID = import_bytes(DATA).cid
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture()
def http():
    with httpx.Client() as client:
        yield client


def test_second_obtain_comes_from_the_cache(tmp_path: Path, http) -> None:
    cache = Cache(tmp_path)
    with content_gateway({f"/ipfs/{CID}": DATA}) as gateway:
        fetcher = GatewayFetcher([gateway.url], http=http)
        first = cache.obtain(CID, fetcher, "data.whl", size=len(DATA), sha256=SHA)
        second = cache.obtain(CID, fetcher, "data.whl", size=len(DATA), sha256=SHA)
    assert first.source == gateway.url and second.source == "cache"
    assert gateway.fetches_of(CID) == 1
    assert first.path == tmp_path / "files" / str(CID) / "data.whl"
    assert first.path.read_bytes() == DATA


def test_a_corrupted_cache_file_is_refetched(tmp_path: Path, http) -> None:
    cache = Cache(tmp_path)
    path = cache.file_path(CID, "data.whl")
    path.parent.mkdir(parents=True)
    path.write_bytes(DATA[:-1] + b"!")
    assert not cache.cached(CID, "data.whl")
    assert not path.exists()
    path.write_bytes(DATA[:-1] + b"!")
    with content_gateway({f"/ipfs/{CID}": DATA}) as gateway:
        got = cache.obtain(CID, GatewayFetcher([gateway.url], http=http), "data.whl")
    assert got.source == gateway.url and path.read_bytes() == DATA


def test_nothing_unverified_enters_the_cache(tmp_path: Path, http) -> None:
    cache = Cache(tmp_path)
    with content_gateway({f"/ipfs/{CID}": DATA}, "flip") as liar, pytest.raises(FetchError):
        cache.obtain(CID, GatewayFetcher([liar.url], http=http), "data.whl")
    assert not cache.file_path(CID, "data.whl").exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden"])
def test_cache_names_cannot_escape(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        Cache(tmp_path).file_path(CID, name)


def test_default_cache_dir() -> None:
    assert default_cache_dir({"WHEELSET_CACHE_DIR": "/c"}) == Path("/c")
    assert default_cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/wheelset")
    assert default_cache_dir({}).name == "wheelset"


def test_buckets_info_and_clean(tmp_path: Path, http) -> None:
    cache = Cache(tmp_path)
    with content_gateway({f"/ipfs/{CID}": DATA}) as gateway:
        cache.obtain(CID, GatewayFetcher([gateway.url], http=http), "data.whl")
    (tmp_path / "roots").mkdir()
    (tmp_path / "roots" / "x.json").write_bytes(b"{}")
    info = {b.name: (b.files, b.size) for b in cache.info()}
    assert info["files"] == (1, len(DATA)) and info["roots"] == (1, 2)
    assert info["sha256"][0] == 1 and info["metadata"] == (0, 0)
    # The sha256 pointer finds the content by an index's hash, verified.
    found = cache.find_sha256(SHA, "data.whl")
    assert found is not None and found[1].content_id == CID
    assert cache.find_sha256("0" * 64, "data.whl") is None
    assert cache.clean(["roots"]) == 2 and not (tmp_path / "roots").exists()
    assert cache.clean() == len(DATA) + info["sha256"][1]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    with pytest.raises(ValueError, match="unknown cache bucket"):
        cache.clean(["wheels/.."])
