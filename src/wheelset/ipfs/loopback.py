"""The RPC calls that read blocks (`block/get`, `dag/export`) of a node on this machine, over
plain HTTP/1.1 on one connection per thread, without httpx.

httpx (with httpcore and h11) takes about 35 ms to import, a tenth of a cold install that
reads everything from a local node, which needs none of what it brings: no TLS, no proxy,
no redirect, no credentials (netrc's are for a host's default port, which a node's RPC
port is not; a URL with credentials is not taken), no content coding (none is asked for,
and an answer in one is refused). The bounds are KuboRpc's: at most ``max_size`` bytes of
body, ``timeout`` seconds for the node to answer and between two reads; failures are
RpcError, as KuboRpc's, with the node's own message. Nothing sent is trusted: the caller
checks every block against its CID.
Entry points: LoopbackRpc, loopback_rpc().
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

from wheelset import __version__
from wheelset.errors import RpcError
from wheelset.ipfs.cid import CID

__all__ = ["LoopbackRpc", "call_failure", "error_message", "loopback_rpc"]

_MAX_LINE = 65_536  # bytes of a status or header line
_MAX_HEADERS = 128
_READ = 1 << 16
_GRACE = 10.0  # seconds beyond the timeout the node is given, for it to say it ran out


def loopback_rpc(api_url: str, *, timeout: float) -> LoopbackRpc | None:
    """A LoopbackRpc for ``api_url`` when it is ``http://`` on a loopback address and a port
    other than 80, without credentials; else None (KuboRpc then)."""
    parts = urlsplit(api_url)
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    octets = host.split(".")
    loopback = host in ("localhost", "::1") or (
        len(octets) == 4 and octets[0] == "127" and all(o.isdigit() for o in octets)
    )
    if parts.scheme != "http" or not loopback or port in (None, 80) or "@" in parts.netloc:
        return None
    return LoopbackRpc(api_url.rstrip("/"), (host, port), parts.path.rstrip("/"), timeout)


def error_message(status: int, reason: str, body: bytes, api_url: str) -> str:
    """What a node's error answer says: its JSON ``Message``, else the status and the text."""
    import json

    hint = f" (is {api_url} a node's RPC API address?)" if status in (404, 405) else ""
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("Message"), str):
        return doc["Message"] + hint
    text = " ".join(body.decode("utf-8", "replace").split())[:200]
    return f"HTTP {status} {reason}: {text}{hint}"


class LoopbackRpc:
    """`block_get` and `dag_export` as KuboRpc has them, for a node on this machine."""

    def __init__(self, api_url: str, address: tuple[str, int], prefix: str, timeout: float):
        self.api_url = api_url
        self._address = address
        self._prefix = prefix
        self.timeout = timeout
        self._local = threading.local()  # each thread's connections kept alive ("idle")

    def block_get(
        self, cid: CID, *, timeout: float = 30.0, max_size: int = 2 << 20, offline: bool = False
    ) -> bytes:
        """As KuboRpc.block_get(). Raises RpcError."""
        with self._call("block/get", cid, timeout, offline, max_size) as body:
            return body.read()

    @contextlib.contextmanager
    def dag_export(
        self, cid: CID, *, max_size: int, timeout: float | None = None, offline: bool = False
    ) -> Iterator[io.BufferedReader]:
        """As KuboRpc.dag_export(). Raises RpcError (also while the body is read)."""
        with self._call("dag/export", cid, timeout or self.timeout, offline, max_size) as body:
            yield io.BufferedReader(body, _READ)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def _call(
        self, command: str, cid: CID, timeout: float, offline: bool, max_size: int
    ) -> Iterator[_Body]:
        params = {"arg": str(cid), "timeout": f"{max(1, round(timeout))}s"}
        if offline:
            params["offline"] = "true"
        target = f"{self._prefix}/api/v0/{command}?{urlencode(params)}"
        request = (
            f"POST {target} HTTP/1.1\r\nHost: {self._address[0]}:{self._address[1]}\r\n"
            f"User-Agent: wheelset/{__version__}\r\nContent-Length: 0\r\n\r\n"
        ).encode("ascii")
        wait = timeout + _GRACE
        connection = reused = self._idle()
        try:
            try:
                try:
                    connection = connection or self._connect(wait)
                    version, status, reason, headers = _ask(connection, request, wait)
                except OSError as e:
                    if reused is None or isinstance(e, TimeoutError):
                        raise
                    # A kept-alive connection the node closed meanwhile: once more, anew.
                    _close(reused)
                    connection = self._connect(wait)
                    version, status, reason, headers = _ask(connection, request, wait)
                limit = max_size if status == 200 else _MAX_LINE  # an error: its message
                body = _Body(connection[1], headers, limit, command, self.api_url)
                if status != 200:
                    raise RpcError(
                        f"{command}: {error_message(status, reason, body.read(), self.api_url)}"
                    )
            except (OSError, ValueError) as e:
                raise call_failure(e, command, self.api_url) from e
            yield body
            if (
                body.framed_and_done()
                and version == "HTTP/1.1"
                and headers.get("connection", "").lower() != "close"
            ):
                self._local.idle.append(connection)
                connection = None
        finally:
            if connection is not None:
                _close(connection)  # it cannot carry the next call

    def _connect(self, timeout: float) -> _Connection:
        connection = socket.create_connection(self._address, timeout=timeout)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, connection.makefile("rb")

    def _idle(self) -> _Connection | None:
        """A kept-alive connection of this thread not in use (a call made while another's
        answer is being read, as a block asked for in the middle of a CAR, gets its own)."""
        idle = getattr(self._local, "idle", None)
        if idle is None:
            idle = self._local.idle = []
        return idle.pop() if idle else None


_Connection = tuple[socket.socket, io.BufferedReader]


def call_failure(
    error: Exception, command: str, api_url: str, *, timed_out: bool = False
) -> RpcError:
    """The one wording of a call that failed on the way, for KuboRpc (``error`` an httpx
    error, ``timed_out`` said) and LoopbackRpc (an OSError, or a ValueError: a bad answer)."""
    if timed_out or isinstance(error, TimeoutError):
        return RpcError(f"{command}: the node at {api_url} did not answer in time")
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, ValueError):
        return RpcError(f"{command}: the node at {api_url} sent a bad answer: {text}")
    return RpcError(f"cannot reach the IPFS node at {api_url}: {text}")


def _ask(
    connection: _Connection, request: bytes, timeout: float
) -> tuple[str, int, str, dict[str, str]]:
    """Send ``request``; the answer's head (_head())."""
    connection[0].settimeout(timeout)
    connection[0].sendall(request)
    return _head(connection[1])


def _close(connection: _Connection) -> None:
    connection[1].close()
    connection[0].close()


def _line(reader: io.BufferedReader) -> bytes:
    line = reader.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise ValueError("a header line longer than 64 KiB")
    if not line:
        raise ConnectionResetError("the node closed the connection")
    return line


def _head(reader: io.BufferedReader) -> tuple[str, int, str, dict[str, str]]:
    """The version, status, reason and headers (names in lower case) of an answer."""
    version, _, rest = _line(reader).decode("latin-1").strip().partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ValueError(f"not an HTTP/1 answer: {version[:40]!r}")
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS):
        line = _line(reader).decode("latin-1")
        if line in ("\r\n", "\n"):
            return version, int(code), reason, headers
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    raise ValueError(f"more than {_MAX_HEADERS} header lines")


class _Body(io.RawIOBase):
    """An answer's body, whatever its framing (chunked, a length, or up to the close),
    refusing more than ``limit`` bytes and any content coding; every failure an RpcError."""

    def __init__(
        self, reader: io.BufferedReader, headers: dict[str, str], limit: int, what: str, url: str
    ):
        if headers.get("content-encoding", "identity").lower() != "identity":
            raise RpcError(f"{what}: the node sent a content coding that was not asked for")
        self._reader = reader
        self.limit = limit
        self._what = what
        self._url = url
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        if not self._chunked and length is not None and not length.isdigit():
            raise ValueError(f"bad Content-Length {length[:40]!r}")
        self._framed = length is not None
        self._left = -1 if self._chunked or length is None else int(length)  # in this chunk
        self._ended = self._left == 0
        self._read = 0

    def readable(self) -> bool:
        return True

    def framed_and_done(self) -> bool:
        """Whether the body was read to its end, which its framing (not the close) gave."""
        return self._ended and (self._chunked or self._framed)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            got = self._next(buffer)
        except (OSError, ValueError) as e:
            raise call_failure(e, self._what, self._url) from e
        self._read += got
        if self._read > self.limit:
            raise RpcError(f"{self._what}: the node sent more than {self.limit} bytes")
        return got

    def _next(self, buffer: memoryview) -> int:
        if self._ended:
            return 0
        if self._chunked and self._left <= 0:
            if self._left == 0:
                _line(self._reader)  # the CRLF ending the chunk before
            self._left = int(_line(self._reader).split(b";", 1)[0].strip(), 16)
            if self._left == 0:
                while _line(self._reader) not in (b"\r\n", b"\n"):
                    pass  # trailers
                self._ended = True
                return 0
        want = len(buffer) if self._left < 0 else min(len(buffer), self._left)
        # A bytearray (RawIOBase.read() passes one) sliced is a copy: a view is not.
        got = self._reader.readinto(memoryview(buffer)[:want])
        if not got:
            if self._left < 0 and not self._chunked:
                self._ended = True  # the body ends with the connection
                return 0
            raise ConnectionResetError("the node closed the connection inside the answer")
        if self._left > 0:
            self._left -= got
            if self._left == 0 and not self._chunked:
                self._ended = True
        return got
