"""Fixtures for the distribution stage: a second, empty js-ipfs node; loopback proxies."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from ipfs_test_node import IpfsTestNode

from tests.support.wheels import make_wheel


@pytest.fixture
def empty_node(tmp_path: Path) -> Iterator[IpfsTestNode]:
    """A second js-ipfs node, started for this test, holding nothing."""
    node = IpfsTestNode(tmp_path / "node2")
    node.start()
    try:
        yield node
    finally:
        node.stop()


def unique_wheel(directory: Path, name: str, version: str, **kwargs) -> Path:
    """A real wheel whose bytes are unique to this test run (the session node is shared)."""
    module = name.replace("-", "_")
    files = {
        f"{module}/__init__.py": f'__version__ = "{version}"\nRUN = "{uuid.uuid4()}"\n'.encode()
    }
    return make_wheel(directory, name, version, files=files, **kwargs)


@dataclass
class Proxy:
    url: str
    delivered: list[str] = field(default_factory=list)  # paths whose bodies were sent in full


@contextmanager
def http_proxy(
    upstream: str,
    *,
    delay: float = 0.0,
    refuse: Callable[[str], bool] | None = None,
) -> Iterator[Proxy]:
    """A proxy to ``upstream`` on 127.0.0.1 (GET and POST). Each answer waits ``delay``
    seconds before it is sent; a request whose path ``refuse`` accepts gets the node's error
    shape (HTTP 500, JSON Message) without reaching upstream."""
    proxy = Proxy("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _forward(self, method: str) -> None:
            if refuse is not None and refuse(self.path):
                body = b'{"Message":"pinning is disabled on this node","Code":0,"Type":"error"}'
                self._send(500, "application/json", body)
                return
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else None
            headers = {"Content-Type": self.headers.get("Content-Type", "")} if data else {}
            response = httpx.request(
                method, upstream + self.path, content=data, headers=headers, timeout=300
            )
            time.sleep(delay)
            kind = response.headers.get("content-type", "application/octet-stream")
            self._send(response.status_code, kind, response.content)
            proxy.delivered.append(self.path)

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._forward("GET")

        def do_POST(self) -> None:
            self._forward("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
