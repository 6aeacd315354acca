"""Bounded response bodies against a hostile server: one coding, bytes limited, a deadline."""

from __future__ import annotations

import resource
import socket
import time

import httpx
import pytest

from tests.support.hostile import bomb, gzip_bytes, hostile_server
from wheelset.httpbody import (
    MAX_BODY_EXTENSION,
    MIN_RATE_EXTENSION,
    BodyLimits,
    BodyRejected,
    SlowBody,
    describe_http_error,
)


def _client(grace: float = 1.0, max_body: int = 1 << 20) -> httpx.Client:
    return httpx.Client(timeout=5, event_hooks={"response": [BodyLimits(grace, max_body)]})


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_nested_codings_are_refused_before_reading() -> None:
    with hostile_server({"/x": ("gzip-gzip", bomb(2))}) as server, _client() as http:
        with pytest.raises(BodyRejected, match=r"more than one content coding \(gzip, gzip\)"):
            http.get(server.url + "/x")
        with pytest.raises(BodyRejected), http.stream("GET", server.url + "/x") as response:
            response.read()


def test_one_coding_is_decoded_within_the_limit() -> None:
    page = b"<html>" + b"a" * 100_000 + b"</html>"
    routes = {"/page": ("gzip", gzip_bytes(page)), "/bomb": ("gzip", bomb(2))}
    before = _peak_rss_mb()
    started = time.monotonic()
    with hostile_server(routes) as server, _client() as http:
        assert http.get(server.url + "/page").content == page
        with pytest.raises(BodyRejected, match="decoded body longer than 1048576 bytes"):
            http.get(server.url + "/bomb")
        # A request may allow more, and still streams in bounded pieces.
        seen = 0
        with (
            pytest.raises(BodyRejected, match="longer than 8388608"),
            http.stream(
                "GET", server.url + "/bomb", extensions={MAX_BODY_EXTENSION: 8 << 20}
            ) as response,
        ):
            for piece in response.iter_bytes():
                assert len(piece) <= 1 << 16
                seen += len(piece)
        assert seen == 8 << 20
    assert time.monotonic() - started < 30
    assert _peak_rss_mb() - before < 100


def test_a_drip_ends_at_the_deadline() -> None:
    started = time.monotonic()
    with (
        hostile_server({"/drip": ("drip", b"x" * 1000)}, drip_interval=0.5) as server,
        _client(grace=2.0) as http,
        pytest.raises(SlowBody, match="body too slow"),
    ):
        http.get(server.url + "/drip")  # every byte inside the 5 s idle timeout
    assert 2.0 <= time.monotonic() - started < 10


def test_a_trusted_call_may_be_slow() -> None:
    # A local node's answer comes when its work is done: no minimum rate for those calls.
    with (
        hostile_server({"/drip": ("drip", b"x" * 6)}, drip_interval=0.5) as server,
        _client(grace=0.5) as http,
    ):
        response = http.get(server.url + "/drip", extensions={MIN_RATE_EXTENSION: 0})
    assert response.content == b"x" * 6


def test_a_declared_length_over_the_limit_is_refused_at_once() -> None:
    with (
        hostile_server({"/big": ("bytes", bytes(2 << 20))}) as server,
        _client() as http,
        pytest.raises(BodyRejected, match="Content-Length 2097152 exceeds"),
    ):
        http.get(server.url + "/big")


def test_unasked_codings_are_refused() -> None:
    routes = {"/br": ("coding:br", b"x"), "/id": ("coding:identity", b"x")}
    with hostile_server(routes) as server, _client() as http:
        assert http.get(server.url + "/id").content == b"x"
        with pytest.raises(BodyRejected, match="content coding 'br' was not asked for"):
            http.get(server.url + "/br")


def test_the_one_client_factory_bounds_every_body() -> None:
    from wheelset.fetch.http import new_client

    with hostile_server({"/x": ("gzip-gzip", bomb(1))}) as server, new_client(5) as http:
        assert http.headers["Accept-Encoding"] == "gzip, deflate"
        with pytest.raises(BodyRejected, match="more than one content coding"):
            http.get(server.url + "/x")


def test_transport_errors_read_as_one_line_without_credentials() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(httpx.ConnectError) as refused:
        httpx.get(f"http://me:secret@127.0.0.1:{port}/simple/")
    described = describe_http_error(refused.value)
    assert described.startswith("ConnectError: ") and "secret" not in described
    assert "\n" not in described

    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(httpx.ReadTimeout) as slow:
            httpx.get(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=0.2)
    assert describe_http_error(slow.value).startswith("timed out (ReadTimeout")
    assert describe_http_error(httpx.RemoteProtocolError("")) == "RemoteProtocolError"
