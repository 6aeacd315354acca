"""Response bodies a hostile server cannot inflate or stretch out.

Installed as a response hook on the command's one HTTP client (wheelset.fetch.http), so
that every body read through it — streamed, read whole, or a redirect's — is bounded,
before any caller sees a byte:

- at most one content coding (gzip or deflate; ``identity`` ignored): a response naming
  two (``gzip, gzip``) or one this client did not ask for is refused;
- decoding happens here, ``PIECE`` bytes at a time, and the *decoded* bytes count against
  the body limit (``BodyLimits.max_body``, or a per-request ``extensions`` entry
  ``MAX_BODY_EXTENSION``), so a small compressed body cannot become a large one;
- an overall deadline besides the per-read idle timeout: once its headers are in, a body
  has a grace period (``grace``, default twice the request's read timeout) and must then
  have averaged ``min_rate`` bytes per second, so a body dripped a byte at a time ends
  (after at most the grace period plus one idle timeout) whatever its length, and no
  body takes longer than the grace period plus its limit at that rate.

Errors are httpx transport errors (BodyRejected; SlowBody is a read timeout), so callers'
ordinary HTTP error handling reports them on one line (describe_http_error(), the one
wording every client uses) and moves on to the next source.
ChunkReader turns a body's chunks into the readable stream a verifier reads, with the
caller's own limit (e.g. a file's expected size).
Entry points: BodyLimits, BodyRejected, SlowBody, ChunkReader, TooLong, MAX_BODY_EXTENSION,
describe_http_error.
"""

from __future__ import annotations

import io
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

from wheelset.errors import mask_credentials

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_GRACE",
    "DEFAULT_MAX_BODY",
    "GRACE_TIMEOUTS",
    "MAX_BODY_EXTENSION",
    "MIN_RATE",
    "MIN_RATE_EXTENSION",
    "PIECE",
    "BodyLimits",
    "BodyRejected",
    "ChunkReader",
    "SlowBody",
    "TooLong",
    "describe_http_error",
]

ACCEPT_ENCODING = "gzip, deflate"  # what the client asks for: exactly what it decodes
DEFAULT_MAX_BODY = 32 * 1024 * 1024  # bytes, decoded; pages and files without a limit of their own
MAX_BODY_EXTENSION = "wheelset.max_body"  # request extension: this request's decoded limit
# Request extension: this request's minimum average rate (0: none, for a trusted local
# node's long-running calls, whose answer comes only when the work is done).
MIN_RATE_EXTENSION = "wheelset.min_rate"
MIN_RATE = 8 * 1024  # bytes per second a body must average once the grace period is over
GRACE_TIMEOUTS = 2  # the grace period, in read timeouts of the request
DEFAULT_GRACE = 60.0  # seconds, for a request without a read timeout
PIECE = 64 * 1024  # the most bytes one decoding step produces


class BodyRejected(httpx.TransportError):
    """A response body refused: too long once decoded, nested or unknown content codings."""


class SlowBody(httpx.ReadTimeout):
    """A response body arriving slower than the minimum average rate after the grace period."""


class TooLong(Exception):
    """A ChunkReader saw more than its limit."""


class ChunkReader(io.RawIOBase):
    """Byte chunks as a readable stream, refusing more than ``limit`` bytes (TooLong);
    ``on_bytes`` is told each chunk's length as it arrives."""

    def __init__(
        self,
        chunks: Iterator[bytes],
        limit: int | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ):
        self._chunks = chunks
        self._limit = limit
        self._on_bytes = on_bytes
        self._pending = memoryview(b"")
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self.received += len(chunk)
            if self._limit is not None and self.received > self._limit:
                raise TooLong(f"more than the expected {self._limit} bytes")
            if self._on_bytes is not None:
                self._on_bytes(len(chunk))
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _codings(header: str) -> list[str]:
    return [c for c in (p.strip().lower() for p in header.split(",")) if c and c != "identity"]


class _Inflater:
    """One content coding, decoded ``PIECE`` bytes at a time."""

    def __init__(self, coding: str):
        self._gzip = coding in ("gzip", "x-gzip")
        self._raw_deflate = False
        self._new()

    def _new(self) -> None:
        if self._gzip:
            self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        else:
            self._d = zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            if self._d.eof:
                if not data:
                    return
                if not self._gzip:
                    raise BodyRejected("data after the end of the deflate body")
                self._new()  # a gzip body may hold several members, decoded in turn
            try:
                out = self._d.decompress(data, PIECE)
            except zlib.error as e:
                # "deflate" is zlib-wrapped by the standard, raw by some servers.
                if self._gzip or self._started or self._raw_deflate:
                    raise BodyRejected(f"cannot decode the body: {e}") from None
                self._raw_deflate = True
                self._new()
                continue
            self._started = True
            data = self._d.unused_data if self._d.eof else self._d.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < PIECE and not self._d.eof:
                return

    def finish(self) -> None:
        if self._started and not self._d.eof:
            raise BodyRejected("the compressed body ends early")


class _BoundedStream(httpx.SyncByteStream):
    def __init__(
        self,
        raw: httpx.SyncByteStream,
        request: httpx.Request,
        coding: str | None,
        max_body: int,
        grace: float,
        min_rate: int,
    ):
        self._raw = raw
        self._request = request
        self._coding = coding
        self._max_body = max_body
        self._grace = grace
        self._min_rate = min_rate

    def __iter__(self) -> Iterator[bytes]:
        request, grace = self._request, self._grace
        inflater = _Inflater(self._coding) if self._coding else None
        started = time.monotonic()
        received = decoded = 0
        for chunk in self._raw:
            received += len(chunk)
            elapsed = time.monotonic() - started
            if self._min_rate and elapsed > grace and received < (elapsed - grace) * self._min_rate:
                raise SlowBody(
                    f"body too slow: {received} bytes in {elapsed:.0f} s", request=request
                )
            pieces = [chunk] if inflater is None else inflater.feed(chunk)
            for piece in pieces:
                decoded += len(piece)
                if decoded > self._max_body:
                    what = "decoded body" if inflater else "body"
                    raise BodyRejected(
                        f"{what} longer than {self._max_body} bytes", request=request
                    )
                yield piece
        if inflater is not None:
            try:
                inflater.finish()
            except BodyRejected as e:
                raise BodyRejected(str(e), request=request) from None

    def close(self) -> None:
        self._raw.close()


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """The response hook: bounds every body of the client it is installed on.

    ``grace`` is how long a body may take before the minimum average rate applies
    (None: GRACE_TIMEOUTS read timeouts of the request).
    """

    grace: float | None = None
    max_body: int = DEFAULT_MAX_BODY
    min_rate: int = MIN_RATE

    def _grace_of(self, request: httpx.Request) -> float:
        if self.grace is not None:
            return self.grace
        read = request.extensions.get("timeout", {}).get("read")
        return DEFAULT_GRACE if read is None else GRACE_TIMEOUTS * read

    def __call__(self, response: httpx.Response) -> None:
        request = response.request
        codings = _codings(response.headers.get("content-encoding", ""))
        if len(codings) > 1:
            response.close()
            raise BodyRejected(
                f"more than one content coding ({', '.join(codings)})", request=request
            )
        if codings and codings[0] not in ("gzip", "x-gzip", "deflate"):
            response.close()
            raise BodyRejected(f"content coding {codings[0]!r} was not asked for", request=request)
        max_body = request.extensions.get(MAX_BODY_EXTENSION, self.max_body)
        length = response.headers.get("content-length", "")
        if not codings and length.isdigit() and len(length) < 20 and int(length) > max_body:
            response.close()
            raise BodyRejected(
                f"Content-Length {length} exceeds the limit of {max_body} bytes", request=request
            )
        # Decoded here, bounded; httpx must not decode again.
        response.headers.pop("content-encoding", None)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _BoundedStream(
            response.stream,
            request,
            codings[0] if codings else None,
            max_body,
            self._grace_of(request),
            request.extensions.get(MIN_RATE_EXTENSION, self.min_rate),
        )


def describe_http_error(error: httpx.HTTPError) -> str:
    """A transport error on one line: ``ConnectError: [Errno 111] Connection refused``, or
    ``timed out (ReadTimeout: …)``, with any ``user:password@`` in a URL hidden."""
    text = str(error).splitlines()[0] if str(error) else ""
    what = f"{type(error).__name__}: {mask_credentials(text)}" if text else type(error).__name__
    return f"timed out ({what})" if isinstance(error, httpx.TimeoutException) else what
