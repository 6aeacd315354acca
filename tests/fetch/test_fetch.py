"""Fetching wheels over HTTP and file://, with progress, a sha256 cache, and clear errors."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import httpx
import pytest

from tests.support.decls import make_decl
from tests.support.index import serve_stalling
from wheelset.fetch import FetchError, NotAWheelError
from wheelset.fetch.download import WheelCache, WheelFetcher, default_cache_dir
from wheelset.fetch.index import IndexClient
from wheelset.ipfs.importer import import_bytes
from wheelset.model.declarations import DeclarationError
from wheelset.progress import NoProgress


class _Recorder(NoProgress):
    def __init__(self) -> None:
        self.amounts: list[int] = []
        self.items: list[tuple[str, str]] = []

    def advance(self, amount: int) -> None:
        self.amounts.append(amount)

    def item(self, name: str, state: str) -> None:
        self.items.append((name, state))


def test_fetch_url_with_progress(served: str, http: httpx.Client, wheels: list[Path]) -> None:
    progress = _Recorder()
    fetcher = WheelFetcher(http=http, progress=progress)
    wheel = wheels[0]
    fetched = fetcher.fetch(f"{served}/files/{wheel.name}", wheel.name)
    data = wheel.read_bytes()
    assert fetched.digest.content_id == import_bytes(data).cid
    assert fetched.digest.sha256 == hashlib.sha256(data).hexdigest()
    assert fetched.metadata.name == "demo"
    assert sum(progress.amounts) == len(data) and all(a > 0 for a in progress.amounts)
    assert progress.items == [(wheel.name, "fetched")]


def test_index_source_uses_and_fills_the_cache(
    served: str, http: httpx.Client, wheels: list[Path], index_root: Path, tmp_path: Path
) -> None:
    cache = WheelCache(tmp_path / "cache")
    index = IndexClient(f"{served}/simple", http=http)
    fetcher = WheelFetcher(http=http, index=index, cache=cache)
    name = wheels[1].name
    first = fetcher.fetch(f"index:{name}", name)
    assert cache.get(first.digest.sha256) is not None
    shutil.rmtree(index_root / "files")  # the network copy is gone; the cache answers
    again = fetcher.fetch(f"index:{name}", name)
    assert again.digest == first.digest
    with pytest.raises(FetchError, match="HTTP 404"):  # inspect() never uses the cache
        fetcher.inspect(make_decl(name))


def test_corrupt_cache_entry_is_replaced(
    served: str, http: httpx.Client, wheels: list[Path], tmp_path: Path
) -> None:
    cache = WheelCache(tmp_path / "cache")
    sha256 = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    cache.path_for(sha256).parent.mkdir(parents=True)
    cache.path_for(sha256).write_bytes(b"garbage")
    fetcher = WheelFetcher(http=http, cache=cache)
    url = f"{served}/files/{wheels[0].name}"
    fetched = fetcher.fetch(url, wheels[0].name, expected_sha256=sha256)
    assert (
        fetched.digest.sha256
        == sha256
        == hashlib.sha256(cache.path_for(sha256).read_bytes()).hexdigest()
    )


def test_default_cache_dir_honours_xdg() -> None:
    assert default_cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/wheelset/wheels")
    assert default_cache_dir({}).parts[-3:] == (".cache", "wheelset", "wheels")


def test_file_url(wheels: list[Path], http: httpx.Client) -> None:
    fetched = WheelFetcher(http=http).fetch(wheels[2].as_uri(), wheels[2].name)
    assert fetched.metadata.name == "other"
    with pytest.raises(FetchError, match="no such file"):
        WheelFetcher(http=http).fetch(
            wheels[2].with_name("x-1-py3-none-any.whl").as_uri(), "x-1-py3-none-any.whl"
        )


def test_404(served: str, http: httpx.Client) -> None:
    with pytest.raises(FetchError) as info:
        WheelFetcher(http=http).fetch(
            f"{served}/files/nope-1.0-py3-none-any.whl", "nope-1.0-py3-none-any.whl"
        )
    assert info.value.code == "FETCH" and "HTTP 404" in info.value.one_line()


def test_timeout() -> None:
    with (
        serve_stalling() as url,
        httpx.Client(timeout=0.3) as http,
        pytest.raises(FetchError, match="timed out"),
    ):
        WheelFetcher(http=http).fetch(
            f"{url}/demo-1.0-py3-none-any.whl", "demo-1.0-py3-none-any.whl"
        )


def test_unexpected_hash(served: str, http: httpx.Client, wheels: list[Path]) -> None:
    with pytest.raises(FetchError, match="differs from expected"):
        WheelFetcher(http=http).fetch(
            f"{served}/files/{wheels[0].name}", wheels[0].name, expected_sha256="0" * 64
        )


def test_not_a_wheel(served: str, http: httpx.Client, index_root: Path) -> None:
    (index_root / "files" / "fake-1.0-py3-none-any.whl").write_text("<html>oops</html>")
    with pytest.raises(NotAWheelError, match="not a zip"):
        WheelFetcher(http=http).fetch(
            f"{served}/files/fake-1.0-py3-none-any.whl", "fake-1.0-py3-none-any.whl"
        )


def test_path_traversal_in_the_name_is_refused_before_fetching(http: httpx.Client) -> None:
    with pytest.raises(DeclarationError) as info:
        WheelFetcher(http=http).fetch(
            "http://127.0.0.1:9/../../x-1.0-py3-none-any.whl", "../../x-1.0-py3-none-any.whl"
        )
    assert info.value.code == "FILENAME"


def test_index_source_without_index(http: httpx.Client) -> None:
    with pytest.raises(FetchError, match="no package index"):
        WheelFetcher(http=http).fetch(
            "index:demo-1.0-py3-none-any.whl", "demo-1.0-py3-none-any.whl"
        )
