"""Fetch a declared wheel into a local file, verified against its content-id on the way in.

Where from: an IPFS gateway by content-id (``<gateway>/ipfs/<cid>``) when one is given,
else the declaration's source — an http(s)/file URL, or ``index:<file>`` looked up on the
configured index (wheelset.fetch.index). The bytes are streamed into a temporary file
while the UnixFS importer recomputes the CID (and sha256, size) in the same pass; a
mismatch deletes the file and raises ContentMismatch, so callers only ever see verified
wheels. HTTP client injected. Entry points: WheelFetcher, FetchedWheel.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from wheelset.fetch import FetchError
from wheelset.fetch.index import IndexClient, configured_index_url
from wheelset.ipfs.importer import import_file
from wheelset.model.declarations import INDEX_SOURCE_PREFIX, Declaration

__all__ = ["ContentMismatch", "FetchError", "FetchedWheel", "WheelFetcher"]

_COPY_CHUNK = 1 << 20  # bytes read at a time from local files


class ContentMismatch(FetchError):
    """Downloaded bytes do not match the declaration's content-id, sha256 or size."""


@dataclass(frozen=True, slots=True)
class FetchedWheel:
    path: Path
    sha256: str
    size: int


class _TeeReader(io.RawIOBase):
    """A readable stream over byte chunks that copies each chunk to ``sink`` as it passes."""

    def __init__(self, chunks: Iterator[bytes], sink: BinaryIO, limit: int | None):
        self._chunks = chunks
        self._sink = sink
        self._pending = memoryview(b"")
        self._limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self.count += len(chunk)
            if self._limit is not None and self.count > self._limit:
                raise ContentMismatch(f"more than the declared {self._limit} bytes")
            self._sink.write(chunk)
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _iter_file(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(_COPY_CHUNK):
            yield chunk


class WheelFetcher:
    """Downloads wheels, verified. ``gateway`` (optional) is a base URL serving /ipfs/<cid>."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        index_url: str | None = None,
        gateway: str | None = None,
    ):
        self._http = http
        self._index_url = index_url
        self._index: IndexClient | None = None
        self._gateway = gateway.rstrip("/") if gateway else None

    def url_of(self, decl: Declaration) -> str:
        """Where this fetcher downloads ``decl`` from.

        Raises:
            FetchError: an index: source that the index does not list (IndexLookupError),
                or an index that cannot be read.
        """
        if self._gateway:
            return f"{self._gateway}/ipfs/{decl.content_id}"
        if decl.source.startswith(INDEX_SOURCE_PREFIX):
            if self._index is None:
                index_url = configured_index_url(self._index_url)
                self._index = IndexClient(index_url, http=self._http)
            return self._index.find_file(decl.filename, decl.name).url
        return decl.source

    def fetch(
        self,
        decl: Declaration,
        directory: Path,
        *,
        on_bytes: Callable[[int], None] | None = None,
    ) -> FetchedWheel:
        """Download ``decl`` to ``directory/<wheel filename>``, verified; return it.

        Raises:
            FetchError: the download failed. ContentMismatch: wrong bytes (nothing kept).
        """
        url = self.url_of(decl)
        target = directory / decl.filename
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{decl.filename}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as sink:
                fetched = self._download(decl, url, sink, on_bytes)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return FetchedWheel(target, fetched[0], fetched[1])

    def _download(
        self,
        decl: Declaration,
        url: str,
        sink: BinaryIO,
        on_bytes: Callable[[int], None] | None,
    ) -> tuple[str, int]:
        try:
            if url.startswith("file:"):
                path = Path(url2pathname(urlsplit(url).path))
                return self._verify(decl, url, _iter_file(path), sink, on_bytes)
            with self._http.stream("GET", url, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise FetchError(f"{url}: HTTP {response.status_code}", path=decl.path)
                return self._verify(decl, url, response.iter_bytes(), sink, on_bytes)
        except ContentMismatch as e:
            raise ContentMismatch(f"{url}: {e}", path=decl.path) from None
        except httpx.HTTPError as e:
            raise FetchError(f"cannot download {url}: {e}", path=decl.path) from e
        except OSError as e:
            raise FetchError(f"cannot read {url}: {e}", path=decl.path) from e

    def _verify(
        self,
        decl: Declaration,
        url: str,
        chunks: Iterator[bytes],
        sink: BinaryIO,
        on_bytes: Callable[[int], None] | None,
    ) -> tuple[str, int]:
        digest = hashlib.sha256()

        def seen(chunk: memoryview) -> None:
            digest.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))

        reader = _TeeReader(chunks, sink, decl.size)
        imported = import_file(reader, on_chunk=seen)  # type: ignore[arg-type]
        sha256 = digest.hexdigest()
        if imported.cid != decl.content_id:
            raise ContentMismatch(
                f"content-id is {imported.cid}, the declaration says {decl.content_id}"
            )
        if decl.size is not None and imported.file_size != decl.size:
            raise ContentMismatch(f"{imported.file_size} bytes, the declaration says {decl.size}")
        if decl.sha256 is not None and sha256 != decl.sha256:
            raise ContentMismatch(f"sha256 is {sha256}, the declaration says {decl.sha256}")
        return sha256, imported.file_size
