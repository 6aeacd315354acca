"""Wheels' METADATA files (for PEP 658 `.metadata`), cached locally by wheel content-id.

The cache lives at ``$XDG_CACHE_HOME/wheelset/metadata/<wheel content-id>`` (default
``~/.cache``); a content-id names exactly one wheel, so entries never go stale. A miss is
filled by fetching the wheel with a WheelFetcher (verified against its CID), reading its
``<name>-<version>.dist-info/METADATA`` and checking that its Name and Version agree with
the declaration; entries are written atomically. Reading a hit checks Name and Version
again, and a bad entry is fetched anew.
Entry points: MetadataCache, collect_metadata(), extract_metadata(), default_cache_dir().
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from email.parser import BytesHeaderParser
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelset.errors import WheelsetError
from wheelset.fetch.wheel_fetch import WheelFetcher
from wheelset.fsutil import atomic_write_bytes
from wheelset.ipfs.cid import CID
from wheelset.model.declarations import Declaration
from wheelset.progress import NO_PROGRESS, Progress

__all__ = [
    "MetadataCache",
    "MetadataError",
    "collect_metadata",
    "default_cache_dir",
    "extract_metadata",
]

MAX_METADATA_SIZE = 16 * 1024 * 1024  # bytes; anything larger is not a real METADATA file
DEFAULT_WORKERS = 4  # concurrent downloads when filling misses


class MetadataError(WheelsetError):
    """A wheel has no usable METADATA, or it disagrees with the declaration."""

    def __init__(self, message: str, *, path: object = None):
        super().__init__(message, path=path, code="METADATA")  # type: ignore[arg-type]


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/wheelset`` (``~/.cache/wheelset`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "wheelset"


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


class MetadataCache:
    """METADATA bytes by wheel content-id under ``root`` (default: the user cache)."""

    def __init__(self, root: Path | None = None):
        self.root = root if root is not None else default_cache_dir() / "metadata"

    def _path(self, cid: CID) -> Path:
        return self.root / str(cid)

    def get(self, decl: Declaration) -> bytes | None:
        """The cached METADATA of ``decl``'s wheel, or None (missing or not agreeing)."""
        try:
            data = self._path(decl.content_id).read_bytes()
            _check_agrees(data, decl)
        except (OSError, MetadataError):
            return None
        return data

    def put(self, cid: CID, data: bytes) -> None:
        atomic_write_bytes(self._path(cid), data)


def _fill(decl: Declaration, cache: MetadataCache, fetcher: WheelFetcher) -> bytes:
    with tempfile.TemporaryDirectory(prefix="wheelset-meta-") as tmp:
        wheel = fetcher.fetch(decl, Path(tmp)).path
        data = extract_metadata(wheel, decl)
    cache.put(decl.content_id, data)
    return data


def collect_metadata(
    decls: Sequence[Declaration],
    *,
    cache: MetadataCache,
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
        data = cache.get(decl)
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

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        found.update(pool.map(fill, missing))
    return found, len(missing)
