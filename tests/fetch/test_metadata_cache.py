"""METADATA by wheel content-id: fetched once (verified), then served from the cache."""

from __future__ import annotations

import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support.collection import declaration_of
from tests.support.wheels import make_metadata, make_wheel
from wheelset.fetch.cache import Cache
from wheelset.fetch.metadata_cache import (
    MetadataError,
    cached_metadata,
    collect_metadata,
    extract_metadata,
)
from wheelset.fetch.wheels import WheelFetcher
from wheelset.progress import NoProgress


class _Items(NoProgress):
    """Records the items a stage reports."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def item(self, name: str, state: str) -> None:
        self.names.append(name)


def _metadata_in(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA")))


def test_fetch_once_then_cached(tmp_path: Path) -> None:
    wheels = [make_wheel(tmp_path / "w", n, "1.0", requires_dist=["x>1"]) for n in ("a-b", "c")]
    decls = [declaration_of(w, w.as_uri()) for w in wheels]
    cache = Cache(tmp_path / "cache")
    fetched: list[str] = []
    with httpx.Client() as http:
        found, count = collect_metadata(
            decls,
            cache=cache,
            fetcher=WheelFetcher(http=http),
            progress=_Items(fetched),
        )
    assert count == 2 and sorted(fetched) == sorted(d.filename for d in decls)
    assert found == {d.filename: _metadata_in(w) for d, w in zip(decls, wheels, strict=True)}
    stored = tmp_path / "cache" / "metadata" / str(decls[0].content_id)
    assert stored.read_bytes() == _metadata_in(wheels[0])
    for wheel in wheels:
        wheel.unlink()  # the sources are gone: the cache must suffice
    again, count = collect_metadata(decls, cache=cache, fetcher=None)
    assert again == found and count == 0


def test_a_bad_cache_entry_is_fetched_anew(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "alpha", "1.0")
    decl = declaration_of(wheel, wheel.as_uri())
    cache = Cache(tmp_path / "cache")
    cache.metadata_path(decl.content_id).parent.mkdir(parents=True)
    cache.metadata_path(decl.content_id).write_text(make_metadata("other", "9.9"))
    assert cached_metadata(cache, decl) is None
    with httpx.Client() as http:
        found, count = collect_metadata([decl], cache=cache, fetcher=WheelFetcher(http=http))
    assert count == 1 and found[decl.filename] == _metadata_in(wheel)


def test_miss_without_fetcher(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "alpha", "1.0")
    decl = declaration_of(wheel)
    with pytest.raises(MetadataError) as info:
        collect_metadata([decl], cache=Cache(tmp_path / "c"), fetcher=None)
    assert info.value.path == decl.path


def test_metadata_must_agree_with_the_declaration(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "alpha", "1.0", metadata=make_metadata("alpha", "2.0"))
    with pytest.raises(MetadataError, match=r"says alpha 2\.0"):
        extract_metadata(wheel, declaration_of(wheel))


def test_wheel_without_metadata(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "alpha", "1.0")
    decl = declaration_of(wheel)
    stripped = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(stripped, "w") as dst:
        for item in src.infolist():
            if not item.filename.endswith("METADATA"):
                dst.writestr(item, src.read(item))
    with pytest.raises(MetadataError, match="no alpha"):
        extract_metadata(stripped, decl)
    (tmp_path / "junk.whl").write_bytes(b"not a zip")
    with pytest.raises(MetadataError, match="cannot read"):
        extract_metadata(tmp_path / "junk.whl", decl)
