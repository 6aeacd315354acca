"""A cold install's requests to a local node go through http.client, bounded as httpx's are."""

from __future__ import annotations

import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler

import pytest

from tests.support.hostile import gzip_bytes, hostile_server
from tests.support.index import QuietHandler, serve_handler
from wheelset.fetch.http import (
    MAX_BODY_EXTENSION,
    MIN_RATE_EXTENSION,
    http_client,
    timeout_error,
    transport_error,
)
from wheelset.httpbody import BodyRejected, SlowBody


def _counting_server(peers: list[tuple[str, int]]) -> type[BaseHTTPRequestHandler]:
    """Keep-alive HTTP/1.1: ``/echo`` answers the request line and headers, ``/bye`` answers
    then closes the connection, ``/moved`` redirects to ``/echo``; each request's client
    address (its connection) goes to ``peers``."""

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            peers.append(self.client_address)
            if self.path.startswith("/moved"):
                self.send_response(302)
                self.send_header("Location", "/echo?from=moved")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = f"{self.command} {self.path}\n{self.headers}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            if self.path.startswith("/bye"):
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    return Handler


def test_requests_to_a_local_port_are_kept_alive_without_httpx() -> None:
    peers: list[tuple[str, int]] = []
    with serve_handler(_counting_server(peers)) as url:
        program = (
            "import sys\n"
            "from wheelset.fetch.http import http_client\n"
            "with http_client(5, indexes=False) as http:\n"
            "    for i in range(5):\n"
            "        r = http.post(sys.argv[1] + '/echo', params={'arg': ['a b', 'c']})\n"
            "        assert r.status_code == 200, r.status_code\n"
            "    with http.stream('GET', sys.argv[1] + '/echo', headers={'Accept': 'x/y'}) as r:\n"
            "        print(b''.join(r.iter_bytes(3)).decode())\n"
            "print('httpx' in sys.modules)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", program, url], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 0, done.stderr
    request, _, rest = done.stdout.partition("\n")
    assert request == "GET /echo"
    assert "Accept: x/y" in rest and "Accept-Encoding: identity" in rest
    assert "User-Agent: wheelset/" in rest
    assert done.stdout.endswith("False\n")  # httpx was never loaded
    assert len(peers) == 6 and len(set(peers)) == 1  # one connection for all six


def test_a_connection_the_server_closed_is_replaced_and_redirects_are_followed() -> None:
    peers: list[tuple[str, int]] = []
    with serve_handler(_counting_server(peers)) as url, http_client(5, indexes=False) as http:
        assert http.post(f"{url}/bye", params={"arg": "x"}).content.startswith(b"POST /bye?arg=x")
        assert http.post(f"{url}/echo").content.startswith(b"POST /echo")
        assert len(set(peers)) == 2  # the closed connection was not used again
        with http.stream("GET", f"{url}/moved") as response:
            assert response.status_code == 200
            assert response.read().startswith(b"GET /echo?from=moved")


def test_local_bodies_are_bounded_as_httpx_bodies_are() -> None:
    routes = {
        "/big": ("bytes", bytes(2 << 20)),
        "/br": ("coding:br", b"x"),
        "/gz": ("gzip", gzip_bytes(b"x" * 100)),
        "/drip": ("drip", b"x" * 100),
        "/few": ("drip", b"x" * 4),
    }
    with (
        hostile_server(routes, drip_interval=0.2) as server,
        http_client(0.5, indexes=False) as http,
    ):
        big = f"{server.url}/big"
        with pytest.raises(BodyRejected, match="Content-Length 2097152 exceeds"):
            http.stream("GET", big, extensions={MAX_BODY_EXTENSION: 1 << 20}).__enter__()
        with http.stream("GET", big, extensions={MAX_BODY_EXTENSION: 4 << 20}) as response:
            assert len(response.read()) == 2 << 20
        for coded in ("/br", "/gz"):  # identity was asked for: any coding is refused
            with pytest.raises(BodyRejected, match="was not asked for"):
                http.stream("GET", server.url + coded).__enter__()
        # Each byte within the read timeout, but the average rate is too low after the grace
        # period (two read timeouts); a trusted call has no minimum rate.
        started = time.monotonic()
        with pytest.raises(SlowBody), http.stream("GET", f"{server.url}/drip") as response:
            response.read()
        assert 1.0 <= time.monotonic() - started < 10
        trusted = {MIN_RATE_EXTENSION: 0}
        with http.stream("GET", f"{server.url}/few", extensions=trusted) as response:
            assert response.read() == b"x" * 4
        with http.stream("GET", f"{server.url}/missing") as response:
            assert response.status_code == 404


def test_local_failures_are_httpx_errors() -> None:
    with serve_handler(QuietHandler) as url:
        pass  # the port is free again: nothing listens
    with http_client(5, indexes=False) as http:
        with pytest.raises(transport_error()) as refused:
            http.post(f"{url}/api/v0/version")
        assert type(refused.value).__name__ == "ConnectError"
    with (
        hostile_server({"/drip": ("drip", b"x" * 10)}, drip_interval=2) as server,
        http_client(0.3, indexes=False) as http,
        pytest.raises(timeout_error()),
        http.stream("GET", f"{server.url}/drip") as response,
    ):
        response.read()
