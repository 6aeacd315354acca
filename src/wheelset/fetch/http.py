"""The HTTP client of a command: one httpx.Client, built on first use, with index credentials.

Every network access in wheelset goes through the client made here: private-index
credentials are attached as pip finds them, only to the origins they are for
(wheelset.fetch.credentials.IndexAuth); every response body is bounded before anyone reads
it — one content coding at most, decoded bytes limited, a minimum average rate
(wheelset.httpbody); redirects are followed, and the User-Agent names wheelset. The client
is lazy so that a command served entirely from the cache never pays for importing httpx.

A command that talks only to IPFS nodes and gateways (no index credentials) sends its
plain-HTTP requests to a port of this machine (a local node's RPC and gateway: a cold
install's many small block and wheel requests) through http.client instead, kept alive per
port: httpx costs about four times the CPU per request and a tenth of a second to import.
Those requests get the same treatment: the same headers, timeouts, body limits (without a
content coding: identity is asked for and any other refused), minimum rate and errors (httpx's
exception classes, loaded only when one is raised); a redirect is followed by httpx.
Callers catch errors with `timeout_error()` and `transport_error()`, which load nothing.
Entry points: http_client(), new_client(), timeout_error(), transport_error(), ChunkReader,
TooLong, and the body limits (MAX_BODY_EXTENSION, MIN_RATE_EXTENSION, …).
"""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from wheelset import __version__
from wheelset.errors import WheelsetError

TYPE_CHECKING = False  # typing is not loaded by a cold install
if TYPE_CHECKING:
    import http.client

    import httpx

__all__ = [
    "DEFAULT_GRACE",
    "DEFAULT_MAX_BODY",
    "GRACE_TIMEOUTS",
    "MAX_BODY_EXTENSION",
    "MIN_RATE",
    "MIN_RATE_EXTENSION",
    "ChunkReader",
    "LazyHttpClient",
    "TooLong",
    "http_client",
    "new_client",
    "timeout_error",
    "transport_error",
]

DEFAULT_CONNECTIONS = 16  # concurrent connections when the command does not say
DEFAULT_MAX_BODY = 32 * 1024 * 1024  # bytes, decoded; pages and files without a limit of their own
MAX_BODY_EXTENSION = "wheelset.max_body"  # request extension: this request's decoded limit
# Request extension: this request's minimum average rate (0: none, for a trusted local
# node's long-running calls, whose answer comes only when the work is done).
MIN_RATE_EXTENSION = "wheelset.min_rate"
MIN_RATE = 8 * 1024  # bytes per second a body must average once the grace period is over
GRACE_TIMEOUTS = 2  # the grace period, in read timeouts of the request
DEFAULT_GRACE = 60.0  # seconds, for a request without a read timeout
_HTTPX_DEFAULT_TIMEOUT = 5.0  # seconds: httpx's, for a client made without a timeout
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_LIGHT_OPTIONS = frozenset({"params", "headers", "timeout", "extensions"})
_READ = 64 * 1024


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


class _NeverRaised(Exception):
    """Stands for httpx's errors while httpx is not loaded: none can be raised then."""


def timeout_error() -> type[Exception]:
    """httpx.TimeoutException, for an ``except`` clause, without loading httpx."""
    httpx = sys.modules.get("httpx")
    return getattr(httpx, "TimeoutException", _NeverRaised)


def transport_error() -> type[Exception]:
    """httpx.HTTPError (any failed request), for an ``except`` clause, without loading httpx."""
    httpx = sys.modules.get("httpx")
    return getattr(httpx, "HTTPError", _NeverRaised)


# httpx's package imports its command-line client (click, rich and pygments: about 0.15 s of
# CPU) whenever those are installed, as they are beside typer; wheelset never runs it. A
# None entry makes that one import fail, and httpx then defines a stub in its place. Set
# here, before any httpx import of a command (every command's client is made here).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


class LazyHttpClient:
    """An httpx.Client made on first attribute access; attribute access is forwarded to it.

    ``stream`` and ``post`` to a port of this machine over plain HTTP go through a
    `_LocalHttp` instead when no index credentials can apply (``indexes`` off) and the
    request has nothing but parameters, headers, a timeout and extensions.
    Used as a context manager: leaving it closes the client if one was made.
    """

    def __init__(
        self, timeout: float | None, connections: int, index_url: str | None, indexes: bool
    ):
        self._timeout = timeout
        self._connections = connections
        self._index_url = index_url
        self._indexes = indexes
        self._client: httpx.Client | None = None
        self._local = None if indexes else _LocalHttp(timeout, connections)
        # Worker threads reach for the client at once: one of them makes it.
        self._lock = threading.Lock()

    def _httpx(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = new_client(self._timeout, self._connections, self._index_urls())
        return self._client

    def __getattr__(self, name: str) -> object:
        return getattr(self._httpx(), name)

    def _is_local(self, url: str, options: Mapping[str, object]) -> bool:
        if self._local is None or not url.startswith("http://"):
            return False
        if any(value is not None for k, value in options.items() if k not in _LIGHT_OPTIONS):
            return False
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            return False
        # netrc's credentials go to a host's default port only (fetch.credentials).
        return parts.hostname in _LOOPBACK and port not in (None, 80) and not parts.username

    def stream(self, method: str, url: str, **options: object) -> object:
        """httpx.Client.stream (a context manager giving the response)."""
        if self._is_local(url, options):
            return self._local.stream(method, url, self._httpx, **_light(options))  # type: ignore[union-attr]
        return self._httpx().stream(method, url, **options)  # type: ignore[arg-type]

    def post(self, url: str, **options: object) -> object:
        """httpx.Client.post (the response, its body read)."""
        if self._is_local(url, options):
            with self._local.stream("POST", url, self._httpx, **_light(options)) as response:  # type: ignore[union-attr]
                response.read()
            return response
        return self._httpx().post(url, **options)  # type: ignore[arg-type]

    def _index_urls(self) -> list[str]:
        if not self._indexes:
            return []
        from wheelset.fetch.index import configured_index_url

        try:
            # Asking pip for its configured index runs pip (about a second of CPU).
            return [configured_index_url(self._index_url)]
        except WheelsetError:
            return []

    def __enter__(self) -> httpx.Client:
        return self  # type: ignore[return-value]

    def __exit__(self, *exc: object) -> None:
        if self._local is not None:
            self._local.close()
        if self._client is not None:
            self._client.close()


def _light(options: Mapping[str, object]) -> dict[str, object]:
    """The options a `_LocalHttp` request takes (the others are None: see _is_local)."""
    return {key: value for key, value in options.items() if key in _LIGHT_OPTIONS}


def _converted(error: Exception, stage: str) -> Exception:
    """The httpx exception for an http.client or socket ``error`` while connecting or
    reading (``stage``), as httpx raises it (httpx is loaded now: an error is raised)."""
    message = str(error) or type(error).__name__
    if isinstance(error, TimeoutError):
        kind = f"{stage}Timeout"
    elif isinstance(error, OSError):
        kind = f"{stage}Error"
    else:  # http.client's protocol errors (a bad status line or header, a short body)
        kind = "RemoteProtocolError"
    import httpx

    return getattr(httpx, kind)(message)


class _LocalResponse:
    """What callers read of an httpx.Response, for a `_LocalHttp` request."""

    def __init__(
        self,
        raw: http.client.HTTPResponse,
        release: Callable[[], None],
        max_body: int,
        grace: float,
        min_rate: int,
    ):
        self._raw = raw
        self._release = release
        self.status_code = raw.status
        self.reason_phrase = raw.reason
        headers: dict[str, str] = {}
        for key, value in raw.getheaders():
            key = key.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        self.headers = headers
        self._max_body, self._grace, self._min_rate = max_body, grace, min_rate
        self._content: bytes | None = None

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The body, bounded as wheelset.httpbody bounds httpx's."""
        if self._content is not None:
            yield self._content
            return
        size = chunk_size or _READ
        started = time.monotonic()
        received = 0
        while True:
            try:
                chunk = self._raw.read1(size)
            except Exception as e:
                raise _converted(e, "Read") from e
            if not chunk:
                self._raw.close()  # the whole body read: its connection can be used again
                break
            received += len(chunk)
            if received > self._max_body:
                from wheelset.httpbody import BodyRejected

                raise BodyRejected(f"body longer than {self._max_body} bytes")
            elapsed = time.monotonic() - started
            grace = self._grace
            if self._min_rate and elapsed > grace and received < (elapsed - grace) * self._min_rate:
                from wheelset.httpbody import SlowBody

                raise SlowBody(f"body too slow: {received} bytes in {elapsed:.0f} s")
            yield chunk
        self.close()

    def read(self) -> bytes:
        if self._content is None:
            self._content = b"".join(self.iter_bytes())
        return self._content

    @property
    def content(self) -> bytes:
        return self.read()

    @property
    def text(self) -> str:
        return self.read().decode("utf-8", errors="replace")

    def json(self) -> object:
        import json

        return json.loads(self.read())

    def close(self) -> None:
        release, self._release = self._release, None  # type: ignore[assignment]
        if release is not None:
            release()


class _LocalHttp:
    """HTTP/1.1 to ports of this machine with http.client, connections kept alive per port."""

    def __init__(self, timeout: float | None, connections: int):
        self._timeout = _HTTPX_DEFAULT_TIMEOUT if timeout is None else timeout
        self._keep = connections
        self._idle: dict[tuple[str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def _take(self, key: tuple[str, int]) -> http.client.HTTPConnection | None:
        import select

        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                connection = idle.pop()
                # A connection the server closed (or wrote to unasked) is readable: dropped.
                sock = connection.sock
                if sock is not None and not select.select([sock], [], [], 0)[0]:
                    return connection
                connection.close()
        return None

    def _give_back(self, key: tuple[str, int], connection: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self._keep:
                idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def stream(
        self,
        method: str,
        url: str,
        fallback: Callable[[], httpx.Client],
        *,
        params: Mapping[str, str | Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        extensions: Mapping[str, object] | None = None,
    ) -> _LocalRequest:
        return _LocalRequest(self, method, url, fallback, params, headers, timeout, extensions)


class _LocalRequest:
    """One `_LocalHttp` request, as a context manager giving its response (httpx's for a
    redirect, which httpx follows)."""

    def __init__(
        self,
        pool: _LocalHttp,
        method: str,
        url: str,
        fallback: Callable[[], httpx.Client],
        params: Mapping[str, str | Sequence[str]] | None,
        headers: Mapping[str, str] | None,
        timeout: float | None,
        extensions: Mapping[str, object] | None,
    ):
        from urllib.parse import urlencode, urlsplit

        self._pool, self._method, self._url, self._fallback = pool, method, url, fallback
        self._options = {"params": params, "headers": headers, "timeout": timeout,
                         "extensions": extensions}  # fmt: skip
        parts = urlsplit(url)
        self._key = (parts.hostname or "", parts.port or 80)
        query = "&".join(q for q in (parts.query, urlencode(params or {}, doseq=True)) if q)
        self._target = (parts.path or "/") + (f"?{query}" if query else "")
        self._headers = {
            "User-Agent": f"wheelset/{__version__}",
            **(headers or {}),
            "Accept-Encoding": "identity",  # nothing to decode, so nothing to inflate
        }
        self._timeout = pool._timeout if timeout is None else timeout
        extensions = extensions or {}
        self._max_body = int(extensions.get(MAX_BODY_EXTENSION, DEFAULT_MAX_BODY))  # type: ignore[call-overload]
        self._min_rate = int(extensions.get(MIN_RATE_EXTENSION, MIN_RATE))  # type: ignore[call-overload]
        self._response: object = None
        self._redirected: object = None

    def __enter__(self) -> object:
        raw, connection = self._send()
        if raw.status in _REDIRECTS:
            raw.close()
            connection.close()
            self._redirected = self._fallback().stream(self._method, self._url, **self._options)
            return self._redirected.__enter__()  # type: ignore[attr-defined]
        key, pool = self._key, self._pool

        def release() -> None:
            if raw.isclosed() and not raw.will_close:
                pool._give_back(key, connection)
            else:
                raw.close()
                connection.close()

        response = _LocalResponse(
            raw, release, self._max_body, GRACE_TIMEOUTS * self._timeout, self._min_rate
        )
        self._response = response
        coding = response.headers.get("content-encoding", "identity").strip().lower()
        length = response.headers.get("content-length", "")
        problem = None
        if coding not in ("", "identity"):
            problem = f"content coding {coding!r} was not asked for"
        elif length.isdigit() and len(length) < 20 and int(length) > self._max_body:
            problem = f"Content-Length {length} exceeds the limit of {self._max_body} bytes"
        if problem is not None:
            response.close()
            from wheelset.httpbody import BodyRejected

            raise BodyRejected(problem)
        return response

    def __exit__(self, *exc: object) -> None:
        if self._redirected is not None:
            self._redirected.__exit__(*exc)  # type: ignore[attr-defined]
        elif self._response is not None:
            self._response.close()  # type: ignore[attr-defined]

    def _send(self) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
        """The response's head, on a kept-alive connection (once more on a new one when the
        kept one turns out closed by the server: it answered nothing) or a new one."""
        import http.client

        connection = self._pool._take(self._key)
        if connection is not None:
            try:
                connection.sock.settimeout(self._timeout)  # type: ignore[union-attr]
                return self._exchange(connection), connection
            except (ConnectionError, http.client.BadStatusLine):
                connection.close()
            except Exception as e:
                connection.close()
                raise _converted(e, "Read") from e
        connection = http.client.HTTPConnection(*self._key, timeout=self._timeout)
        try:
            connection.connect()
        except Exception as e:
            connection.close()
            raise _converted(e, "Connect") from e
        try:
            return self._exchange(connection), connection
        except Exception as e:
            connection.close()
            raise _converted(e, "Read") from e

    def _exchange(self, connection: http.client.HTTPConnection) -> http.client.HTTPResponse:
        connection.putrequest(self._method, self._target, skip_accept_encoding=True)
        for name, value in self._headers.items():
            connection.putheader(name, value)
        if self._method == "POST":
            connection.putheader("Content-Length", "0")
        connection.endheaders()
        return connection.getresponse()


def http_client(
    timeout: float | None = None,
    *,
    connections: int = DEFAULT_CONNECTIONS,
    index_url: str | None = None,
    indexes: bool = True,
) -> LazyHttpClient:
    """The command's HTTP client (``timeout`` in seconds; ``None``: httpx's default).

    ``index_url`` is the index given on the command line, whose credentials are used as
    well as those of pip's configured indexes. ``indexes=False``: a command that reads
    only IPFS gateways and nodes, which gets netrc's credentials per host but does not ask
    pip for its indexes.
    """
    return LazyHttpClient(timeout, connections, index_url, indexes)


def new_client(
    timeout: float | None = None,
    connections: int = DEFAULT_CONNECTIONS,
    index_urls: Sequence[str] = (),
) -> httpx.Client:
    """A client now (http_client() makes one lazily): credentials for ``index_urls``,
    bounded bodies, ``timeout`` seconds (``None``: httpx's default)."""
    import httpx

    from wheelset.fetch.credentials import IndexAuth
    from wheelset.fetch.tls import LazyTLSContext
    from wheelset.httpbody import ACCEPT_ENCODING, BodyLimits

    return httpx.Client(
        verify=LazyTLSContext(),  # CA certificates loaded only if a TLS connection is made
        auth=IndexAuth(index_urls),
        follow_redirects=True,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        headers={"User-Agent": f"wheelset/{__version__}", "Accept-Encoding": ACCEPT_ENCODING},
        event_hooks={"response": [BodyLimits()]},
        **({} if timeout is None else {"timeout": httpx.Timeout(timeout)}),
    )
