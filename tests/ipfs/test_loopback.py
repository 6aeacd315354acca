"""LoopbackRpc: the block calls of a node on this machine without httpx — against the real
test node, and against stand-ins answering in each HTTP framing and in ways a node must not."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from tests.support.index import QuietHandler, serve_handler
from wheelset.errors import RpcError
from wheelset.fetch.http import http_client
from wheelset.ipfs.car import iter_car
from wheelset.ipfs.importer import import_bytes
from wheelset.ipfs.loopback import loopback_rpc
from wheelset.ipfs.rpc import KuboRpc

CONTENT = os.urandom(700_000)  # a root and three leaves
CID = import_bytes(b"x").cid


@pytest.mark.parametrize(
    ("url", "taken"),
    [
        ("http://127.0.0.1:5001", True),
        ("http://127.0.0.2:5001/", True),
        ("http://localhost:5001", True),
        ("http://[::1]:5001", True),
        ("https://127.0.0.1:5001", False),  # TLS: httpx's
        ("http://127.0.0.1", False),  # port 80: netrc may name the host
        ("http://127.0.0.1:80", False),
        ("http://me:secret@127.0.0.1:5001", False),
        ("http://192.168.1.4:5001", False),  # another machine: proxies may apply
        ("http://127.0.0.1.example.org:5001", False),
    ],
)
def test_only_a_node_on_this_machine_over_plain_http_is_taken(url: str, taken: bool) -> None:
    assert (loopback_rpc(url, timeout=5) is not None) == taken


def test_blocks_and_cars_from_the_node(ipfs_node) -> None:
    with http_client(30, indexes=False) as http:
        root = KuboRpc(ipfs_node.api_url, http=http).add(CONTENT, "content.bin")[-1].cid
    rpc = loopback_rpc(ipfs_node.api_url, timeout=30)
    assert rpc is not None
    for _ in range(3):  # one kept-alive connection carries call after call
        block = rpc.block_get(root)
        assert hashlib.sha256(block).digest() == root.digest
        with rpc.dag_export(root, max_size=1 << 21) as stream:
            roots, sections = iter_car(stream)
            blocks = list(sections)
        assert roots == (root,) and len(blocks) == 4
        assert all(hashlib.sha256(b).digest() == cid.digest for cid, b in blocks)
        # A block asked for while a CAR is being read comes on a connection of its own.
        with rpc.dag_export(root, max_size=1 << 21) as stream:
            stream.read(100)
            assert rpc.block_get(root) == block
    with (
        pytest.raises(RpcError, match="more than 1000 bytes"),
        rpc.dag_export(root, max_size=1000) as stream,
    ):
        stream.read()


def _stand_in(answer: bytes, *, stall: float = 0.0, close: bool = False):
    """A server sending ``answer`` (head and body, as given) to every request, closing the
    connection after it when ``close`` or when the answer says so."""

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            time.sleep(stall)
            self.wfile.write(answer)
            self.close_connection = close or b"Connection: close" in answer

    return serve_handler(Handler)


BODY = b"x" * 100_000
CHUNKED = b"".join(
    b"%x\r\n%s\r\n" % (len(part), part) for part in (BODY[:1], BODY[1:70_000], BODY[70_000:])
)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + CHUNKED
        + b"0\r\nX-Stream-Error: \r\n\r\n",
        b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n" + BODY,
    ],
    ids=["length", "chunked-with-trailer", "up-to-the-close"],
)
def test_every_framing_is_read(answer: bytes) -> None:
    with _stand_in(answer) as url:
        rpc = loopback_rpc(url, timeout=5)
        assert rpc is not None
        for _ in range(2):
            assert rpc.block_get(CID, max_size=len(BODY)) == BODY
            with rpc.dag_export(CID, max_size=len(BODY)) as stream:
                assert stream.read() == BODY


def _answer(status: str, body: bytes, headers: bytes = b"") -> bytes:
    head = b"HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n" % (status.encode(), len(body), headers)
    return head + body


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            _answer("500 Internal Server Error", b'{"Message": "not found", "C'),
            r'^block/get: HTTP 500 Internal Server Error: {"Message": "not found", "C$',
        ),
        (
            _answer("500 Internal Server Error", b'{"Message": "not found", "Code": 0}'),
            r"^block/get: not found$",
        ),
        (_answer("200 OK", BODY), "block/get: the node sent more than 1000 bytes"),
        (_answer("200 OK", b"abc", b"Content-Encoding: gzip\r\n"), "content coding"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nabc",
            "closed the connection inside the answer",
        ),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "sent a bad answer"),
    ],
    ids=["error-text", "error-json", "too-long", "coding", "short", "not-http"],
)
def test_a_wrong_answer_is_an_rpc_error(answer: bytes, message: str) -> None:
    with _stand_in(answer) as url:
        rpc = loopback_rpc(url, timeout=5)
        assert rpc is not None
        with pytest.raises(RpcError, match=message):
            rpc.block_get(CID, max_size=1000)


def test_a_kept_connection_the_node_closed_is_replaced() -> None:
    """A node may close an idle kept-alive connection without saying so beforehand."""
    with _stand_in(_answer("200 OK", b"block"), close=True) as url:
        rpc = loopback_rpc(url, timeout=5)
        assert rpc is not None
        assert [rpc.block_get(CID) for _ in range(3)] == [b"block"] * 3


def test_a_silent_node_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from wheelset.ipfs import loopback

    monkeypatch.setattr(loopback, "_GRACE", 0.0)
    with _stand_in(_answer("200 OK", b""), stall=5) as url:
        rpc = loopback_rpc(url, timeout=1)
        assert rpc is not None
        started = time.monotonic()
        with pytest.raises(RpcError, match="did not answer in time"):
            rpc.block_get(CID, timeout=1)
        assert time.monotonic() - started < 3
