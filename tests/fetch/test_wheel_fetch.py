"""Downloading declared wheels: every source kind, and nothing kept unless the CID matches."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import httpx
import pytest

from tests.support.collection import declaration_of
from tests.support.index import serve_directory, write_index
from tests.support.wheels import make_wheel
from wheelset.fetch import FetchError
from wheelset.fetch.wheel_fetch import ContentMismatch, WheelFetcher
from wheelset.ipfs.importer import import_bytes
from wheelset.ipfs.rpc import KuboRpc


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return make_wheel(tmp_path / "w", "fetchme", "1.0", files={"fetchme/big.bin": bytes(400_000)})


def _fetch(fetcher: WheelFetcher, decl, into: Path):
    into.mkdir(exist_ok=True)
    return fetcher.fetch(decl, into)


def test_from_index_source(tmp_path: Path, wheel: Path) -> None:
    write_index(tmp_path / "site", [wheel])
    decl = declaration_of(wheel)
    with serve_directory(tmp_path / "site") as base, httpx.Client() as http:
        seen: list[int] = []
        got = WheelFetcher(http=http, index_url=f"{base}/simple").fetch(
            decl, tmp_path, on_bytes=seen.append
        )
    assert got.path.read_bytes() == wheel.read_bytes()
    assert got.sha256 == decl.sha256 and got.size == decl.size == sum(seen)


def test_from_https_like_url_and_file_url(tmp_path: Path, wheel: Path) -> None:
    write_index(tmp_path / "site", [wheel])
    with serve_directory(tmp_path / "site") as base, httpx.Client() as http:
        decl = declaration_of(wheel, f"{base}/files/{wheel.name}")
        assert _fetch(WheelFetcher(http=http), decl, tmp_path / "a").size == decl.size
    decl = declaration_of(wheel, wheel.as_uri())
    with httpx.Client() as http:
        assert _fetch(WheelFetcher(http=http), decl, tmp_path / "b").sha256 == decl.sha256


def test_from_gateway_by_content_id(tmp_path: Path, wheel: Path, ipfs_node) -> None:
    decl = declaration_of(wheel, "https://127.0.0.1:1/unreachable/" + wheel.name)
    with httpx.Client() as http:
        KuboRpc(ipfs_node.api_url, http=http).add(wheel.read_bytes(), wheel.name, pin=False)
        fetcher = WheelFetcher(http=http, gateway=ipfs_node.gateway_url)
        assert _fetch(fetcher, decl, tmp_path / "g").path.read_bytes() == wheel.read_bytes()


@pytest.mark.parametrize("field", ["content_id", "sha256", "size"])
def test_mismatch_keeps_nothing(tmp_path: Path, wheel: Path, field: str) -> None:
    decl = declaration_of(wheel, wheel.as_uri())
    wrong = {
        "content_id": import_bytes(b"other").cid,
        "sha256": hashlib.sha256(b"other").hexdigest(),
        "size": decl.size + 1,
    }[field]
    bad = dataclasses.replace(decl, **{field: wrong})
    out = tmp_path / "out"
    out.mkdir()
    with httpx.Client() as http, pytest.raises(ContentMismatch) as info:
        WheelFetcher(http=http).fetch(bad, out)
    assert info.value.path == decl.path
    assert list(out.iterdir()) == []


def test_stream_longer_than_declared_is_cut_off(tmp_path: Path, wheel: Path) -> None:
    decl = dataclasses.replace(declaration_of(wheel, wheel.as_uri()), size=1000)
    with httpx.Client() as http, pytest.raises(ContentMismatch, match="more than"):
        _fetch(WheelFetcher(http=http), decl, tmp_path / "o")


def test_http_error_and_missing_file(tmp_path: Path, wheel: Path) -> None:
    write_index(tmp_path / "site", [])
    with serve_directory(tmp_path / "site") as base, httpx.Client() as http:
        decl = declaration_of(wheel, f"{base}/files/{wheel.name}")
        with pytest.raises(FetchError, match="HTTP 404"):
            _fetch(WheelFetcher(http=http), decl, tmp_path / "o")
    decl = declaration_of(wheel, (tmp_path / "gone" / wheel.name).as_uri())
    with httpx.Client() as http, pytest.raises(FetchError, match="cannot read"):
        _fetch(WheelFetcher(http=http), decl, tmp_path / "o")
