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
hundreds of thousands: they are made from C (map over the recorded paths, relative to the
prefix directory) and their numbers compared with the recorded ones in one step; only a
prefix directory where they differ is gone through path by path. The prefix directories
are shared with forked children (stat releases the GIL, but the work around each call
does not: threads would take turns).

The command line starts the sweep before it loads the build machinery (start()): forked
children stat while the parent imports, reads the settings and takes the build
directory's lock; sweep() then takes their results if the state it is given is the very
file they swept by (else it sweeps again). A change made meanwhile is found by the next
build, as one made after the sweep would be: the stat data recorded for a project not
looked at again are the previous ones.

Entry points: start(), sweep(), Swept.
"""

from __future__ import annotations

import marshal
import os
from collections.abc import Callable, Mapping, Sequence
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


# A sweep started ahead: (collection, the state's identity, the prefix directories
# taken, their results to wait for).
_ahead: tuple[str, tuple, set[str], list[Callable[[], list[Swept]]]] | None = None
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
    jobs = usable_cores()
    pending = [run_in_child(_sweep_part, root, state, every[i::jobs]) for i in range(jobs)]
    _ahead = (root, state.identity, set(every), pending)


def sweep(root: str, state: State, prefixes: Sequence[str], jobs: int) -> list[Swept]:
    """The prefix directories (``prefixes``, listed now, and those the previous build
    recorded) where something may have changed, on ``jobs`` processes (this one
    included), or from the sweep start() began."""
    global _ahead
    ahead, _ahead = _ahead, None
    every = sorted({*prefixes, *state.header["prefixes"]})
    if ahead is not None:
        try:
            found = [swept for result in ahead[3] for swept in result()]
        except Exception:  # e.g. the state rewritten under it: swept again below
            found = None
        if found is not None and ahead[:2] == (os.path.abspath(root), state.identity):
            return found + _sweep_part(root, state, [p for p in every if p not in ahead[2]])
    if jobs <= 1 or not can_fork():
        return _sweep_part(root, state, every)
    # Interleaved: prefix directories hold about as many projects each.
    parts = [every[i::jobs] for i in range(jobs)]
    pending = [run_in_child(_sweep_part, root, state, part) for part in parts[1:]]
    found = _sweep_part(root, state, parts[0])
    for result in pending:
        found += result()
    return found


def _sweep_part(root: str, state: State, prefixes: Sequence[str]) -> list[Swept]:
    known: Mapping[str, tuple] = state.header["prefixes"]
    recorded = [p for p in prefixes if p in known]
    blobs = dict(zip(recorded, state.pieces([known[p][1] for p in recorded]), strict=True))
    found = []
    for prefix in prefixes:
        try:
            fd = os.open(f"{root}/{prefix}", os.O_RDONLY | os.O_DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):
            fd = -1
        try:
            swept = _sweep_prefix(fd, prefix, known.get(prefix), blobs.get(prefix))
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
