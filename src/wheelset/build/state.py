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
  declaration files, packed (paths joined, the numbers as columns laid out as the stat
  sweep compares them), for the stat sweep (wheelset.build.sweep).

A new state keeps the pieces it did not change as they are (see StateWriter).
The module loads only builtin modules: the command line reads a state's header with it
before anything else loads (to start the sweep).
Entry points: STATE_FILE, State, Bucket, pack_stats(), unpack_stats(), stats_items(),
stat_numbers(), pack_numbers(), StateWriter, BUCKETS.
"""

from __future__ import annotations

import array
import marshal
import os
from collections.abc import Iterator, Sequence

TYPE_CHECKING = False  # the stat sweep imports this module before anything else loads
if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "BUCKETS",
    "STATE_FILE",
    "Bucket",
    "Piece",
    "State",
    "StateWriter",
    "Stats",
    "pack_numbers",
    "pack_stats",
    "stat_numbers",
    "stats_items",
    "unpack_stats",
]

STATE_FILE = ".build-state"  # in the build directory
_MAGIC = b"wheelset-build-state 8\n"  # the number changes with the layout or the root format
_LENGTH = 8  # bytes of the header's length, little-endian, at the end
BUCKETS = 256  # first-level buckets of a HAMT root

# A project's files as found: its directory's (size, mtime_ns, ctime_ns, inode), then
# (name, size, mtime_ns, ctime_ns, inode) per declaration file.
Stats = tuple[tuple[int, int, int, int], tuple[tuple[str, int, int, int, int], ...]]

# A project's record in its bucket: [key, cid, tsize, wheels, offset, length, blocks, deps,
# dependents] (offset relative to its bucket's subtree in root.car; lists, so that a
# bucket being updated can change them in place).
Record = list


class Bucket:
    __slots__ = ("dangling", "projects")

    def __init__(
        self,
        projects: dict[str, Record] | None = None,
        dangling: dict[str, tuple[str, ...]] | None = None,  # name -> dependents
    ) -> None:
        self.projects = {} if projects is None else projects
        self.dangling = {} if dangling is None else dangling


# A piece of the new state: bytes, or a range (offset, length) of the old state file.
Piece = bytes | tuple[int, int]


# The numbers recorded per path, as columns, in the order of the fields of Linux's struct
# statx (from which the sweep takes them without making Python objects, wheelset.build.sweep):
# inode, size, ctime (seconds, nanoseconds), mtime (seconds, nanoseconds).
_COLUMNS = "QQqQqQ"  # array typecodes
_NS = 1_000_000_000


def _numbers(size: int, mtime_ns: int, ctime_ns: int, ino: int) -> tuple[int, ...]:
    return (ino, size, *divmod(ctime_ns, _NS), *divmod(mtime_ns, _NS))


def stat_numbers(st: os.stat_result) -> tuple[int, ...]:
    """The numbers pack_stats() records for a path, from its stat result."""
    return _numbers(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def pack_stats(items: Sequence[tuple[str, Stats]], racy_from: int) -> bytes:
    """The stat data of a prefix directory's projects (sorted by name), packed as the
    sweep reads it: the paths (file system bytes), relative to the prefix directory (each
    project's directory ``name``, then its files ``name/file``), and a column per number
    of stat_numbers(). Time stamps at or after ``racy_from`` are not trusted: such a
    project is stored with its directory's mtime -1 ns, which never matches (it is read
    again)."""
    paths: list[str] = []
    rows: list[tuple[int, ...]] = []
    for name, (own, files) in items:
        racy = own[1] >= racy_from or own[2] >= racy_from
        racy = racy or any(f[2] >= racy_from or f[3] >= racy_from for f in files)
        paths.append(name)
        rows.append(_numbers(own[0], -1 if racy else own[1], own[2], own[3]))
        for file in files:
            paths.append(f"{name}/{file[0]}")
            rows.append(_numbers(*file[1:]))
    return marshal.dumps((os.fsencode("\0".join(paths)), pack_numbers(rows)))


def pack_numbers(rows: Sequence[tuple[int, ...]]) -> bytes:
    """Numbers of stat_numbers(), a tuple per path, as pack_stats() lays them out."""
    if not rows:
        return b""
    columns = zip(_COLUMNS, zip(*rows, strict=True), strict=True)
    return b"".join(array.array(code, column).tobytes() for code, column in columns)


def unpack_stats(blob: bytes) -> tuple[list[bytes], list[tuple[int, ...]]]:
    """The paths (bytes) and, per path, the numbers pack_stats() packed."""
    joined, packed = marshal.loads(blob)
    paths = joined.split(b"\0") if joined else []
    width = 8 * len(paths)
    columns = []
    for k, code in enumerate(_COLUMNS):
        column = array.array(code)
        column.frombytes(packed[k * width : (k + 1) * width])
        columns.append(column)
    return paths, list(zip(*columns, strict=True))


def stats_items(blob: bytes) -> dict[str, Stats]:
    """The stat data of pack_stats(), by project name (a racy one with mtime -1)."""
    paths, numbers = unpack_stats(blob)
    items: dict[str, Stats] = {}
    name = ""
    own: tuple[int, int, int, int] = (0, 0, 0, 0)
    files: list[tuple[str, int, int, int, int]] = []
    for path, (ino, size, c_s, c_ns, m_s, m_ns) in zip(paths, numbers, strict=True):
        fields = (size, m_s * _NS + m_ns, c_s * _NS + c_ns, ino)
        project, _, file = os.fsdecode(path).partition("/")
        if not file:
            if name:
                items[name] = (own, tuple(files))
            name, own, files = project, fields, []
        else:
            files.append((file, *fields))
    if name:
        items[name] = (own, tuple(files))
    return items


class State:
    """A previous build's state, read lazily: the header at once, pieces when asked.

    The file is the magic line, the pieces, the header and the header's length (8 bytes):
    a build that changes a few pieces appends them and a new header (the old pieces it
    replaced stay behind, unreferenced, until they outweigh the live ones)."""

    def __init__(self, path: str | Path) -> None:
        """Raises: OSError, ValueError, EOFError, TypeError: not a readable state."""
        self.path = path
        with open(path, "rb") as f:
            if f.read(len(_MAGIC)) != _MAGIC:
                raise ValueError("not a state of this version")
            st = os.fstat(f.fileno())
            size = st.st_size
            # Which file this is, as read: one rewritten or appended to since differs.
            self.identity = (st.st_dev, st.st_ino, size, st.st_mtime_ns, st.st_ctime_ns)
            length = int.from_bytes(os.pread(f.fileno(), _LENGTH, size - _LENGTH), "little")
            self.end = size - _LENGTH - length  # where the pieces end
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
        self.append = append and old is not None and os.fspath(old.path) == os.fspath(path)
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
                f.write(b"".join(self._bytes()) + head + len(head).to_bytes(_LENGTH, "little"))
            return
        from wheelset.fsutil import replacing  # not at the top: see TYPE_CHECKING above

        with replacing(self.path) as temporary, open(temporary, "wb") as f:
            length = len(head).to_bytes(_LENGTH, "little")
            f.write(b"".join([_MAGIC, *self._bytes(), head, length]))

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
