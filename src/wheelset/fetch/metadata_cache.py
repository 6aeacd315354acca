"""Wheels' METADATA files (for PEP 658 `.metadata`), kept in the cache's ``metadata`` bucket.

Entries are ``metadata/<wheel content-id>`` in the one cache (wheelset.fetch.cache); a
content-id names exactly one wheel, so entries never go stale. A miss is filled by fetching
the wheel with the WheelFetcher (verified against its CID), reading its
``<name>-<version>.dist-info/METADATA`` and checking that its Name and Version agree with
the declaration; entries are written atomically. Reading a hit checks Name and Version
again, and a bad entry is fetched anew.
Entry points: cached_metadata(), collect_metadata(), extract_metadata().
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from email.parser import BytesHeaderParser
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelset.errors import MetadataError
from wheelset.fetch.cache import Cache
from wheelset.fetch.wheels import MAX_METADATA_SIZE, WheelFetcher
from wheelset.fsutil import atomic_write_bytes
from wheelset.model.declarations import Declaration
from wheelset.progress import NO_PROGRESS, Progress
from wheelset.workers import signals_to_main_thread

__all__ = [
    "MetadataError",
    "cached_metadata",
    "collect_metadata",
    "extract_metadata",
]

DEFAULT_WORKERS = 4  # concurrent downloads when filling misses


def _check_agrees(data: bytes, decl: Declaration) -> None:
    headers = BytesHeaderParser().parsebytes(data)
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        raise MetadataError("METADATA lacks Name or Version", path=decl.path)
    try:
        same_version = Version(version) == decl.version
    except InvalidVersion:
        same_version = False
    if canonicalize_name(name) != decl.name or not same_version:
        raise MetadataError(
            f"METADATA says {name} {version}, the declaration says {decl.name} {decl.version}",
            path=decl.path,
        )


def extract_metadata(wheel: Path, decl: Declaration) -> bytes:
    """The METADATA file of the wheel at ``wheel`` (checked against ``decl``).

    Raises:
        MetadataError: not a zip, no single matching .dist-info/METADATA, or a disagreement.
    """
    try:
        with zipfile.ZipFile(wheel) as archive:
            candidates = []
            for info in archive.infolist():
                folder, _, leaf = info.filename.partition("/")
                if leaf != "METADATA" or not folder.endswith(".dist-info"):
                    continue
                if canonicalize_name(folder[: -len(".dist-info")].rsplit("-", 1)[0]) == decl.name:
                    candidates.append(info)
            if len(candidates) != 1:
                found = "no" if not candidates else "several"
                raise MetadataError(
                    f"{found} {decl.name}-*.dist-info/METADATA in the wheel", path=decl.path
                )
            if candidates[0].file_size > MAX_METADATA_SIZE:
                raise MetadataError("METADATA is implausibly large", path=decl.path)
            data = archive.read(candidates[0])
    except (zipfile.BadZipFile, OSError) as e:
        raise MetadataError(f"cannot read the wheel: {e}", path=decl.path) from e
    _check_agrees(data, decl)
    return data


def cached_metadata(cache: Cache, decl: Declaration) -> bytes | None:
    """The cached METADATA of ``decl``'s wheel, or None (missing or not agreeing)."""
    try:
        data = cache.metadata_path(decl.content_id).read_bytes()
        _check_agrees(data, decl)
    except (OSError, MetadataError):
        return None
    return data


def _fill(decl: Declaration, cache: Cache, fetcher: WheelFetcher) -> bytes:
    with tempfile.TemporaryDirectory(prefix="wheelset-meta-") as tmp:
        wheel = fetcher.fetch(decl, Path(tmp)).path
        data = extract_metadata(wheel, decl)
    atomic_write_bytes(cache.metadata_path(decl.content_id), data)
    return data


def collect_metadata(
    decls: Sequence[Declaration],
    *,
    cache: Cache,
    fetcher: WheelFetcher | None,
    workers: int = DEFAULT_WORKERS,
    progress: Progress = NO_PROGRESS,
) -> tuple[dict[str, bytes], int]:
    """METADATA by wheel file name for every declaration, and how many were fetched.

    Raises:
        MetadataError: a miss with no fetcher, or a wheel whose METADATA is unusable.
        FetchError: a wheel that could not be downloaded and verified (the first one).
    """
    found: dict[str, bytes] = {}
    missing: list[Declaration] = []
    for decl in decls:
        data = cached_metadata(cache, decl)
        if data is None:
            missing.append(decl)
        else:
            found[decl.filename] = data
    if missing and fetcher is None:
        raise MetadataError("METADATA not cached and fetching is off", path=missing[0].path)
    assert fetcher is not None or not missing

    def fill(decl: Declaration) -> tuple[str, bytes]:
        data = _fill(decl, cache, fetcher)  # type: ignore[arg-type]
        progress.item(decl.filename, "fetched")
        return decl.filename, data

    with ThreadPoolExecutor(
        max_workers=max(1, workers), initializer=signals_to_main_thread
    ) as pool:
        found.update(pool.map(fill, missing))
    return found, len(missing)
