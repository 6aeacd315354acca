"""UnixFS file importer: bytes -> balanced dag-pb DAG, exactly as `ipfs add` with Kubo defaults.

Spec: https://specs.ipfs.tech/unixfs/ ; layout as boxo's importer/balanced. Reads a
chunk at a time into reused buffers (constant memory whatever the file size; regular
files on a few threads), hashes each leaf without copying the chunk, and hands blocks to
an optional BlockStore in file order.
digest_stream() is the one streaming verifier: CID, sha256 and length in one pass.
Also computes a file's cumulative DAG size from its byte length alone, so a directory
can link a file it has never seen. No network, no wheel knowledge.
Entry points: ImportParams, import_file(), import_bytes(), one_block(), digest_stream(), Digest,
dag_size_of_file().
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from wheelset.ipfs.blockstore import BlockStore
from wheelset.ipfs.cid import CID, DAG_PB, RAW, cid_for_block
from wheelset.ipfs.dagpb import FILE, PBLink, PBNode, UnixFSData, encode_node, encode_unixfs
from wheelset.ipfs.varint import encode_varint

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_LINKS",
    "Digest",
    "ImportParams",
    "Imported",
    "dag_size_of_file",
    "digest_stream",
    "import_bytes",
    "import_file",
    "one_block",
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


@functools.lru_cache(maxsize=4096)
def _dagpb_leaf_frame(length: int) -> tuple[bytes, bytes]:
    """The bytes around a chunk in a dag-pb File leaf: (header, trailer)."""
    if length == 0:
        unixfs = encode_unixfs(UnixFSData(FILE, filesize=0))
        return b"\x0a" + encode_varint(len(unixfs)) + unixfs, b""
    inner_head = b"\x08\x02\x12" + encode_varint(length)
    trailer = b"\x18" + encode_varint(length)
    unixfs_len = len(inner_head) + length + len(trailer)
    return b"\x0a" + encode_varint(unixfs_len) + inner_head, trailer


def _leaf_digest(chunk: memoryview, params: ImportParams) -> bytes:
    """sha2-256 of the leaf block around ``chunk``, without assembling the block."""
    if params.use_raw_leaves:
        return hashlib.sha256(chunk).digest()
    head, tail = _dagpb_leaf_frame(len(chunk))
    h = hashlib.sha256(head)
    h.update(chunk)
    h.update(tail)
    return h.digest()


def _leaf(
    digest: bytes, chunk: memoryview, params: ImportParams, store: BlockStore | None
) -> Imported:
    length = len(chunk)
    if params.use_raw_leaves:
        cid = CID(1, RAW, digest)
        if store is not None:
            store.put(cid, bytes(chunk))
        return Imported(cid, length, length)
    head, tail = _dagpb_leaf_frame(length)
    cid = CID(params.cid_version, DAG_PB, digest)
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


def _iter_stream_leaves(
    stream: BinaryIO,
    params: ImportParams,
    store: BlockStore | None,
    on_chunk: Callable[[memoryview], None] | None,
) -> Iterator[Imported]:
    """Leaves of any readable stream, one chunk at a time in one reused buffer."""
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
        yield _leaf(_leaf_digest(chunk, params), chunk, params, store)
        first = False
        if n < len(buf):
            return


# Regular files are read with positional reads (pread) by a few threads, each reading a
# group of chunks and hashing every chunk right after reading it, while it is still in
# the CPU cache; hashlib and preadv release the GIL, so reading and hashing run on all
# cores. This thread only turns digests into leaves, in file order.
_HASH_THREADS = min(4, os.cpu_count() or 1)
_GROUP_CHUNKS = 8  # chunks per task: 2 MiB at the default chunk size
_GROUPS_IN_FLIGHT = _HASH_THREADS + 2  # buffers: every thread busy, results waiting
_hash_pool: tuple[int, ThreadPoolExecutor] | None = None  # (owning pid, pool)


def _get_hash_pool() -> ThreadPoolExecutor:
    global _hash_pool
    # A forked child inherits the pool object but not its threads: make a new one there.
    if _hash_pool is None or _hash_pool[0] != os.getpid():
        # The pool outlives the call: its threads must not take a signal meant for the main
        # thread (an install's transaction, paused or waiting, would see it too late).
        from wheelset.workers import signals_to_main_thread

        pool = ThreadPoolExecutor(
            _HASH_THREADS, thread_name_prefix="wheelset-hash", initializer=signals_to_main_thread
        )
        _hash_pool = (os.getpid(), pool)
    return _hash_pool[1]


def _pread_full(fd: int, view: memoryview, offset: int) -> int:
    """Fill ``view`` from ``offset``; fewer bytes only at end of file."""
    filled = 0
    while filled < len(view):
        n = os.preadv(fd, [view[filled:]], offset + filled)
        if not n:
            break
        filled += n
    return filled


def _read_and_hash(
    fd: int, offset: int, buf: bytearray, params: ImportParams
) -> list[tuple[int, bytes]]:
    """Read up to len(buf) bytes at ``offset`` a chunk at a time, hashing each chunk as
    soon as it is read; return (length, leaf digest) per chunk. Short only at end of file."""
    view = memoryview(buf)
    size = params.chunk_size
    leaves = []
    for start in range(0, len(buf), size):
        n = _pread_full(fd, view[start : start + size], offset + start)
        if n:
            leaves.append((n, _leaf_digest(view[start : start + n], params)))
        if n < size:
            break
    return leaves


def _regular_file(stream: BinaryIO) -> tuple[int, int] | None:
    """(fd, position) when ``stream`` is a regular file that positional reads can serve."""
    if not hasattr(os, "preadv"):
        return None
    try:
        fd = stream.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return fd, stream.tell()
    except (AttributeError, OSError, ValueError):
        return None


def _iter_file_leaves(
    fd: int,
    start: int,
    params: ImportParams,
    store: BlockStore | None,
    on_chunk: Callable[[memoryview], None] | None,
) -> Generator[Imported, None, int]:
    """Leaves of a regular file read from ``start``; the generator returns the end offset."""
    size = params.chunk_size
    first_buf = bytearray(size)
    n = _pread_full(fd, memoryview(first_buf), start)
    first = memoryview(first_buf)[:n]
    if on_chunk is not None and n:
        on_chunk(first)
    yield _leaf(_leaf_digest(first, params), first, params, store)
    if n < size:
        return start + n
    pool = _get_hash_pool()
    next_offset = start + size
    pending: deque[tuple[Future[list[tuple[int, bytes]]], bytearray, int]] = deque()

    def submit(buf: bytearray) -> None:
        nonlocal next_offset
        pending.append(
            (pool.submit(_read_and_hash, fd, next_offset, buf, params), buf, next_offset)
        )
        next_offset += len(buf)

    try:
        for _ in range(_GROUPS_IN_FLIGHT):
            submit(bytearray(size * _GROUP_CHUNKS))
        while True:
            future, buf, offset = pending.popleft()
            view = memoryview(buf)
            position = 0
            for length, digest in future.result():
                chunk = view[position : position + length]
                if on_chunk is not None:
                    on_chunk(chunk)
                yield _leaf(digest, chunk, params, store)
                position += length
            if position < len(buf):
                return offset + position
            submit(buf)
    finally:
        # Reads past the end may still run: let them finish before the caller closes the fd.
        for future, _, _ in pending:
            future.exception()


def _iter_leaves(
    stream: BinaryIO,
    params: ImportParams,
    store: BlockStore | None,
    on_chunk: Callable[[memoryview], None] | None,
) -> Iterator[Imported]:
    """Leaves in file order: threaded positional reads for regular files, else serial."""
    located = _regular_file(stream)
    if located is None:
        yield from _iter_stream_leaves(stream, params, store, on_chunk)
        return
    fd, start = located
    end = yield from _iter_file_leaves(fd, start, params, store, on_chunk)
    stream.seek(end)  # leave the stream where a sequential reader would have


def import_file(
    stream: BinaryIO,
    params: ImportParams = ImportParams(),
    *,
    store: BlockStore | None = None,
    on_chunk: Callable[[memoryview], None] | None = None,
) -> Imported:
    """Import a byte stream as `ipfs add` would; return its root.

    Reads from the stream's current position to its end and leaves it there. Regular
    files are read and hashed on a few threads; memory stays bounded either way.
    ``on_chunk`` sees every chunk once, in order, from the calling thread (e.g. to compute
    sha256 in the same pass). An empty stream gives Kubo's empty-file node.
    """
    return balanced_layout(
        _iter_leaves(stream, params, store, on_chunk), params.max_links, _node_maker(params, store)
    )


def import_bytes(
    data: bytes,
    params: ImportParams = ImportParams(),
    *,
    store: BlockStore | None = None,
) -> Imported:
    """import_file() over an in-memory buffer."""
    if len(data) <= params.chunk_size:
        # One chunk: the leaf is the whole file (a build imports ~2 such pages per project).
        block = one_block(data) if params == _DEFAULT_PARAMS else None
        if block is not None:
            cid = CID(0, DAG_PB, hashlib.sha256(block).digest())
            if store is not None:
                store.put(cid, block)
            return Imported(cid, len(block), len(data))
        view = memoryview(data)
        return _leaf(_leaf_digest(view, params), view, params, store)
    import io

    return import_file(io.BytesIO(data), params, store=store)


def one_block(data: bytes) -> bytes | None:
    """The only block of ``data`` imported with the default parameters (a dag-pb leaf,
    whose CIDv0 is its sha2-256), or None when it takes more than one chunk."""
    if len(data) > DEFAULT_CHUNK_SIZE:
        return None
    head, tail = _dagpb_leaf_frame(len(data))
    return head + data + tail


@dataclass(frozen=True, slots=True)
class Digest:
    """The identity of some bytes: CID (as `ipfs add` gives it), hex sha256, length."""

    content_id: CID
    sha256: str
    size: int

    def mismatch(
        self, content_id: CID | None, size: int | None = None, sha256: str | None = None
    ) -> str | None:
        """What differs from the expected CID, size and sha256 (None: nothing, or unknown)."""
        if content_id is not None and self.content_id != content_id:
            return f"content-id is {self.content_id}, not {content_id}"
        if size is not None and self.size != size:
            return f"{self.size} bytes, not {size}"
        if sha256 is not None and self.sha256 != sha256.lower():
            return f"sha256 is {self.sha256}, not {sha256}"
        return None


def digest_stream(
    stream: BinaryIO,
    params: ImportParams = ImportParams(),
    *,
    on_chunk: Callable[[memoryview], None] | None = None,
) -> Digest:
    """CID, sha256 and length of a stream in one pass (the stream read to its end).

    ``on_chunk`` sees every chunk after it is hashed (e.g. to write it to a file).
    """
    sha = hashlib.sha256()
    if on_chunk is None:
        imported = import_file(stream, params, on_chunk=sha.update)
    else:

        def both(chunk: memoryview) -> None:
            sha.update(chunk)
            on_chunk(chunk)

        imported = import_file(stream, params, on_chunk=both)
    return Digest(imported.cid, sha.hexdigest(), imported.file_size)


_DEFAULT_PARAMS = ImportParams()


def _varint_length(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def _link_length(cid_length: int, tsize: int) -> int:
    """Bytes of one encoded PBLink with an empty name (as encode_link writes it)."""
    inner = (1 + _varint_length(cid_length) + cid_length) + 2 + (1 + _varint_length(tsize))
    return 1 + _varint_length(inner) + inner


def _leaf_tsize(length: int) -> int:
    """Bytes of the dag-pb leaf of ``length`` (> 0) bytes of a file: its frame's length,
    worked out (_dagpb_leaf_frame())."""
    inner = 4 + 2 * ((length.bit_length() + 6) // 7) + length
    return 1 + (inner.bit_length() + 6) // 7 + inner


@functools.lru_cache(maxsize=8)
def _one_level(params: ImportParams) -> tuple[int, int, int, int, int, int] | None:
    """What dag_size_of_file() adds up for a file of leaves under one node: the largest
    such file, the chunk size, a leaf's CID length, a full leaf's Tsize, its link's length
    in the node and its UnixFS blocksizes item's; None with raw leaves."""
    if params.use_raw_leaves:
        return None
    chunk = params.chunk_size
    cid_length = 34 if params.cid_version == 0 else 36
    full_leaf = _leaf_tsize(chunk)
    full_link = _link_length(cid_length, full_leaf)
    return (
        chunk * params.max_links,
        chunk,
        cid_length,
        full_leaf,
        full_link,
        1 + _varint_length(chunk),
    )


def dag_size_of_file(file_size: int, params: ImportParams = ImportParams()) -> int:
    """Cumulative DAG size (the Tsize a directory link carries) of a file of ``file_size`` bytes.

    Depends only on the length: chunk boundaries are fixed and CIDs have fixed width, so
    the balanced tree's block lengths are computed, not encoded. Complete subtrees of one
    level are alike and only the rightmost path is partial, so the work is a loop over the
    tree's depth (logarithmic in the size), without recursion, whatever the number.

    >>> dag_size_of_file(1_048_576)
    1048832
    """
    if file_size < 0:
        raise ValueError("a file size is not negative")
    if 0 < file_size <= params.chunk_size and not params.use_raw_leaves:
        return _leaf_tsize(file_size)  # one dag-pb leaf
    terms = _one_level(params)
    if terms is not None and 0 < file_size <= terms[0]:
        # Leaves under one node (up to 174 chunks: most wheels a build links; the walk
        # below costs ten times more): node() of them, in sums, the varints' lengths
        # inline (they are positive).
        _, chunk, cid_length, full_leaf, full_link, full_field = terms
        full = (file_size - 1) // chunk
        last = file_size - full * chunk
        last_leaf = _leaf_tsize(last)
        last_link = 5 + cid_length + (last_leaf.bit_length() + 6) // 7  # _link_length()
        last_link += 1 + (last_link.bit_length() + 6) // 7
        unixfs = 4 + (file_size.bit_length() + 6) // 7 + full * full_field
        unixfs += (last.bit_length() + 6) // 7
        block = full * full_link + last_link + 1 + (unixfs.bit_length() + 6) // 7 + unixfs
        return block + full * full_leaf + last_leaf
    chunk, fanout = params.chunk_size, params.max_links
    node_cid = 34 if params.cid_version == 0 else 36  # multihash alone, or 01 70 + multihash
    leaf_cid = 36 if params.use_raw_leaves else node_cid

    def leaf(length: int) -> int:
        if params.use_raw_leaves:
            return length
        head, tail = _dagpb_leaf_frame(length)
        return len(head) + length + len(tail)

    def node(level: int, full_children: int, full: tuple[int, int], tail: tuple[int, int]):
        """(tsize, file bytes) of a node: ``full_children`` alike subtrees, then ``tail``."""
        cid_length = leaf_cid if level == 1 else node_cid
        links = full_children * _link_length(cid_length, full[0])
        links += _link_length(cid_length, tail[0])
        size = full_children * full[1] + tail[1]
        unixfs = 2 + 1 + _varint_length(size)
        unixfs += full_children * (1 + _varint_length(full[1])) + 1 + _varint_length(tail[1])
        block = links + 1 + _varint_length(unixfs) + unixfs
        return block + full_children * full[0] + tail[0], size

    leaves = max(1, -(-file_size // chunk))
    last = file_size - (leaves - 1) * chunk
    if leaves == 1:
        return leaf(file_size)
    height, capacity = 1, fanout
    while capacity < leaves:
        height, capacity = height + 1, capacity * fanout
    # Walk down the rightmost path: how many complete subtrees precede it on each level.
    path: list[int] = []
    count, per_child = leaves, capacity // fanout
    for _ in range(height):
        full_children = (count - 1) // per_child
        path.append(full_children)
        count -= full_children * per_child
        per_child //= fanout
    # Then up: complete subtrees of each level, and the partial one built on them.
    complete = (leaf(chunk), chunk)
    partial = (leaf(last), last)
    for level, full_children in enumerate(reversed(path), start=1):
        partial = node(level, full_children, complete, partial)
        complete = node(level, fanout - 1, complete, complete)
    return partial[0]
