"""Misbehaving HTTP gateways on 127.0.0.1, for testing verification and fallback.

`content_gateway(files)` serves fixed bytes by URL path; `tampering_proxy(upstream)` forwards
to a real gateway (the test node's). Both apply a behaviour to chosen responses:
ok, flip (one byte changed), truncate (connection closed mid-body), short (a well-formed
but shorter body), oversize (extra bytes), stall (half the body, then silence), 404, 500.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx

from tests.support.index import QuietHandler, serve_handler

BEHAVIOURS = ("ok", "flip", "truncate", "short", "oversize", "stall", "404", "500")


def flip_one_byte(body: bytes) -> bytes:
    """The body with its middle byte changed."""
    if not body:
        return b"x"
    middle = len(body) // 2
    return body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1 :]


class _Handler(QuietHandler):
    fetch: Callable[[str], tuple[int, bytes]]
    choose: Callable[[str], str]
    stall_seconds: float
    requests: list[str]

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.requests.append(self.path)
        behaviour = self.choose(path)
        if behaviour in ("404", "500"):
            self._plain(int(behaviour), b"no\n")
            return
        status, body = self.fetch(self.path)
        if status != 200:
            self._plain(status, body)
            return
        if behaviour == "flip":
            body = flip_one_byte(body)
        elif behaviour == "short":
            body = body[: len(body) // 2]
        elif behaviour == "oversize":
            body = body + b"\0" * 1024
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if behaviour == "truncate":
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        if behaviour == "stall":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            time.sleep(self.stall_seconds)
            self.close_connection = True
            return
        self.wfile.write(body)

    def _plain(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class RunningGateway:
    """A started test gateway: ``url`` and the request paths it has seen."""

    def __init__(self, url: str, requests: list[str]):
        self.url = url
        self.requests = requests

    def fetches_of(self, cid: object) -> int:
        return sum(1 for r in self.requests if f"/ipfs/{cid}" in r)


def _chooser(behaviour: str | Callable[[str], str], only: str | None) -> Callable[[str], str]:
    if callable(behaviour):
        return behaviour
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {behaviour!r}")

    def choose(path: str) -> str:
        return behaviour if only is None or only in path else "ok"

    return choose


@contextmanager
def _serve(
    fetch: Callable[[str], tuple[int, bytes]],
    behaviour: str | Callable[[str], str],
    only: str | None,
    stall_seconds: float,
) -> Iterator[RunningGateway]:
    requests: list[str] = []
    handler = type(
        "Handler",
        (_Handler,),
        {
            "fetch": staticmethod(fetch),
            "choose": staticmethod(_chooser(behaviour, only)),
            "stall_seconds": stall_seconds,
            "requests": requests,
        },
    )
    with serve_handler(handler) as url:
        yield RunningGateway(url, requests)


@contextmanager
def content_gateway(
    files: Mapping[str, bytes],
    behaviour: str | Callable[[str], str] = "ok",
    *,
    only: str | None = None,
    stall_seconds: float = 5.0,
) -> Iterator[RunningGateway]:
    """Serve ``files`` (URL path such as ``/ipfs/<cid>`` -> bytes); other paths are 404."""

    def fetch(path: str) -> tuple[int, bytes]:
        key = urlsplit(path).path
        return (200, files[key]) if key in files else (404, b"not found\n")

    with _serve(fetch, behaviour, only, stall_seconds) as gateway:
        yield gateway


@contextmanager
def tampering_proxy(
    upstream: str,
    behaviour: str | Callable[[str], str] = "ok",
    *,
    only: str | None = None,
    stall_seconds: float = 5.0,
) -> Iterator[RunningGateway]:
    """Forward GETs to ``upstream``; apply ``behaviour`` to paths containing ``only`` (or all)."""
    client = httpx.Client(timeout=30)

    def fetch(path: str) -> tuple[int, bytes]:
        response = client.get(upstream + path)
        return response.status_code, response.content

    try:
        with _serve(fetch, behaviour, only, stall_seconds) as gateway:
            yield gateway
    finally:
        client.close()


@contextmanager
def block_gateway(
    blocks: Mapping[str, bytes],
    behaviour: str | Callable[[str], str] = "ok",
    *,
    only: str | None = None,
) -> Iterator[RunningGateway]:
    """A trustless-only gateway: ``/ipfs/<cid>?format=raw`` answers that raw block (``blocks``
    maps CID text to block bytes); any request for a deserialised file gets 406."""

    def fetch(path: str) -> tuple[int, bytes]:
        parts = urlsplit(path)
        if "format=raw" not in parts.query:
            return 406, b"this gateway only serves verifiable responses\n"
        cid = parts.path.removeprefix("/ipfs/")
        return (200, blocks[cid]) if cid in blocks else (404, b"no such block\n")

    with _serve(fetch, behaviour, only, 5.0) as gateway:
        yield gateway
