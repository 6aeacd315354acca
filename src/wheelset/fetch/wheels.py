"""Fetch wheels verified, through the one cache: the one fetcher every command uses.

Where a wheel's bytes come from, in the order tried for a declaration (fetch()):

1. the cache (``files/<cid>/<wheel>``, re-verified on use; wheelset.fetch.cache);
2. build directories' trees (``<tree>/<project>/<wheel>``, as ``build --with-wheels``
   writes them), verified like any download;
3. IPFS gateways by content-id — a reachable local node first (wheelset.ipfs.gateway,
   which verifies each gateway's answer and moves on to the next);
4. the declared source: an ``http(s)://`` or ``file:`` URL, or ``index:<wheel>`` looked
   up on the configured package index (wheelset.fetch.index).

A source whose content-id nobody knows yet (declare, bump, ``check --integrity``) is read
with inspect_source(): once, its CID, sha256 and size computed on the way, and its METADATA
read. Either way the bytes stream into a temp file while ipfs.importer.digest_stream()
computes CID, sha256 and size in the same pass; only verified files enter the cache or are
handed out, so a caller never sees unverified bytes. HTTP goes through the injected client
(wheelset.fetch.http: bounded bodies, scoped credentials); every URL in a message is masked.
Bytes and finished wheels are reported to a wheelset.progress.Progress.
Entry points: wheel_fetcher(), WheelFetcher, FetchedWheel, InspectedWheel, ContentMismatch.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from wheelset.errors import ContentMismatch, mask_credentials
from wheelset.fetch import FetchError
from wheelset.fetch.cache import Cache, default_cache_dir
from wheelset.fetch.index import IndexClient, IndexFile, configured_index_url
from wheelset.fsutil import make_temp, temp_writer
from wheelset.httpbody import MAX_BODY_EXTENSION, ChunkReader, TooLong, describe_http_error
from wheelset.ipfs.gateway import DEFAULT_TIMEOUT, GatewayFetcher
from wheelset.ipfs.gateway import FetchError as GatewayFetchError
from wheelset.ipfs.importer import Digest, digest_stream
from wheelset.model.declarations import (
    INDEX_SOURCE_PREFIX,
    MAX_FILE_SIZE,
    Declaration,
    parse_wheel_name,
)
from wheelset.model.wheelfile import WheelMetadata, read_wheel
from wheelset.progress import NO_PROGRESS, Progress

MAX_METADATA_SIZE = 16 * 1024 * 1024  # bytes; anything larger is not a real METADATA file

__all__ = [
    "MAX_METADATA_SIZE",
    "ContentMismatch",
    "FetchedWheel",
    "InspectedWheel",
    "WheelFetcher",
    "wheel_fetcher",
]

_CHUNK = 1 << 16  # bytes per read from the network or a local file


@dataclass(frozen=True, slots=True)
class FetchedWheel:
    """A verified wheel on disk; ``source`` is ``cache``, a gateway or the (masked) URL."""

    path: Path
    source: str


@dataclass(frozen=True, slots=True)
class InspectedWheel:
    """A source read afresh: its (masked) URL, digest and METADATA."""

    filename: str
    url: str
    digest: Digest
    metadata: WheelMetadata


def _local_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


def _place(path: Path, into: Path | None, filename: str) -> Path:
    """``path``, or a copy of it at ``into/filename`` (a hard link where possible)."""
    if into is None:
        return path
    into.mkdir(parents=True, exist_ok=True)
    target = into / filename
    fd, tmp = make_temp(into, filename)
    os.close(fd)
    try:
        tmp.unlink()
        try:
            os.link(path, tmp)
        except OSError:
            shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


class WheelFetcher:
    """Fetches wheels verified, through an injected httpx client and the cache (optional).

    ``index_url`` (default: as configured_index_url() finds it) is looked up only when an
    ``index:`` source needs it, unless an IndexClient is given. ``trees`` (build directories'
    ``tree/``) and then ``gateways`` (by CID) are tried before the declared source.
    Thread-safe: several wheels may be fetched at once.
    """

    def __init__(
        self,
        *,
        http: httpx.Client,
        cache: Cache | None = None,
        index: IndexClient | None = None,
        index_url: str | None = None,
        gateways: GatewayFetcher | None = None,
        trees: Sequence[Path] = (),
        progress: Progress = NO_PROGRESS,
    ):
        self._http = http
        self._trees = tuple(trees)
        self.cache = cache
        self._index = index
        self._index_url = index_url
        self._gateways = gateways
        self._progress = progress

    @property
    def index(self) -> IndexClient:
        """The package index.

        Raises:
            WheelsetError: no index is configured.
        """
        if self._index is None:
            self._index = IndexClient(configured_index_url(self._index_url), http=self._http)
        return self._index

    def resolve(self, source: str) -> tuple[str, str | None]:
        """(URL, sha256 the index lists or None) of a declared source.

        Raises:
            FetchError: ``index:`` that the index does not list, or an unreadable index.
        """
        if source.startswith(INDEX_SOURCE_PREFIX):
            filename = source[len(INDEX_SOURCE_PREFIX) :]
            found = self.index.find_file(filename, parse_wheel_name(filename)[0])
            return found.url, found.sha256
        return source.split("#", 1)[0], None

    def fetch(self, decl: Declaration, into: Path | None = None) -> FetchedWheel:
        """The verified wheel of ``decl``: from the cache, gateways, or its source.

        The file stays in the cache; with ``into`` it is also put at ``into/<wheel>``
        (needed when there is no cache).
        Raises:
            FetchError: no source delivered (ContentMismatch: the source's bytes are not
                the declared ones; nothing is kept).
            CacheError: the cache cannot be written.
        """
        cid, name = decl.content_id, decl.filename
        if self.cache is None and into is None:
            raise ValueError("fetch() without a cache needs a directory to put the wheel in")
        if self.cache is not None and self.cache.cached(
            cid, name, size=decl.size, sha256=decl.sha256
        ):
            self._progress.item(name, "cache")
            return FetchedWheel(_place(self.cache.file_path(cid, name), into, name), "cache")
        failed = ""
        for tree in self._trees:
            local = tree / decl.name / name
            if local.is_file():
                try:
                    return FetchedWheel(self._from_url(decl, local.as_uri(), into), str(local))
                except FetchError as e:  # a stale or damaged copy: the next source
                    failed += f"{e}; "
        if self._gateways is not None:
            try:
                return self._from_gateways(decl, into)
            except GatewayFetchError as e:
                failed += f"{e}; "
        try:
            url = self.resolve(decl.source)[0]
            path = self._from_url(decl, url, into)
        except FetchError as e:
            raise type(e)(f"{failed}{e}", path=decl.path, code=e.code) from e
        return FetchedWheel(path, mask_credentials(url))

    def _from_gateways(self, decl: Declaration, into: Path | None) -> FetchedWheel:
        assert self._gateways is not None
        cid, name = decl.content_id, decl.filename
        if self.cache is not None:
            got = self.cache.obtain(
                cid,
                self._gateways,
                name,
                size=decl.size,
                sha256=decl.sha256,
                label=name,
                on_progress=self._progress.advance,
            )
            self._progress.item(name, got.source)
            return FetchedWheel(_place(got.path, into, name), got.source)
        assert into is not None
        fetched = self._gateways.fetch_file(
            cid,
            into / name,
            size=decl.size,
            sha256=decl.sha256,
            label=name,
            on_progress=self._progress.advance,
        )
        self._progress.item(name, fetched.gateway)
        return FetchedWheel(into / name, fetched.gateway)

    def _from_url(self, decl: Declaration, url: str, into: Path | None) -> Path:
        limit = MAX_FILE_SIZE if decl.size is None else decl.size
        with self._temp(decl.filename, into, self.cache) as (sink, tmp):
            digest = self._download(url, sink, limit, decl.filename)
            sink.close()
            if problem := digest.mismatch(decl.content_id, decl.size, decl.sha256):
                raise ContentMismatch(f"{mask_credentials(url)}: {problem}", path=decl.path)
            if self.cache is not None:
                return _place(self.cache.put_file(digest, decl.filename, tmp), into, decl.filename)
            assert into is not None
            os.replace(tmp, into / decl.filename)
            return into / decl.filename

    def _temp(
        self, name: str, into: Path | None, cache: Cache | None
    ) -> contextlib.AbstractContextManager[tuple[BinaryIO, Path]]:
        """A temp file in ``cache`` (else in ``into``), removed unless moved away."""
        if cache is not None:
            return cache.temp_writer(name)
        assert into is not None
        return temp_writer(into, name)

    def inspect(self, decl: Declaration) -> InspectedWheel:
        """Read a declaration's source afresh (the cache neither read nor filled); the
        caller compares."""
        return self.inspect_source(
            decl.source, decl.filename, use_cache=False, trust_index_hash=False
        )

    def inspect_source(
        self,
        source: str,
        filename: str,
        *,
        expected_sha256: str | None = None,
        use_cache: bool = True,
        trust_index_hash: bool = True,
    ) -> InspectedWheel:
        """Fetch, digest and read the wheel ``filename`` from ``source``.

        ``expected_sha256`` (or, with ``trust_index_hash``, the index's hash) is enforced;
        with ``use_cache`` a cached copy with that hash is used instead of the network, and
        a download is kept in the cache.
        Raises:
            FetchError: HTTP error, timeout, unreachable, or a hash other than expected.
            NotAWheelError: the bytes are not a usable wheel (see wheelfile.read_wheel).
            DeclarationError: ``filename`` is not a valid, path-safe wheel name.
        """
        parse_wheel_name(filename)
        url, index_sha256 = self.resolve(source)
        shown = mask_credentials(url)
        expected = expected_sha256 or (index_sha256 if trust_index_hash else None)
        cache = self.cache if use_cache else None
        if cache is not None and expected:
            hit = cache.find_sha256(expected, filename)
            if hit is not None:
                self._progress.item(filename, "cache")
                return InspectedWheel(filename, shown, hit[1], read_wheel(hit[0], filename))
        with contextlib.ExitStack() as stack:
            into = None
            if cache is None:
                into = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wheelset-")))
            sink, tmp = stack.enter_context(self._temp(filename, into, cache))
            digest = self._download(url, sink, MAX_FILE_SIZE, filename)
            sink.close()
            if expected and digest.sha256 != expected:
                raise FetchError(
                    f"{shown}: sha256 {digest.sha256} differs from expected {expected}"
                )
            metadata = read_wheel(tmp, filename)
            if cache is not None:
                cache.put_file(digest, filename, tmp)
        return InspectedWheel(filename, shown, digest, metadata)

    def core_metadata(self, item: IndexFile) -> bytes:
        """The METADATA an index serves beside a wheel (PEP 658/714: ``<url>.metadata``),
        checked against the sha256 the page gives.

        Raises:
            FetchError: HTTP error, timeout, unreachable, too large, or another sha256.
        """
        url = item.url + ".metadata"
        sink = io.BytesIO()
        digest = self._download(url, sink, MAX_METADATA_SIZE, item.filename + ".metadata")
        if item.core_metadata and digest.sha256 != item.core_metadata:
            raise FetchError(
                f"{mask_credentials(url)}: sha256 differs from the index's {item.core_metadata}"
            )
        return sink.getvalue()

    def _download(self, url: str, sink: BinaryIO, limit: int, label: str) -> Digest:
        """Stream ``url`` into ``sink``; its digest (at most ``limit`` bytes are read)."""
        shown = mask_credentials(url)
        parts = urlsplit(url)
        try:
            if parts.scheme == "file":
                # url2pathname decodes %XX itself: decoding again would open another file.
                path = Path(url2pathname(parts.path))
                return self._digest(_local_chunks(path), sink, limit, label)
            if parts.scheme not in ("http", "https"):
                raise FetchError(f"{shown}: unsupported URL scheme {parts.scheme!r}")
            with self._http.stream(
                "GET", url, follow_redirects=True, extensions={MAX_BODY_EXTENSION: limit}
            ) as response:
                if response.status_code != 200:
                    raise FetchError(
                        f"{shown}: HTTP {response.status_code} {response.reason_phrase}"
                    )
                return self._digest(response.iter_bytes(_CHUNK), sink, limit, label)
        except TooLong as e:
            raise ContentMismatch(f"{shown}: {e}") from None
        except httpx.HTTPError as e:
            raise FetchError(f"{shown}: {describe_http_error(e)}") from e
        except FileNotFoundError as e:
            raise FetchError(f"{shown}: no such file") from e
        except OSError as e:
            raise FetchError(f"{shown}: cannot read ({e.strerror or e})") from e

    def _digest(self, chunks: Iterator[bytes], sink: BinaryIO, limit: int, label: str) -> Digest:
        reader = ChunkReader(chunks, limit, self._progress.advance)
        digest = digest_stream(reader, on_chunk=sink.write)  # type: ignore[arg-type]
        self._progress.item(label, "fetched")
        return digest


def wheel_fetcher(
    http: httpx.Client,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    index_url: str | None = None,
    gateways: Sequence[str] = (),
    trees: Sequence[Path] = (),
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress = NO_PROGRESS,
) -> WheelFetcher:
    """A command's fetcher from its options: the one cache (``cache_dir``, else
    default_cache_dir(); none when not ``use_cache``), the index (``index_url``, else as
    configured), build ``trees`` and ``gateways`` (by content-id, ``timeout`` per read) to
    try before the declared sources."""
    return WheelFetcher(
        http=http,
        cache=Cache(cache_dir or default_cache_dir()) if use_cache else None,
        index_url=index_url,
        gateways=GatewayFetcher(gateways, http=http, timeout=timeout) if gateways else None,
        trees=trees,
        progress=progress,
    )
