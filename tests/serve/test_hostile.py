"""Slow and hostile clients (slowloris headers, huge URLs and headers, path traversal) do
not stop `serve` answering everyone else."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.roots import build_test_root
from tests.support.serving import running
from tests.support.wheels import make_wheel
from wheelset.serve.app import IndexApp
from wheelset.serve.config import RootSpec, Settings

SLOW_CLIENTS = 200


@pytest.fixture(autouse=True)
def _no_local_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHEELSET_LOCAL_GATEWAY", "off")


def _raw(origin: str, request: bytes, timeout: float = 10) -> bytes:
    """Send ``request`` on a new connection; what came back before it closed or went idle."""
    host, port = origin.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # closed on a huge request before reading it all
            sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received:
                    break
        except OSError:
            pass
        return received


def _get(target: bytes, header: bytes = b"X-Test: 1") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n\r\n"


def test_hostile_clients_do_not_stop_others(tmp_path: Path) -> None:
    wheels = [make_wheel(tmp_path / "w", f"p{i}", "1.0") for i in range(3)]
    out = build_test_root(wheels).write_build_dir(tmp_path / "out")
    app = IndexApp(Settings(roots=(RootSpec("", str(out)),), cache_dir=tmp_path / "c", timeout=5))
    stop = threading.Event()
    with running(app) as origin:
        host, port = origin.removeprefix("http://").split(":")
        slow: list[socket.socket] = []
        for _ in range(SLOW_CLIENTS):
            sock = socket.create_connection((host, int(port)))
            sock.sendall(b"GET /simple/ HTTP/1.1\r\nHost: x\r\n")
            slow.append(sock)

        def drip() -> None:  # slowloris: one header byte per connection, now and then
            while not stop.wait(0.5):
                for sock in slow:
                    with contextlib.suppress(OSError):
                        sock.sendall(b"X")

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        try:
            refused = (b"", b"400", b"404", b"414", b"431")
            hostile = {
                "huge url": (_get(b"/simple/" + b"a" * 1_000_000 + b"/"), refused),
                "huge header": (_get(b"/simple/", b"X: " + b"b" * 1_000_000), (*refused, b"200")),
                "traversal": (_get(b"/simple/../../../etc/passwd"), refused),
                "encoded traversal": (_get(b"/files/%2e%2e/%2e%2e/etc/passwd"), refused),
                "slash traversal": (_get(b"/files/..%2f..%2fetc%2fpasswd/x.whl"), refused),
                "absolute": (_get(b"http://other/etc/passwd"), refused),
                "garbage": (b"\x16\x03\x01\x00\xff" + b"\x00" * 500 + b"\r\n\r\n", refused),
                "nul": (_get(b"/simple/p0%00/"), (*refused, b"301")),
            }
            for what, (request, allowed) in hostile.items():
                answer = _raw(origin, request)
                status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/1.1 ") else b""
                assert status in allowed, (what, answer[:200])
                assert b"root:" not in answer, what
            with httpx.Client(timeout=5) as http:
                for i in range(30):
                    started = time.monotonic()
                    response = http.get(f"{origin}/simple/p{i % 3}/")
                    assert response.status_code == 200
                    assert time.monotonic() - started < 1.0
            assert b"HTTP/1.1 200" in _raw(origin, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        finally:
            stop.set()
            dripper.join(5)
            for sock in slow:
                sock.close()
