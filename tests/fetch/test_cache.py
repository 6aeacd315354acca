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
CORRUPTED = DATA[:-1] + bytes([DATA[-1] ^ 0xFF])  # never DATA (random data may end in any byte)


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
    path.write_bytes(CORRUPTED)
    assert not cache.cached(CID, "data.whl")
    assert not path.exists()
    path.write_bytes(CORRUPTED)
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
    (tmp_path / "blocks").mkdir()
    (tmp_path / "blocks" / "x").write_bytes(b"{}")
    info = {b.name: (b.files, b.size) for b in cache.info()}
    assert info["files"] == (1, len(DATA)) and info["blocks"] == (1, 2)
    assert info["sha256"][0] == 1 and info["metadata"] == (0, 0)
    # The sha256 pointer finds the content by an index's hash, verified.
    found = cache.find_sha256(SHA, "data.whl")
    assert found is not None and found[1].content_id == CID
    assert cache.find_sha256("0" * 64, "data.whl") is None
    assert cache.clean(["blocks"]) == 2 and not (tmp_path / "blocks").exists()
    assert cache.clean() == len(DATA) + info["sha256"][1]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    with pytest.raises(ValueError, match="unknown cache bucket"):
        cache.clean(["wheels/.."])


def test_one_cache_directory_for_every_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tests.support.decls import write_platforms
    from tests.support.wheels import make_wheel
    from wheelset.cli import app

    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    cid = import_bytes(wheel.read_bytes()).cid
    root = tmp_path / "declarations"
    write_platforms(root)
    env = {"WHEELSET_CACHE_DIR": str(tmp_path / "env-cache"), "XDG_CACHE_HOME": "/nonexistent"}
    runner = CliRunner()
    declared = runner.invoke(app, ["declare", wheel.as_uri(), "--into", str(root)], env=env)
    assert declared.exit_code == 0, declared.output
    assert (tmp_path / "env-cache" / "files" / str(cid) / wheel.name).is_file()
    explicit = ["--cache-dir", str(tmp_path / "opt-cache")]
    again = runner.invoke(app, ["declare", wheel.as_uri(), "--into", str(root), *explicit], env=env)
    assert again.exit_code == 0 and (tmp_path / "opt-cache" / "files" / str(cid)).is_dir()

    shown = runner.invoke(app, ["cache", "dir"], env=env)
    assert shown.stdout.strip() == str(tmp_path / "env-cache")
    info = runner.invoke(app, ["cache", "info"], env=env)
    assert info.exit_code == 0
    files_line = next(line for line in info.stdout.splitlines() if line.startswith("files"))
    assert files_line.split()[1] == "1"
    cleaned = runner.invoke(app, ["cache", "clean", "files", "sha256"], env=env)
    assert cleaned.exit_code == 0 and "freed" in cleaned.stdout
    assert not (tmp_path / "env-cache" / "files").exists()
    wrong = runner.invoke(app, ["cache", "clean", "wheels"], env=env)
    assert wrong.exit_code == 2 and wrong.stderr.count("\n") == 1
