"""A hostile HTTP server on 127.0.0.1: decompression bombs, drips, and whatever bytes it is told.

`hostile_server(routes)` serves each URL path with an attack:

- ``("bytes", data)``: ``data`` as is (a forged manifest, a page with huge numbers);
- ``("gzip-gzip", data)``: ``data`` gzip-compressed twice, sent with
  ``Content-Encoding: gzip, gzip`` (each layer a client decodes grows it ~1000 times);
- ``("gzip", data)``: ``data`` (already compressed) with ``Content-Encoding: gzip``;
- ``("coding:<name>", data)``: ``data`` with ``Content-Encoding: <name>``;
- ``("drip", data)``: the headers at once, then one byte of ``data`` every
  ``drip_interval`` seconds (each byte well inside any idle timeout).

It records each request's ``Authorization`` header. bomb() makes a gzip stream of many
gigabytes of zeros in little time and memory (identical gzip members, concatenated).
"""

from __future__ import annotations

import functools
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.support.index import QuietHandler, serve_handler

_MEMBER = 64 << 20  # zeros per gzip member


def gzip_bytes(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


@functools.lru_cache(maxsize=1)
def _zero_member() -> bytes:
    return gzip_bytes(bytes(_MEMBER))


def bomb(gigabytes: int) -> bytes:
    """A gzip stream (concatenated members) that decodes to ``gigabytes`` GiB of zeros."""
    return _zero_member() * (gigabytes * (1 << 30) // _MEMBER)


@dataclass
class HostileServer:
    url: str
    authorizations: list[tuple[str, str | None]] = field(default_factory=list)

    def auth_for(self, path_part: str) -> list[str | None]:
        return [auth for path, auth in self.authorizations if path_part in path]


@contextmanager
def hostile_server(
    routes: Mapping[str, tuple[str, bytes]], *, drip_interval: float = 2.0
) -> Iterator[HostileServer]:
    """Serve ``routes`` (URL path -> (attack, bytes)); a route ``*`` answers every other
    path, else they are 404."""
    seen: list[tuple[str, str | None]] = []

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def handle(self) -> None:
            with suppress(OSError):  # the client hung up on an attack: what the tests want
                super().handle()

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            seen.append((self.path, self.headers.get("Authorization")))
            if path not in routes and "*" not in routes:
                self._send(404, b"not found\n", {})
                return
            attack, data = routes.get(path) or routes["*"]
            if attack == "bytes":
                self._send(200, data, {})
            elif attack == "gzip":
                self._send(200, data, {"Content-Encoding": "gzip"})
            elif attack == "gzip-gzip":
                self._send(200, gzip_bytes(data), {"Content-Encoding": "gzip, gzip"})
            elif attack.startswith("coding:"):
                self._send(200, data, {"Content-Encoding": attack.split(":", 1)[1]})
            elif attack == "drip":
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    for i in range(len(data)):
                        self.wfile.write(data[i : i + 1])
                        self.wfile.flush()
                        time.sleep(drip_interval)
                except OSError:
                    pass  # the client gave up: what the test wants
                self.close_connection = True
            else:
                raise ValueError(f"unknown attack {attack!r}")

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            with suppress(OSError):
                self.wfile.write(body)

    with serve_handler(Handler) as url:
        yield HostileServer(url, seen)
