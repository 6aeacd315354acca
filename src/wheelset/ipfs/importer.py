"""UnixFS file importer: bytes -> balanced dag-pb DAG, exactly as `ipfs add` with Kubo defaults.

Spec: https://specs.ipfs.tech/unixfs/ ; layout as boxo's importer/balanced. Reads one
chunk at a time into a reused buffer (constant memory whatever the file size), hashes
each leaf without copying the chunk, and hands blocks to an optional BlockStore.
Also computes a file's cumulative DAG size from its byte length alone, so a directory
can link a file it has never seen. No network, no wheel knowledge.
Entry points: ImportParams, import_file(), import_bytes(), dag_size_of_file().
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from wheelset.ipfs.blockstore import BlockStore
from wheelset.ipfs.cid import CID, DAG_PB, RAW, cid_for_block
from wheelset.ipfs.dagpb import FILE, PBLink, PBNode, UnixFSData, encode_node, encode_unixfs
from wheelset.ipfs.varint import encode_varint

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_LINKS",
    "ImportParams",
    "Imported",
    "dag_size_of_file",
    "import_bytes",
    "import_file",
]

DEFAULT_CHUNK_SIZE = 262_144  # bytes; Kubo's size-262144 chunker
# 8192-byte target link blocks / ~47 bytes per link (34 hash + 8 size + 5 framing) = 174.
DEFAULT_MAX_LINKS = 174


@dataclass(frozen=True, slots=True)
class ImportParams:
    """`ipfs add` options that change the DAG. ``cid_version=1`` implies raw leaves, as Kubo."""

    cid_version: int = 0
    raw_leaves: bool | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    max_links: int = DEFAULT_MAX_LINKS

    @property
    def use_raw_leaves(self) -> bool:
        return self.cid_version == 1 if self.raw_leaves is None else self.raw_leaves


@dataclass(frozen=True, slots=True)
class Imported:
    """The root of an imported file: its CID, cumulative DAG size (Tsize) and byte length."""

    cid: CID
    tsize: int
    file_size: int


_Leaf = Imported
NodeMaker = Callable[[list[Imported]], Imported]


def _dagpb_leaf_frame(length: int) -> tuple[bytes, bytes]:
    """The bytes around a chunk in a dag-pb File leaf: (header, trailer)."""
    if length == 0:
        unixfs = encode_unixfs(UnixFSData(FILE, filesize=0))
        return b"\x0a" + encode_varint(len(unixfs)) + unixfs, b""
    inner_head = b"\x08\x02\x12" + encode_varint(length)
    trailer = b"\x18" + encode_varint(length)
    unixfs_len = len(inner_head) + length + len(trailer)
    return b"\x0a" + encode_varint(unixfs_len) + inner_head, trailer


def _make_leaf(chunk: memoryview, params: ImportParams, store: BlockStore | None) -> Imported:
    length = len(chunk)
    if params.use_raw_leaves:
        cid = CID(1, RAW, hashlib.sha256(chunk).digest())
        if store is not None:
            store.put(cid, bytes(chunk))
        return Imported(cid, length, length)
    head, tail = _dagpb_leaf_frame(length)
    h = hashlib.sha256(head)
    h.update(chunk)
    h.update(tail)
    cid = CID(params.cid_version, DAG_PB, h.digest())
    if store is not None:
        store.put(cid, head + bytes(chunk) + tail)
    return Imported(cid, len(head) + length + len(tail), length)


def _node_maker(params: ImportParams, store: BlockStore | None) -> NodeMaker:
    def make_node(children: list[Imported]) -> Imported:
        file_size = sum(c.file_size for c in children)
        data = encode_unixfs(
            UnixFSData(FILE, filesize=file_size, blocksizes=tuple(c.file_size for c in children))
        )
        links = tuple(PBLink(c.cid, "", c.tsize) for c in children)
        block = encode_node(PBNode(links, data))
        cid = cid_for_block(block, version=params.cid_version)
        if store is not None:
            store.put(cid, block)
        return Imported(cid, len(block) + sum(c.tsize for c in children), file_size)

    return make_node


class _Peekable:
    def __init__(self, it: Iterator[Imported]):
        self._it = it
        self._next = next(it, None)

    def has_more(self) -> bool:
        return self._next is not None

    def pop(self) -> Imported:
        item = self._next
        assert item is not None
        self._next = next(self._it, None)
        return item


def balanced_layout(leaves: Iterator[Imported], max_links: int, make_node: NodeMaker) -> Imported:
    """Fold leaves into boxo's balanced tree; the input must yield at least one leaf.

    The first leaf alone is the root of a one-chunk file. Otherwise the old root becomes the
    first child of a new root one level deeper, which is filled with complete subtrees.
    """
    source = _Peekable(leaves)
    root = source.pop()
    depth = 1

    def fill(children: list[Imported], level: int) -> Imported:
        while len(children) < max_links and source.has_more():
            children.append(source.pop() if level == 1 else fill([], level - 1))
        return make_node(children)

    while source.has_more():
        root = fill([root], depth)
        depth += 1
    return root


def _read_full(stream: BinaryIO, buf: bytearray) -> int:
    """Fill ``buf`` from the stream; fewer bytes only at end of stream."""
    view = memoryview(buf)
    filled = 0
    while filled < len(buf):
        n = stream.readinto(view[filled:])  # type: ignore[attr-defined]
        if not n:
            break
        filled += n
    return filled


def _iter_leaves(
    stream: BinaryIO,
    params: ImportParams,
    store: BlockStore | None,
    on_chunk: Callable[[memoryview], None] | None,
) -> Iterator[Imported]:
    buf = bytearray(params.chunk_size)
    view = memoryview(buf)
    first = True
    while True:
        n = _read_full(stream, buf)
        if n == 0 and not first:
            return
        chunk = view[:n]
        if on_chunk is not None and n:
            on_chunk(chunk)
        yield _make_leaf(chunk, params, store)
        first = False
        if n < len(buf):
            return


def import_file(
    stream: BinaryIO,
    params: ImportParams = ImportParams(),
    *,
    store: BlockStore | None = None,
    on_chunk: Callable[[memoryview], None] | None = None,
) -> Imported:
    """Import a byte stream as `ipfs add` would; return its root.

    ``on_chunk`` sees every chunk once (e.g. to compute sha256 in the same pass). An empty
    stream gives Kubo's empty-file node.
    """
    return balanced_layout(
        _iter_leaves(stream, params, store, on_chunk), params.max_links, _node_maker(params, store)
    )


def import_bytes(data: bytes, params: ImportParams = ImportParams(), **kwargs) -> Imported:
    """import_file() over an in-memory buffer."""
    import io

    return import_file(io.BytesIO(data), params, **kwargs)


def _varint_length(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def _link_length(cid_length: int, tsize: int) -> int:
    """Bytes of one encoded PBLink with an empty name (as encode_link writes it)."""
    inner = (1 + _varint_length(cid_length) + cid_length) + 2 + (1 + _varint_length(tsize))
    return 1 + _varint_length(inner) + inner


def dag_size_of_file(file_size: int, params: ImportParams = ImportParams()) -> int:
    """Cumulative DAG size (the Tsize a directory link carries) of a file of ``file_size`` bytes.

    Depends only on the length: chunk boundaries are fixed and CIDs have fixed width, so
    the balanced tree's block lengths are computed, not encoded. Complete subtrees of full
    chunks are alike, so the work is O(tree depth), whatever the size.

    >>> dag_size_of_file(1_048_576)
    1048832
    """
    chunk, fanout = params.chunk_size, params.max_links
    node_cid = 34 if params.cid_version == 0 else 36  # multihash alone, or 01 70 + multihash
    leaf_cid = 36 if params.use_raw_leaves else node_cid

    def leaf(length: int) -> int:
        if params.use_raw_leaves:
            return length
        head, tail = _dagpb_leaf_frame(length)
        return len(head) + length + len(tail)

    leaves = max(1, -(-file_size // chunk))
    if leaves == 1:
        return leaf(file_size)
    height = 1
    while fanout**height < leaves:
        height += 1

    def subtree(count: int, level: int, last: int) -> tuple[int, int]:
        """(tsize, file bytes) of a subtree of ``count`` leaves; only the last may be short."""
        if level == 0:
            return leaf(last), last
        per_child = fanout ** (level - 1)
        full_children = (count - 1) // per_child
        full = subtree(per_child, level - 1, chunk) if full_children else (0, 0)
        tail = subtree(count - full_children * per_child, level - 1, last)
        cid_length = leaf_cid if level == 1 else node_cid
        links = full_children * _link_length(cid_length, full[0])
        links += _link_length(cid_length, tail[0])
        size = full_children * full[1] + tail[1]
        unixfs = 2 + 1 + _varint_length(size)
        unixfs += full_children * (1 + _varint_length(full[1])) + 1 + _varint_length(tail[1])
        block = links + 1 + _varint_length(unixfs) + unixfs
        return block + full_children * full[0] + tail[0], size

    return subtree(leaves, height, file_size - (leaves - 1) * chunk)[0]
