"""UnixFS directories as Kubo builds them: basic nodes, or HAMT shards past the size threshold.

Spec: https://specs.ipfs.tech/unixfs/#dag-pb-directory and #dag-pb-hamtdirectory; rules
from boxo ipld/unixfs/io/directory.go and ipld/unixfs/hamt. The form depends only on the
final set of entries (an add-only import), so the whole directory is built at once.
No file-system access, no wheels. Entry points: build_directory(), directory_node(),
directory_block(), build_tree(); hamt_link(), hamt_node() and is_sharded() for a caller
that rebuilds a large directory a bucket at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Union

import mmh3

from wheelset.errors import InvalidEntryName, WheelsetError
from wheelset.ipfs.blockstore import BlockStore
from wheelset.ipfs.cid import cid_for_block, decode_cid_bytes
from wheelset.ipfs.dagpb import (
    DIRECTORY,
    HAMT_SHARD,
    PBNode,
    UnixFSData,
    encode_link_bytes,
    encode_node,
    encode_unixfs,
)
from wheelset.ipfs.importer import Imported
from wheelset.ipfs.varint import encode_varint

__all__ = [
    "HAMT_FANOUT",
    "HAMT_THRESHOLD",
    "InvalidEntryName",
    "Tree",
    "build_directory",
    "build_tree",
    "directory_block",
    "directory_node",
    "estimated_directory_size",
    "hamt_hash",
    "hamt_link",
    "hamt_node",
    "is_sharded",
]

# Kubo >= 0.40 shards when the estimate is strictly greater (equal stays a basic directory).
HAMT_THRESHOLD = 256 * 1024  # bytes of Σ(len(name) + len(cid bytes))
HAMT_FANOUT = 256  # buckets per shard = 8 bits of the hash per level
_MURMUR3_X64_64 = 0x22  # multihash code recorded in each shard node

Tree = Mapping[str, Union[Imported, "Tree"]]


def _check_name(name: str) -> bytes:
    if name in ("", ".", "..") or "/" in name or "\0" in name:
        raise InvalidEntryName(f"invalid directory entry name {name!r}")
    return name.encode("utf-8")


def estimated_directory_size(entries: Iterable[tuple[bytes, Imported]]) -> int:
    """Kubo's `links` estimate: Σ(len(name bytes) + len(CID bytes))."""
    return sum(len(name) + len(child.cid.to_bytes()) for name, child in entries)


def hamt_hash(name: bytes) -> bytes:
    """murmur3-x64-64 of a name as boxo uses it: h1 of MurmurHash3_x64_128, seed 0, big-endian."""
    return mmh3.mmh3_x64_128_digest(name, 0)[:8][::-1]


# An entry being linked: (name, child, the child's binary CID).
_Entry = tuple[bytes, Imported, bytes]
# The data field of every basic directory node (a linkless node encodes to just that).
_DIRECTORY_DATA = encode_node(PBNode((), encode_unixfs(UnixFSData(DIRECTORY))))
_HAMT_PREFIXES = [b"%02X" % index for index in range(HAMT_FANOUT)]


def _store_block(block: bytes, children: int, version: int, store: BlockStore | None) -> Imported:
    """The node of ``block`` whose links sum to ``children`` Tsize bytes."""
    cid = cid_for_block(block, version=version)
    if store is not None:
        store.put(cid, block)
    return Imported(cid, len(block) + children, 0)


def _hamt_shard(
    entries: list[tuple[bytes, bytes, int, bytes]],
    depth: int,
    version: int,
    store: BlockStore | None,
) -> Imported:
    if depth >= 8:
        raise WheelsetError("HAMT hash exhausted: 64-bit murmur3 collision", code="HAMT")
    buckets: dict[int, list[tuple[bytes, bytes, int, bytes]]] = {}
    for entry in entries:
        bucket = buckets.get(entry[0][depth])
        if bucket is None:
            buckets[entry[0][depth]] = [entry]
        else:
            bucket.append(entry)
    return hamt_node(
        [
            (index, *hamt_link(buckets[index], index, depth, version, store))
            for index in sorted(buckets)
        ],
        version,
        store,
    )


def hamt_link(
    members: list[tuple[bytes, bytes, int, bytes]],
    index: int,
    depth: int,
    version: int = 0,
    store: BlockStore | None = None,
) -> tuple[bytes, bytes, int]:
    """The link a shard at ``depth`` has for its bucket ``index`` holding ``members``
    (hamt_hash(name), name, the child's Tsize, the child's binary CID): (link name, binary
    CID, Tsize) of the member itself when alone, else of a sub-shard (its blocks go to
    ``store``)."""
    if len(members) == 1:
        _, name, tsize, raw = members[0]
        return _HAMT_PREFIXES[index] + name, raw, tsize
    shard = _hamt_shard(members, depth + 1, version, store)
    return _HAMT_PREFIXES[index], shard.cid.to_bytes(), shard.tsize


def hamt_node(
    links: list[tuple[int, bytes, bytes, int]],
    version: int = 0,
    store: BlockStore | None = None,
) -> Imported:
    """A shard node from its links (bucket index, link name, binary CID, Tsize), sorted by
    index: a caller that keeps the links of unchanged buckets rebuilds a large directory
    at the cost of the buckets that changed."""
    bitfield = 0
    for link in links:
        bitfield |= 1 << link[0]
    bits = bitfield.to_bytes((bitfield.bit_length() + 7) // 8, "big")
    data = b"".join((_SHARD_TYPE, encode_varint(len(bits)), bits, _SHARD_PARAMETERS))
    block = b"".join([encode_link_bytes(raw, name, tsize) for _, name, raw, tsize in links])
    children = sum(link[3] for link in links)
    block += b"\x0a" + encode_varint(len(data)) + data  # PBNode.Data (field 1)
    return _store_block(block, children, version, store)


# A shard's UnixFS data around its bitfield: its type, then (after the bitfield's field
# key) its hash function and fanout; spelt once (a large root has tens of thousands).
_SHARD_TYPE, _SHARD_PARAMETERS = encode_unixfs(
    UnixFSData(HAMT_SHARD, data=b"\0", hash_type=_MURMUR3_X64_64, fanout=HAMT_FANOUT)
).split(b"\x01\0", 1)


def is_sharded(estimate: int, hamt_threshold: int = HAMT_THRESHOLD) -> bool:
    """Whether Kubo shards a directory of this estimated_directory_size()."""
    return estimate > hamt_threshold


def build_directory(
    entries: Iterable[tuple[str, Imported]],
    *,
    cid_version: int = 0,
    store: BlockStore | None = None,
    hamt_threshold: int = HAMT_THRESHOLD,
) -> Imported:
    """Build one directory from (name, child) pairs, sharding exactly when Kubo would.

    Raises:
        InvalidEntryName: a name UnixFS cannot hold, or a duplicate name.
    """
    encoded = [(_check_name(name), child.cid.to_bytes(), child.tsize) for name, child in entries]
    if len({name for name, _, _ in encoded}) != len(encoded):
        raise InvalidEntryName("duplicate directory entry name")
    raw, tsize = directory_node(encoded, cid_version, store, hamt_threshold)
    return Imported(decode_cid_bytes(raw)[0], tsize, 0)


def directory_node(
    entries: list[tuple[bytes, bytes, int]],
    cid_version: int = 0,
    store: BlockStore | None = None,
    hamt_threshold: int = HAMT_THRESHOLD,
) -> tuple[bytes, int]:
    """build_directory() of entries given as (name, binary CID, Tsize), names valid and
    distinct (a build links hundreds of thousands of directories): the directory's binary
    CID and Tsize. Sorts ``entries``."""
    basic = directory_block(entries, hamt_threshold)
    if basic is None:
        hashed = [(hamt_hash(name), name, tsize, raw) for name, raw, tsize in entries]
        shard = _hamt_shard(hashed, 0, cid_version, store)
        return shard.cid.to_bytes(), shard.tsize
    block, tsize = basic
    cid = cid_for_block(block, version=cid_version)
    if store is not None:
        store.put(cid, block)
    return cid.to_bytes(), tsize


def directory_block(
    entries: list[tuple[bytes, bytes, int]], hamt_threshold: int = HAMT_THRESHOLD
) -> tuple[bytes, int] | None:
    """The one block of directory_node() of these entries and its Tsize, or None when
    Kubo shards it (then directory_node() links it). Sorts ``entries``."""
    # Kubo's estimate (estimated_directory_size), from the CIDs already encoded.
    estimate = 0
    children = 0
    for name, raw, tsize in entries:
        estimate += len(name) + len(raw)
        children += tsize
    if is_sharded(estimate, hamt_threshold):
        return None
    entries.sort()
    block = b"".join([encode_link_bytes(raw, name, tsize) for name, raw, tsize in entries])
    block += _DIRECTORY_DATA
    return block, len(block) + children


def build_tree(tree: Tree, *, cid_version: int = 0, store: BlockStore | None = None) -> Imported:
    """Build nested directories bottom-up from a mapping of name -> Imported or sub-mapping."""
    children = [
        (
            name,
            node
            if isinstance(node, Imported)
            else build_tree(node, cid_version=cid_version, store=store),
        )
        for name, node in tree.items()
    ]
    return build_directory(children, cid_version=cid_version, store=store)
