"""Fetching wheels: stream a source to disk while computing its CID, sha256 and size.

A source is an ``http(s)://`` or ``file://`` URL, or ``index:<wheel filename>`` resolved
on the configured index (sources.index). Downloads stream through the IPFS importer into
a temporary file in one pass, reporting bytes and finished wheels to a
wheelset.progress.Progress (the CLI draws it). Verified wheels are kept in an on-disk
cache keyed by sha256 (``$XDG_CACHE_HOME/wheelset/wheels``, default
``~/.cache/wheelset/wheels``), used only when the expected sha256 is known in advance (an
index ``#sha256=``): the integrity check never reads the cache.
Entry points: WheelFetcher, FetchedWheel, WheelCache, default_cache_dir().
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import httpx

from wheelset.fetch import FetchError
from wheelset.fetch.index import IndexClient
from wheelset.model.declarations import INDEX_SOURCE_PREFIX, Declaration, parse_wheel_name
from wheelset.model.wheelfile import Digest, WheelMetadata, digest_stream, read_wheel
from wheelset.progress import NO_PROGRESS, Progress

__all__ = [
    "FetchedWheel",
    "WheelCache",
    "WheelFetcher",
    "default_cache_dir",
]

# (label, bytes so far, total bytes or None when unknown); called from worker threads.
_STREAM_CHUNK = 1 << 16  # bytes per read from the network


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/wheelset/wheels`` (``~/.cache`` when XDG_CACHE_HOME is unset)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "wheelset" / "wheels"


class WheelCache:
    """Verified wheels by sha256: ``<dir>/<sha256[:2]>/<sha256>.whl``."""

    def __init__(self, directory: Path):
        self.directory = directory

    def path_for(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / f"{sha256}.whl"

    def get(self, sha256: str) -> Path | None:
        path = self.path_for(sha256)
        return path if path.is_file() else None

    def put(self, sha256: str, file: Path) -> None:
        """Copy ``file`` in (atomically); a cache that cannot be written is skipped."""
        target = self.path_for(sha256)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        except OSError:
            return
        os.close(fd)
        try:
            shutil.copyfile(file, tmp)
            os.replace(tmp, target)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def discard(self, sha256: str) -> None:
        with contextlib.suppress(OSError):
            self.path_for(sha256).unlink()


@dataclass(frozen=True, slots=True)
class FetchedWheel:
    """A fetched and checked wheel: where it came from, its digest and METADATA."""

    filename: str
    url: str
    digest: Digest
    metadata: WheelMetadata


class _TeeReader(io.RawIOBase):
    """A readable stream over byte chunks that copies everything it hands out to ``sink``."""

    def __init__(
        self, chunks: Iterator[bytes], sink: io.BufferedWriter, report: Callable[[int], None]
    ):
        self._chunks = chunks
        self._sink = sink
        self._report = report
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            if chunk:
                self._sink.write(chunk)
                self._report(len(chunk))
                self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class WheelFetcher:
    """Fetches sources (URL or ``index:``) through an injected httpx client.

    ``index`` is needed only for ``index:`` sources. Thread-safe as long as the httpx
    client is (it is), so declare can fetch several wheels at once.
    """

    def __init__(
        self,
        *,
        http: httpx.Client,
        index: IndexClient | None = None,
        cache: WheelCache | None = None,
        progress: Progress = NO_PROGRESS,
    ):
        self._http = http
        self.index = index
        self.cache = cache
        self._progress = progress

    def resolve(self, source: str) -> tuple[str, str | None]:
        """(URL, sha256 the index lists or None) of a source.

        Raises:
            FetchError: ``index:`` with no index configured, or not on the index.
        """
        if source.startswith(INDEX_SOURCE_PREFIX):
            filename = source[len(INDEX_SOURCE_PREFIX) :]
            if self.index is None:
                raise FetchError(f"{source}: no package index configured")
            name = parse_wheel_name(filename)[0]
            found = self.index.find_file(filename, name)
            return found.url, found.sha256
        return source.split("#", 1)[0], None

    def fetch(
        self,
        source: str,
        filename: str,
        *,
        expected_sha256: str | None = None,
        use_cache: bool = True,
        trust_index_hash: bool = True,
    ) -> FetchedWheel:
        """Fetch, digest and check the wheel ``filename`` from ``source``.

        ``expected_sha256`` (or, with ``trust_index_hash``, the index's hash) is enforced;
        with ``use_cache`` a cached copy with that hash is used instead of the network.

        Raises:
            FetchError: HTTP error, timeout, unreachable, or a hash other than expected.
            NotAWheelError: the bytes are not a usable wheel (see wheelfile.read_wheel).
            DeclarationError: ``filename`` is not a valid, path-safe wheel name.
        """
        parse_wheel_name(filename)
        url, index_sha256 = self.resolve(source)
        expected = expected_sha256 or (index_sha256 if trust_index_hash else None)
        if use_cache and self.cache is not None and expected:
            cached = self.cache.get(expected)
            if cached is not None:
                with cached.open("rb") as f:
                    digest = digest_stream(f)
                if digest.sha256 == expected:
                    self._progress.item(filename, "cache")
                    return FetchedWheel(filename, url, digest, read_wheel(cached, filename))
                self.cache.discard(expected)
        with tempfile.TemporaryDirectory(prefix="wheelset-") as tmp:
            path = Path(tmp) / filename
            digest = self._download(url, path, filename)
            if expected and digest.sha256 != expected:
                raise FetchError(f"{url}: sha256 {digest.sha256} differs from expected {expected}")
            metadata = read_wheel(path, filename)
            if self.cache is not None:
                self.cache.put(digest.sha256, path)
        return FetchedWheel(filename, url, digest, metadata)

    def inspect(self, decl: Declaration) -> FetchedWheel:
        """Re-fetch a declaration's source from the network (never the cache); the bytes
        are compared with the declaration by the caller, not with the index's hash."""
        return self.fetch(decl.source, decl.filename, use_cache=False, trust_index_hash=False)

    def _download(self, url: str, path: Path, label: str) -> Digest:
        scheme = urlsplit(url).scheme
        if scheme == "file":
            local = Path(url2pathname(unquote(urlsplit(url).path)))
            try:
                with local.open("rb") as src:
                    return self._copy(iter(lambda: src.read(_STREAM_CHUNK), b""), path, label)
            except FileNotFoundError as e:
                raise FetchError(f"{url}: no such file") from e
            except OSError as e:
                raise FetchError(f"{url}: {e.strerror or e}") from e
        if scheme not in ("http", "https"):
            raise FetchError(f"{url}: unsupported URL scheme {scheme!r}")
        try:
            with self._http.stream("GET", url, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise FetchError(f"{url}: HTTP {response.status_code} {response.reason_phrase}")
                return self._copy(response.iter_bytes(_STREAM_CHUNK), path, label)
        except httpx.TimeoutException as e:
            raise FetchError(f"{url}: timed out ({type(e).__name__})") from e
        except httpx.HTTPError as e:
            raise FetchError(f"{url}: {e or type(e).__name__}") from e

    def _copy(self, chunks: Iterator[bytes], path: Path, label: str) -> Digest:
        with path.open("wb") as sink:
            reader = _TeeReader(chunks, sink, self._progress.advance)
            digest = digest_stream(reader)  # type: ignore[arg-type]
        self._progress.item(label, "fetched")
        return digest
