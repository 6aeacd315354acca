"""Verified path resolution: read ``/<name>/…`` below a root CID, trusting only hashes.

Starting from the root CID the caller gives, every block on the path — the root directory
block (or the HAMT shard blocks that lead to the name), each directory below, then the
file's blocks — is hashed and compared with the CID its already verified parent links to
before it is parsed. No other block is used. Blocks come from a local block directory
(immutable, by CID) and then from each source in turn: a local node's RPC, trustless
gateways, a CAR file; what a source other than a node gives enters the block directory. A
gateway is asked for a whole path in one CAR response
(``?format=car&dag-scope=entity``), starting from the deepest directory already cached;
the response must hold exactly the blocks of the path (a missing, extra, truncated or
foreign block refuses it); a gateway that answers no CAR is read block by block
(``?format=raw``). A source that fails is skipped for the next one; a name that a verified
directory does not hold is an answer (NoSuchPath), not a failure.
Specs: https://specs.ipfs.tech/unixfs/ , https://specs.ipfs.tech/http-gateways/trustless-gateway/ .
Knows nothing about wheels. Entry points: PathResolver, BlockDir, GatewayBlocks,
NodeBlocks, CarBlocks, PathError, NoSuchPath.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import mmap
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from wheelset.errors import InvalidVarint, NoSuchPath, PathError, RpcError
from wheelset.fsutil import atomic_write_bytes
from wheelset.ipfs.car import InvalidCAR, iter_car
from wheelset.ipfs.cid import CID, DAG_PB, SHA2_256
from wheelset.ipfs.dagpb import (
    DIRECTORY,
    HAMT_SHARD,
    InvalidNode,
    PBLink,
    PBNode,
    UnixFSData,
    decode_node,
    decode_unixfs,
    file_parts,
)
from wheelset.ipfs.gateway import MAX_BLOCK_SIZE, FetchError, GatewayFetcher
from wheelset.ipfs.varint import decode_varint
from wheelset.workers import thread_map

if TYPE_CHECKING:
    # httpx is imported only when a gateway or a node not on this machine is used: a root
    # read from a build directory, the cache or a local node needs none.
    import httpx

    from wheelset.ipfs.loopback import LoopbackRpc
    from wheelset.ipfs.rpc import KuboRpc

__all__ = [
    "BlockDir",
    "BlockSource",
    "CarBlocks",
    "GatewayBlocks",
    "NoSuchPath",
    "NodeBlocks",
    "PathError",
    "PathResolver",
    "SourceFailure",
    "block_dir_of",
]

_IDENTITY = 0x00
_MURMUR3_X64_64 = 0x22
_PARALLEL_BLOCKS = 8  # blocks asked of a gateway or node at once
_CAR_OVERHEAD = 1 << 20  # bytes a path's CAR may hold beyond its file (directories, framing)
FILE_BLOCK_TIMEOUT = 1.0  # seconds a node may take to give a block of a file (NodeBlocks)
_CHUNK_SIZE = 262_144  # bytes of file data per leaf block (Kubo's default chunker)
_KEPT_BYTES = 4 << 20  # bytes of verified blocks a resolver keeps in memory
# bytes: a DAG its directory says is no larger comes from a node in one `dag/export` (a
# project of a few small wheels: one request instead of one per block and one per wheel)
WHOLE_DAG_SIZE = 1 << 20
_HELD_BYTES = 16 << 20  # bytes of a node's blocks held for a fetch still to come


class SourceFailure(Exception):
    """One source could not deliver (``kind`` as GatewayFailure's, plus ``missing``/``extra``
    for CAR responses without every block of the path or with others)."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class _Missing(Exception):
    """Internal: the getter in use does not have this block."""


class BlockSource(Protocol):
    """Where blocks come from. Nothing a source returns is trusted: the resolver checks it."""

    name: str

    def block(self, cid: CID) -> bytes:
        """The block ``cid`` (unverified). Raises SourceFailure."""

    def path_blocks(
        self, start: CID, names: Sequence[str], max_size: int
    ) -> list[tuple[CID, bytes]]:
        """Every block of ``/<start>/<names…>`` in one response. Raises SourceFailure (kind
        ``unsupported`` when the source has no such request: blocks are then asked one by
        one)."""


class BlockDir:
    """Blocks by CID as files (``<dir>/<cid>``), written atomically; read back unverified."""

    def __init__(self, directory: Path):
        self.directory = directory

    def get(self, cid: CID) -> bytes | None:
        try:
            return (self.directory / str(cid)).read_bytes()
        except OSError:
            return None

    def put(self, cid: CID, block: bytes) -> None:
        # A cache that cannot be written only costs a refetch.
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.directory / str(cid), block)
        except OSError:
            pass


class GatewayBlocks:
    """A gateway as a block source: one CAR per path, raw blocks otherwise."""

    def __init__(self, fetcher: GatewayFetcher, gateway: str):
        self._fetcher = fetcher
        self.name = gateway

    def block(self, cid: CID) -> bytes:
        try:
            return self._fetcher.read_block(self.name, cid)
        except FetchError as e:
            failure = e.failures[0]
            if failure.kind == "mismatch":
                # A gateway that answers ?format=raw with a file's bytes (not the block).
                raise SourceFailure(
                    failure.kind,
                    f"its ?format=raw answer is not block {cid} (a lying gateway, or a "
                    "path-only one, which cannot hand out verifiable blocks)",
                ) from e
            raise SourceFailure(failure.kind, failure.reason) from e

    def path_blocks(
        self, start: CID, names: Sequence[str], max_size: int
    ) -> list[tuple[CID, bytes]]:
        url_path = "/".join([f"/ipfs/{start}", *names])
        try:
            return self._fetcher.read_car(self.name, url_path, max_size=max_size + _CAR_OVERHEAD)
        except FetchError as e:
            failure = e.failures[0]
            raise SourceFailure(failure.kind, failure.reason) from e


class NodeBlocks:
    """A local node's RPC API (``block/get``), connected when a block is first asked for
    (a root read wholly from the block cache never loads the RPC client); a node on this
    machine through wheelset.ipfs.loopback, without httpx.

    For a command that goes on to fetch the files below the paths it reads (install:
    export_small_dags()), a small DAG on a path (dag_blocks(): a project's directory) comes
    in one `dag/export`; the blocks the path does not use (its wheels) are held (hold()) and
    handed out by file_block() without another request, up to _HELD_BYTES, oldest dropped
    first. Like anything a node sends, each is checked against its CID by whoever uses it.
    """

    def __init__(self, api_url: str, http: httpx.Client, *, timeout: float = 30.0):
        self.name = api_url.rstrip("/")
        self._http = http
        self._timeout = timeout
        self._rpc: KuboRpc | LoopbackRpc | None = None
        self._whole_dag_size = 0  # bytes; 0: every path block by block
        self._held: dict[tuple[int, bytes], bytes] = {}
        self._held_size = 0
        self._held_lock = threading.Lock()

    def export_small_dags(self) -> None:
        """From now on, a DAG on a path that is at most WHOLE_DAG_SIZE comes whole
        (dag_blocks()): for a command that fetches what lies below the paths it reads."""
        self._whole_dag_size = WHOLE_DAG_SIZE

    def dag_blocks(self, cid: CID, dag_size: int | None) -> dict[tuple[int, bytes], bytes]:
        """Every block below ``cid`` (by codec and multihash, each checked against its own
        CID) in one `dag/export` asked offline, when export_small_dags() was asked for and
        ``dag_size`` (the DAG's size as its verified parent states it) is at most
        WHOLE_DAG_SIZE; else none. A node that fails gives the blocks it sent before: the
        rest is asked for block by block.
        """
        if dag_size is None or dag_size > self._whole_dag_size:
            return {}
        got: dict[tuple[int, bytes], bytes] = {}
        timeout = min(self._timeout, FILE_BLOCK_TIMEOUT * (2 + dag_size // _CHUNK_SIZE))
        try:
            with self._client().dag_export(
                cid, max_size=dag_size + _CAR_OVERHEAD, timeout=timeout, offline=True
            ) as stream:
                _, sections = iter_car(stream)
                for block_cid, block in sections:
                    got[block_cid.codec, block_cid.multihash] = block
        except (RpcError, InvalidCAR):
            pass
        return got

    def hold(self, blocks: Mapping[tuple[int, bytes], bytes]) -> None:
        """Keep ``blocks`` (by codec and multihash) for file_block()."""
        with self._held_lock:
            for key, block in blocks.items():
                if key not in self._held:
                    self._held[key] = block
                    self._held_size += len(block)
            while self._held_size > _HELD_BYTES:
                self._held_size -= len(self._held.pop(next(iter(self._held))))

    def holds(self, cid: CID) -> bool:
        """Whether the block ``cid`` is held (a file whose root block is held is read block
        by block, without a request for what is held)."""
        return (cid.codec, cid.multihash) in self._held

    def _take(self, cid: CID) -> bytes | None:
        with self._held_lock:
            block = self._held.pop((cid.codec, cid.multihash), None)
            if block is not None:
                self._held_size -= len(block)
            return block

    def block(self, cid: CID) -> bytes:
        try:
            return self._client().block_get(cid, timeout=self._timeout, max_size=MAX_BLOCK_SIZE)
        except RpcError as e:
            raise SourceFailure("not-found", e.one_line()) from e

    def path_blocks(
        self, start: CID, names: Sequence[str], max_size: int
    ) -> list[tuple[CID, bytes]]:
        raise SourceFailure("unsupported", "node blocks are read one by one")

    def _client(self) -> KuboRpc | LoopbackRpc:
        if self._rpc is None:
            from wheelset.ipfs.loopback import loopback_rpc

            # A node on this machine without httpx (and its import time); any other node
            # through the command's HTTP client, with what it brings (TLS, proxies, netrc).
            self._rpc = loopback_rpc(self.name, timeout=self._timeout)
            if self._rpc is None:
                from wheelset.ipfs.rpc import KuboRpc

                self._rpc = KuboRpc(self.name, http=self._http, timeout=self._timeout)
        return self._rpc

    @contextlib.contextmanager
    def file_car(self, cid: CID, size: int) -> Iterator[BinaryIO]:
        """The node's CAR of the file ``cid`` of ``size`` bytes in one request
        (`dag/export`, asked offline as file_block() asks), as a stream for a GatewayFetcher
        (``use_node``) to walk and verify block by block: one request per file instead of
        one per block. The node has FILE_BLOCK_TIMEOUT per block of the file: a node that
        lacks one ends the CAR there instead of searching the network for it.

        Raises:
            FetchError: the node refused or failed, before or while the CAR streams.
        """
        from wheelset.ipfs.gateway import MAX_FILE_BODY

        timeout = min(self._timeout, FILE_BLOCK_TIMEOUT * (2 + size // _CHUNK_SIZE))
        try:
            # No size bound here: the walk counts the file's blocks and bytes as it reads.
            with self._client().dag_export(
                cid, max_size=MAX_FILE_BODY, timeout=timeout, offline=True
            ) as stream:
                yield stream
        except RpcError as e:
            raise FetchError(e.one_line()) from e

    def file_block(self, cid: CID) -> bytes:
        """block(), for a GatewayFetcher reading files from this node (``use_node``): from
        the node's own store (asked offline: a node lacking a block would search the network
        for it, and the gateways are as good a source then), within FILE_BLOCK_TIMEOUT for a
        node that ignores the option.

        Raises:
            FetchError: the node did not give it.
        """
        held = self._take(cid)
        if held is not None:
            return held
        timeout = min(self._timeout, FILE_BLOCK_TIMEOUT)
        try:
            return self._client().block_get(
                cid, timeout=timeout, max_size=MAX_BLOCK_SIZE, offline=True
            )
        except RpcError as e:
            raise FetchError(e.one_line()) from e


class CarBlocks:
    """A CARv1 file, read a block at a time without reading the whole file first.

    A block is found by searching the file for its multihash (a section is its length,
    its CID — the multihash, after a version and codec in a CIDv1 — and its block) at the
    speed of a memory search, and a candidate is used only when its bytes match the CID.
    A CAR written depth-first (as `wheelset build` and ``ipfs dag export`` write it) holds
    a block after its parent and siblings in link order, so the search starts at its parent
    (or at the sibling found before it): reading a few paths costs at most about one pass.
    Once searches have covered the file twice over (a read in another order), the file is
    indexed (one pass, offsets by CID) and read from there.
    """

    def __init__(self, path: Path):
        self.path = path
        self.name = str(path)
        self._offsets: dict[bytes, tuple[int, int]] | None = None
        self._sections = 0  # offset of the first section (after the header)
        self._resume = 0  # where the block found last ends
        self._after: dict[bytes, int] = {}  # multihash -> where a parent of it starts
        self._parent = -1  # where the parent of the block found last starts
        self._searched = 0  # bytes searched so far
        self._lock = threading.Lock()

    def _index(self) -> dict[bytes, tuple[int, int]]:
        if self._offsets is None:
            offsets: dict[bytes, tuple[int, int]] = {}
            try:
                with self.path.open("rb") as f:
                    _, sections = iter_car(f)
                    for cid, block in sections:
                        end = f.tell()
                        offsets[cid.multihash] = (end - len(block), len(block))
            except (OSError, InvalidCAR) as e:
                raise SourceFailure("invalid", _reason(e)) from e
            self._offsets = offsets
        return self._offsets

    def roots(self) -> tuple[CID, ...]:
        """The CAR's header roots. Raises SourceFailure."""
        try:
            with self.path.open("rb") as f:
                roots = iter_car(f)[0]
                self._sections = self._resume = f.tell()
                return roots
        except (OSError, InvalidCAR) as e:
            raise SourceFailure("invalid", _reason(e)) from e

    def block(self, cid: CID) -> bytes:
        with self._lock:
            if self._offsets is None:
                if not self._sections:
                    self.roots()
                try:
                    block = self._search(cid)
                except OSError as e:
                    raise SourceFailure("invalid", _reason(e)) from e
                except _Missing:
                    block = None  # searched enough: indexed now
                else:
                    if block is None:
                        raise SourceFailure("not-found", f"no block {cid}")
                if block is not None:
                    return block
            where = self._index().get(cid.multihash)
            if where is None:
                raise SourceFailure("not-found", f"no block {cid}")
            with self.path.open("rb") as f:
                f.seek(where[0])
                return f.read(where[1])

    def _search(self, cid: CID) -> bytes | None:
        """The block ``cid`` found by searching (see the class), None when the file does
        not hold it; _Missing once searches have covered the file twice (it is then
        indexed)."""
        raw = cid.multihash
        with self.path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            size = len(mm)
            parent = self._after.get(cid.multihash, self._sections)
            start = self._resume if parent == self._parent else parent
            wrap = min(size, start + len(raw) - 1)  # a CID starting before the start
            for lo, hi in ((start, size), (self._sections, wrap)):
                for window in range(lo, hi, _SEARCH_WINDOW):
                    stop = min(window + _SEARCH_WINDOW + len(raw) - 1, hi)
                    at = mm.find(raw, window, stop)
                    while at != -1:
                        block = _section_at(mm, at, cid, raw)
                        if block is not None:
                            self._found(cid, at, at + len(raw) + len(block), parent, block)
                            return block
                        at = mm.find(raw, at + 1, stop)
                    # The pages searched are not kept mapped: memory stays at one window.
                    page = window - window % mmap.PAGESIZE
                    mm.madvise(mmap.MADV_DONTNEED, page, stop - page)
                    self._searched += stop - window
                    if self._searched > 2 * size:
                        self._index()
                        raise _Missing(cid)
        return None

    def _found(self, cid: CID, at: int, end: int, parent: int, block: bytes) -> None:
        self._resume, self._parent = end, parent
        if cid.codec == DAG_PB:
            try:
                links = _decode_directory(block)[0].links
            except InvalidNode:
                return  # not ours to judge: the resolver refuses it if it reads it
            for link in links:
                if self._after.get(link.cid.multihash, at) >= at:
                    self._after[link.cid.multihash] = at

    def path_blocks(
        self, start: CID, names: Sequence[str], max_size: int
    ) -> list[tuple[CID, bytes]]:
        raise SourceFailure("unsupported", "a CAR file is read block by block")


def _reason(e: Exception) -> str:
    """What went wrong with a file whose name the message already gives."""
    return (e.strerror if isinstance(e, OSError) else None) or str(e)


_SEARCH_WINDOW = 16 << 20  # bytes of a CAR file searched (and mapped) at a time


def _section_at(mm: mmap.mmap, at: int, cid: CID, multihash: bytes) -> bytes | None:
    """The block of the section whose CID ends with the multihash found at ``at``, if a
    CID (v0: the multihash alone; v1: a version and codec before it) and a length prefix
    precede it there and the block's bytes match ``cid``; else None (the multihash found
    elsewhere, in a link)."""
    starts = [at]  # where the section's CID may start
    for back in range(2, 5):
        if at - back >= 0 and mm[at - back] == 1:
            with contextlib.suppress(InvalidVarint):
                if decode_varint(mm, at - back + 1)[1] == at:
                    starts.append(at - back)
    for start in starts:
        for back in range(1, 5):
            if start - back < 0:
                break
            try:
                length, after = decode_varint(mm, start - back)
            except InvalidVarint:
                continue
            head = at + len(multihash) - start  # bytes of the CID
            if after != start or not head <= length <= head + MAX_BLOCK_SIZE:
                continue  # not a section's length prefix
            block = mm[at + len(multihash) : start + length]
            try:
                return _check(cid, block)
            except SourceFailure:
                continue
    return None


def _check(cid: CID, block: bytes) -> bytes:
    if cid.hash_code == SHA2_256:
        if hashlib.sha256(block).digest() == cid.digest:
            return block
    elif cid.hash_code == _IDENTITY:
        if block == cid.digest:
            return block
    else:
        raise SourceFailure("mismatch", f"cannot verify block {cid}: not sha2-256")
    raise SourceFailure("mismatch", f"block {cid} does not match its CID")


Getter = Callable[[CID], bytes]


@functools.lru_cache(maxsize=64)
def _decode_directory(block: bytes) -> tuple[PBNode, UnixFSData]:
    # A command reads the root directory (or its upper shards) once per project: decoding
    # a block of thousands of links once, not each time, is most of a warm install's walk.
    node = decode_node(block)
    return node, decode_unixfs(node.data or b"")


def _directory(cid: CID, block: bytes, where: str) -> tuple[PBNode, UnixFSData]:
    try:
        node, meta = _decode_directory(block)
    except InvalidNode as e:
        raise SourceFailure("invalid", f"{where}: block {cid}: {e}") from e
    if meta.type not in (DIRECTORY, HAMT_SHARD):
        raise NoSuchPath(f"{where} is not a directory")
    if meta.type != HAMT_SHARD:
        return node, meta
    # The HAMT code (and its murmur3 module) only for a sharded directory: a root of a few
    # thousand projects or fewer is one plain directory block.
    from wheelset.ipfs.directory import HAMT_FANOUT

    if meta.fanout != HAMT_FANOUT or meta.hash_type != _MURMUR3_X64_64:
        raise SourceFailure("invalid", f"{where}: HAMT shard {cid} with an unsupported layout")
    return node, meta


def _child(get: Getter, directory: CID, name: str, where: str) -> PBLink:
    """The link ``name`` in the verified directory ``directory`` (its CID, and the size of
    the DAG below it as the directory states it)."""
    node, meta = _directory(directory, get(directory), where)
    if meta.type == DIRECTORY:
        for link in node.links:
            if link.name == name:
                return link
        raise NoSuchPath(f"{where} has no entry {name!r}")
    from wheelset.ipfs.directory import hamt_hash

    digest = hamt_hash(name.encode("utf-8"))
    for depth in range(len(digest)):
        prefix = f"{digest[depth]:02X}"
        found = None
        for link in node.links:
            if link.name.startswith(prefix):
                found = link
                break
        if found is None:
            raise NoSuchPath(f"{where} has no entry {name!r}")
        if found.name == prefix + name:
            return found
        if found.name != prefix:
            raise NoSuchPath(f"{where} has no entry {name!r}")
        node, meta = _directory(found.cid, get(found.cid), where)
        if meta.type != HAMT_SHARD:
            raise SourceFailure("invalid", f"{where}: HAMT link {found.cid} is not a shard")
    raise NoSuchPath(f"{where} has no entry {name!r}")


def _entries(get: Getter, directory: CID, where: str) -> Iterator[tuple[str, CID]]:
    """Every (name, CID) of a verified directory, basic or sharded (shard order)."""
    node, meta = _directory(directory, get(directory), where)
    if meta.type == DIRECTORY:
        for link in node.links:
            yield link.name, link.cid
        return
    stack = [iter(node.links)]
    while stack:
        link = next(stack[-1], None)
        if link is None:
            stack.pop()
            continue
        if len(link.name) == 2:
            sub, sub_meta = _directory(link.cid, get(link.cid), where)
            if sub_meta.type != HAMT_SHARD:
                raise SourceFailure("invalid", f"{where}: HAMT link {link.cid} is not a shard")
            stack.append(iter(sub.links))
        else:
            yield link.name[2:], link.cid


Difference = dict[str, tuple[CID | None, CID | None]]


Blocks = Callable[[Sequence[CID]], list[bytes]]  # several verified blocks, in order


def _differences(get_a: Blocks, get_b: Blocks, a: CID, b: CID, where: str) -> Difference:
    """Entries of two verified directories that differ: name -> (CID in a, CID in b), None
    where absent; their blocks read with ``get_a`` and ``get_b``. Two HAMTs are compared
    shard by shard, a level at a time (the blocks of a level asked for together), and a
    shard with the same CID in both is not read: the cost follows the differences, not the
    directory."""
    node_a, meta_a = _directory(a, get_a([a])[0], where)
    node_b, meta_b = _directory(b, get_b([b])[0], where)
    if meta_a.type != HAMT_SHARD or meta_b.type != HAMT_SHARD:
        return _compare(
            dict(_entries(_one(get_a), a, where)), dict(_entries(_one(get_b), b, where))
        )
    found: Difference = {}
    level = [(node_a, node_b)]
    while level:
        below: list[tuple[CID, CID]] = []
        for shard_a, shard_b in level:
            # Same fanout and hash (checked by _directory): a slot's prefix means the same
            # in both.
            slots_a = {link.name[:2]: link for link in shard_a.links}
            slots_b = {link.name[:2]: link for link in shard_b.links}
            # In slot order, the order a depth-first CAR holds the subtrees in.
            for slot in sorted(slots_a.keys() | slots_b.keys()):
                la, lb = slots_a.get(slot), slots_b.get(slot)
                if la is not None and lb is not None and la.name == lb.name and la.cid == lb.cid:
                    continue
                if la is not None and lb is not None and len(la.name) == len(lb.name) == 2:
                    below.append((la.cid, lb.cid))
                    continue
                on_a = _slot_entries(_one(get_a), la, where)
                found.update(_compare(on_a, _slot_entries(_one(get_b), lb, where)))
        blocks_a = get_a([cid for cid, _ in below])
        blocks_b = get_b([cid for _, cid in below])
        level = []
        for (cid_a, cid_b), block_a, block_b in zip(below, blocks_a, blocks_b, strict=True):
            sub_a, sub_meta_a = _directory(cid_a, block_a, where)
            sub_b, sub_meta_b = _directory(cid_b, block_b, where)
            if sub_meta_a.type != HAMT_SHARD or sub_meta_b.type != HAMT_SHARD:
                raise SourceFailure("invalid", f"{where}: a HAMT link is not a shard")
            level.append((sub_a, sub_b))
    return found


def _one(get: Blocks) -> Getter:
    return lambda cid: get([cid])[0]


def _compare(on_a: Mapping[str, CID], on_b: Mapping[str, CID]) -> Difference:
    return {
        name: (on_a.get(name), on_b.get(name))
        for name in on_a.keys() | on_b.keys()
        if on_a.get(name) != on_b.get(name)
    }


def _slot_entries(get: Getter, link: PBLink | None, where: str) -> dict[str, CID]:
    if link is None:
        return {}
    if len(link.name) > 2:
        return {link.name[2:]: link.cid}
    return dict(_entries(get, link.cid, where))


def _file(get: Getter, cid: CID, max_size: int, where: str) -> bytes:
    out = bytearray()
    pending = [cid]
    while pending:
        block_cid = pending.pop()
        try:
            data, children = file_parts(block_cid, get(block_cid))
        except InvalidNode as e:
            raise NoSuchPath(f"{where} is not a file ({e})") from e
        pending.extend(reversed(children))
        out += data
        if len(out) > max_size:
            raise SourceFailure("oversized", f"{where} is larger than {max_size} bytes")
    return bytes(out)


class PathResolver:
    """Reads paths below root CIDs from ``sources`` (in order), with ``cache`` in front."""

    def __init__(self, sources: Sequence[BlockSource], *, cache: BlockDir | None = None):
        self.sources = tuple(sources)
        self.cache = cache
        self.fetched_bytes = 0  # bytes of blocks that came from sources (not the cache)
        # In front of the block directory, the blocks it verified last (oldest dropped first):
        # every path below a root starts at the same directory block, which is then neither
        # read from the disk nor hashed again.
        self._verified: dict[CID, bytes] = {}
        self._verified_size = 0
        self._verified_lock = threading.Lock()

    def _keep(self, cid: CID, block: bytes) -> None:
        if self.cache is None:
            return  # without a block directory, reads go to the sources as they always did
        with self._verified_lock:
            if cid in self._verified:
                return
            self._verified[cid] = block
            self._verified_size += len(block)
            while self._verified_size > _KEPT_BYTES:
                self._verified_size -= len(self._verified.pop(next(iter(self._verified))))

    def _cached(self, cid: CID) -> bytes:
        block = self._verified.get(cid)
        if block is not None:
            return block
        block = self.cache.get(cid) if self.cache is not None else None
        if block is None:
            raise _Missing(cid)
        try:
            _check(cid, block)
        except SourceFailure:
            raise _Missing(cid) from None
        self._keep(cid, block)
        return block

    def _from_cache_then(
        self,
        source: BlockSource | None,
        got: dict[CID, bytes],
        offered: dict[tuple[int, bytes], bytes] | None = None,
    ) -> Getter:
        """Blocks from ``got``, else ``offered`` (by codec and multihash; a block used is
        taken out), else the cache, else ``source``; each one fetched is checked and put in
        ``got``."""

        def get(cid: CID) -> bytes:
            block = got.get(cid)
            if block is not None:
                return block
            if offered:
                block = offered.pop((cid.codec, cid.multihash), None)
                if block is not None:
                    got[cid] = _check(cid, block)
                    return block
            try:
                return self._cached(cid)
            except _Missing:
                if source is None:
                    raise
            block = _check(cid, source.block(cid))
            got[cid] = block
            return block

        return get

    def _store(self, got: Mapping[CID, bytes], source: BlockSource) -> None:
        self.fetched_bytes += sum(len(b) for b in got.values())
        # A node's blocks stay the node's: copying them into the block directory would cost
        # a file each (most of a cold install's time goes to creating files) to save a
        # later request to a node that holds them.
        cache = None if isinstance(source, NodeBlocks) else self.cache
        for cid, block in got.items():
            self._keep(cid, block)
            if cache is not None:
                cache.put(cid, block)

    def _start(
        self,
        root: CID,
        names: Sequence[str],
        source: BlockSource | None = None,
        got: dict[CID, bytes] | None = None,
    ) -> tuple[CID, int, int | None]:
        """The deepest entry of the path reachable through cached blocks, how many names
        lead to it and the size of its DAG as its directory states it (None for ``root``)
        (a CAR is asked from there: a gateway cannot start inside a shard). Inside
        a sharded directory whose top block is cached, the missing inner shards on the path
        are fetched one by one from ``source`` (into ``got``): the CAR then starts below the
        directory instead of sending its top shard again for every name."""
        cid, depth, size = root, 0, None

        def get(block: CID) -> bytes:
            try:
                return self._cached(block)
            except _Missing:
                if source is None or got is None or block == cid:
                    raise  # a directory's own top block comes with the CAR
            got[block] = _check(block, source.block(block))
            return got[block]

        try:
            for depth, name in enumerate(names):  # noqa: B007 - depth is the result
                link = _child(get, cid, name, "")
                cid, size = link.cid, link.tsize
            depth = len(names)
        except (_Missing, SourceFailure, NoSuchPath):
            pass
        return cid, depth, size

    def _attempt(
        self,
        source: BlockSource,
        root: CID,
        names: Sequence[str],
        read: Callable[[Getter], object],
        max_size: int,
    ) -> tuple[object, dict[CID, bytes]]:
        shards: dict[CID, bytes] = {}
        start, depth, dag_size = self._start(root, names, source, shards)
        if isinstance(source, NodeBlocks):
            # A small DAG (a project's directory: its files and wheels) in one request; its
            # blocks off the path (the wheels) are held for the wheel fetch.
            offered = source.dag_blocks(start, dag_size)
            got = dict(shards)
            value = read(self._from_cache_then(source, got, offered))
            source.hold(offered)
            return value, got
        try:
            sent = source.path_blocks(start, names[depth:], max_size)
        except SourceFailure as e:
            # A gateway's "not found" is no proof: the walk block by block verifies it.
            if e.kind not in ("unsupported", "not-found"):
                raise
        else:
            # Only blocks the walk asks for are used; the response must hold them and no other.
            offered = {(cid.codec, cid.multihash): block for cid, block in sent}
            used: dict[CID, bytes] = {}

            def from_car(cid: CID) -> bytes:
                block = offered.get((cid.codec, cid.multihash))
                if block is not None:
                    used[cid] = _check(cid, block)
                    return block
                if cid in shards:
                    return shards[cid]
                try:
                    return self._cached(cid)
                except _Missing:
                    raise SourceFailure("missing", f"its CAR lacks block {cid}") from None

            value = read(from_car)
            extra = len(offered.keys() - {(c.codec, c.multihash) for c in used})
            if extra:
                raise SourceFailure("extra", f"its CAR holds {extra} blocks not on the path")
            return value, {**shards, **used}
        got = dict(shards)
        return read(self._from_cache_then(source, got)), got

    def _run(
        self,
        read: Callable[[Getter], object],
        what: str,
        attempt: Callable[[BlockSource], tuple[object, dict[CID, bytes]]],
    ) -> object:
        """``read`` over the cached blocks, else over each source in turn (``attempt``
        gives its value and the blocks it fetched, stored once it succeeds)."""
        try:
            return read(self._cached)
        except (_Missing, SourceFailure):
            pass
        failures: list[str] = []
        for source in self.sources:
            try:
                value, got = attempt(source)
            except SourceFailure as e:
                failures.append(f"{source.name}: {e.reason}")
                continue
            self._store(got, source)
            return value
        if not failures:
            raise PathError(f"cannot read {what}: no source of blocks (give a gateway or a node)")
        raise PathError(f"cannot read {what}: " + "; ".join(failures))

    def _path(
        self,
        root: CID,
        names: Sequence[str],
        read: Callable[[Getter], object],
        what: str,
        max_size: int,
    ) -> object:
        return self._run(
            read, what, lambda source: self._attempt(source, root, names, read, max_size)
        )

    def read(self, root: CID, names: Sequence[str], *, max_size: int) -> bytes:
        """The verified bytes of the file at ``/<root>/<names…>``.

        Raises:
            NoSuchPath: a verified directory on the path lacks the name, or the path is not
                a file.
            PathError: no source delivered the path's blocks (one line naming the path and
                each source's failure).
        """
        where = "/" + "/".join(names)

        def read(get: Getter) -> bytes:
            cid = root
            for depth, name in enumerate(names):
                cid = _child(get, cid, name, "/" + "/".join(names[:depth])).cid
            return _file(get, cid, max_size, where)

        return self._path(root, names, read, f"{where} of {root}", max_size)  # type: ignore[return-value]

    def block(self, cid: CID) -> bytes:
        """The verified block ``cid`` (a walk over a whole DAG asks block by block; no path
        is involved): blocks() of one.

        Raises:
            PathError: no source delivered it (each source's failure named).
        """
        return self.blocks([cid])[0]

    def listing(self, directory: CID, *, max_size: int = 64 << 20) -> dict[str, CID]:
        """Every entry of the verified directory ``directory`` (basic or HAMT-sharded).

        Raises:
            PathError: as read().
        """

        def read(get: Getter) -> dict[str, CID]:
            return dict(_entries(get, directory, f"/ipfs/{directory}"))

        return self._path(directory, (), read, f"the directory {directory}", max_size)  # type: ignore[return-value]

    def blocks(self, cids: Sequence[CID]) -> list[bytes]:
        """The verified blocks ``cids``, in order: each from the cache, else from each
        source in turn; a gateway or a node is asked for them all at once (in parallel),
        a CAR file in the order given.

        Raises:
            PathError: no source delivered one of them (each source's failure named).
        """
        got: dict[CID, bytes] = {}
        for cid in cids:
            with contextlib.suppress(_Missing):
                got[cid] = self._cached(cid)
        missing = list(dict.fromkeys(c for c in cids if c not in got))
        failures: list[str] = []

        def fetch(source: BlockSource, cid: CID) -> bytes | SourceFailure:
            try:
                return _check(cid, source.block(cid))
            except SourceFailure as e:
                return e

        for source in self.sources:
            if not missing:
                break
            if len(missing) > 1 and not isinstance(source, CarBlocks):
                fetch_one = functools.partial(fetch, source)
                answers = thread_map(fetch_one, missing, min(_PARALLEL_BLOCKS, len(missing)))
            else:
                answers = [fetch(source, cid) for cid in missing]
            fetched = {c: a for c, a in zip(missing, answers, strict=True) if isinstance(a, bytes)}
            self._store(fetched, source)
            got.update(fetched)
            failed = [a for a in answers if isinstance(a, SourceFailure)]
            if failed:
                failures.append(f"{source.name}: {failed[0].reason}")
            missing = [c for c in missing if c not in fetched]
        if missing:
            raise PathError(
                f"cannot read block {missing[0]}: " + ("; ".join(failures) or "no source")
            )
        return [got[cid] for cid in cids]

    def differences(self, a: CID, b: CID, other: PathResolver | None = None) -> Difference:
        """The entries that differ between the verified directories ``a`` and ``b`` (see
        _differences): blocks of ``a`` read by this resolver, of ``b`` by ``other`` (by
        default this one too): only the shards that differ.

        Raises:
            PathError: no source delivered a block, or a block is no directory shard (one
                line naming each source's failure).
        """
        where = f"/ipfs/{a} against /ipfs/{b}"
        try:
            return _differences(self.blocks, (other or self).blocks, a, b, where)
        except SourceFailure as e:
            raise PathError(f"cannot compare {where}: {e.reason}") from e


def block_dir_of(cache_directory: Path) -> BlockDir:
    """The block directory inside a cache directory."""
    return BlockDir(cache_directory / "blocks")
