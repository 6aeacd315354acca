"""What a build directory keeps for the next build into it: OUT/.build-state.

The state is cut so that an incremental build reads, decodes and writes only what it
changes. One small header (marshal) says what the previous build was (its options, root,
CAR size, counts, the root's own files, the page it wrote) and indexes two kinds of
pieces that follow it, each marshalled on its own:

- per first-level bucket of the root directory (hamt_hash(name)[0]): the projects whose
  names fall there (content key, directory CID and Tsize, wheels, where its blocks sit in
  root.car relative to the bucket's subtree, dependency names, dependents) and the
  dependents of names there that are no project (a project added later lists them);
  the header keeps each bucket's link in the root and its subtree's place in root.car;
- per prefix directory of the collection: the stat data of its project directories and
  declaration files, packed (names joined, numbers in one array), for the stat sweep.

A new state copies the pieces it did not change byte for byte from the old file.
Entry points: State, Bucket, pack_stats(), unpack_stats(), write_state(), EMPTY_BUCKETS.
"""

from __future__ import annotations

import array
import marshal
import os
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BUCKETS",
    "Bucket",
    "Piece",
    "State",
    "Stats",
    "pack_stats",
    "unpack_stats",
    "write_state",
]

_MAGIC = b"wheelset-build-state 5\n"  # the number changes with the layout or the root format
_LENGTH = struct.Struct("<Q")
BUCKETS = 256  # first-level buckets of a HAMT root

# A project's files as found: (name, size, mtime_ns, ctime_ns, inode) per declaration file,
# with the directory's own (mtime_ns, ctime_ns) first.
Stats = tuple[tuple[int, int], tuple[tuple[str, int, int, int, int], ...]]

# A project's record in its bucket: [key, cid, tsize, wheels, offset, length, blocks, deps,
# dependents] (offset relative to its bucket's subtree in root.car; lists, so that a
# bucket being updated can change them in place).
Record = list


@dataclass
class Bucket:
    projects: dict[str, Record] = field(default_factory=dict)
    dangling: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> dependents


# A piece of the new state: bytes, or a range (offset, length) of the old state file.
Piece = bytes | tuple[int, int]


def pack_stats(items: Sequence[tuple[str, Stats]], racy_from: int) -> bytes:
    """The stat data of a prefix directory's projects (sorted by name), packed; time stamps
    at or after ``racy_from`` are not trusted, so such a project is stored as changed."""
    names: list[str] = []
    numbers: list[int] = []
    for name, ((mtime, ctime), files) in items:
        names.append(name)
        racy = mtime >= racy_from or ctime >= racy_from
        racy = racy or any(f[2] >= racy_from or f[3] >= racy_from for f in files)
        numbers += (-1 if racy else mtime, ctime, len(files))
        for file in files:
            names.append(file[0])
            numbers += file[1:]
    return marshal.dumps(("\0".join(names), array.array("q", numbers).tobytes()))


def unpack_stats(blob: bytes) -> Iterator[tuple[str, Stats]]:
    """The (name, stats) that pack_stats() packed, in order (a racy one with mtime -1)."""
    joined, packed = marshal.loads(blob)
    if not joined:
        return
    names = joined.split("\0")
    numbers = array.array("q")
    numbers.frombytes(packed)
    i = j = 0
    while i < len(names):
        name = names[i]
        mtime, ctime, count = numbers[j : j + 3]
        files = tuple(
            (names[i + 1 + k], *numbers[j + 3 + 4 * k : j + 7 + 4 * k]) for k in range(count)
        )
        yield name, ((mtime, ctime), files)  # type: ignore[misc]
        i += 1 + count
        j += 3 + 4 * count


class State:
    """A previous build's state, read lazily: the header at once, pieces when asked."""

    def __init__(self, path: Path) -> None:
        """Raises: OSError, ValueError, EOFError, TypeError: not a readable state."""
        self.path = path
        with path.open("rb") as f:
            if f.read(len(_MAGIC)) != _MAGIC:
                raise ValueError("not a state of this version")
            (length,) = _LENGTH.unpack(f.read(_LENGTH.size))
            self.header: dict = marshal.loads(f.read(length))
            self.base = len(_MAGIC) + _LENGTH.size + length
        self._buckets: dict[int, Bucket] = {}

    def piece(self, where: tuple[int, int]) -> bytes:
        offset, length = where
        with self.path.open("rb") as f:
            data = os.pread(f.fileno(), length, self.base + offset)
        if len(data) != length:
            raise EOFError("state is shorter than its header says")
        return data

    def bucket(self, index: int) -> Bucket:
        """A bucket's projects and dangling dependents (decoded once; the caller may
        change them: the new state takes them from here)."""
        found = self._buckets.get(index)
        if found is None:
            entry = self.header["buckets"][index]
            if entry is None:
                found = Bucket()
            else:
                projects, dangling = marshal.loads(self.piece(entry[0]))
                found = Bucket({k: list(v) for k, v in projects.items()}, dangling)
            self._buckets[index] = found
        return found

    def loaded(self) -> Mapping[int, Bucket]:
        return self._buckets


def encode_bucket(bucket: Bucket) -> bytes:
    return marshal.dumps(({k: tuple(v) for k, v in bucket.projects.items()}, bucket.dangling))


def write_state(path: Path, header: dict, pieces: Sequence[Piece], old: State | None) -> None:
    """Write a state: ``header`` (whose piece places, offsets from the end of the header,
    the caller computed from ``pieces``), then ``pieces``, ranges copied from ``old``."""
    head = marshal.dumps(header)
    temporary = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        _write(temporary, head, pieces, old)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write(path: Path, head: bytes, pieces: Sequence[Piece], old: State | None) -> None:
    with path.open("wb") as f:
        f.write(_MAGIC + _LENGTH.pack(len(head)) + head)
        source = None if old is None else os.open(old.path, os.O_RDONLY)
        try:
            pending: list[bytes] = []
            for piece in pieces:
                if isinstance(piece, bytes):
                    pending.append(piece)
                    continue
                assert source is not None
                offset, length = piece
                data = os.pread(source, length, old.base + offset)  # type: ignore[union-attr]
                if len(data) != length:
                    raise EOFError("state is shorter than its header says")
                pending.append(data)
            f.write(b"".join(pending))
        finally:
            if source is not None:
                os.close(source)
