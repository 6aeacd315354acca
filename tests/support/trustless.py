"""A trustless gateway of ours on 127.0.0.1, serving blocks of an in-memory store.

It answers what the trustless gateway specification defines: ``GET /ipfs/<cid>?format=raw``
(one block, ``application/vnd.ipld.raw``) and ``GET /ipfs/<cid>/<path>?format=car``
with ``dag-scope=entity`` (the blocks on the path, then the entity's: a file's every
block, a directory's block and HAMT shards; ``application/vnd.ipld.car``). Anything else
(a deserialised file) is 406. A ``tamper`` hook rewrites the list of CAR blocks, the raw
block, or the CAR bytes before sending, to test what a lying gateway can do.
Entry points: trustless_server(), Tamper.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from tests.support.index import QuietHandler, serve_handler
from wheelset.ipfs.blockstore import BlockNotFound, MemoryBlockStore
from wheelset.ipfs.car import write_car
from wheelset.ipfs.cid import CID, DAG_PB, SHA2_256, parse_cid
from wheelset.ipfs.resolver import NoSuchPath, PathError, PathResolver, SourceFailure

Blocks = list[tuple[CID, bytes]]


@dataclass
class Tamper:
    """Hooks applied to responses whose URL path contains ``only`` (all when None)."""

    blocks: Callable[[Blocks], Blocks] | None = None  # CAR block list
    car: Callable[[bytes], bytes] | None = None  # CAR bytes
    raw: Callable[[CID, bytes], bytes] | None = None  # one raw block
    only: str | None = None


def _v0(cid: CID) -> CID:
    """Blocks are stored under the CIDv0 of dag-pb content; a CIDv1 names the same block."""
    if cid.version == 1 and cid.codec == DAG_PB and cid.hash_code == SHA2_256:
        return CID(0, DAG_PB, cid.digest)
    return cid


class _Recording:
    """A store as a block source that remembers, in order, which blocks it handed out."""

    name = "store"

    def __init__(self, store: MemoryBlockStore):
        self.store = store
        self.served: list[tuple[CID, bytes]] = []

    def block(self, cid: CID) -> bytes:
        try:
            block = self.store.get(_v0(cid))
        except BlockNotFound as e:
            raise SourceFailure("not-found", str(e)) from e
        self.served.append((cid, block))
        return block

    def path_blocks(self, start: CID, names: Sequence[str], max_size: int) -> Blocks:
        raise SourceFailure("unsupported", "")


def path_blocks(store: MemoryBlockStore, start: CID, names: Sequence[str]) -> Blocks:
    """The blocks a dag-scope=entity CAR of ``/ipfs/<start>/<names…>`` holds, in walk order
    (the path to a file and the file; or a directory named by its CID and its shards)."""
    source = _Recording(store)
    resolver = PathResolver([source])
    try:
        resolver.read(start, names, max_size=1 << 30)
    except NoSuchPath:
        if names:
            raise
        source.served.clear()
        resolver.listing(start)
    return source.served


@dataclass
class RunningTrustless:
    url: str
    requests: list[str] = field(default_factory=list)
    sent: list[tuple[str, int]] = field(default_factory=list)  # (request path, body bytes)


@contextmanager
def trustless_server(
    store: MemoryBlockStore, tamper: Tamper | None = None, *, car: bool = True
) -> Iterator[RunningTrustless]:
    """Serve ``store`` as a trustless gateway (without CAR responses when not ``car``);
    yields its base URL and request log."""
    running = RunningTrustless("")

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            running.requests.append(self.path)
            query = parse_qs(parts.query)
            fmt = query.get("format", [""])[0]
            segments = [s for s in parts.path.removeprefix("/ipfs/").split("/") if s]
            hook = tamper if tamper and (tamper.only is None or tamper.only in parts.path) else None
            try:
                start = parse_cid(segments[0])
                if fmt == "raw" and len(segments) == 1:
                    block = store.get(_v0(start))
                    if hook and hook.raw:
                        block = hook.raw(start, block)
                    self._send(200, "application/vnd.ipld.raw", block)
                elif fmt == "car" and car:
                    blocks = path_blocks(store, start, segments[1:])
                    if hook and hook.blocks:
                        blocks = hook.blocks(blocks)
                    out = io.BytesIO()
                    write_car(out, [start], blocks)
                    body = out.getvalue()
                    if hook and hook.car:
                        body = hook.car(body)
                    self._send(200, "application/vnd.ipld.car; version=1; order=dfs; dups=y", body)
                else:
                    self._send(406, "text/plain", b"only verifiable responses\n")
            except (BlockNotFound, NoSuchPath, PathError):
                self._send(404, "text/plain", b"not found\n")

        def _send(self, status: int, kind: str, body: bytes) -> None:
            running.sent.append((self.path, len(body)))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serve_handler(Handler) as url:
        running.url = url
        yield running
