"""The one local cache, in one directory for every command, in buckets.

The directory is ``--cache-dir``, else ``$WHEELSET_CACHE_DIR``, else
``$XDG_CACHE_HOME/wheelset``, else ``~/.cache/wheelset`` (default_cache_dir()). Buckets:

- ``files/<cid>/<name>``: verified content by CID — wheels and the METADATA files served
  beside them (the name is the caller's, e.g. the wheel's file name, which installers
  need);
- ``sha256/<hex>``: the CID of the content with that sha256 (a pointer into ``files``, for
  lookups by an index's ``#sha256=`` before the CID is known);
- ``metadata/<wheel cid>``: the METADATA file read out of a wheel (for PEP 658);
- ``blocks/<cid>``: root blocks, verified (wheelset.ipfs.resolver.BlockDir);
- ``unpacked/<cid>/``: wheels unpacked and checked for install (wheelset.client.unpacked).

A file enters only after its CID (and expected size and sha256) are verified, by atomic
rename, so a reader never sees a partial file. A cached file is re-verified the first time a
process uses it (its CID recomputed — one hashing pass, the cost of a sha256 check): a
corrupted or planted file is then refetched, never trusted. The process remembers each
verification with the file's identity (inode, size, modification and change times), so a
long-running reader (``serve``) sends a verified file again without hashing it
(open_verified()); any change to the file makes it unverified again. info() and clean()
back ``wheelset cache``.
Knows nothing about wheels.
Entry points: Cache, Obtained, BucketInfo, default_cache_dir().
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

from wheelset.errors import CacheError
from wheelset.fetch.cachedir import BUCKETS, default_cache_dir
from wheelset.fsutil import atomic_write_bytes, temp_writer
from wheelset.ipfs.cid import CID, InvalidCID, parse_cid
from wheelset.ipfs.gateway import GatewayFailure, GatewayFetcher
from wheelset.ipfs.importer import Digest, ImportParams, digest_stream

__all__ = [
    "BUCKETS",
    "BucketInfo",
    "Cache",
    "CacheError",
    "Obtained",
    "default_cache_dir",
]


class _Verified(NamedTuple):
    """A file verified in this process: its identity then, and its sha256."""

    identity: tuple[int, int, int, int, int]  # device, inode, size, mtime_ns, ctime_ns
    sha256: str


def _identity(stat: os.stat_result) -> tuple[int, int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@dataclass(frozen=True, slots=True)
class Obtained:
    """A verified local file; ``source`` is ``cache`` or the gateway it came from."""

    path: Path
    source: str
    size: int
    failures: tuple[GatewayFailure, ...] = ()


@dataclass(frozen=True, slots=True)
class BucketInfo:
    """What one bucket holds: files and their bytes."""

    name: str
    path: Path
    files: int
    size: int


class Cache:
    """Verified content on disk. Thread-safe: one fetch per CID at a time."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._locks: dict[CID, threading.Lock] = {}
        self._guard = threading.Lock()
        self._verified: dict[Path, _Verified] = {}

    def file_path(self, cid: CID, name: str = "content") -> Path:
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"bad cache file name {name!r}")
        return self.directory / "files" / str(cid) / name

    def _fail(self, error: OSError) -> CacheError:
        return CacheError(f"cache {self.directory}: {error.strerror or error}")

    def put_file(self, digest: Digest, name: str, source: Path) -> Path:
        """Move the verified file ``source`` (with this digest) in as ``files/<cid>/<name>``,
        recording its sha256; returns its path in the cache.

        Raises:
            CacheError: the cache cannot be written.
        """
        path = self.file_path(digest.content_id, name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, path)
            atomic_write_bytes(self._sha256_path(digest.sha256), str(digest.content_id).encode())
        except OSError as e:
            raise self._fail(e) from e
        return path

    def _sha256_path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"bad sha256 {sha256!r}")
        return self.directory / "sha256" / sha256[:2] / sha256

    def find_sha256(self, sha256: str, name: str) -> tuple[Path, Digest] | None:
        """The verified cached file ``name`` whose sha256 is ``sha256``, and its digest."""
        try:
            cid = parse_cid(self._sha256_path(sha256.lower()).read_text("ascii").strip())
        except (OSError, ValueError, InvalidCID):
            return None
        path = self.file_path(cid, name)
        try:
            with path.open("rb") as f:
                digest = digest_stream(f, ImportParams(cid_version=cid.version))
        except OSError:
            return None
        if digest.mismatch(cid, None, sha256) is not None:
            path.unlink(missing_ok=True)
            return None
        return path, digest

    @contextlib.contextmanager
    def temp_writer(self, name: str) -> Iterator[tuple[BinaryIO, Path]]:
        """A temp file in the cache, open for writing, and its path (fsutil.temp_writer()):
        put_file() moves it in once verified, else it is removed when the block ends.

        Raises:
            CacheError: the cache cannot be written.
        """
        with contextlib.ExitStack() as stack:
            try:
                written = stack.enter_context(temp_writer(self.directory / "files", name))
            except OSError as e:
                raise self._fail(e) from e
            yield written

    def metadata_path(self, wheel: CID) -> Path:
        return self.directory / "metadata" / str(wheel)

    def info(self) -> list[BucketInfo]:
        """Each bucket's file count and bytes (temp files included in their bucket)."""
        found = []
        for bucket in BUCKETS:
            files = size = 0
            for path in _files_below(self.directory / bucket):
                with contextlib.suppress(OSError):
                    size += path.lstat().st_size
                    files += 1
            found.append(BucketInfo(bucket, self.directory / bucket, files, size))
        return found

    def clean(self, buckets: Iterable[str] = BUCKETS) -> int:
        """Remove the named buckets (all by default); returns the bytes freed.

        Raises:
            ValueError: an unknown bucket name.
            CacheError: a bucket cannot be removed.
        """
        chosen = list(buckets)
        for bucket in chosen:
            if bucket not in BUCKETS:
                raise ValueError(f"unknown cache bucket {bucket!r} (known: {', '.join(BUCKETS)})")
        freed = sum(b.size for b in self.info() if b.name in chosen)
        for bucket in chosen:
            try:
                shutil.rmtree(self.directory / bucket)
            except FileNotFoundError:
                pass
            except OSError as e:
                raise self._fail(e) from e
        return freed

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
                if self._remembered(path, f, size, sha256):
                    return True
                digest = digest_stream(f, ImportParams(cid_version=cid.version))
                if digest.mismatch(cid, size, sha256) is None:
                    self._remember(path, f, digest.sha256)
                    return True
        except FileNotFoundError:
            return False
        path.unlink(missing_ok=True)
        return False

    def _remember(self, path: Path, f: BinaryIO, sha256: str) -> None:
        self._verified[path] = _Verified(_identity(os.fstat(f.fileno())), sha256)

    def _remembered(self, path: Path, f: BinaryIO, size: int | None, sha256: str | None) -> bool:
        """Whether the open file ``f`` is the very file verified earlier at ``path``."""
        known = self._verified.get(path)
        if known is None:
            return False
        identity = _identity(os.fstat(f.fileno()))
        return (
            identity == known.identity
            and (size is None or identity[2] == size)
            and (sha256 is None or sha256.lower() == known.sha256)
        )

    def open_verified(
        self, cid: CID, name: str, *, size: int | None, sha256: str | None
    ) -> BinaryIO | None:
        """The cached file, open, when this process verified this very file before (no
        hashing: its identity is compared); else None (obtain() verifies or fetches it)."""
        path = self.file_path(cid, name)
        if path not in self._verified:
            return None
        try:
            f = path.open("rb")
        except OSError:
            return None
        if self._remembered(path, f, size, sha256):
            return f
        f.close()
        return None

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
                raise self._fail(e) from e
            with contextlib.suppress(OSError):  # the pointer only saves a refetch
                atomic_write_bytes(self._sha256_path(fetched.sha256), str(cid).encode())
            return Obtained(path, fetched.gateway, fetched.size, fetched.failures)


def _files_below(directory: Path) -> Iterable[Path]:
    for parent, _dirs, names in os.walk(directory):
        for name in names:
            yield Path(parent, name)
