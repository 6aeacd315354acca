"""Where imported blocks go: a tiny put/get interface and an in-memory implementation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from wheelset.errors import BlockNotFound
from wheelset.ipfs.cid import CID

__all__ = ["BlockNotFound", "BlockStore", "MemoryBlockStore"]


class BlockStore(Protocol):
    def put(self, cid: CID, block: bytes) -> None:
        """Store a block; idempotent."""

    def get(self, cid: CID) -> bytes:
        """Return the block; raise BlockNotFound."""


class MemoryBlockStore:
    """Blocks in a dict, in insertion order (the order a CAR writer emits them)."""

    def __init__(self) -> None:
        self._blocks: dict[CID, bytes] = {}

    def put(self, cid: CID, block: bytes) -> None:
        self._blocks.setdefault(cid, bytes(block))

    def get(self, cid: CID) -> bytes:
        try:
            return self._blocks[cid]
        except KeyError:
            raise BlockNotFound(f"block {cid} not in store", code="BLOCK") from None

    def __contains__(self, cid: object) -> bool:
        return cid in self._blocks

    def __len__(self) -> int:
        return len(self._blocks)

    def items(self) -> Iterator[tuple[CID, bytes]]:
        return iter(self._blocks.items())
