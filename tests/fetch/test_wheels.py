"""The one wheel fetcher: every source kind, the one cache, verification, clear errors."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import httpx
import pytest

from tests.support.collection import declaration_of
from tests.support.decls import make_decl
from tests.support.index import serve_directory, serve_stalling, write_index
from tests.support.wheels import make_wheel
from wheelset.fetch import FetchError, NotAWheelError
from wheelset.fetch.cache import Cache
from wheelset.fetch.index import IndexClient
from wheelset.fetch.wheels import ContentMismatch, WheelFetcher
from wheelset.ipfs.gateway import GatewayFetcher
from wheelset.ipfs.importer import import_bytes
from wheelset.ipfs.rpc import KuboRpc
from wheelset.model.declarations import DeclarationError
from wheelset.progress import NoProgress


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return make_wheel(tmp_path / "w", "fetchme", "1.0", files={"fetchme/big.bin": bytes(400_000)})


class _Recorder(NoProgress):
    def __init__(self) -> None:
        self.amounts: list[int] = []
        self.items: list[tuple[str, str]] = []

    def advance(self, amount: int) -> None:
        self.amounts.append(amount)

    def item(self, name: str, state: str) -> None:
        self.items.append((name, state))


def test_inspect_url_with_progress(served: str, http: httpx.Client, wheels: list[Path]) -> None:
    progress = _Recorder()
    fetcher = WheelFetcher(http=http, progress=progress)
    wheel = wheels[0]
    got = fetcher.inspect_source(f"{served}/files/{wheel.name}", wheel.name)
    data = wheel.read_bytes()
    assert got.digest.content_id == import_bytes(data).cid
    assert got.digest.sha256 == hashlib.sha256(data).hexdigest()
    assert got.metadata.name == "demo"
    assert sum(progress.amounts) == len(data) and all(a > 0 for a in progress.amounts)
    assert progress.items == [(wheel.name, "fetched")]


def test_index_source_uses_and_fills_the_one_cache(
    served: str, http: httpx.Client, wheels: list[Path], index_root: Path, tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    index = IndexClient(f"{served}/simple", http=http)
    fetcher = WheelFetcher(http=http, index=index, cache=cache)
    name = wheels[1].name
    first = fetcher.inspect_source(f"index:{name}", name)
    stored = cache.file_path(first.digest.content_id, name)
    assert stored.read_bytes() == wheels[1].read_bytes()
    shutil.rmtree(index_root / "files")  # the network copy is gone; the cache answers
    assert fetcher.inspect_source(f"index:{name}", name).digest == first.digest
    decl = dataclasses.replace(make_decl(name), content_id=first.digest.content_id)
    assert fetcher.fetch(decl) == type(fetcher.fetch(decl))(stored, "cache")
    with pytest.raises(FetchError, match="HTTP 404"):  # inspect() never uses the cache
        fetcher.inspect(make_decl(name))


def test_a_corrupt_cache_entry_is_replaced(
    served: str, http: httpx.Client, wheels: list[Path], tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    fetcher = WheelFetcher(http=http, cache=cache)
    url = f"{served}/files/{wheels[0].name}"
    first = fetcher.inspect_source(url, wheels[0].name)
    stored = cache.file_path(first.digest.content_id, wheels[0].name)
    stored.write_bytes(b"garbage")
    again = fetcher.inspect_source(url, wheels[0].name, expected_sha256=first.digest.sha256)
    assert again.digest == first.digest and stored.read_bytes() == wheels[0].read_bytes()


def test_fetch_declared_from_index_url_and_file(tmp_path: Path, wheel: Path) -> None:
    write_index(tmp_path / "site", [wheel])
    cache = Cache(tmp_path / "cache")
    with serve_directory(tmp_path / "site") as base, httpx.Client() as http:
        fetcher = WheelFetcher(http=http, index_url=f"{base}/simple")
        got = fetcher.fetch(declaration_of(wheel), tmp_path / "a")
        assert got.path == tmp_path / "a" / wheel.name and got.source.startswith(base)
        decl = declaration_of(wheel, f"{base}/files/{wheel.name}")
        got = WheelFetcher(http=http, cache=cache).fetch(decl)
        assert got.path == cache.file_path(decl.content_id, wheel.name)
    assert got.path.read_bytes() == wheel.read_bytes()
    with httpx.Client() as http:
        got = WheelFetcher(http=http).fetch(declaration_of(wheel, wheel.as_uri()), tmp_path / "b")
    assert got.path.read_bytes() == wheel.read_bytes()


def test_a_file_url_is_decoded_once(tmp_path: Path, wheel: Path) -> None:
    # "%2541" is "%41" once decoded; decoding twice would open "A" — another file.
    encoded = tmp_path / "a%41" / wheel.name
    encoded.parent.mkdir()
    shutil.copyfile(wheel, encoded)
    (tmp_path / "aA").mkdir()
    (tmp_path / "aA" / wheel.name).write_bytes(b"not this one")
    url = (tmp_path / "a%2541").as_uri().replace("a%252541", "a%2541") + "/" + wheel.name
    assert "a%2541/" in url
    with httpx.Client() as http:
        got = WheelFetcher(http=http).inspect_source(url, wheel.name)
    assert got.digest.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_from_gateway_by_content_id(tmp_path: Path, wheel: Path, ipfs_node) -> None:
    decl = declaration_of(wheel, "https://127.0.0.1:1/unreachable/" + wheel.name)
    with httpx.Client() as http:
        KuboRpc(ipfs_node.api_url, http=http).add(wheel.read_bytes(), wheel.name, pin=False)
        gateways = GatewayFetcher([ipfs_node.gateway_url], http=http)
        cache = Cache(tmp_path / "cache")
        got = WheelFetcher(http=http, gateways=gateways, cache=cache).fetch(decl, tmp_path / "g")
    assert got.source == ipfs_node.gateway_url
    assert got.path.read_bytes() == wheel.read_bytes()
    assert cache.cached(decl.content_id, wheel.name)


def test_gateways_fail_then_the_declared_source(tmp_path: Path, wheel: Path) -> None:
    decl = declaration_of(wheel, wheel.as_uri())
    with httpx.Client() as http:
        gateways = GatewayFetcher(["http://127.0.0.1:9"], http=http, timeout=2)
        got = WheelFetcher(http=http, gateways=gateways).fetch(decl, tmp_path / "o")
        assert got.source == wheel.as_uri()
        gone = declaration_of(wheel, (tmp_path / "gone" / wheel.name).as_uri())
        with pytest.raises(FetchError) as info:
            WheelFetcher(http=http, gateways=gateways).fetch(gone, tmp_path / "p")
    line = info.value.one_line()
    assert "127.0.0.1:9" in line and "no such file" in line and "\n" not in line


@pytest.mark.parametrize("field", ["content_id", "sha256", "size"])
def test_mismatch_keeps_nothing(tmp_path: Path, wheel: Path, field: str) -> None:
    decl = declaration_of(wheel, wheel.as_uri())
    wrong = {
        "content_id": import_bytes(b"other").cid,
        "sha256": hashlib.sha256(b"other").hexdigest(),
        "size": decl.size + 1,
    }[field]
    bad = dataclasses.replace(decl, **{field: wrong})
    out, cache = tmp_path / "out", Cache(tmp_path / "cache")
    with httpx.Client() as http, pytest.raises(ContentMismatch) as info:
        WheelFetcher(http=http, cache=cache).fetch(bad, out)
    assert info.value.path == decl.path
    assert not out.exists() or list(out.iterdir()) == []
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_stream_longer_than_declared_is_cut_off(tmp_path: Path, wheel: Path) -> None:
    decl = dataclasses.replace(declaration_of(wheel, wheel.as_uri()), size=1000)
    with httpx.Client() as http, pytest.raises(ContentMismatch, match="more than"):
        WheelFetcher(http=http).fetch(decl, tmp_path / "o")


def test_404(served: str, http: httpx.Client) -> None:
    with pytest.raises(FetchError) as info:
        WheelFetcher(http=http).inspect_source(
            f"{served}/files/nope-1.0-py3-none-any.whl", "nope-1.0-py3-none-any.whl"
        )
    assert info.value.code == "FETCH" and "HTTP 404" in info.value.one_line()


def test_missing_local_file(tmp_path: Path, http: httpx.Client) -> None:
    with pytest.raises(FetchError, match="no such file"):
        WheelFetcher(http=http).inspect_source(
            (tmp_path / "x-1-py3-none-any.whl").as_uri(), "x-1-py3-none-any.whl"
        )


def test_timeout() -> None:
    with (
        serve_stalling() as url,
        httpx.Client(timeout=0.3) as http,
        pytest.raises(FetchError, match="timed out"),
    ):
        WheelFetcher(http=http).inspect_source(
            f"{url}/demo-1.0-py3-none-any.whl", "demo-1.0-py3-none-any.whl"
        )


def test_unexpected_hash(served: str, http: httpx.Client, wheels: list[Path]) -> None:
    with pytest.raises(FetchError, match="differs from expected"):
        WheelFetcher(http=http).inspect_source(
            f"{served}/files/{wheels[0].name}", wheels[0].name, expected_sha256="0" * 64
        )


def test_not_a_wheel(served: str, http: httpx.Client, index_root: Path) -> None:
    (index_root / "files" / "fake-1.0-py3-none-any.whl").write_text("<html>oops</html>")
    with pytest.raises(NotAWheelError, match="not a zip"):
        WheelFetcher(http=http).inspect_source(
            f"{served}/files/fake-1.0-py3-none-any.whl", "fake-1.0-py3-none-any.whl"
        )


def test_path_traversal_in_the_name_is_refused_before_fetching(http: httpx.Client) -> None:
    with pytest.raises(DeclarationError) as info:
        WheelFetcher(http=http).inspect_source(
            "http://127.0.0.1:9/../../x-1.0-py3-none-any.whl", "../../x-1.0-py3-none-any.whl"
        )
    assert info.value.code == "FILENAME"


def test_a_build_tree_is_a_verified_source(tmp_path: Path, wheel: Path) -> None:
    decl = declaration_of(wheel, (tmp_path / "gone" / wheel.name).as_uri())  # source gone
    tree = tmp_path / "OUT" / "tree"
    (tree / decl.name).mkdir(parents=True)
    shutil.copyfile(wheel, tree / decl.name / wheel.name)
    with httpx.Client() as http:
        fetcher = WheelFetcher(http=http, trees=[tree])
        got = fetcher.fetch(decl, tmp_path / "o")
        assert got.source == str(tree / decl.name / wheel.name)
        assert got.path.read_bytes() == wheel.read_bytes()
        (tree / decl.name / wheel.name).write_bytes(b"stale")  # damaged: skipped, and named
        with pytest.raises(FetchError) as info:
            fetcher.fetch(decl, tmp_path / "p")
    line = info.value.one_line()
    assert "content-id is" in line and "no such file" in line and "\n" not in line
