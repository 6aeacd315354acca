"""The local content cache, keyed by CID: verified files (wheels, METADATA) and root blocks.

Layout under ``$WHEELSET_CACHE_DIR`` (default ``$XDG_CACHE_HOME/wheelset``, else
``~/.cache/wheelset``): ``files/<cid>/<name>`` (the name is the caller's, e.g. a wheel's
file name, which installers need), ``files/<cid>/.<mark>`` (facts recorded about that
content, e.g. a passed check); root blocks live beside them in ``blocks/<cid>``
(wheelset.ipfs.resolver.BlockDir). A file enters the cache
only after its CID (and expected size and sha256) are verified, by atomic rename, so a reader
never sees a partial file. A cached file is re-verified every time it is used (its CID is
recomputed — one hashing pass, the same cost as a sha256 check): a corrupted or planted
cache file is then refetched, never trusted. Knows nothing about wheels.
Entry points: Cache, Obtained, default_cache_dir().
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from wheelset.errors import WheelsetError
from wheelset.ipfs.cid import CID
from wheelset.ipfs.gateway import GatewayFailure, GatewayFetcher
from wheelset.ipfs.importer import ImportParams, import_file

__all__ = ["Cache", "CacheError", "Obtained", "default_cache_dir", "verify_file"]


class CacheError(WheelsetError):
    """The cache directory cannot be read or written (permissions, full disk)."""

    def __init__(self, message: str):
        super().__init__(message, code="CACHE")


def default_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$WHEELSET_CACHE_DIR``, else ``$XDG_CACHE_HOME/wheelset``, else ``~/.cache/wheelset``."""
    if explicit := environ.get("WHEELSET_CACHE_DIR"):
        return Path(explicit)
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wheelset"


def verify_file(stream: BinaryIO, cid: CID, size: int | None, sha256: str | None) -> bool:
    """Whether the stream's content has this CID (and size and sha256, when given)."""
    sha = hashlib.sha256()
    imported = import_file(stream, ImportParams(cid_version=cid.version), on_chunk=sha.update)
    return (
        imported.cid == cid
        and (size is None or imported.file_size == size)
        and (sha256 is None or sha.hexdigest() == sha256.lower())
    )


@dataclass(frozen=True, slots=True)
class Obtained:
    """A verified local file; ``source`` is ``cache`` or the gateway it came from."""

    path: Path
    source: str
    size: int
    failures: tuple[GatewayFailure, ...] = ()


class Cache:
    """Verified content on disk. Thread-safe: one fetch per CID at a time."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._locks: dict[CID, threading.Lock] = {}
        self._guard = threading.Lock()

    def file_path(self, cid: CID, name: str = "content") -> Path:
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"bad cache file name {name!r}")
        return self.directory / "files" / str(cid) / name

    def has_mark(self, cid: CID, mark: str) -> bool:
        """Whether a fact about the content ``cid`` was recorded (see mark())."""
        return (self.directory / "files" / str(cid) / f".{mark}").exists()

    def mark(self, cid: CID, mark: str) -> None:
        """Record a fact about the content ``cid`` (e.g. that a check passed). Content of one
        CID never changes, so a mark never needs to be invalidated."""
        path = self.directory / "files" / str(cid) / f".{mark}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        except OSError as e:
            raise CacheError(f"cache {self.directory}: {e}") from e

    def _lock(self, cid: CID) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(cid, threading.Lock())

    def cached(
        self,
        cid: CID,
        name: str = "content",
        *,
        size: int | None = None,
        sha256: str | None = None,
    ) -> bool:
        """Whether a verified copy is present (a copy that fails verification is removed)."""
        path = self.file_path(cid, name)
        try:
            with path.open("rb") as f:
                if verify_file(f, cid, size, sha256):
                    return True
        except FileNotFoundError:
            return False
        path.unlink(missing_ok=True)
        return False

    def obtain(
        self,
        cid: CID,
        fetcher: GatewayFetcher,
        name: str = "content",
        *,
        size: int | None = None,
        sha256: str | None = None,
        label: str | None = None,
        on_progress: Callable[[int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Obtained:
        """The verified file ``cid`` (named ``name``), from the cache or fetched into it.

        Raises:
            FetchError: (from the fetcher) no gateway delivered verified content.
            CacheError: the cache directory cannot be read or written.
        """
        with self._lock(cid):
            path = self.file_path(cid, name)
            try:
                if self.cached(cid, name, size=size, sha256=sha256):
                    return Obtained(path, "cache", path.stat().st_size)
                fetched = fetcher.fetch_file(
                    cid,
                    path,
                    size=size,
                    sha256=sha256,
                    label=label,
                    on_progress=on_progress,
                    cancel=cancel,
                )
            except OSError as e:
                raise CacheError(f"cache {self.directory}: {e}") from e
            return Obtained(path, fetched.gateway, fetched.size, fetched.failures)
