"""The `wheelset build` stage: collection directory → root CID, CAR file, build directory.

A build works a project at a time. First every project's dependency names are read (a
project's page lists the projects depending on it); then each project directory of the
collection (``<prefix>/<project>/*.toml``) is read, parsed and turned into its pages, its
project file and its UnixFS directory (tree.build_project); the project's blocks go,
depth-first, to a spool file and only a compact record stays in memory. Both passes are
spread over worker processes (both cores) unless METADATA or wheels are fetched, which
happens in this process. The records are then linked into the root (tree.assemble_root) and the CAR
is written depth-first from the root by copying each project's spooled blocks.

A build directory is

    OUT/ROOT         the root CID and a newline
    OUT/root.car     CARv1 of every generated block, the root as its only root
    OUT/tree/        the generated files (index pages, index.json, wheelset.json, *.metadata,
                     the collection's policy.toml);
                     with wheels included (--with-wheels), `ipfs add -r OUT/tree` gives ROOT
    OUT/.build-state what the next build may reuse (see below)

Incremental: the state records, per project directory, the stat data and a hash of its
declaration files, its directory CID and where its blocks sit in root.car (and where
each subtree of the root directory sits), and the dependency names and dependents of
each project. The next build into OUT stats every project of the previous one (on both
cores) and rebuilds only the projects whose files changed, or whose dependents did
(their pages made aside in OUT/.pages-*), copies everything
else from the old root.car, and only then updates OUT/tree in place: the result is
byte-identical to a fresh build. While it updates, the marker OUT/.incomplete exists; a
build that finds it (a crash) rebuilds from scratch, and readers refuse such a directory.
A fresh build is staged in ``.OUT.new-*`` beside OUT and swapped in with one atomic
rename-exchange where the system has it; stale staging directories of crashed builds are
removed by the next build (builds into one OUT are serialised by a lock file .OUT.lock).

Entry points: build_collection(), BuildResult, is_build_dir(), read_build_root(),
ROOT_FILE, CAR_FILE, TREE_DIR.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import marshal
import multiprocessing
import multiprocessing.pool
import os
import shutil
import tempfile
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from packaging.utils import canonicalize_name

from wheelset.build.layout import (
    CAR_FILE,
    INCOMPLETE_MARKER,
    ROOT_FILE,
    TREE_DIR,
    is_build_dir,
    read_build_root,
)
from wheelset.build.manifest import MetadataFile, WheelEntry
from wheelset.build.pages import ProjectRow, dependency_names, dependents_of, summary_of
from wheelset.build.rootfiles import POLICY_NAME, dump_json
from wheelset.build.tree import METADATA_SUFFIX, BuildError, assemble_root, build_project
from wheelset.errors import WheelsetError
from wheelset.fsutil import atomic_write_bytes, current_umask
from wheelset.gcpause import cycle_collection_paused
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import encode_car_header
from wheelset.ipfs.cid import CID, DAG_PB, InvalidCID, decode_cid_bytes, parse_cid
from wheelset.ipfs.importer import Imported, import_bytes
from wheelset.ipfs.varint import decode_varint, encode_varint
from wheelset.model import canonical_toml
from wheelset.model.collection import RESERVED_FILES, CollectionError, decode_declaration
from wheelset.model.declarations import Declaration, prefix_of, relpath_for
from wheelset.model.platforms import PLATFORMS_FILE, Platform, PlatformError, load_platforms
from wheelset.model.policy import POLICY_FILE, read_policy
from wheelset.model.safe_read import read_regular

__all__ = [
    "CAR_FILE",
    "ROOT_FILE",
    "TREE_DIR",
    "BuildResult",
    "MetadataProvider",
    "WheelWriter",
    "build_collection",
    "is_build_dir",
    "read_build_root",
]

STATE_FILE = ".build-state"
_STATE_VERSION = 3  # bump when the state's layout or the root format changes
_CHUNK = 1024  # project directories per task handed to a worker
_RACY_NS = 2_000_000_000  # files changed this close to the last scan are re-read

_LINK_TAG, _HASH_TAG = 0x12, 0x0A  # dag-pb PBNode.Links (field 2), PBLink.Hash (field 1)
_V0_HASH_FIELD = b"\x22\x12\x20"  # 34 bytes follow: sha2-256 multihash (a CIDv0)

# Given the declarations, return each wheel's METADATA bytes by wheel file name.
MetadataProvider = Callable[[Sequence[Declaration]], Mapping[str, bytes]]
# Put the verified wheel of a declaration into a directory (for --with-wheels).
WheelWriter = Callable[[Declaration, Path], None]


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build made: the root, its counts, and how much of OUT it reused."""

    root: CID
    tsize: int
    projects: int
    wheels: int
    blocks: int | None  # blocks in the CAR, if one was written
    rebuilt: int  # projects built (the others were reused from OUT)
    car_size: int | None = None  # bytes of the CAR written, if any


# --- reading the collection -------------------------------------------------------------


def _layout_error(path: str, message: str) -> BuildError:
    return BuildError(message, path=path, code="LAYOUT")


def _list_projects(directory: Path) -> list[str]:
    """Every project directory ``<prefix>/<project>`` (posix, relative), sorted.

    Raises:
        BuildError: a declaration outside ``<prefix>/<project>/`` (run `wheelset check`).
    """
    projects: list[str] = []
    with os.scandir(directory) as top:
        for entry in top:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                with os.scandir(entry.path) as inner:
                    for sub in inner:
                        if sub.is_dir(follow_symlinks=False):
                            projects.append(f"{entry.name}/{sub.name}")
                        elif sub.name.endswith(".toml"):
                            raise _layout_error(
                                f"{entry.name}/{sub.name}",
                                "declarations live at <prefix>/<project>/<wheel>.toml",
                            )
            elif entry.name.endswith(".toml") and entry.name not in RESERVED_FILES:
                raise _layout_error(
                    entry.name, "declarations live at <prefix>/<project>/<wheel>.toml"
                )
    projects.sort()
    return projects


def _has_toml(path: str) -> str | None:
    for base, _dirs, files in os.walk(path):
        for name in files:
            if name.endswith(".toml"):
                return os.path.join(base, name)
    return None


# A project's files as found: (name, size, mtime_ns, ctime_ns, inode) per declaration file,
# with the directory's own (mtime_ns, ctime_ns) first.
Stats = tuple[tuple[int, int], tuple[tuple[str, int, int, int, int], ...]]


def _stat_project(root: str, rel: str, *, stat: bool = True) -> Stats:
    """The project's declaration files, sorted; their stat data only when ``stat``."""
    path = os.path.join(root, rel)
    st = os.stat(path) if stat else None
    files = []
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                found = _has_toml(entry.path)
                if found is not None:
                    raise _layout_error(
                        os.path.relpath(found, root),
                        "declarations live at <prefix>/<project>/<wheel>.toml",
                    )
            elif entry.name.endswith(".toml"):
                if st is None:
                    files.append((entry.name, 0, 0, 0, 0))
                    continue
                fs = entry.stat()
                files.append((entry.name, fs.st_size, fs.st_mtime_ns, fs.st_ctime_ns, fs.st_ino))
    files.sort()
    return (0, 0) if st is None else (st.st_mtime_ns, st.st_ctime_ns), tuple(files)


def _restat(root: str, rel: str, old: Stats) -> Stats:
    """_stat_project(), sparing the directory listing when the directory itself is unchanged
    (its time stamps change whenever an entry is added, removed or renamed)."""
    path = f"{root}/{rel}"
    st = os.stat(path)
    if (st.st_mtime_ns, st.st_ctime_ns) != old[0]:
        return _stat_project(root, rel)
    files = []
    for name, *_ in old[1]:
        try:
            fs = os.stat(f"{path}/{name}")
        except FileNotFoundError:
            return _stat_project(root, rel)
        files.append((name, fs.st_size, fs.st_mtime_ns, fs.st_ctime_ns, fs.st_ino))
    return old[0], tuple(files)


_SWEEP_CHUNK = 8192  # projects per task of the parallel stat sweep
_sweep: tuple[str, list[tuple[str, Stats]], int] | None = None  # set before workers fork


def _sweep_chunk(start: int) -> list[tuple[int, Stats | None]]:
    """(index, new stats) of the projects in this chunk whose stat data changed (None: the
    project directory is gone); unchanged ones are left out."""
    assert _sweep is not None
    root, items, stamp = _sweep
    changed: list[tuple[int, Stats | None]] = []
    for i in range(start, min(start + _SWEEP_CHUNK, len(items))):
        rel, old = items[i]
        try:
            stats = _restat(root, rel, old)
        except FileNotFoundError:
            changed.append((i, None))
            continue
        if not _same_stats(old, stats, stamp):
            changed.append((i, stats))
    return changed


def _changed_stats(
    root: str, items: list[tuple[str, Stats]], stamp: int, jobs: int
) -> dict[int, Stats | None]:
    """Stat every project of the previous build (on ``jobs`` processes when there are many:
    two stat calls per project are most of an incremental build's time); return those
    whose stat data changed, by index in ``items``."""
    global _sweep
    _sweep = (root, items, stamp)
    try:
        starts = range(0, len(items), _SWEEP_CHUNK)
        if jobs <= 1 or len(starts) <= 1:
            results: Iterator = map(_sweep_chunk, starts)
            return dict(pair for chunk in results for pair in chunk)
        with _workers(jobs) as pool:
            return dict(
                pair for chunk in pool.imap_unordered(_sweep_chunk, starts) for pair in chunk
            )
    finally:
        _sweep = None


def _read_project(root: str, rel: str, stats: Stats) -> tuple[bytes, list[Declaration]]:
    """(hash of the project's declaration files, their declarations).

    Raises:
        WheelsetError: a file that does not load or is not where its wheel name puts it.
    """
    digest = hashlib.blake2b(rel.encode(), digest_size=16)
    decls = []
    prefix, project = rel.split("/", 1)
    if prefix_of(project) != prefix or canonicalize_name(project) != project:
        first = f"{rel}/{stats[1][0][0]}" if stats[1] else rel
        raise _layout_error(first, f"belongs at {prefix_of(project)}/{canonicalize_name(project)}/")
    for name, *_ in stats[1]:
        path = f"{rel}/{name}"
        try:
            # Regular files only: a link or a FIFO named *.toml is never followed or opened.
            data = read_regular(os.path.join(root, path))
        except OSError as e:
            raise WheelsetError(f"cannot read: {e.strerror or e}", path=path, code="IO") from e
        digest.update(b"\0%d\0%s\0" % (len(name), name.encode()))
        digest.update(data)
        decl, findings = decode_declaration(data, PurePosixPath(path))
        if findings:
            first = findings[0]
            raise WheelsetError(first.message, path=first.path, code=first.code)
        assert decl is not None
        if decl.name != project or name != decl.filename[: -len(".whl")] + ".toml":
            raise _layout_error(path, f"belongs at {relpath_for(decl.filename)}")
        decls.append(decl)
    return digest.digest(), decls


# --- building projects (in workers or here) ---------------------------------------------


class _Project(NamedTuple):
    """A built (or reused) project, compact (a tuple: hundreds of thousands are made and
    passed between processes): ``where`` locates its blocks in a CAR or spool."""

    rel: str
    stats: Stats
    key: bytes
    cid: bytes  # the directory's CID, binary
    tsize: int
    wheels: int
    blocks: int
    where: tuple[str, int, int]  # (file, offset, length) of its CAR sections
    deps: tuple[str, ...]  # the projects its wheels depend on (dependency_names())
    dependents: tuple[str, ...]  # the projects depending on it, as its page lists them
    row: tuple[str, str, str, int, str]  # its ProjectRow but the name

    @property
    def name(self) -> str:
        return self.rel[3:]  # rel is "<prefix>/<name>", the prefix two hex digits


@dataclass
class _Job:
    """What a worker needs (inherited by fork): where to read, spool and write pages."""

    root: str
    spool_dir: str | None
    tree: str | None
    metadata: MetadataProvider | None = None
    wheels: WheelWriter | None = None
    platforms: Sequence[Platform] = ()
    dependents: Mapping[str, Sequence[str]] = field(default_factory=dict)
    spool: dict[int, object] = field(default_factory=dict)  # pid -> open spool file

    def spool_file(self):
        pid = os.getpid()
        if pid not in self.spool:
            assert self.spool_dir is not None
            self.spool[pid] = open(os.path.join(self.spool_dir, f"spool-{pid}"), "ab")  # noqa: SIM115
        return self.spool[pid]


_job: _Job | None = None  # set before workers fork


def _section(raw: bytes, block: bytes) -> bytes:
    """A CAR section: the binary CID ``raw`` and its block."""
    return encode_varint(len(raw) + len(block)) + raw + block


def _linked_cids(block: bytes) -> list[bytes]:
    """The binary CIDs a block links to, in link order.

    Only for blocks this build encoded (canonical dag-pb: every link, field 2, comes
    first and starts with its hash, field 1), which spares decoding names and sizes.
    """
    cids = []
    pos = 0
    while pos < len(block) and block[pos] == _LINK_TAG:
        length, start = decode_varint(block, pos + 1)
        if block[start] != _HASH_TAG:
            raise BuildError("internal: a link without a leading hash", code="BUILD")
        if block[start + 1 : start + 4] == _V0_HASH_FIELD:  # CIDv0, as the build makes them
            cids.append(block[start + 2 : start + 36])
        else:
            size, begin = decode_varint(block, start + 1)
            cids.append(block[begin : begin + size])
        pos = start + length
    return cids


def _by_binary_cid(store: MemoryBlockStore) -> dict[bytes, bytes]:
    return {cid.to_bytes(): block for cid, block in store.items()}


def _segment(root: CID, store: MemoryBlockStore) -> tuple[bytes, int]:
    """The CAR sections of the blocks under ``root`` held in ``store``, depth-first in link
    order, each once (wheels are linked, not held); and how many blocks."""
    blocks = _by_binary_cid(store)
    out = []
    seen: set[bytes] = set()
    stack = [root.to_bytes()]
    while stack:
        raw = stack.pop()
        if raw in seen or raw not in blocks:
            continue
        seen.add(raw)
        block = blocks[raw]
        out.append(_section(raw, block))
        stack.extend(reversed(_linked_cids(block)))
    return b"".join(out), len(out)


def _write_pages(tree: str, name: str, files: Mapping[str, bytes]) -> Path:
    folder = os.path.join(tree, name)
    if os.path.lexists(folder):
        shutil.rmtree(folder)
    os.mkdir(folder)
    for filename, data in files.items():
        with open(os.path.join(folder, filename), "wb") as f:
            f.write(data)
    return Path(folder)


def _build_projects(rels: Sequence[str]) -> list[_Project]:
    """Build these project directories; their blocks go to this process's spool."""
    job = _job
    assert job is not None
    read = []
    for rel in rels:
        stats = _stat_project(job.root, rel, stat=job.tree is not None)
        if stats[1]:
            read.append((rel, stats, *_read_project(job.root, rel, stats)))
        elif job.tree is not None:  # no declarations (left): no project
            shutil.rmtree(os.path.join(job.tree, rel.split("/", 1)[1]), ignore_errors=True)
    metadata: Mapping[str, bytes] = {}
    if job.metadata is not None:
        metadata = job.metadata([d for *_, decls in read for d in decls])
    spool = job.spool_file() if job.spool_dir is not None else None
    built = []
    for rel, stats, key, decls in read:
        name = rel.split("/", 1)[1]
        store = MemoryBlockStore()
        entries = []
        files: dict[str, bytes] = {}
        summary = ""
        for decl in sorted(decls, key=lambda d: d.filename):
            meta = None
            data = metadata.get(decl.filename)
            if data is not None:
                imported = import_bytes(data, store=store)
                meta = MetadataFile(imported.cid, hashlib.sha256(data).hexdigest(), len(data))
                files[decl.filename + METADATA_SUFFIX] = data
                summary = summary or summary_of(data)  # the first wheel's that has one
            elif job.metadata is not None:
                raise BuildError("METADATA missing", path=decl.path, code="BUILD")
            entries.append(WheelEntry(decl, meta))
        dependents = tuple(job.dependents.get(name, ()))
        project = build_project(
            name,
            entries,
            store=store,
            platforms=job.platforms,
            dependents=dependents,
            summary=summary,
        )
        where = ("", 0, 0)
        blocks = 0
        if spool is not None:
            segment, blocks = _segment(project.directory.cid, store)
            where = (spool.name, spool.tell(), len(segment))  # type: ignore[attr-defined]
            spool.write(segment)  # type: ignore[attr-defined]
        if job.tree is not None:
            folder = _write_pages(job.tree, name, {**project.generated, **files})
            if job.wheels is not None:
                for decl in decls:
                    job.wheels(decl, folder)
        directory = project.directory
        built.append(
            _Project(
                rel,
                stats,
                key,
                directory.cid.to_bytes(),
                directory.tsize,
                len(decls),
                blocks,
                where,
                dependency_names(name, (t for d in decls for t in d.dependencies)),
                dependents,
                _row_fields(project.row),
            )
        )
    if spool is not None:
        spool.flush()  # type: ignore[attr-defined]
    return built


def _row_fields(row: ProjectRow) -> tuple[str, str, str, int, str]:
    return (row.version, row.summary, row.license, row.wheels, row.platforms)


def _scan_chunk(rels: Sequence[str]) -> list[tuple[str, ...]]:
    """_scan_dependencies() of each project, in a worker."""
    assert _job is not None
    return [_scan_dependencies(_job.root, rel) for rel in rels]


def _scan_dependencies(root: str, rel: str) -> tuple[str, ...]:
    """A project's dependency names, read before any project is built (the pages of the
    projects it names list it). A file that does not load names nothing here: building
    the project then fails on it with the reason."""
    texts: list[str] = []
    path = f"{root}/{rel}"
    try:
        names = [n for n in os.listdir(path) if n.endswith(".toml")]
    except OSError:
        return ()
    for name in names:
        try:
            table = canonical_toml.loads(read_regular(os.path.join(path, name)).decode("utf-8"))
        except (OSError, ValueError):  # ValueError: not UTF-8, not TOML
            continue
        value = table.get("dependencies")
        if isinstance(value, list):
            texts.extend(t for t in value if isinstance(t, str))
    return dependency_names(rel.split("/", 1)[1], texts)


def _build_chunk(rels: Sequence[str]) -> list[_Project] | tuple[str, str | None, str]:
    """_build_projects() for a worker: an error comes back as (message, path, code)."""
    try:
        return _build_projects(rels)
    except WheelsetError as e:
        return (str(e), None if e.path is None else str(e.path), e.code)
    except OSError as e:
        return (f"cannot read: {e.strerror or e}", e.filename, "IO")


def _jobs(count: int, requested: int | None) -> int:
    if requested is not None:
        return requested
    return 1 if count < 4 * _CHUNK else min(os.cpu_count() or 1, 8)


@contextlib.contextmanager
def _workers(jobs: int) -> Iterator[multiprocessing.pool.Pool]:
    """A pool of forked workers, closed and joined when the work is done. Only on an error
    are they terminated: termination is by SIGTERM, which the CLI turns into an exception
    (to clean up), and a worker interrupted while it holds the task queue's lock leaves
    the others, and the join, waiting for ever."""
    pool = multiprocessing.get_context("fork").Pool(jobs)
    try:
        yield pool
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()


def _run(job: _Job, rels: Sequence[str], jobs: int, task: Callable = _build_chunk) -> list:
    """Build ``rels`` on ``jobs`` processes (forked, so they inherit ``job``), in order
    (or run another ``task`` on chunks of them: the results, joined)."""
    global _job
    _job = job
    chunks = [rels[i : i + _CHUNK] for i in range(0, len(rels), _CHUNK)]
    out: list = []
    try:
        serial = jobs <= 1 or len(chunks) <= 1 or job.metadata or job.wheels
        with contextlib.ExitStack() as stack:
            if serial:
                results: Iterator = map(task, chunks)
            else:
                pool = stack.enter_context(_workers(jobs))
                results = pool.imap(task, chunks)
            for result in results:
                if isinstance(result, tuple):
                    message, path, code = result
                    raise WheelsetError(message, path=path, code=code)
                out.extend(result)
        return out
    finally:
        for spool in job.spool.values():
            spool.close()  # type: ignore[attr-defined]
        job.spool.clear()
        _job = None


# --- the CAR ---------------------------------------------------------------------------


_COPY_LIMIT = 1 << 16  # bytes; shorter ranges are read and gathered, longer ones copied
_WRITE_SIZE = 1 << 20  # bytes gathered before one write


class _CarOut:
    """The CAR being written, sequentially: small pieces are gathered into large writes
    (a section per project would otherwise be a system call each) and long ranges of
    another file are copied in the kernel. ``pos`` is the offset of the next byte."""

    def __init__(self, f) -> None:
        self.f = f
        self.pos = 0
        self._pending: list[bytes] = []
        self._size = 0
        self._files: dict[str, int] = {}

    def write(self, data: bytes) -> None:
        self._pending.append(data)
        self._size += len(data)
        self.pos += len(data)
        if self._size >= _WRITE_SIZE:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self.f.write(b"".join(self._pending))
            self._pending.clear()
            self._size = 0

    def copy(self, source: str, offset: int, length: int) -> None:
        fd = self._files.get(source)
        if fd is None:
            fd = self._files[source] = os.open(source, os.O_RDONLY)
        if length <= _COPY_LIMIT:
            data = os.pread(fd, length, offset)
            if len(data) != length:
                raise BuildError(f"internal: {source} is shorter than recorded", code="BUILD")
            self.write(data)
            return
        self.flush()
        self.f.flush()
        self.pos += length
        while length:
            n = os.copy_file_range(fd, self.f.fileno(), length, offset)
            if n <= 0:
                raise BuildError(f"internal: {source} is shorter than recorded", code="BUILD")
            offset += n
            length -= n

    def close_sources(self) -> None:
        for fd in self._files.values():
            os.close(fd)
        self._files.clear()


@dataclass(frozen=True, slots=True)
class _Written:
    """Where a CAR put things: subtrees written or copied (CID -> (offset, length)) and the
    ranges copied as a whole (source, offset, length, new offset)."""

    placed: dict[bytes, tuple[int, int, int]]  # binary CID -> (offset, length, blocks)
    copies: list[tuple[str, int, int, int]]
    size: int
    blocks: int
    _index: dict[str, tuple[list[int], list[tuple[str, int, int, int]]]] = field(
        default_factory=dict
    )

    def relocate(self, source: str, offset: int, length: int) -> tuple[int, int]:
        """The new place of a range of ``source`` that was copied inside a larger range."""
        if source not in self._index:
            ranges = sorted(c for c in self.copies if c[0] == source)
            self._index[source] = ([c[1] for c in ranges], ranges)
        starts, copies = self._index[source]
        i = bisect_right(starts, offset) - 1
        if i < 0 or offset + length > copies[i][1] + copies[i][2]:
            raise BuildError("internal: a reused subtree was not written", code="BUILD")
        return copies[i][3] + offset - copies[i][1], length


def _write_car(
    target: Path,
    root: CID,
    blocks: MemoryBlockStore,
    sources: Mapping[bytes, tuple[str, int, int, int]],
) -> _Written:
    """Write the CAR: blocks of ``blocks`` depth-first from ``root``, and for each CID in
    ``sources`` the sections recorded there as (file, offset, length, number of blocks):
    a subtree already in depth-first order.
    """
    placed: dict[bytes, tuple[int, int, int]] = {}
    copies: list[tuple[str, int, int, int]] = []
    count = 0
    held = _by_binary_cid(blocks)
    with open(target, "wb") as f:
        out = _CarOut(f)
        header = encode_car_header([root])
        out.write(encode_varint(len(header)) + header)

        def emit(raw: bytes) -> None:
            nonlocal count
            start = out.pos
            source = sources.get(raw)
            if source is not None:
                out.copy(*source[:3])
                placed[raw] = (start, source[2], source[3])
                copies.append((source[0], source[1], source[2], start))
                count += source[3]
                return
            block = held.get(raw)
            if block is None or raw in placed:
                return  # a wheel or METADATA file (linked, not built), or a repeat
            out.write(_section(raw, block))
            placed[raw] = (start, 0, 0)
            before = count
            count += 1
            for child in _linked_cids(block):
                emit(child)
            placed[raw] = (start, out.pos - start, count - before)

        try:
            emit(root.to_bytes())
            out.flush()
        finally:
            out.close_sources()
        return _Written(placed, copies, out.pos, count)


# --- the build directory -----------------------------------------------------------------


def _was_build_dir(path: Path) -> bool:
    """Complete or interrupted: something a build may replace."""
    return (path / ROOT_FILE).is_file() or (path / INCOMPLETE_MARKER).exists()


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a))


def _swap_in(staged: Path, target: Path) -> None:
    """Put ``staged`` at ``target``; whatever was at ``target`` ends up at ``staged``."""
    if not target.exists():
        os.rename(staged, target)
        return
    if _exchange(staged, target):
        return
    # No exchange here: two renames, with a short window where ``target`` is missing.
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    os.rename(target, old / "previous")
    os.rename(staged, target)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Serialise builds into ``out`` (a lock file beside it, removed when done) and, holding
    the lock, remove what crashed builds left: staging directories, pages made aside."""
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = out.parent / f".{out.name}.lock"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break  # else the holder removed it after we opened it: try the new one
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        stale = (f".{out.name}.new-", f".{out.name}.old-")
        for name in os.listdir(out.parent):
            if name.startswith(stale):
                shutil.rmtree(out.parent / name, ignore_errors=True)
        if out.is_dir():
            for name in os.listdir(out):
                if name.startswith(_PAGES_PREFIX):
                    shutil.rmtree(out / name, ignore_errors=True)
        yield
    finally:
        os.unlink(lock)
        os.close(fd)  # releases the lock


def _check_replaceable(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not _was_build_dir(out))):
        raise BuildError(
            "exists and is not a wheelset build directory; not replacing it",
            path=out,
            code="OUT",
        )


# --- the state of a build directory ----------------------------------------------------


@dataclass
class _State:
    """What a build directory's previous build leaves for the next one."""

    flags: tuple[bool, bool, bytes]  # (with metadata, with wheels, platforms table digest)
    stamp: int  # time.time_ns() when that build began scanning
    root: bytes
    car_size: int
    projects: dict[str, tuple]  # rel -> _Project fields but rel (where: offset, length)
    # first-level shards of the root: digest -> (CID, tsize, offset, length, blocks) in CAR
    shards: dict[bytes, tuple[bytes, int, int, int, int]]


def _load_state(out: Path, flags: tuple[bool, bool, bytes]) -> _State | None:
    """The previous build's state when it can be trusted, else None (a fresh build)."""
    try:
        if not is_build_dir(out):
            return None
        # Read whole: marshal.load() of a file object makes a read call per object.
        doc = marshal.loads((out / STATE_FILE).read_bytes())
        version, *fields = doc
        if version != _STATE_VERSION:
            return None
        state = _State(*fields)
        root = parse_cid((out / ROOT_FILE).read_text().strip())
        if (
            state.flags != flags
            or state.root != root.to_bytes()
            or state.car_size != (out / CAR_FILE).stat().st_size
            or not all(len(v) == 10 for v in state.projects.values())
            or not all(len(v) == 5 for v in state.shards.values())
        ):
            return None
        return state
    except (OSError, EOFError, ValueError, TypeError, InvalidCID):
        return None


def _save_state(path: Path, state: _State) -> None:
    fields = (
        state.flags,
        state.stamp,
        state.root,
        state.car_size,
        state.projects,
        state.shards,
    )
    atomic_write_bytes(path, marshal.dumps((_STATE_VERSION, *fields)))


def _same_stats(old: Stats, new: Stats, stamp: int) -> bool:
    """Whether a project's files are unchanged by their stat data (as Git's index does);
    any time stamp too close to the previous scan is not trusted."""
    if old != new:
        return False
    limit = stamp - _RACY_NS
    if new[0][0] >= limit or new[0][1] >= limit:
        return False
    return all(f[2] < limit and f[3] < limit for f in new[1])


_PAGES_PREFIX = ".pages-"


def _move_pages_in(
    out: Path,
    pages: Path,
    state: _State,
    projects: Sequence[_Project],
    built: Sequence[_Project],
    root_files: Mapping[str, bytes],
) -> None:
    """Update OUT/tree in place under the marker: rebuilt projects' directories moved in,
    gone projects' removed, the root's own files replaced."""
    atomic_write_bytes(out / INCOMPLETE_MARKER, b"")
    tree = out / TREE_DIR
    for project in built:
        target = tree / project.name
        if target.exists() and _exchange(pages / project.name, target):
            shutil.rmtree(pages / project.name)
        else:
            shutil.rmtree(target, ignore_errors=True)
            os.rename(pages / project.name, target)
    for rel in set(state.projects) - {p.rel for p in projects}:
        shutil.rmtree(tree / rel.split("/", 1)[1], ignore_errors=True)
    for name, data in root_files.items():
        atomic_write_bytes(tree / name, data)
    if POLICY_NAME not in root_files:  # the collection's policy.toml was removed
        (tree / POLICY_NAME).unlink(missing_ok=True)


# --- the stage --------------------------------------------------------------------------


def _cid(raw: bytes) -> CID:
    return CID(0, DAG_PB, raw[2:]) if raw[:2] == b"\x12\x20" else decode_cid_bytes(raw)[0]


@dataclass(frozen=True, slots=True)
class _Settings:
    platforms: list[Platform]
    table: dict[str, object]  # platforms.toml as written
    policy: bytes | None  # policy.toml, verbatim


def _read_settings(directory: Path) -> _Settings:
    """The platforms (and their table) and the bytes of policy.toml (None without one),
    both checked."""
    if not directory.is_dir():
        raise CollectionError(f"{directory}: not a collection directory", code="IO")
    try:
        platforms, table = load_platforms(directory / PLATFORMS_FILE)
    except PlatformError as e:  # named relative to the collection, like every other file
        raise PlatformError(str(e), path=PLATFORMS_FILE) from e
    policy = read_policy(directory / POLICY_FILE)  # a malformed policy fails, as check does
    return _Settings(platforms, table, None if policy is None else policy[0])


def build_collection(
    directory: Path,
    *,
    out: Path | None = None,
    car: Path | None = None,
    metadata: MetadataProvider | None = None,
    wheels: WheelWriter | None = None,
    jobs: int | None = None,
) -> BuildResult:
    """Build a collection's root; write the CAR to ``car`` and a build directory to ``out``.

    An existing build directory at ``out`` is updated incrementally (see the module
    docstring). ``metadata`` fetches METADATA (PEP 658) files, ``wheels`` puts verified
    wheels into ``out``'s tree; both run in this process. ``jobs``: worker processes
    (default: one per core for large collections).
    Raises:
        CollectionError, PlatformError, PolicyError, WheelsetError: the collection does
            not load (the first bad file, with its path and code).
        BuildError: a declaration cannot be linked, or ``out`` is something else.
    """
    if wheels is not None and out is None:
        raise BuildError("wheels can only be written into a build directory", code="OUT")
    with (
        cycle_collection_paused(),
        tempfile.TemporaryDirectory(prefix="wheelset-build-") as spool_dir,
    ):
        settings = _read_settings(directory)
        if out is None:
            return _build(directory, settings, None, car, metadata, None, jobs, spool_dir)
        out = out.absolute()
        with _locked(out):
            _check_replaceable(out)
            return _build(directory, settings, out, car, metadata, wheels, jobs, spool_dir)


def _build(
    directory: Path,
    settings: _Settings,
    out: Path | None,
    car: Path | None,
    metadata: MetadataProvider | None,
    wheels: WheelWriter | None,
    jobs: int | None,
    spool_dir: str,
) -> BuildResult:
    stamp = time.time_ns()
    # Every project page shows the platforms: another table rebuilds every project.
    digest = hashlib.sha256(dump_json(settings.table)).digest()
    flags = (metadata is not None, wheels is not None, digest)
    state = _load_state(out, flags) if out is not None else None
    rels = _list_projects(directory)
    root_dir = str(directory)

    # Which projects can be reused from OUT as they are.
    reused: dict[str, _Project] = {}
    todo: list[str] = []
    if state is None:
        todo = rels
    else:
        old_car = str(out / CAR_FILE)  # type: ignore[operator]
        known = [(rel, state.projects[rel][0]) for rel in rels if rel in state.projects]
        changed = _changed_stats(root_dir, known, state.stamp, _jobs(len(known), jobs))
        for i, (rel, old_stats) in enumerate(known):
            old = state.projects[rel]
            if i in changed:
                stats = changed[i]
                if not stats or not stats[1] or _read_project(root_dir, rel, stats)[0] != old[1]:
                    continue  # rebuilt (or, without declarations left, dropped) below
            else:
                stats = old_stats
            offset, length = old[6]
            reused[rel] = _Project(
                rel,
                stats,
                old[1],
                old[2],
                old[3],
                old[4],
                old[5],
                (old_car, offset, length),
                *old[7:],
            )
        todo = [rel for rel in rels if rel not in reused]

    # Who depends on whom, before any page is made: a reused project whose dependents
    # changed is rebuilt too (its page lists them).
    scanned = _run(_Job(root_dir, None, None), todo, _jobs(len(todo), jobs), _scan_chunk)
    deps = dict(zip(todo, scanned, strict=True))
    deps.update((rel, p.deps) for rel, p in reused.items())
    dependents = dependents_of({rel.split("/", 1)[1]: names for rel, names in deps.items()})
    del deps
    for rel, project in list(reused.items()):
        if project.dependents != tuple(dependents.get(project.name, ())):
            del reused[rel]
            todo.append(rel)
    todo.sort()

    incremental = state is not None
    staged: Path | None = None
    tree: str | None = None
    if out is not None:
        if incremental:
            # Pages of rebuilt projects are made aside and moved in once all is built, so
            # a bad declaration leaves OUT as it was.
            tree = tempfile.mkdtemp(dir=out, prefix=_PAGES_PREFIX)
        else:
            staged = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
            staged.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700; give what mkdir gives
            tree = str(staged / TREE_DIR)
            os.mkdir(tree)
    try:
        writing_car = out is not None or car is not None
        job = _Job(
            root_dir,
            spool_dir if writing_car else None,
            tree,
            metadata,
            wheels,
            settings.platforms,
            dependents,
        )
        built = _run(job, todo, _jobs(len(todo), jobs))
        projects = sorted([*reused.values(), *built], key=lambda p: p.name)
        cids = [_cid(p.cid) for p in projects]
        root_blocks = MemoryBlockStore()
        known: dict[bytes, Imported] = {}
        sources = {p.cid: (*p.where, p.blocks) for p in projects}
        if state is not None:
            old_car = str(out / CAR_FILE)  # type: ignore[operator]
            for key, (raw, tsize, offset, length, blocks) in state.shards.items():
                known[key] = Imported(_cid(raw), tsize, 0)
                sources[raw] = (old_car, offset, length, blocks)
        shards: dict[bytes, Imported] = {}
        root, root_files = assemble_root(
            settings.table,
            [
                (ProjectRow(p.name, *p.row), Imported(cid, p.tsize, 0))
                for cid, p in zip(cids, projects, strict=True)
            ],
            sum(p.wheels for p in projects),
            store=root_blocks,
            known_shards=known,
            shards_out=shards,
            policy=settings.policy,
            parsed=settings.platforms,
        )
        if tree is not None and not incremental:
            for name, data in root_files.items():
                atomic_write_bytes(Path(tree) / name, data)
        result_blocks = None
        car_size = None
        if writing_car:
            target = (staged or out) / CAR_FILE if out is not None else car
            assert target is not None
            temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
            try:
                written = _write_car(temporary, root.cid, root_blocks, sources)
                car_size, result_blocks = written.size, written.blocks
                temporary.chmod(0o666 & ~current_umask())
                if out is not None and car is not None:
                    copy = car.with_name(f".{car.name}.tmp-{os.getpid()}")
                    try:
                        shutil.copyfile(temporary, copy)
                        os.replace(copy, car)
                    finally:
                        copy.unlink(missing_ok=True)
                if incremental:
                    _move_pages_in(out, Path(tree), state, projects, built, root_files)  # type: ignore[arg-type]
                os.replace(temporary, target)
            finally:
                temporary.unlink(missing_ok=True)
            if out is not None:
                base = staged or out
                new_state = _State(
                    flags,
                    stamp,
                    root.cid.to_bytes(),
                    car_size,
                    {
                        p.rel: (
                            p.stats,
                            p.key,
                            p.cid,
                            p.tsize,
                            p.wheels,
                            p.blocks,
                            written.placed[p.cid][:2]
                            if p.cid in written.placed
                            else written.relocate(*p.where),
                            p.deps,
                            p.dependents,
                            p.row,
                        )
                        for p in projects
                    },
                    {
                        key: (raw, shard.tsize, *written.placed[raw])
                        for key, shard in shards.items()
                        for raw in (shard.cid.to_bytes(),)
                    },
                )
                _save_state(base / STATE_FILE, new_state)
                atomic_write_bytes(base / ROOT_FILE, f"{root.cid}\n".encode())
        if out is not None:
            if staged is not None:
                _swap_in(staged, out)
                shutil.rmtree(staged, ignore_errors=True)  # now the previous OUT, if any
                staged = None
            else:
                os.unlink(out / INCOMPLETE_MARKER)
    finally:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
        if incremental and tree is not None:
            shutil.rmtree(tree, ignore_errors=True)
    return BuildResult(
        root.cid,
        root.tsize,
        len(projects),
        sum(p.wheels for p in projects),
        result_blocks,
        len(built),
        car_size,
    )
