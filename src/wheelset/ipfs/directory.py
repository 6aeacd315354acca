"""UnixFS directories as Kubo builds them: basic nodes, or HAMT shards past the size threshold.

Spec: https://specs.ipfs.tech/unixfs/#dag-pb-directory and #dag-pb-hamtdirectory; rules
from boxo ipld/unixfs/io/directory.go and ipld/unixfs/hamt. The form depends only on the
final set of entries (an add-only import), so the whole directory is built at once.
No file-system access, no wheels. Entry points: build_directory(), build_tree().
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Union

import mmh3

from wheelset.errors import InvalidEntryName, WheelsetError
from wheelset.ipfs.blockstore import BlockStore
from wheelset.ipfs.cid import cid_for_block
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

__all__ = [
    "HAMT_FANOUT",
    "HAMT_THRESHOLD",
    "InvalidEntryName",
    "Tree",
    "build_directory",
    "build_tree",
    "estimated_directory_size",
    "hamt_hash",
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


def _basic_directory(entries: list[_Entry], version: int, store: BlockStore | None) -> Imported:
    entries.sort(key=lambda e: e[0])
    links = [encode_link_bytes(raw, name, child.tsize) for name, child, raw in entries]
    block = b"".join(links) + _DIRECTORY_DATA
    return _store_block(block, sum(child.tsize for _, child, _ in entries), version, store)


def _shard_key(entries: list[tuple[bytes, bytes, Imported, bytes]], version: int) -> bytes:
    """A digest of a sub-shard's entries: equal digests, equal sub-shards."""
    parts = [b"%d" % version]
    for _, name, child, raw in sorted(entries, key=lambda e: e[1]):
        parts += (name, raw, b"%d/" % child.tsize)
    return hashlib.blake2b(b"\0".join(parts), digest_size=16).digest()


def _hamt_shard(
    entries: list[tuple[bytes, bytes, Imported, bytes]],
    depth: int,
    version: int,
    store: BlockStore | None,
    known: Mapping[bytes, Imported] | None = None,
    built: MutableMapping[bytes, Imported] | None = None,
) -> Imported:
    if depth >= 8:
        raise WheelsetError("HAMT hash exhausted: 64-bit murmur3 collision", code="HAMT")
    buckets: dict[int, list[tuple[bytes, bytes, Imported, bytes]]] = {}
    for entry in entries:
        bucket = buckets.get(entry[0][depth])
        if bucket is None:
            buckets[entry[0][depth]] = [entry]
        else:
            bucket.append(entry)
    links = []
    children = 0
    bitfield = 0
    for index in sorted(buckets):
        bitfield |= 1 << index
        members = buckets[index]
        if len(members) == 1:
            _, name, child, raw = members[0]
            links.append(encode_link_bytes(raw, _HAMT_PREFIXES[index] + name, child.tsize))
            children += child.tsize
        else:
            key = _shard_key(members, version) if built is not None else b""
            shard = (known or {}).get(key) if built is not None else None
            if shard is None:
                shard = _hamt_shard(members, depth + 1, version, store)
            if built is not None:
                built[key] = shard
            links.append(
                encode_link_bytes(shard.cid.to_bytes(), _HAMT_PREFIXES[index], shard.tsize)
            )
            children += shard.tsize
    bits = bitfield.to_bytes((bitfield.bit_length() + 7) // 8, "big")
    data = encode_unixfs(
        UnixFSData(HAMT_SHARD, data=bits, hash_type=_MURMUR3_X64_64, fanout=HAMT_FANOUT)
    )
    return _store_block(b"".join(links) + encode_node(PBNode((), data)), children, version, store)


def build_directory(
    entries: Iterable[tuple[str, Imported]],
    *,
    cid_version: int = 0,
    store: BlockStore | None = None,
    hamt_threshold: int = HAMT_THRESHOLD,
    known_shards: Mapping[bytes, Imported] | None = None,
    shards_out: MutableMapping[bytes, Imported] | None = None,
) -> Imported:
    """Build one directory from (name, child) pairs, sharding exactly when Kubo would.

    For a sharded directory, ``shards_out`` (if given) receives every sub-shard of the
    first level by a digest of its entries, and a sub-shard found in ``known_shards`` under
    its digest is not built again (nor are its blocks stored): a caller that keeps those
    blocks elsewhere rebuilds a large directory at the cost of the buckets that changed.

    Raises:
        InvalidEntryName: a name UnixFS cannot hold, or a duplicate name.
    """
    encoded = [(_check_name(name), child, child.cid.to_bytes()) for name, child in entries]
    if len({name for name, _, _ in encoded}) != len(encoded):
        raise InvalidEntryName("duplicate directory entry name")
    # Kubo's estimate (estimated_directory_size), from the CIDs already encoded.
    if sum(len(name) + len(raw) for name, _, raw in encoded) > hamt_threshold:
        hashed = [(hamt_hash(name), name, child, raw) for name, child, raw in encoded]
        return _hamt_shard(hashed, 0, cid_version, store, known_shards, shards_out)
    return _basic_directory(encoded, cid_version, store)


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
