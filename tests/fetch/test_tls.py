"""The command's HTTP client verifies TLS exactly as httpx does, but loads the CA
certificates only when a TLS connection is made (wheelset.fetch.tls)."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.serving import make_certificate
from wheelset.fetch.http import new_client
from wheelset.fetch.tls import LazyTLSContext


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(certificate: tuple[Path, Path] | None) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    scheme = "http"
    if certificate is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*map(str, certificate))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(an https URL, the CA that signed its certificate)."""
    ca, cert, key = make_certificate(tmp_path)
    for url in _serve((cert, key)):
        yield url, ca


def test_https_is_verified_against_the_configured_certificates(
    tls: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca = tls
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    # Without the test CA (certifi's bundle, or the machine's): refused.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with new_client(5.0) as client, pytest.raises(httpx.ConnectError, match="CERTIFICATE"):
        client.get(url)
    # Trusting it as httpx does (SSL_CERT_FILE): accepted, on every connection.
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    with new_client(5.0) as client:
        assert [client.get(url).content for _ in range(2)] == [b"hello", b"hello"]


def test_plain_http_never_loads_certificates() -> None:
    context = LazyTLSContext()
    for url in _serve(None):
        with httpx.Client(verify=context, timeout=5.0) as client:
            assert client.get(url).content == b"hello"
    assert context._real is None
