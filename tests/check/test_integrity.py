"""Integrity: re-fetch each source from a real index on 127.0.0.1 and compare every field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import tomli_w

from tests.support.decls import SOME_CID, write_platforms
from tests.support.index import serve_directory, write_index
from tests.support.wheels import make_wheel
from wheelset.check import run_checks
from wheelset.check.integrity import check_integrity
from wheelset.fetch.index import IndexClient
from wheelset.fetch.wheels import WheelFetcher
from wheelset.maintain.declare import declare_sources, write_declarations
from wheelset.model.collection import load_collection
from wheelset.model.declarations import relpath_for
from wheelset.model.findings import Finding
from wheelset.model.platforms import load_platforms

DEMO = "demo-1.0-py3-none-any.whl"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, Path, WheelFetcher]]:
    """(collection with demo declared from the index, the index root, a fetcher)."""
    wheel = make_wheel(tmp_path / "built", "demo", "1.0", requires_dist=["six"], extras=["x"])
    index_root = tmp_path / "index"
    write_index(index_root, [wheel, make_wheel(tmp_path / "built", "six", "1.16.0")])
    root = tmp_path / "declarations"
    write_platforms(root, ["3.12"], ["win_amd64"])
    with serve_directory(index_root) as url, httpx.Client(timeout=5) as http:
        fetcher = WheelFetcher(http=http, index=IndexClient(f"{url}/simple", http=http))
        platforms = load_platforms(root / "platforms.toml")[0]
        declared = declare_sources(["demo==1.0", "six"], fetcher=fetcher, platforms=platforms)
        write_declarations(declared.declarations, root)
        yield root, index_root, fetcher


def _integrity(root: Path, fetcher: WheelFetcher) -> list[tuple[str, str]]:
    findings: list[Finding] = run_checks(load_collection(root), ("integrity",), fetcher=fetcher)
    return [(str(f.path), f.code) for f in findings]


def _edit(root: Path, **changes: object) -> str:
    path = root / relpath_for(DEMO)
    import tomllib

    table = tomllib.loads(path.read_text()) | changes
    path.write_text(tomli_w.dumps(table))
    return str(relpath_for(DEMO))


def test_clean(setup: tuple[Path, Path, WheelFetcher]) -> None:
    root, _index, fetcher = setup
    assert _integrity(root, fetcher) == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"content-id": SOME_CID}, "CID-MISMATCH"),
        ({"sha256": "0" * 64}, "SHA256-MISMATCH"),
        ({"size": 1}, "SIZE-MISMATCH"),
        ({"dependencies": ["six>=2"]}, "METADATA-MISMATCH"),
        ({"extras": ["x", "y"]}, "METADATA-MISMATCH"),
        ({"requires-python": ">=3.13"}, "METADATA-MISMATCH"),
    ],
)
def test_planted_mismatch(
    setup: tuple[Path, Path, WheelFetcher], changes: dict[str, object], code: str
) -> None:
    root, _index, fetcher = setup
    path = _edit(root, **changes)
    assert _integrity(root, fetcher) == [(path, code)]


def test_trimmed_extras_are_a_curation_choice(setup: tuple[Path, Path, WheelFetcher]) -> None:
    root, _index, fetcher = setup
    _edit(root, extras=[])
    assert _integrity(root, fetcher) == []


def test_compromised_source(setup: tuple[Path, Path, WheelFetcher], tmp_path: Path) -> None:
    root, index_root, fetcher = setup
    evil = make_wheel(tmp_path / "evil", "demo", "1.0", requires_dist=["six", "evil"], extras=["x"])
    (index_root / "files" / DEMO).write_bytes(evil.read_bytes())
    path = str(relpath_for(DEMO))
    assert sorted(_integrity(root, fetcher)) == [
        (path, "CID-MISMATCH"),
        (path, "METADATA-MISMATCH"),
        (path, "SHA256-MISMATCH"),
        (path, "SIZE-MISMATCH"),
    ]


def test_source_gone_and_not_a_wheel(setup: tuple[Path, Path, WheelFetcher]) -> None:
    root, index_root, fetcher = setup
    (index_root / "files" / DEMO).unlink()
    assert _integrity(root, fetcher) == [(str(relpath_for(DEMO)), "FETCH")]
    (index_root / "files" / DEMO).write_text("<html>gone</html>")
    assert _integrity(root, fetcher) == [(str(relpath_for(DEMO)), "NOT-WHEEL")]


def test_scope_and_parallel_fetches(setup: tuple[Path, Path, WheelFetcher]) -> None:
    root, _index, fetcher = setup
    _edit(root, size=1)
    collection = load_collection(root)
    six = [d for d in collection.declarations if d.name == "six"]
    assert list(check_integrity(six, fetcher, jobs=4)) == []
    scoped = run_checks(collection, ("integrity",), fetcher=fetcher, integrity_paths=set())
    assert scoped == []
    everything = list(check_integrity(collection.declarations, fetcher, jobs=4))
    assert [f.code for f in everything] == ["SIZE-MISMATCH"]


def test_integrity_needs_a_fetcher(setup: tuple[Path, Path, WheelFetcher]) -> None:
    with pytest.raises(ValueError, match="fetcher"):
        run_checks(load_collection(setup[0]), ("integrity",))
