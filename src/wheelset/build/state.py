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
  declaration files, packed (paths joined, numbers in one array), for the stat sweep
  (wheelset.build.sweep).

A new state keeps the pieces it did not change as they are (see StateWriter).
Entry points: STATE_FILE, State, Bucket, pack_stats(), unpack_stats(), stats_items(),
StateWriter, BUCKETS.
"""

from __future__ import annotations

import array
import marshal
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BUCKETS",
    "STATE_FILE",
    "Bucket",
    "Piece",
    "State",
    "StateWriter",
    "Stats",
    "pack_stats",
    "stats_items",
    "unpack_stats",
]

STATE_FILE = ".build-state"  # in the build directory
_MAGIC = b"wheelset-build-state 7\n"  # the number changes with the layout or the root format
_LENGTH = struct.Struct("<Q")
BUCKETS = 256  # first-level buckets of a HAMT root

# A project's files as found: its directory's (size, mtime_ns, ctime_ns, inode), then
# (name, size, mtime_ns, ctime_ns, inode) per declaration file.
Stats = tuple[tuple[int, int, int, int], tuple[tuple[str, int, int, int, int], ...]]

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
    """The stat data of a prefix directory's projects (sorted by name), packed as the
    sweep reads it: the paths, relative to the prefix directory (each project's directory
    ``name``, then its files ``name/file``), and four numbers per path (size, mtime_ns,
    ctime_ns, inode). Time stamps at or after ``racy_from`` are not trusted: such a project
    is stored with its directory's mtime -1, which never matches (it is read again)."""
    paths: list[str] = []
    numbers: list[int] = []
    for name, (own, files) in items:
        racy = own[1] >= racy_from or own[2] >= racy_from
        racy = racy or any(f[2] >= racy_from or f[3] >= racy_from for f in files)
        paths.append(name)
        numbers += (own[0], -1 if racy else own[1], own[2], own[3])
        for file in files:
            paths.append(f"{name}/{file[0]}")
            numbers += file[1:]
    return marshal.dumps(("\0".join(paths), array.array("q", numbers).tobytes()))


def unpack_stats(blob: bytes) -> tuple[list[str], array.array]:
    """The paths and the numbers (four per path) pack_stats() packed."""
    joined, packed = marshal.loads(blob)
    numbers = array.array("q")
    numbers.frombytes(packed)
    return (joined.split("\0") if joined else []), numbers


def stats_items(blob: bytes) -> dict[str, Stats]:
    """The stat data of pack_stats(), by project name (a racy one with mtime -1)."""
    paths, numbers = unpack_stats(blob)
    items: dict[str, Stats] = {}
    name = ""
    own: tuple[int, int, int, int] = (0, 0, 0, 0)
    files: list[tuple[str, int, int, int, int]] = []
    for k, path in enumerate(paths):
        fields = tuple(numbers[4 * k : 4 * k + 4])
        project, _, file = path.partition("/")
        if not file:
            if name:
                items[name] = (own, tuple(files))
            name, own, files = project, fields, []  # type: ignore[assignment]
        else:
            files.append((file, *fields))  # type: ignore[arg-type]
    if name:
        items[name] = (own, tuple(files))
    return items


class State:
    """A previous build's state, read lazily: the header at once, pieces when asked.

    The file is the magic line, the pieces, the header and the header's length (8 bytes):
    a build that changes a few pieces appends them and a new header (the old pieces it
    replaced stay behind, unreferenced, until they outweigh the live ones)."""

    def __init__(self, path: Path) -> None:
        """Raises: OSError, ValueError, EOFError, TypeError: not a readable state."""
        self.path = path
        with path.open("rb") as f:
            if f.read(len(_MAGIC)) != _MAGIC:
                raise ValueError("not a state of this version")
            st = os.fstat(f.fileno())
            size = st.st_size
            # Which file this is, as read: one rewritten or appended to since differs.
            self.identity = (st.st_dev, st.st_ino, size, st.st_mtime_ns, st.st_ctime_ns)
            (length,) = _LENGTH.unpack(os.pread(f.fileno(), _LENGTH.size, size - _LENGTH.size))
            self.end = size - _LENGTH.size - length  # where the pieces end
            if self.end < len(_MAGIC):
                raise EOFError("state is shorter than its header says")
            self.header: dict = marshal.loads(os.pread(f.fileno(), length, self.end))
        self._buckets: dict[int, Bucket] = {}

    def piece(self, where: tuple[int, int]) -> bytes:
        return self.pieces([where])[0]

    def pieces(self, wheres: Sequence[tuple[int, int]]) -> list[bytes]:
        """Several pieces, read through one open file."""
        found = []
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for offset, length in wheres:
                data = os.pread(fd, length, offset)
                if len(data) != length:
                    raise EOFError("state is shorter than its header says")
                found.append(data)
        finally:
            os.close(fd)
        return found

    def bucket(self, index: int) -> Bucket:
        """A bucket's projects and dangling dependents (decoded once; the caller may
        change them: the new state takes them from here)."""
        found = self._buckets.get(index)
        if found is None:
            entry = self.header["buckets"][index]
            if entry is None or entry[0] is None:
                found = Bucket()
            else:
                projects, dangling = marshal.loads(self.piece(entry[0]))
                found = Bucket({k: list(v) for k, v in projects.items()}, dangling)
            self._buckets[index] = found
        return found


def encode_bucket(bucket: Bucket) -> bytes:
    return marshal.dumps(({k: tuple(v) for k, v in bucket.projects.items()}, bucket.dangling))


class StateWriter:
    """Writes a new state at ``path``: from scratch, or, given the ``old`` state at that
    very path, by appending to it (only a caller that may leave a broken state behind
    when interrupted, such as a build under OUT's incomplete marker, may ask for that)."""

    def __init__(self, path: Path, old: State | None, append: bool) -> None:
        self.path = path
        self.old = old
        self.pieces: list[bytes | tuple[int, int]] = []
        self.live = 0
        self.append = append and old is not None and old.path == path
        self.offset = old.end if self.append else len(_MAGIC)  # type: ignore[union-attr]

    def add(self, piece: Piece) -> tuple[int, int]:
        """Where ``piece`` (bytes, or a range of the old state) is in the new state."""
        length = len(piece) if isinstance(piece, bytes) else piece[1]
        self.live += length
        if self.append and not isinstance(piece, bytes):
            return piece
        self.pieces.append(piece)
        self.offset += length
        return self.offset - length, length

    def worth_appending(self) -> bool:
        """Whether the pieces kept in place still outweigh those left behind."""
        assert self.old is not None
        return self.old.end - len(_MAGIC) <= 2 * self.live

    def finish(self, header: dict) -> None:
        head = marshal.dumps(header)
        if self.append:
            with self.path.open("r+b") as f:
                f.truncate(self.old.end)  # type: ignore[union-attr]
                f.seek(0, os.SEEK_END)
                f.write(b"".join(self._bytes()) + head + _LENGTH.pack(len(head)))
            return
        temporary = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
        try:
            with temporary.open("wb") as f:
                f.write(b"".join([_MAGIC, *self._bytes(), head, _LENGTH.pack(len(head))]))
            os.replace(temporary, self.path)
        finally:
            temporary.unlink(missing_ok=True)

    def _bytes(self) -> Iterator[bytes]:
        source = None if self.old is None else os.open(self.old.path, os.O_RDONLY)
        try:
            for piece in self.pieces:
                if isinstance(piece, bytes):
                    yield piece
                    continue
                assert source is not None
                offset, length = piece
                data = os.pread(source, length, offset)
                if len(data) != length:
                    raise EOFError("state is shorter than its header says")
                yield data
        finally:
            if source is not None:
                os.close(source)
