"""The stat sweep of an incremental build: which project directories may have changed
since the previous build into OUT.

The previous build recorded, per prefix directory of the collection, the stat data of each
project directory and declaration file (wheelset.build.state). A file edited in place
changes its own size, mtime or ctime; one replaced (an editor's or Git's rename over it),
its inode; a file added, removed or renamed changes its directory's mtime and ctime; a
project directory added, removed or renamed, its prefix directory's. So every recorded
path is stat()ed again, and a prefix directory whose own time stamps changed is listed
again (by the caller).

Those stat calls (two per project) are the whole cost of finding one change among
hundreds of thousands, and os.stat() spends about as much on the twenty-odd Python objects
of its result as the kernel spends on the call. So, where the C library has statx (Linux), it
is called through ctypes over the recorded paths (relative to the prefix directory) into
one buffer, from C (map), and the numbers recorded are compared with the buffer's columns
in one step; elsewhere os.stat() fills the same columns. Only a prefix directory where
they differ is gone through path by path. The prefix directories are handed out a chunk
at a time to forked children (stat releases the GIL, but the work around each call does
not: threads would take turns) and to the calling process once it is ready.

The command line starts the sweep before it loads the build machinery (start()): forked
children stat while the parent imports, reads the settings and takes the build
directory's lock; sweep() then sweeps what they have not taken yet and takes their
results if the state it is given is the very file they swept by (else it sweeps again).
A change made meanwhile is found by the next build, as one made after the sweep would
be: the stat data recorded for a project not looked at again are the previous ones.

Entry points: start(), sweep(), Swept.
"""

from __future__ import annotations

import marshal
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import repeat

from wheelset.build.state import STATE_FILE, State, pack_numbers, stat_numbers, unpack_stats
from wheelset.workers import can_fork, run_in_child, usable_cores

__all__ = ["Swept", "start", "sweep"]

# What may have changed in a prefix directory: (prefix, its (mtime_ns, ctime_ns) now,
# (0, 0) when it is gone; the projects whose stat data differ; the projects it held
# before when it must be listed again, else None).
Swept = tuple[str, tuple[int, int], list[str], list[str] | None]

# Linux's statx(2): struct statx is 256 bytes, the same on every architecture; the
# numbers state.stat_numbers() records are its 64-bit words 4 (stx_ino), 5 (stx_size),
# 12 and 13 (stx_ctime: seconds; nanoseconds and a reserved zero), 14 and 15 (stx_mtime).
_STATX_SIZE = 256
_STRIDE = 128  # each result overwrites the unused second half of the one before
_WORDS = (4, 5, 12, 13, 14, 15)
_STATX_MASK = 0x3C0  # STATX_MTIME | STATX_CTIME | STATX_INO | STATX_SIZE
_statx: list = []  # [libc's statx, ctypes.byref, ctypes.c_char], or [None] without it


# A sweep started ahead: (collection, the state's identity, the prefix directories it
# sweeps, and what _spread() returned for them).
_ahead: tuple[str, tuple, list[str], tuple] | None = None
_AHEAD_FROM = 4096  # projects: fewer are swept in less time than a fork takes to pay


def start(root: str | os.PathLike, out: str | os.PathLike) -> None:
    """Start sweeping the prefix directories the state of the build directory ``out``
    records, in forked children (one per core), for the next sweep() of ``root`` by that
    state; nothing if there is no such state, or a small one, or if it is started already.
    It loads no more than the builtin modules: the command line calls it first."""
    global _ahead
    if _ahead is not None or not can_fork():
        return
    try:
        state = State(os.path.join(out, STATE_FILE))
        count = state.header["projects"]
        every = sorted(state.header["prefixes"])
    except (OSError, EOFError, ValueError, TypeError, KeyError):
        return  # no state to trust: a fresh build, which does not sweep
    if count < _AHEAD_FROM:
        return
    root = os.path.abspath(root)
    _ahead = (root, state.identity, every, _spread(root, state, every, usable_cores()))


def sweep(root: str, state: State, prefixes: Sequence[str], jobs: int) -> list[Swept]:
    """The prefix directories (``prefixes``, listed now, and those the previous build
    recorded) where something may have changed, on ``jobs`` processes (this one
    included), or with the sweep start() began (this process takes what is left of it)."""
    global _ahead
    ahead, _ahead = _ahead, None
    every = sorted({*prefixes, *state.header["prefixes"]})
    if ahead is not None:
        began, identity, swept, spread = ahead
        if (began, identity) == (os.path.abspath(root), state.identity):
            found = _join(root, state, *spread)
            if found is not None:
                taken = set(swept)
                return found + _sweep_part(root, state, [p for p in every if p not in taken])
        else:  # swept by another state: what it found is of no use
            _finish(spread[0], spread[2])
    if jobs <= 1 or not can_fork():
        return _sweep_part(root, state, every)
    found = _join(root, state, *_spread(root, state, every, jobs - 1))
    return _sweep_part(root, state, every) if found is None else found


# The prefix directories are handed out a chunk at a time, to whichever process is free
# (the parent too, once it has loaded what it needs): forked at once, the children share
# the cores with the parent's imports, unevenly.
_CHUNKS = 256  # at most, numbered by one byte


def _spread(root: str, state: State, every: list[str], children: int) -> tuple:
    """Start ``children`` sweeping ``every`` a chunk at a time: (the queue of chunk numbers
    to take from, the chunks, the children's results)."""
    size = -(-len(every) // _CHUNKS) or 1
    chunks = [every[i : i + size] for i in range(0, len(every), size)]
    queue, writer = os.pipe()
    os.write(writer, bytes(range(len(chunks))))  # less than a pipe holds: it never blocks
    os.close(writer)
    pending = [run_in_child(_sweep_queue, root, state, queue, chunks) for _ in range(children)]
    return queue, chunks, pending


def _join(
    root: str, state: State, queue: int, chunks: list[list[str]], pending: list[Callable]
) -> list[Swept] | None:
    """Sweep here what the children have not taken yet, then add theirs (None when one of
    them failed, e.g. the state rewritten under it: the caller sweeps again)."""
    try:
        found = _sweep_queue(root, state, queue, chunks)
    finally:
        theirs = _finish(queue, pending)
    return None if theirs is None else found + theirs


def _finish(queue: int, pending: list[Callable]) -> list[Swept] | None:
    """The children's results once the queue is emptied (they stop after their chunk);
    None when one of them failed."""
    try:
        while os.read(queue, _CHUNKS):
            pass
    finally:
        os.close(queue)
    found: list[Swept] | None = []
    for result in pending:
        try:
            swept = result()
        except Exception:
            found = None
            continue
        if found is not None:
            found += swept
    return found


def _sweep_queue(root: str, state: State, queue: int, chunks: list[list[str]]) -> list[Swept]:
    """Sweep chunks taken from ``queue`` until it is empty."""

    def taken() -> Iterator[str]:
        while number := os.read(queue, 1):
            yield from chunks[number[0]]

    return _sweep_part(root, state, taken())


def _sweep_part(root: str, state: State, prefixes: Iterable[str]) -> list[Swept]:
    known: Mapping[str, tuple] = state.header["prefixes"]
    found = []
    for prefix in prefixes:
        entry = known.get(prefix)
        blob = None if entry is None else state.piece(entry[1])
        try:
            fd = os.open(f"{root}/{prefix}", os.O_RDONLY | os.O_DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):
            fd = -1
        try:
            swept = _sweep_prefix(fd, prefix, entry, blob)
        finally:
            if fd >= 0:
                os.close(fd)
        if swept is not None:
            found.append(swept)
    return found


def _sweep_prefix(fd: int, prefix: str, known: tuple | None, blob: bytes | None) -> Swept | None:
    own = (0, 0)
    if fd >= 0:
        st = os.fstat(fd)  # before anything in it is looked at: a later change shows next time
        own = (st.st_mtime_ns, st.st_ctime_ns)
    relist = known is None or own != known[0]
    suspects: list[str] = []
    before: list[str] = []
    if blob is not None:
        joined, packed = marshal.loads(blob)
        paths = joined.split(b"\0") if joined else []
        if fd >= 0 and _numbers(fd, paths) != packed:
            suspects = _differing(fd, blob)
        if relist:
            before = [os.fsdecode(path) for path in paths if b"/" not in path]
    if not relist and not suspects:
        return None
    return prefix, own, suspects, before if relist else None


def _numbers(fd: int, paths: Sequence[bytes]) -> bytes | None:
    """The numbers of every path (relative to ``fd``) as pack_stats() packs them, None if
    one is gone. The hot loop: with statx, the kernel writes them into one buffer and no
    Python object is made per path (os.stat makes about twenty)."""
    if not _statx:
        _statx.extend(_load_statx())
    statx, byref, char = _statx if _statx[0] is not None else (None, None, None)
    if statx is None:
        try:
            rows = [stat_numbers(os.stat(path, dir_fd=fd)) for path in paths]
        except (FileNotFoundError, NotADirectoryError):
            return None
        return pack_numbers(rows)
    count = len(paths)
    buffer = (char * (_STRIDE * count + _STATX_SIZE))()
    places = map(byref, repeat(buffer), range(0, _STRIDE * count, _STRIDE))
    if any(map(statx, repeat(fd), paths, repeat(0), repeat(_STATX_MASK), places)):
        return None  # something is gone (or cannot be looked at: seen path by path)
    words = memoryview(buffer).cast("B")[: _STRIDE * count].cast("Q")
    return b"".join(words[k :: _STRIDE // 8].tobytes() for k in _WORDS)


def _load_statx() -> tuple:
    """(statx, byref, c_char) from libc through ctypes, or (None,) where there is none
    (not Linux, or a C library older than statx)."""
    try:
        import ctypes

        return ctypes.CDLL(None).statx, ctypes.byref, ctypes.c_char
    except (ImportError, OSError, AttributeError):
        return (None,)


def _differing(fd: int, blob: bytes) -> list[str]:
    """The projects with a path whose stat data differ from the recorded ones (or gone)."""
    names: dict[str, None] = {}
    for path, numbers in zip(*unpack_stats(blob), strict=True):
        try:
            same = stat_numbers(os.stat(path, dir_fd=fd)) == numbers
        except (FileNotFoundError, NotADirectoryError):
            same = False
        if not same:
            names[os.fsdecode(path.partition(b"/")[0])] = None
    return list(names)
