"""Fetch content from IPFS HTTP gateways in order, verifying every file against its CID.

Spec: path gateways (https://specs.ipfs.tech/http-gateways/path-gateway/): ``GET
/ipfs/<cid>`` returns the file's bytes. No gateway is trusted: a file is streamed to a
temporary file while its UnixFS DAG is rebuilt (Kubo defaults) and its sha256 computed in the
same pass; it is kept only when the CID (and the expected size and sha256, when given)
match. Connection errors, HTTP errors, timeouts (a stalled body times out between reads),
truncated or oversized bodies and CID mismatches all move on to the next gateway; when every
gateway fails the error names the content and each gateway's failure, on one line.
A trustless-only gateway (one that refuses deserialised files) is used block by block
(``?format=raw``, spec: https://specs.ipfs.tech/http-gateways/trustless-gateway/), each
block hashed against the CID its verified parent names. Knows nothing about wheels.
Entry points: GatewayFetcher, Fetched, FetchError, gateway_urls(), DEFAULT_GATEWAYS.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypedDict
from urllib.parse import urlsplit

from wheelset.errors import FetchCancelled, FetchError, WheelsetError, mask_credentials
from wheelset.fsutil import replacing
from wheelset.ipfs.car import InvalidCAR, iter_car
from wheelset.ipfs.cid import CID, SHA2_256
from wheelset.ipfs.dagpb import InvalidNode, file_parts

if TYPE_CHECKING:
    # httpx is loaded by wheelset.fetch.http only for a request that needs it: it costs
    # ~70 ms at start-up, and a local node's requests do without it.
    from typing import Unpack

    import httpx

    from wheelset.ipfs.importer import ImportParams

__all__ = [
    "DEFAULT_GATEWAYS",
    "DEFAULT_LOCAL_GATEWAY",
    "DEFAULT_TIMEOUT",
    "MAX_BLOCK_SIZE",
    "FetchCancelled",
    "FetchError",
    "FetchOptions",
    "Fetched",
    "GatewayFailure",
    "GatewayFetcher",
    "configured_gateways",
    "gateway_urls",
    "normalise_gateway",
]


# Used only when nothing is configured (no --gateway, no WHEELSET_GATEWAY, no local node).
DEFAULT_GATEWAYS = ("https://ipfs.io", "https://dweb.link")
DEFAULT_LOCAL_GATEWAY = "http://127.0.0.1:8080"  # a local Kubo node's gateway
DEFAULT_TIMEOUT = 30.0  # seconds: to connect, and between two reads of a body
_PROBE_TIMEOUT = 0.5  # seconds
# A gateway answers this identity CID (empty content) from the CID alone, without the network.
_PROBE_PATH = "/ipfs/bafkqaaa"
_READ_SIZE = 65_536  # bytes per network read
# The body limit of a file whose size nobody states (2**53 - 1: beyond any real file).
MAX_FILE_BODY = 2**53 - 1
MAX_BLOCK_SIZE = 2 * 1024 * 1024  # bytes; the largest block IPFS exchanges (bitswap's limit)
RAW_BLOCK_TYPE = "application/vnd.ipld.raw"
CAR_MEDIA_TYPE = "application/vnd.ipld.car"
# Blocks depth first and repeated where the DAG repeats them, so a file streams through.
CAR_TYPE = f"{CAR_MEDIA_TYPE}; version=1; order=dfs; dups=y"
# Opens a node's CAR of one file (NodeBlocks.file_car: CID and size): a context manager
# giving a stream.
_CarOpener = Callable[[CID, int], contextlib.AbstractContextManager[BinaryIO]]
# A trustless-only gateway (boxo's default for public gateways) refuses to deserialise a
# file and answers one of these; then the file is fetched block by block instead.
_TRUSTLESS_ONLY = (400, 406, 501)


@dataclass(frozen=True, slots=True)
class GatewayFailure:
    """Why one gateway did not deliver: ``kind`` is transport (connection refused, reset or
    closed early), timeout, http, not-found, truncated, oversized, mismatch, invalid (a block
    that is not part of a UnixFS file) or rejected (the caller's verification refused it)."""

    gateway: str
    kind: str
    reason: str

    def __str__(self) -> str:
        return mask_credentials(f"{self.gateway}: {self.reason}")


@dataclass(frozen=True, slots=True)
class Fetched:
    """A verified file: where it came from, and which gateways failed before."""

    cid: CID
    size: int
    sha256: str
    gateway: str
    failures: tuple[GatewayFailure, ...] = ()


class _Failed(Exception):
    def __init__(self, kind: str, reason: str, status: int | None = None):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.status = status

    @classmethod
    def transport(cls, error: httpx.HTTPError) -> _Failed:
        import httpx

        from wheelset.httpbody import describe_http_error

        kind = "timeout" if isinstance(error, httpx.TimeoutException) else "transport"
        return cls(kind, describe_http_error(error))


def normalise_gateway(url: str) -> str:
    """``http://host:port/`` or ``…/ipfs/`` -> ``http://host:port`` (the gateway's base URL).

    >>> normalise_gateway("http://127.0.0.1:8080/ipfs/")
    'http://127.0.0.1:8080'
    """
    base = url.strip().rstrip("/")
    if base.endswith("/ipfs"):
        base = base[: -len("/ipfs")]
    if not re.match(r"https?://[^/\s]+", base):
        raise FetchError(f"gateway {url!r} is not an http:// or https:// URL")
    return base


def _split(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text) if part]


def configured_gateways(explicit: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """``explicit`` (``--gateway``), else ``$WHEELSET_GATEWAY`` (comma or space separated),
    else DEFAULT_GATEWAYS; normalised, in order, without duplicates.

    Raises:
        FetchError: a configured URL is not http(s).
    """
    configured = list(explicit) or _split(environ.get("WHEELSET_GATEWAY", ""))
    urls = [normalise_gateway(u) for u in configured] or list(DEFAULT_GATEWAYS)
    return list(dict.fromkeys(urls))


def gateway_urls(
    explicit: Sequence[str],
    *,
    environ: Mapping[str, str] = os.environ,
    http: httpx.Client | None = None,
) -> list[str]:
    """The gateways to fetch from: a reachable local node first, then configured_gateways().

    The local node is ``$WHEELSET_LOCAL_GATEWAY`` (default 127.0.0.1:8080; ``off``
    disables the probe), used only when it answers a gateway request within half a second.
    Raises:
        FetchError: a configured URL is not http(s).
    """
    urls = configured_gateways(explicit, environ)
    local = environ.get("WHEELSET_LOCAL_GATEWAY", DEFAULT_LOCAL_GATEWAY).strip()
    if local.lower() not in ("", "off", "0", "no", "false"):
        local = normalise_gateway(local)
        if local not in urls and _is_gateway(local, http):
            urls.insert(0, local)
    return urls


def _is_gateway(base: str, http: httpx.Client | None) -> bool:
    import httpx

    parts = urlsplit(base)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        # A refused connection (no local node: the common case) answers in microseconds.
        socket.create_connection((parts.hostname or "", port), timeout=_PROBE_TIMEOUT).close()
    except OSError:
        return False
    # The status says it all: the body is never read (whatever a squatter on the port sends).
    stream = httpx.stream if http is None else http.stream
    try:
        with stream("GET", base + _PROBE_PATH, timeout=_PROBE_TIMEOUT) as response:
            return response.status_code == 200
    except httpx.HTTPError:
        return False


def _unless_cancelled(chunks: Iterator[bytes], cancel: threading.Event | None) -> Iterator[bytes]:
    for chunk in chunks:
        if cancel is not None and cancel.is_set():
            raise FetchCancelled("cancelled")
        yield chunk


def _import_params(cid: CID) -> ImportParams:
    # The importer is loaded only to rebuild a file served whole (a node's or a trustless
    # gateway's blocks are checked one by one).
    from wheelset.ipfs.importer import ImportParams

    # CIDv1 files come from `ipfs add --cid-version 1`, which implies raw leaves.
    return ImportParams(cid_version=cid.version)


class FetchOptions(TypedDict, total=False):
    """The keywords of GatewayFetcher.fetch_into(), which fetch_file() forwards."""

    size: int | None
    sha256: str | None
    label: str | None
    on_progress: Callable[[int], None] | None
    cancel: threading.Event | None


class GatewayFetcher:
    """Fetches from ``gateways`` (base URLs, in order) through an injected httpx client;
    from a local node first once `use_node` gave one."""

    def __init__(
        self,
        gateways: Sequence[str],
        *,
        http: httpx.Client,
        timeout: float = DEFAULT_TIMEOUT,
    ):
        if not gateways:
            raise FetchError("no gateway configured")
        self.gateways = tuple(normalise_gateway(g) for g in gateways)
        self._http = http
        self._timeout = timeout
        self._node: tuple[str, Callable[[CID], bytes], _CarOpener | None] | None = None
        self._node_holds: Callable[[CID], bool] | None = None

    def use_node(
        self,
        name: str,
        block: Callable[[CID], bytes],
        car: _CarOpener | None = None,
        holds: Callable[[CID], bool] | None = None,
    ) -> None:
        """Read files from a node first: ``block(cid)`` gives a block as the node has it or
        raises a WheelsetError; ``car(cid, size)``, when given, opens the node's CAR of a whole
        file (a context manager giving a stream; raises a WheelsetError), one request
        instead of one per block, with ``block`` for what the CAR does not deliver;
        ``holds(cid)``, when given, says that ``block`` has the block ``cid`` at hand (a
        file whose root block it has is read block by block, not asked for as a CAR).
        Nothing the node sends is trusted: each block is checked against the CID its
        verified parent names, the file rebuilt from its root CID down. A node's RPC hands
        out blocks for far less work than a gateway serves a file."""
        self._node = (name, block, car)
        self._node_holds = holds

    @property
    def reads_node(self) -> bool:
        """Whether files are read from a node first (use_node)."""
        return self._node is not None

    def _node_block(self, cid: CID) -> bytes:
        assert self._node is not None
        if cid.hash_code != SHA2_256:
            raise _Failed("mismatch", f"cannot verify block {cid}: not sha2-256")
        try:
            block = self._node[1](cid)
        except WheelsetError as e:
            raise _Failed("not-found", e.one_line()) from e
        if hashlib.sha256(block).digest() != cid.digest:
            raise _Failed("mismatch", f"block {cid} does not hash to its CID")
        return block

    def _attempt_node(self, attempt: _Attempt) -> tuple[CID, int, str]:
        assert self._node is not None
        car = self._node[2]
        # The node's time for a CAR is bounded by the file's size: unknown, blocks instead.
        held = self._node_holds is not None and self._node_holds(attempt.cid)
        if car is not None and attempt.size is not None and not held:
            try:
                return self._node_car(attempt, car)
            except _Failed as e:
                if e.kind == "not-found":
                    raise  # the node lacks the file or failed: the gateways are next
                attempt.restart()  # a CAR the walk could not use: its blocks one by one
        return self._write_file_dag(attempt, self._node_block)

    def _node_car(self, attempt: _Attempt, car: _CarOpener) -> tuple[CID, int, str]:
        from wheelset.httpbody import TooLong

        try:
            with car(attempt.cid, attempt.size) as stream:
                _, sections = iter_car(stream)
                got = self._write_file_dag(attempt, _next_of(sections, self._node_block))
                # Read to its end: the connection is then reused, and nothing else is in it.
                if next(sections, None) is not None:
                    raise _Failed("invalid", "the CAR holds blocks that are not part of the file")
                return got
        except FetchCancelled:
            raise
        except InvalidCAR as e:
            raise _Failed("invalid", f"bad CAR for {attempt.cid}: {e}") from e
        except TooLong:
            raise _Failed("oversized", f"CAR of {attempt.cid} longer than allowed") from None
        except WheelsetError as e:
            raise _Failed("not-found", e.one_line()) from e

    def _get(
        self, url: str, max_body: int, accept: str | None = None
    ) -> contextlib.AbstractContextManager[httpx.Response]:
        from wheelset.httpbody import MAX_BODY_EXTENSION  # httpx: only when fetching

        headers = {"Accept-Encoding": "identity"}
        if accept is not None:
            headers["Accept"] = accept
        return self._http.stream(
            "GET",
            url,
            timeout=self._timeout,
            headers=headers,
            extensions={MAX_BODY_EXTENSION: max_body},
        )

    def fetch_file(self, cid: CID, dest: Path, **options: Unpack[FetchOptions]) -> Fetched:
        """Fetch the file ``cid`` into ``dest``, which it replaces only once verified:
        fetch_into() a temporary file beside it, with the same keywords.

        Raises:
            FetchError, FetchCancelled: as fetch_into().
        """
        with replacing(dest) as tmp, open(tmp, "w+b") as out:
            return self.fetch_into(cid, out, **options)

    def fetch_into(
        self,
        cid: CID,
        out: BinaryIO,
        *,
        size: int | None = None,
        sha256: str | None = None,
        label: str | None = None,
        on_progress: Callable[[int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Fetched:
        """Fetch the file ``cid`` into the empty, seekable ``out``; when this returns, ``out``
        holds exactly the verified file (an abandoned try is truncated away), else its
        content is unspecified.

        ``size``/``sha256`` are what the caller expects besides the CID; ``label`` names the
        content in errors; ``on_progress`` gets byte deltas (negative when an attempt is
        abandoned); setting ``cancel`` stops the fetch.
        Raises:
            FetchError: no gateway delivered content with this CID (each failure listed), or
                the content has the CID but not the expected size or sha256.
            FetchCancelled: ``cancel`` was set.
        """
        if cid.hash_code != SHA2_256:
            raise FetchError(f"cannot verify {cid}: only sha2-256 CIDs are supported")
        what = f"{label} ({cid})" if label else str(cid)
        failures: list[GatewayFailure] = []
        attempt = _Attempt(cid, out, size, on_progress, cancel)
        sources: list[tuple[str, Callable[[], tuple[CID, int, str]]]] = [
            (gateway, functools.partial(self._attempt_any, gateway, attempt))
            for gateway in self.gateways
        ]
        if self._node is not None:
            sources.insert(0, (self._node[0], functools.partial(self._attempt_node, attempt)))
        # The node not having a file is said only if no gateway has it either.
        node_failure: list[GatewayFailure] = []
        for gateway, attempt_one in sources:
            try:
                got_cid, got_size, digest = attempt_one()
            except _Failed as e:
                attempt.restart()
                failed = GatewayFailure(gateway, e.kind, e.reason)
                absent = e.kind == "not-found" and self._node is not None
                (node_failure if absent and gateway == self._node[0] else failures).append(failed)
                continue
            if got_cid != cid:
                attempt.restart()
                failures.append(
                    GatewayFailure(gateway, "mismatch", f"content is {got_cid}, not {cid}")
                )
                continue
            _check_expected(what, got_size, digest, size, sha256)
            return Fetched(cid, got_size, digest, gateway, tuple(failures))
        failures = node_failure + failures
        raise FetchError(f"cannot fetch {what}: " + "; ".join(str(f) for f in failures), failures)

    def _attempt_any(self, gateway: str, attempt: _Attempt) -> tuple[CID, int, str]:
        """The whole file; from a trustless-only gateway (it refuses that), as one CAR
        response, or block by block when it answers no CAR either."""
        cid = attempt.cid
        try:
            return self._attempt(f"{gateway}/ipfs/{cid}", attempt)
        except _Failed as e:
            if e.status not in _TRUSTLESS_ONLY:
                raise
        attempt.restart()
        try:
            with self._open_car(gateway, f"/ipfs/{cid}", None) as stream:
                _, sections = iter_car(stream)
                got = self._write_file_dag(attempt, _next_of(sections))
                if next(sections, None) is not None:
                    raise _Failed("invalid", "the CAR holds blocks that are not part of the file")
                return got
        except _Failed as e:
            if e.kind != "unsupported":
                raise
        attempt.restart()
        return self._write_file_dag(attempt, lambda c: self._fetch_block(gateway, c))

    def _write_file_dag(
        self, attempt: _Attempt, block_of: Callable[[CID], bytes]
    ) -> tuple[CID, int, str]:
        """Walk the file's DAG from ``cid`` depth first, taking each block (checked against
        its CID) from ``block_of``.

        Every block hashes to the CID its verified parent names, so the bytes written are
        exactly the file ``cid`` stands for, whatever the DAG's layout.
        """
        cid, out, size, cancel = attempt.cid, attempt.out, attempt.size, attempt.cancel
        sha = hashlib.sha256()
        written = blocks = 0
        # Every leaf of a real file holds a byte or more, and inner nodes with one child
        # occur at most once per level, so a file of n bytes has at most 2n + depth blocks;
        # a DAG linking empty blocks (or one block many times) would cost work without end.
        max_blocks = None if size is None else 2 * size + 64
        pending = [cid]  # depth first, children in link order
        while pending:
            if cancel is not None and cancel.is_set():
                raise FetchCancelled("cancelled")
            blocks += 1
            if max_blocks is not None and blocks > max_blocks:
                raise _Failed("invalid", f"DAG has more blocks than a file of {size} bytes")
            block_cid = pending.pop()
            block = block_of(block_cid)
            data, children = _file_block(block_cid, block)
            pending.extend(reversed(children))
            written += len(data)
            if size is not None and written > size:
                raise _Failed("oversized", f"DAG holds more than the expected {size} bytes")
            sha.update(data)
            out.write(data)
            attempt.add(len(data))
        if size is not None and written < size:
            raise _Failed("truncated", f"DAG holds {written} bytes, not {size}")
        return cid, written, sha.hexdigest()

    def read_block(self, gateway: str, cid: CID) -> bytes:
        """One raw block of ``gateway`` (``?format=raw``), checked against ``cid``.

        Raises:
            FetchError: with the one failure; its kind is ``unsupported`` when the gateway
                answers no raw blocks (a path-only gateway).
        """
        try:
            return self._fetch_block(gateway, cid)
        except _Failed as e:
            failure = GatewayFailure(gateway, e.kind, e.reason)
            raise FetchError(str(failure), [failure]) from None

    def read_car(self, gateway: str, url_path: str, *, max_size: int) -> list[tuple[CID, bytes]]:
        """The blocks of ``url_path`` (``/ipfs/<cid>/…``) in one CAR response
        (``?format=car&dag-scope=entity``), each checked against its own CID only: the
        caller checks that they are the blocks it asked for.

        Raises:
            FetchError: with the one failure; its kind is ``unsupported`` when the gateway
                answers no CAR, ``invalid`` for a malformed or truncated CAR.
        """
        try:
            with self._open_car(gateway, url_path, max_size) as stream:
                return list(iter_car(stream)[1])
        except _Failed as e:
            failure = GatewayFailure(gateway, e.kind, e.reason)
            raise FetchError(str(failure), [failure]) from None

    @contextlib.contextmanager
    def _open_car(self, gateway: str, url_path: str, max_size: int | None) -> Iterator[BinaryIO]:
        import httpx

        from wheelset.httpbody import ChunkReader, TooLong

        url = f"{gateway}{url_path}?format=car&dag-scope=entity"
        try:
            # The walk bounds a file's CAR (blocks checked, bytes counted): no size here.
            limit = MAX_FILE_BODY if max_size is None else max_size
            with self._get(url, limit, CAR_TYPE) as response:
                if response.status_code in _TRUSTLESS_ONLY:
                    raise _Failed("unsupported", f"answers no CAR (HTTP {response.status_code})")
                _check_status(response)
                kind = response.headers.get("content-type", "")
                if not kind.startswith(CAR_MEDIA_TYPE):
                    raise _Failed(
                        "unsupported", f"answers ?format=car with {kind or 'no content type'}"
                    )
                body = ChunkReader(response.iter_bytes(_READ_SIZE), max_size)
                yield io.BufferedReader(body, _READ_SIZE)  # type: ignore[arg-type]
        except TooLong:
            raise _Failed("oversized", f"CAR longer than {max_size} bytes") from None
        except InvalidCAR as e:
            raise _Failed("invalid", f"bad CAR for {url_path}: {e}") from e
        except httpx.HTTPError as e:
            raise _Failed.transport(e) from e

    def _fetch_block(self, gateway: str, cid: CID) -> bytes:
        """One raw block from a trustless gateway (``?format=raw``), checked against its CID."""
        if cid.hash_code != SHA2_256:
            raise _Failed("mismatch", f"cannot verify block {cid}: not sha2-256")
        url = f"{gateway}/ipfs/{cid}?format=raw"
        block = self._read_small(url, MAX_BLOCK_SIZE, accept=RAW_BLOCK_TYPE)
        if hashlib.sha256(block).digest() != cid.digest:
            raise _Failed("mismatch", f"block {cid} does not hash to its CID")
        return block

    def _attempt(self, url: str, attempt: _Attempt) -> tuple[CID, int, str]:
        import httpx

        from wheelset.httpbody import ChunkReader, TooLong
        from wheelset.ipfs.importer import digest_stream

        size = attempt.size

        try:
            with self._get(url, MAX_FILE_BODY if size is None else size) as response:
                _check_status(response)
                declared = response.headers.get("content-length", "")
                # More digits than any real length: refused before int() reads them.
                if (
                    size is not None
                    and declared.isdigit()
                    and (len(declared) > 19 or int(declared) > size)
                ):
                    raise _Failed(
                        "oversized", f"Content-Length {declared} exceeds the expected {size}"
                    )
                chunks = _unless_cancelled(response.iter_bytes(_READ_SIZE), attempt.cancel)
                body = ChunkReader(chunks, size, attempt.add)
                digest = digest_stream(
                    body, _import_params(attempt.cid), on_chunk=attempt.out.write
                )
        except TooLong:
            raise _Failed("oversized", f"body longer than the expected {size} bytes") from None
        except httpx.HTTPError as e:
            raise _Failed.transport(e) from e
        if size is not None and digest.size < size:
            raise _Failed("truncated", f"body ended after {digest.size} of {size} bytes")
        return digest.content_id, digest.size, digest.sha256

    def _read_small(self, url: str, max_size: int, accept: str | None = None) -> bytes:
        import httpx

        buffer = bytearray()
        try:
            with self._get(url, max_size, accept) as response:
                _check_status(response)
                for chunk in response.iter_bytes(_READ_SIZE):
                    buffer += chunk
                    if len(buffer) > max_size:
                        raise _Failed("oversized", f"body longer than {max_size} bytes")
        except httpx.HTTPError as e:
            raise _Failed.transport(e) from e
        return bytes(buffer)


class _Attempt:
    """One file being fetched into ``out``: what it must be, and the progress reported."""

    def __init__(
        self,
        cid: CID,
        out: BinaryIO,
        size: int | None,
        on_progress: Callable[[int], None] | None,
        cancel: threading.Event | None,
    ):
        self.cid, self.out, self.size, self.cancel = cid, out, size, cancel
        self._callback = on_progress
        self.total = 0

    def add(self, n: int) -> None:
        self.total += n
        if self._callback is not None:
            self._callback(n)

    def restart(self) -> None:
        """Forget what an abandoned try wrote: the bytes, and the progress reported."""
        if self._callback is not None and self.total:
            self._callback(-self.total)
        self.total = 0
        self.out.seek(0)
        self.out.truncate()


def _next_of(
    sections: Iterator[tuple[CID, bytes]], again: Callable[[CID], bytes] | None = None
) -> Callable[[CID], bytes]:
    """Take blocks from a depth-first CAR stream: each must be the one the walk wants next.
    With ``again``, a CAR that holds a repeated block once (``ipfs dag export`` writes each
    block once) is read too: a block the stream already gave is asked of ``again``."""
    seen: set[bytes] = set()

    def block_of(cid: CID) -> bytes:
        if again is not None and cid.multihash in seen:
            return again(cid)
        got = next(sections, None)
        if got is None:
            raise _Failed("truncated", f"the CAR ends before block {cid}")
        if got[0].multihash != cid.multihash or got[0].codec != cid.codec:
            raise _Failed("invalid", f"the CAR has block {got[0]} where {cid} belongs")
        if again is not None:
            seen.add(cid.multihash)
        return got[1]

    return block_of


def _check_status(response: httpx.Response) -> None:
    if response.status_code == 200:
        # Identity was asked for: a coded body (which a client without wheelset.httpbody
        # would decode without bound) is refused before a byte of it is read.
        coding = response.headers.get("content-encoding", "identity").strip().lower()
        if coding != "identity":
            raise _Failed("http", f"Content-Encoding {coding!r} was not asked for")
        return
    kind = "not-found" if response.status_code in (404, 410) else "http"
    raise _Failed(kind, f"HTTP {response.status_code}", response.status_code)


def _file_block(cid: CID, block: bytes) -> tuple[bytes, tuple[CID, ...]]:
    """A verified block of a UnixFS file: its own bytes and its children, in order."""
    try:
        return file_parts(cid, block)
    except InvalidNode as e:
        raise _Failed("invalid", str(e)) from e


def _check_expected(
    what: str, size: int, digest: str, want_size: int | None, want_sha256: str | None
) -> None:
    # The CID matched, so the gateway delivered the right content: a different size or
    # sha256 means the caller's expectations are inconsistent, and no gateway can help.
    if want_size is not None and size != want_size:
        raise FetchError(f"{what} has the expected CID but {size} bytes, not {want_size}")
    if want_sha256 is not None and digest != want_sha256.lower():
        raise FetchError(f"{what} has the expected CID but sha256 {digest}, not {want_sha256}")
