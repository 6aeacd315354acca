"""The `wheelset build` stage: collection directory → root CID, CAR file, build directory.

A build works a project at a time, in two passes spread over worker processes (both
cores) unless METADATA or wheels are fetched, which happens in this process. The first
reads each project directory (``<prefix>/<project>/*.toml``), parses and checks it, and
stashes its declarations as compact records (and its dependency names) to a stash file;
the chunks of projects handed to workers are whole first-level buckets of the root's
HAMT. Once every project's dependency names are known (a project's page lists the
projects depending on it), the second makes each project's files from the records, links
its UnixFS directory and writes its blocks, depth-first, to a spool file; only a compact
record stays in memory. In a fresh build of a sharded root the second pass also links
each bucket of the root (ipfs.directory.hamt_link) but those holding the root's own
files, and spools the bucket's whole subtree in CAR order; the rest is linked here
(hamt_link, hamt_node) and the CAR is laid out depth-first from the root as pieces:
blocks made here and ranges of spool files, long ones copied in the kernel.

A build directory is

    OUT/ROOT         the root CID and a newline
    OUT/root.car     CARv1 of every generated block, the root as its only root
    OUT/tree/        the generated files (index pages, index.json, wheelset.json, *.metadata,
                     the collection's policy.toml);
                     with wheels included (--with-wheels), `ipfs add -r OUT/tree` gives ROOT
    OUT/.build-state what the next build may reuse (see below)

Incremental: the state (wheelset.build.state) keeps, per first-level bucket of the root,
its projects' records (content hash, directory CID, where their blocks sit in root.car,
dependency names, dependents) and its link and place in the CAR; per prefix directory,
the stat data of its projects. The next build into OUT stats every project directory and
declaration file (wheelset.build.sweep: on both cores; a prefix directory whose time
stamps did not change is not listed), re-reads only those whose stat data changed, and
rebuilds those whose content did, and those whose dependents did (their pages made aside
in OUT/.pages-*). Dependents are updated from the changed projects' old and new
dependency names (the dependents of a name that is no project are kept too, for a
project added under it). Only the buckets that hold a change are decoded and linked
again; the root page is the previous one with the changed rows spliced in. root.car is
updated in place: only what changed or moved is written (blocks that move both ways in
one build make it write the CAR anew). OUT/tree is then updated in place: the result is
byte-identical to a fresh build. While it updates, the marker OUT/.incomplete exists; a
build that finds it (a crash) rebuilds from scratch, and readers refuse such a
directory.
A fresh build is staged in ``.OUT.new-*`` beside OUT and swapped in with one atomic
rename-exchange where the system has it; stale staging directories of crashed builds are
removed by the next build (builds into one OUT are serialised by a lock file .OUT.lock).

Entry points: build_collection(), BuildResult; is_build_dir(), read_build_root(), ROOT_FILE,
CAR_FILE, TREE_DIR come from wheelset.build.layout.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import marshal
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from packaging.utils import canonicalize_name

from wheelset.build.layout import (
    CAR_FILE,
    INCOMPLETE_MARKER,
    ROOT_FILE,
    TREE_DIR,
    is_build_dir,
    read_build_root,
)
from wheelset.build.manifest import MetadataFile
from wheelset.build.pages import (
    dependency_names,
    project_page_end,
    root_page_frame,
    root_row,
    summary_of,
    wheel_name,
)
from wheelset.build.rootfiles import INDEX_PAGE, POLICY_NAME, PROJECT_FILE, dump_json
from wheelset.build.state import (
    BUCKETS,
    STATE_FILE,
    Bucket,
    Record,
    State,
    StateWriter,
    Stats,
    encode_bucket,
    pack_stats,
    stats_items,
)
from wheelset.build.sweep import sweep
from wheelset.build.tree import METADATA_SUFFIX, BuildError, root_files, wheel_parts
from wheelset.errors import WheelsetError
from wheelset.fsutil import atomic_write_bytes, current_umask, replacing, scratch_directory
from wheelset.gcpause import cycle_collection_paused, keep_until_exit
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import encode_car_header
from wheelset.ipfs.cid import CID, DAG_PB, InvalidCID, cid_text, decode_cid_bytes, parse_cid
from wheelset.ipfs.directory import (
    build_directory,
    directory_block,
    directory_node,
    hamt_hash,
    hamt_link,
    hamt_node,
    is_sharded,
)
from wheelset.ipfs.importer import Imported, import_bytes, one_block
from wheelset.ipfs.varint import decode_varint, encode_varint
from wheelset.model.collection import (
    CollectionError,
    decode_declaration,
    top_level,
)
from wheelset.model.declarations import (
    Declaration,
    DeclarationRecord,
    prefix_of,
    record_filename,
    relpath_for,
    written_record,
)
from wheelset.model.platforms import PLATFORMS_FILE, Platform, PlatformError, load_platforms
from wheelset.model.policy import POLICY_FILE, read_policy
from wheelset.model.safe_read import read_regular

if TYPE_CHECKING:  # imported when workers start: an incremental build has no pool
    import multiprocessing.pool

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

_CHUNK = 1024  # project directories per task handed to a worker
_RACY_NS = 2_000_000_000  # files changed this close to the last scan are re-read

_LINK_TAG, _HASH_TAG = 0x12, 0x0A  # dag-pb PBNode.Links (field 2), PBLink.Hash (field 1)
_V0_HASH_FIELD = b"\x22\x12\x20"  # 34 bytes follow: sha2-256 multihash (a CIDv0)
_V0_PREFIX = b"\x12\x20"  # a binary CIDv0: sha2-256, 32 bytes

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


_MISPLACED = "declarations live at <prefix>/<project>/<wheel>.toml"


def _list_prefixes(directory: Path) -> list[str]:
    """The collection's prefix directories, sorted (as the loader lists them).

    Raises:
        BuildError: a declaration at the top (run `wheelset check`).
    """
    prefixes, top_toml = top_level(directory)
    if top_toml:
        raise _layout_error(top_toml[0][0], _MISPLACED)
    return prefixes


def _list_prefix(root: str, prefix: str) -> list[str]:
    """The project directories of a prefix directory, sorted (none if it is gone).

    Raises:
        BuildError: a declaration directly in it.
    """
    names = []
    try:
        with os.scandir(f"{root}/{prefix}") as inner:
            for sub in inner:
                if sub.is_dir(follow_symlinks=False):
                    names.append(sub.name)
                elif sub.name.endswith(".toml"):
                    raise _layout_error(f"{prefix}/{sub.name}", _MISPLACED)
    except (FileNotFoundError, NotADirectoryError):
        return []
    names.sort()
    return names


def _has_toml(path: str) -> str | None:
    for base, _dirs, files in os.walk(path):
        for name in files:
            if name.endswith(".toml"):
                return os.path.join(base, name)
    return None


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
                    raise _layout_error(os.path.relpath(found, root), _MISPLACED)
            elif entry.name.endswith(".toml"):
                if st is None:
                    files.append((entry.name, 0, 0, 0, 0))
                    continue
                fs = entry.stat()
                files.append((entry.name, fs.st_size, fs.st_mtime_ns, fs.st_ctime_ns, fs.st_ino))
    files.sort()
    own = _NO_STATS if st is None else (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    return own, tuple(files)


_NO_STATS = (0, 0, 0, 0)


def _stat_or_none(root: str, rel: str) -> Stats | None:
    try:
        return _stat_project(root, rel)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _read_project(
    root: str, rel: str, stats: Stats
) -> tuple[bytes, list[DeclarationRecord], tuple[str, ...]]:
    """(hash of the project's declaration files, their declarations as records, in the
    order of their file names, and the records' CIDs as text).

    A file in the form `wheelset declare` writes takes one match (written_record()); any
    other is loaded the general way, which says what is wrong with it. The CID's text is
    the file's: project files show it, and formatting it again cost a tenth of a build.

    Raises:
        WheelsetError: a file that does not load or is not where its wheel name puts it.
    """
    digest = hashlib.blake2b(rel.encode(), digest_size=16)
    records = []
    texts = []
    prefix, project = rel.split("/", 1)
    if prefix_of(project) != prefix or canonicalize_name(project) != project:
        first = f"{rel}/{stats[1][0][0]}" if stats[1] else rel
        raise _layout_error(first, f"belongs at {prefix_of(project)}/{canonicalize_name(project)}/")
    for name, *_ in stats[1]:
        path = f"{rel}/{name}"
        try:
            # Regular files only: a link or a FIFO named *.toml is never followed or opened.
            data = read_regular(f"{root}/{path}")
        except OSError as e:
            raise WheelsetError(f"cannot read: {e.strerror or e}", path=path, code="IO") from e
        digest.update(b"\0%d\0%s\0" % (len(name), name.encode()))
        digest.update(data)
        try:
            text = data.decode("utf-8")
            record = written_record(text, path)
        except UnicodeDecodeError:
            record = None  # the general way reports it
        if record is not None:  # the written form: the CIDv0 (checked) on the second line
            start = text.index(_CID_LINE) + len(_CID_LINE)
            texts.append(text[start : start + _CID_V0_TEXT])
        else:
            decl, findings = decode_declaration(data, PurePosixPath(path))
            if findings:
                first = findings[0]
                raise WheelsetError(first.message, path=first.path, code=first.code)
            assert decl is not None
            if name != decl.filename[: -len(".whl")] + ".toml":
                raise _layout_error(path, f"belongs at {relpath_for(decl.filename)}")
            record = decl.to_record()
            texts.append(cid_text(record[4]))
        if record[1] != project:
            raise _layout_error(path, f"belongs at {relpath_for(record_filename(record))}")
        records.append(record)
    if len(records) > 1:
        order = sorted(range(len(records)), key=lambda i: record_filename(records[i]))
        return digest.digest(), [records[i] for i in order], tuple(texts[i] for i in order)
    return digest.digest(), records, tuple(texts)


_CID_LINE = '\ncontent-id = "'
_CID_V0_TEXT = 46  # characters of a CIDv0's text


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
    row: str  # its row on the root page (root_row())

    @property
    def name(self) -> str:
        return self.rel[3:]  # rel is "<prefix>/<name>", the prefix two hex digits


@dataclass
class _Job:
    """What a worker needs (inherited by fork): where to read, stash, spool and write pages."""

    root: str
    work_dir: str  # the build's temporary directory: stash and spool files
    car: bool  # whether blocks are spooled (a CAR is written)
    tree: str | None
    metadata: MetadataProvider | None = None
    wheels: WheelWriter | None = None
    platforms: Sequence[Platform] = ()
    dependents: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # A fresh build of a sharded root: the second pass links each first-level bucket of
    # the root but these (those of the root's own files, which need every project's row)
    # and spools its whole subtree at once, in CAR order (_link_buckets).
    bucketed: bool = False
    reserved: frozenset[int] = frozenset()
    files: dict[str, object] = field(default_factory=dict)  # open stash and spool files
    # The declarations read, kept for the second pass when it writes wheels (in this process).
    decls: dict[str, list[Declaration]] = field(default_factory=dict)

    def file(self, kind: str):
        """This process's ``kind`` file (stash or spool), opened for appending."""
        name = os.path.join(self.work_dir, f"{kind}-{os.getpid()}")
        if name not in self.files:
            self.files[name] = open(name, "ab")  # noqa: SIM115
        return self.files[name]


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


def _segment(root: bytes, blocks: Mapping[bytes, bytes]) -> tuple[bytes, int]:
    """The CAR sections of the blocks under ``root`` held in ``blocks`` (by binary CID),
    depth-first in link order, each once (wheels are linked, not held); and how many
    blocks."""
    out = []
    seen: set[bytes] = set()
    stack = [root]
    while stack:
        raw = stack.pop()
        if raw in seen or raw not in blocks:
            continue
        seen.add(raw)
        block = blocks[raw]
        out.append(_section(raw, block))
        stack.extend(reversed(_linked_cids(block)))
    return b"".join(out), len(out)


def _project_segment(
    cid: bytes,
    links: Sequence[tuple[bytes, bytes, int]],
    held: Mapping[bytes, bytes],
    files: int,
    sharded: bool,
) -> tuple[bytes, int]:
    """_segment() of a project's directory ``cid`` whose ``links`` directory_node() linked
    and ``held`` holds its blocks: in one step when they are the directory and ``files``
    distinct files of one block each, and the directory is not ``sharded`` (its links are
    then in the order directory_block() sorted ``links`` into), as nearly all are."""
    if sharded or len(held) != files + 1:
        return _segment(cid, held)
    parts = []  # the sections' parts, joined once
    for raw in (cid, *[raw for _, raw, _ in links if raw in held]):
        block = held[raw]
        parts += (encode_varint(len(raw) + len(block)), raw, block)
    return b"".join(parts), len(parts) // 3


def _write_pages(tree: str, name: str, files: Mapping[str, bytes]) -> Path:
    folder = os.path.join(tree, name)
    try:
        os.mkdir(folder)
    except FileExistsError:
        shutil.rmtree(folder)
        os.mkdir(folder)
    for filename, data in files.items():
        fd = os.open(os.path.join(folder, filename), _NEW_FILE, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    return Path(folder)


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


class _Held:
    """Blocks by binary CID, as the importer and the directory builder put them."""

    __slots__ = ("blocks",)

    def __init__(self) -> None:
        self.blocks: dict[bytes, bytes] = {}

    def put(self, cid: CID, block: bytes) -> None:
        self.blocks.setdefault(cid.to_bytes(), block)

    def get(self, cid: CID) -> bytes:
        return self.blocks[cid.to_bytes()]


# A project read by the first pass, as stashed for the second (marshal): (rel, stats,
# content hash, its declarations as records (Declaration.to_record()) sorted by file name,
# their METADATA by file name, its dependency names, the records' CIDs as text); for a
# directory without declarations, (rel, stats). Records, not pages: a tenth of the bytes,
# so the stash is written as it is (compressing pages cost more CPU than making them from
# the records).
_Stashed = tuple
# Where a first pass stashed a chunk: (file, offset, length).
_Place = tuple[str, int, int]


def _read_projects(rels: Sequence[str]) -> tuple[_Place, list[tuple[str, tuple[str, ...] | None]]]:
    """The first pass over these project directories: read and check them, stashed to a
    file of this process; return where, and each one's dependency names (None: no
    declarations, no project)."""
    job = _job
    assert job is not None
    read = []
    records: list[_Stashed] = []
    names: list[tuple[str, tuple[str, ...] | None]] = []
    root = job.root
    for rel in rels:
        if job.tree is None:
            # No stat data (no state is saved) and, first, no scandir: a project directory
            # holding only declaration files, read without error, is read as listed; any
            # other is read again the careful way, which tells a directory from a file.
            listed = os.listdir(f"{root}/{rel}")
            listed.sort()
            stats = (_NO_STATS, tuple([(name, 0, 0, 0, 0) for name in listed]))
            if listed and all(name.endswith(".toml") for name in listed):
                try:
                    read.append((rel, stats, *_read_project(root, rel, stats)))
                    continue
                except (WheelsetError, OSError):
                    pass
            stats = _stat_project(root, rel, stat=False)
        else:
            stats = _stat_or_none(root, rel) or (_NO_STATS, ())
        if stats[1]:
            read.append((rel, stats, *_read_project(root, rel, stats)))
        else:  # no declarations (left): no project, but its directory's stat data is kept
            records.append((rel, stats))
            names.append((rel, None))
    metadata: Mapping[str, bytes] = {}
    if job.metadata is not None or job.wheels is not None:
        from_record = Declaration.from_record
        made = {rel: [from_record(r) for r in records] for rel, _, _, records, _ in read}
        if job.wheels is not None:
            job.decls.update(made)
        if job.metadata is not None:
            metadata = job.metadata([d for decls in made.values() for d in decls])
    for rel, stats, key, decls, texts in read:
        name = rel.split("/", 1)[1]
        files: dict[str, bytes] = {}
        if job.metadata is not None:
            for decl in decls:
                filename = record_filename(decl)
                data = metadata.get(filename)
                if data is None:
                    raise BuildError("METADATA missing", path=decl[0], code="BUILD")
                files[filename] = data
        deps = dependency_names(
            name, decls[0][6] if len(decls) == 1 else [t for d in decls for t in d[6]]
        )
        records.append((rel, stats, key, decls, files, deps, texts))
        names.append((rel, deps))
    stash = job.file("stash")
    data = marshal.dumps(records)
    place = (stash.name, stash.tell(), len(data))  # type: ignore[attr-defined]
    stash.write(data)  # type: ignore[attr-defined]
    stash.flush()  # type: ignore[attr-defined]
    return place, names


def _finish_projects(place: _Place) -> list[_Project]:
    """The second pass over a stashed chunk: each project's files made, its page with its
    dependents, its directory built; its blocks go to this process's spool."""
    job = _job
    assert job is not None
    file, offset, length = place
    fd = os.open(file, os.O_RDONLY)
    try:
        records: list[_Stashed] = marshal.loads(_pread(fd, length, offset, file))
    finally:
        os.close(fd)
    spool = job.file("spool") if job.car else None
    sha256 = hashlib.sha256
    built = []
    segments: list[bytes] = []  # bucketed: the built projects' CAR sections, in order
    for record in records:
        if len(record) == 2:
            built.append(_Project(*record, b"", b"", 0, 0, 0, ("", 0, 0), (), (), _NO_ROW))
            continue
        rel, stats, key, decls, metadata, deps, texts = record
        name = rel.split("/", 1)[1]
        held = _Held()
        files: dict[str, bytes] = {}
        summary = ""
        if metadata:
            wheels = []
            for decl in decls:
                meta = None
                filename = wheel_name(decl)[0]
                data = metadata.get(filename)
                if data is not None:
                    imported = import_bytes(data, store=held)
                    meta = MetadataFile(imported.cid, hashlib.sha256(data).hexdigest(), len(data))
                    files[filename + METADATA_SUFFIX] = data
                    summary = summary or summary_of(data)  # the first wheel's that has one
                wheels.append((decl, meta))
        else:  # the pages are made from the records (sorted by file name), not declarations
            wheels = [(decl, None) for decl in decls]
        page, row, project_file, links = wheel_parts(
            name, wheels, platforms=job.platforms, summary=summary, texts=texts
        )
        dependents = tuple(job.dependents.get(name, ()))
        generated = {INDEX_PAGE: page + project_page_end(dependents), PROJECT_FILE: project_file}
        for filename, data in generated.items():
            block = one_block(data)
            if block is None:
                imported = import_bytes(data, store=held)
                links.append((_ENCODED[filename], imported.cid.to_bytes(), imported.tsize))
            else:
                raw = _V0_PREFIX + sha256(block).digest()
                held.blocks[raw] = block
                links.append((_ENCODED[filename], raw, len(block)))
        basic = directory_block(links)
        if basic is None:  # sharded
            cid, tsize = directory_node(links, store=held)
        else:
            block, tsize = basic
            cid = _V0_PREFIX + sha256(block).digest()
            held.blocks[cid] = block
        where = ("", 0, 0)
        blocks = 0
        if spool is not None:
            sharded = basic is None
            segment, blocks = _project_segment(cid, links, held.blocks, len(generated), sharded)
            if job.bucketed:  # placed by _link_buckets
                segments.append(segment)
            else:
                where = (spool.name, spool.tell(), len(segment))  # type: ignore[attr-defined]
                spool.write(segment)  # type: ignore[attr-defined]
        if job.tree is not None:
            folder = _write_pages(job.tree, name, {**generated, **files})
            if job.wheels is not None:
                for decl in job.decls.pop(rel):
                    job.wheels(decl, folder)
        built.append(
            _Project(
                rel,
                stats,
                key,
                cid,
                tsize,
                len(decls),
                blocks,
                where,
                deps,
                dependents,
                root_row(row),
            )
        )
    if spool is not None:
        if job.bucketed:
            built = _link_buckets(built, segments, job.reserved, spool, job.tree is not None)
        spool.flush()  # type: ignore[attr-defined]
    return built


_NO_ROW = ""
_ENCODED = {INDEX_PAGE: INDEX_PAGE.encode(), PROJECT_FILE: PROJECT_FILE.encode()}
_PROJECT_FIELDS = len(_Project._fields)


class _Linked(NamedTuple):
    """A first-level bucket of the root linked by a worker: its link in the root (link
    name, binary CID, Tsize) and its subtree's CAR sections in a spool (file, offset,
    length, number of blocks)."""

    index: int
    link: tuple[bytes, bytes, int]
    where: tuple[str, int, int, int]


def _link_buckets(
    built: list[_Project],
    segments: Sequence[bytes],
    reserved: frozenset[int],
    spool,
    placing: bool,
) -> list[_Project | _Linked]:
    """Link the buckets of the root that ``built`` (whole buckets, in bucket order, with
    the CAR sections of its projects in ``segments``) fills, but the ``reserved`` ones, and
    write each one's subtree to ``spool`` as the CAR will hold it, so that the CAR is laid
    out from a few long ranges; the projects of reserved buckets are spooled one by one.
    The projects come back, followed by the buckets linked; placed in the spool, those of
    linked buckets only with ``placing`` (for a build directory's state: a CAR alone is
    laid out from the buckets' ranges)."""
    out: list[_Project | _Linked] = []
    linked: list[_Linked] = []
    group: list[tuple[_Project, bytes, bytes]] = []
    found = iter(segments)
    hashes = [hamt_hash(p.name.encode()) for p in built]  # each name's, once
    for position, project in enumerate(built):
        if project.cid:
            group.append((project, next(found), hashes[position]))
        else:
            out.append(project)
        index = hashes[position][0]
        if (position + 1 < len(built) and hashes[position + 1][0] == index) or not group:
            continue
        if index in reserved:
            for member, segment, _ in group:
                where = (spool.name, spool.tell(), len(segment))
                spool.write(segment)
                out.append(member._replace(where=where))
        else:
            out.extend(_spool_bucket(index, group, spool, linked, placing))
        group = []
    return out + linked


def _spool_bucket(
    index: int,
    group: Sequence[tuple[_Project, bytes, bytes]],
    spool,
    linked: list[_Linked],
    placing: bool,
) -> list[_Project]:
    """Link one bucket of the root (its projects, their CAR sections and the hamt_hash()
    of their names) and spool its subtree, laid out as _layout_car() lays out the root;
    append it to ``linked`` and return its projects, placed in the spool with
    ``placing``."""
    shards = _Held()
    members = [(hashed, p.name.encode(), p.tsize, p.cid) for p, _, hashed in group]
    link = hamt_link(members, index, 0, 0, shards)  # type: ignore[arg-type]
    held = b"".join([segment for _, segment, _ in group])
    sources: dict[bytes, tuple[str, int, int, int]] = {}
    pos = 0
    for project, segment, _ in group:
        sources[project.cid] = ("", pos, len(segment), project.blocks)
        pos += len(segment)
    layout = _layout_car(link[1], shards.blocks, sources, header=False)
    view = memoryview(held)
    start = spool.tell()
    for piece in layout.pieces:
        spool.write(piece if type(piece) is bytes else view[piece[1] : piece[1] + piece[2]])
    linked.append(_Linked(index, link, (spool.name, start, layout.size, layout.blocks)))
    if not placing:
        return [p for p, _, _ in group]
    placed = layout.placed
    name = spool.name
    return [
        _Project(*p[:7], (name, start + placed[p.cid][0], len(segment)), *p[8:])
        for p, segment, _ in group
    ]


def _read_chunk(rels: Sequence[str]) -> list | tuple[str, str | None, str]:
    return _in_worker(_read_projects, rels, listed=True)


def _finish_chunk(places: Sequence[tuple]) -> bytes | tuple[str, str | None, str]:
    """The second pass over a chunk (its place in a stash, its projects' dependents, the
    job's bucketed and reserved), its projects and buckets as marshal bytes of plain
    tuples (_made() makes them again): a tenth of the CPU of pickling named tuples."""
    job = _job
    assert job is not None
    place, dependents, job.bucketed, job.reserved = places[0]
    job.dependents = dependents
    made = _in_worker(_finish_projects, place)
    return made if type(made) is tuple else marshal.dumps([tuple(m) for m in made])


def _made(data: bytes) -> list[_Project | _Linked]:
    new_project, new_linked = _Project._make, _Linked._make
    return [
        new_project(m) if len(m) == _PROJECT_FIELDS else new_linked(m) for m in marshal.loads(data)
    ]


def _in_worker(
    task: Callable, argument: object, *, listed: bool = False
) -> list | tuple[str, str | None, str]:
    """``task(argument)`` for _run(), as a list (``listed``: in one); an error comes back
    as (message, path, code)."""
    try:
        result = task(argument)
        return [result] if listed else result
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
    import multiprocessing.pool

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


def _run(
    job: _Job,
    items: Sequence,
    jobs: int,
    task: Callable,
    chunk: int | None = None,
    key: Callable | None = None,
    each: Callable[[list], None] | None = None,
    back: Callable[[bytes], list] | None = None,
    pool: multiprocessing.pool.Pool | None = None,
    prepare: Callable[[list], object] | None = None,
) -> list:
    """Run ``task`` on chunks of ``items`` on ``jobs`` processes (forked, so they inherit
    ``job``), in order: the results, joined; ``chunk`` items a task (by default _CHUNK).
    With ``key``, a chunk never splits a run of items with one key. ``each`` is given
    each chunk's results in order as they come, while the workers go on; ``back`` makes
    them from what ``task`` returned, when that is bytes. ``pool``: workers forked
    already (with ``job``), used whatever ``jobs`` says. ``prepare`` makes each chunk into
    what ``task`` is given, as it is handed to a worker."""
    global _job
    _job = job
    chunk = chunk or _CHUNK
    chunks = []
    start = 0
    while start < len(items):
        end = min(start + chunk, len(items))
        while key is not None and end < len(items) and key(items[end]) == key(items[end - 1]):
            end += 1
        chunks.append(items[start:end])
        start = end
    out: list = []
    try:
        serial = jobs <= 1 or len(chunks) <= 1 or job.metadata or job.wheels
        with contextlib.ExitStack() as stack:
            tasks = chunks if prepare is None else map(prepare, chunks)
            if pool is not None:
                results: Iterator = pool.imap(task, tasks)
            elif serial:
                results = map(task, tasks)
            else:
                results = stack.enter_context(_workers(jobs)).imap(task, tasks)
            for result in results:
                if isinstance(result, tuple):
                    message, path, code = result
                    raise WheelsetError(message, path=path, code=code)
                if back is not None:
                    result = back(result)
                if each is not None:
                    each(result)
                out.extend(result)
        return out
    finally:
        for file in job.files.values():
            file.close()  # type: ignore[attr-defined]
        job.files.clear()
        _job = None


# --- the CAR ---------------------------------------------------------------------------

# A piece of a CAR being written: bytes, or (file, offset, length) to copy.
_Piece = bytes | tuple[str, int, int]
_COPY_LIMIT = 1 << 16  # bytes; shorter ranges are read and gathered, longer ones copied
_WRITE_SIZE = 1 << 20  # bytes gathered before one write


@dataclass(frozen=True, slots=True)
class _Layout:
    """A CAR to write: its pieces, its size and blocks, and where each subtree written or
    copied whole lands (binary CID -> (offset, length, blocks))."""

    pieces: list[_Piece]
    size: int
    blocks: int
    placed: dict[bytes, tuple[int, int, int]]


def _layout_car(
    root: bytes,
    held: Mapping[bytes, bytes],
    sources: Mapping[bytes, tuple[str, int, int, int]],
    *,
    header: bool = True,
) -> _Layout:
    """The CAR of the root ``root``: blocks of ``held`` depth-first in link order, and for
    each CID in ``sources`` the sections recorded there as (file, offset, length, number of
    blocks): a subtree already in depth-first order. Wheels (linked, neither held nor in
    ``sources``) and repeated blocks are left out. Without ``header``: the sections alone
    (a subtree of a CAR)."""
    pieces: list[_Piece] = []
    if header:
        encoded = encode_car_header([_cid(root)])
        pieces.append(encode_varint(len(encoded)) + encoded)
    pos = len(pieces[0]) if pieces else 0
    placed: dict[bytes, tuple[int, int, int]] = {}
    count = 0

    def emit(raw: bytes) -> None:
        nonlocal count, pos
        start = pos
        source = sources.get(raw)
        if source is not None:
            file, offset, length, blocks = source
            last = pieces[-1] if pieces else b""
            if type(last) is tuple and last[0] == file and last[1] + last[2] == offset:
                pieces[-1] = (file, last[1], last[2] + length)  # contiguous: one copy
            else:
                pieces.append((file, offset, length))
            pos += length
            placed[raw] = (start, length, blocks)
            count += blocks
            return
        block = held.get(raw)
        if block is None or raw in placed:
            return  # a wheel or METADATA file (linked, not built), or a repeat
        section = _section(raw, block)
        pieces.append(section)
        pos += len(section)
        placed[raw] = (start, 0, 0)
        before = count
        count += 1
        for child in _linked_cids(block):
            emit(child)
        placed[raw] = (start, pos - start, count - before)

    emit(root)
    return _Layout(pieces, pos, count, placed)


def _write_car(target: Path, pieces: Sequence[_Piece]) -> None:
    """Write a new CAR file from its pieces: small ones gathered into large writes, long
    ranges copied in the kernel."""
    files: dict[str, int] = {}
    pending: list[bytes] = []
    size = 0
    try:
        with open(target, "wb") as f:
            for piece in pieces:
                if type(piece) is bytes:
                    pending.append(piece)
                    size += len(piece)
                else:
                    file, offset, length = piece  # type: ignore[misc]
                    fd = files.get(file)
                    if fd is None:
                        fd = files[file] = os.open(file, os.O_RDONLY)
                    if length <= _COPY_LIMIT:
                        pending.append(_pread(fd, length, offset, file))
                        size += length
                    else:
                        f.write(b"".join(pending))
                        pending.clear()
                        f.flush()
                        _copy(fd, f.fileno(), offset, length, file)
                if size >= _WRITE_SIZE:
                    f.write(b"".join(pending))
                    pending.clear()
                    size = 0
            f.write(b"".join(pending))
    finally:
        for fd in files.values():
            os.close(fd)


def _pread(fd: int, length: int, offset: int, name: str) -> bytes:
    data = os.pread(fd, length, offset)
    if len(data) != length:
        raise BuildError(f"internal: {name} is shorter than recorded", code="BUILD")
    return data


_MOVE_SIZE = 8 << 20  # bytes moved at a time inside a CAR updated in place
_NO_KERNEL_COPY = (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP)


def _copy(source: int, target: int, offset: int, length: int, name: str, to: int | None = None):
    """Copy a range in the kernel (at the target's position, or at ``to``); through this
    process where the kernel will not, as between two file systems (a spool in the
    temporary directory, the CAR given elsewhere)."""
    while length:
        try:
            n = os.copy_file_range(source, target, length, offset, to)
        except OSError as e:
            if e.errno not in _NO_KERNEL_COPY:
                raise
            data = _pread(source, min(length, _MOVE_SIZE), offset, name)
            n = os.write(target, data) if to is None else os.pwrite(target, data, to)
        if n <= 0:
            raise BuildError(f"internal: {name} is shorter than recorded", code="BUILD")
        offset += n
        length -= n
        if to is not None:
            to += n


def _update_car(path: Path, pieces: Sequence[_Piece], size: int) -> bool:
    """Turn the CAR at ``path`` into the one of ``pieces`` in place, writing only what
    moved or changed; False (nothing written) when its ranges moved both ways, which a
    single pass cannot do without overwriting some before they are read.

    Pieces copied from ``path`` itself are moved if their place changed: all forwards
    (processed last to first) or all backwards (first to last), so that none is
    overwritten before it is read.
    """
    own = str(path)
    placed = []
    pos = 0
    for piece in pieces:
        length = len(piece) if type(piece) is bytes else piece[2]  # type: ignore[misc]
        placed.append((pos, piece))
        pos += length
    shifts = {at - p[1] for at, p in placed if type(p) is tuple and p[0] == own}
    if any(s > 0 for s in shifts) and any(s < 0 for s in shifts):
        return False
    order = reversed(placed) if any(s > 0 for s in shifts) else iter(placed)
    files: dict[str, int] = {}
    fd = os.open(path, os.O_RDWR)
    try:
        for at, piece in order:
            if type(piece) is bytes:
                os.pwrite(fd, piece, at)
                continue
            file, offset, length = piece  # type: ignore[misc]
            if file == own:
                if offset != at:
                    _move(fd, offset, at, length, own)
                continue
            source = files.get(file)
            if source is None:
                source = files[file] = os.open(file, os.O_RDONLY)
            _copy(source, fd, offset, length, file, at)
        os.ftruncate(fd, size)
    finally:
        os.close(fd)
        for source in files.values():
            os.close(source)
    return True


def _move(fd: int, offset: int, to: int, length: int, name: str) -> None:
    """Move a range inside a file, in steps read whole before they are written: from its
    end when it moves forwards."""
    steps = range(0, length, _MOVE_SIZE)
    for start in reversed(steps) if to > offset else steps:
        step = min(_MOVE_SIZE, length - start)
        os.pwrite(fd, _pread(fd, step, offset + start, name), to + start)


# --- the build directory -----------------------------------------------------------------


def _was_build_dir(path: Path) -> bool:
    """Complete or interrupted: something a build may replace."""
    return (path / ROOT_FILE).is_file() or (path / INCOMPLETE_MARKER).exists()


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where unsupported."""
    import ctypes  # here: an incremental build, which never swaps, starts faster without
    import ctypes.util

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


# --- the state of a build directory ---------------------------------------------------


def _rel(name: str) -> str:
    return f"{prefix_of(name)}/{name}"


def _bucket_order(rel: str) -> bytes:
    return hamt_hash(rel[3:].encode())  # rel is "<prefix>/<name>", the prefix two hex digits


def _bucket_of(name: str) -> int:
    return hamt_hash(name.encode())[0]


class _Old:
    """The previous build as the next one sees it (an empty one for a fresh build)."""

    def __init__(self, state: State | None, car: str | None, page: bytes = b"") -> None:
        self.state = state
        self.car = car
        self.header: dict = state.header if state is not None else {}
        self.page = page

    def bucket(self, index: int) -> Bucket:
        return self.state.bucket(index) if self.state is not None else Bucket()

    def record(self, name: str) -> Record | None:
        return None if self.state is None else self.bucket(_bucket_of(name)).projects.get(name)


def _load_state(out: Path, flags: tuple[bool, bool, bytes]) -> _Old | None:
    """The previous build's state when it can be trusted, else None (a fresh build)."""
    try:
        if not is_build_dir(out):
            return None
        state = State(out / STATE_FILE)
        header = state.header
        page_path = out / TREE_DIR / INDEX_PAGE
        st = page_path.stat()
        if (
            header["flags"] != flags
            or header["root"] != parse_cid((out / ROOT_FILE).read_text().strip()).to_bytes()
            or header["car_size"] != (out / CAR_FILE).stat().st_size
            or header["page"] != (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        ):
            return None
        return _Old(state, str(out / CAR_FILE), page_path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError, KeyError, InvalidCID):
        return None


@dataclass
class _Changes:
    """What a build does to the previous one."""

    todo: set[str] = field(default_factory=set)  # project directories to build (rel)
    removed: set[str] = field(default_factory=set)  # projects gone (names)
    stats: dict[str, dict[str, Stats | None]] = field(default_factory=dict)  # prefix -> updates
    own: dict[str, tuple[int, int]] = field(default_factory=dict)  # prefix dirs' time stamps


def _find_changes(root: str, old: _Old, prefixes: list[str], jobs: int | None) -> _Changes:
    changes = _Changes()
    if old.state is None:
        for prefix in prefixes:
            st = os.stat(f"{root}/{prefix}")  # before listing: a later change is seen next time
            changes.own[prefix] = (st.st_mtime_ns, st.st_ctime_ns)
            changes.todo.update(f"{prefix}/{n}" for n in _list_prefix(root, prefix))
        return changes
    count = old.header["projects"]
    for prefix, own, suspects, before in sweep(root, old.state, prefixes, _jobs(count, jobs)):
        changes.own[prefix] = own
        updates = changes.stats.setdefault(prefix, {})
        names = set(suspects)
        if before is not None:  # projects may have been added or removed
            names.update(set(_list_prefix(root, prefix)).symmetric_difference(before))
        for name in sorted(names):
            rel = f"{prefix}/{name}"
            updates[name] = stats = _stat_or_none(root, rel)
            record = old.record(name) if _rel(name) == rel else None
            if stats is None or not stats[1]:
                if record is not None:
                    changes.removed.add(name)
            elif record is None or _read_project(root, rel, stats)[0] != record[0]:
                changes.todo.add(rel)
    return changes


def _dependents(
    old: _Old, changes: _Changes, scanned: Mapping[str, tuple[str, ...] | None]
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Who depends on the projects to build, and the dependents of names that are no
    project, as far as this build changes them: (project -> dependents, name ->
    dependents). Kept projects whose dependents change are added to ``changes.todo``
    (their page lists them)."""
    adds: dict[str, set[str]] = {}
    drops: dict[str, set[str]] = {}
    after: set[str] = set()  # projects after this build, of those it touches
    touched: set[str] = set(changes.removed)
    for rel, deps in scanned.items():
        name = rel.split("/", 1)[1]
        touched.add(name)
        record = old.record(name)
        before = set(record[7]) if record is not None else set()
        now = set(deps) if deps is not None else set()
        if deps is not None:
            after.add(name)
        for n in before - now:
            drops.setdefault(n, set()).add(name)
        for n in now - before:
            adds.setdefault(n, set()).add(name)
    for name in changes.removed:
        record = old.record(name)
        assert record is not None
        for n in record[7]:
            drops.setdefault(n, set()).add(name)
    projects: dict[str, tuple[str, ...]] = {}
    dangling: dict[str, tuple[str, ...]] = {}
    for name in sorted(touched | adds.keys() | drops.keys()):
        record = old.record(name)
        if record is not None:
            base = record[8]
        elif old.state is not None:
            base = old.bucket(_bucket_of(name)).dangling.get(name, ())
        else:
            base = ()
        final = base
        if name in adds or name in drops:
            final = tuple(sorted(set(base) - drops.get(name, set()) | adds.get(name, set())))
        is_project = name in after or (
            record is not None and name not in touched and name not in changes.removed
        )
        if is_project:
            projects[name] = final
            if name not in after and tuple(final) != tuple(record[8]):  # type: ignore[index]
                changes.todo.add(_rel(name))
        else:
            dangling[name] = final
    return projects, dangling


class _FreshDependents:
    """What _dependents() gives for a fresh build, gathered chunk by chunk as the first
    pass reads (add()), and given out chunk by chunk to the second (chunk(), then
    dangling()), so that nothing is left to do between the passes."""

    def __init__(self) -> None:
        self.projects = 0
        self.names = 0  # Σ len(name) of the projects
        self.of: dict[str, list[str]] = {}  # name -> the projects depending on it

    def add(self, chunk: Sequence[tuple[_Place, Sequence[tuple[str, tuple[str, ...] | None]]]]):
        of = self.of
        for _, read in chunk:
            for rel, deps in read:
                if deps is None:
                    continue
                name = rel[3:]  # rel is "<prefix>/<name>", the prefix two hex digits
                self.projects += 1
                self.names += len(name)
                for dep in deps:
                    found = of.get(dep)
                    if found is None:
                        of[dep] = [name]
                    else:
                        found.append(name)

    def chunk(
        self, read: Sequence[tuple[str, tuple[str, ...] | None]]
    ) -> dict[str, tuple[str, ...]]:
        """The dependents, sorted, of the projects of a chunk the first pass read (those
        that have any), once every chunk is added; each project is asked for once."""
        of = self.of
        return {
            name: tuple(sorted(found))
            for rel, deps in read
            if deps is not None and (found := of.pop(name := rel[3:], None))
        }

    def dangling(self) -> dict[str, tuple[str, ...]]:
        """The dependents of names that are no project, sorted, once chunk() was asked
        for every chunk."""
        of = self.of
        return {name: tuple(sorted(of[name])) for name in sorted(of)}


_PAGES_PREFIX = ".pages-"


def _move_pages_in(
    out: Path,
    pages: Path,
    old: _Old,
    changes: _Changes,
    built: Sequence[_Project],
    root_files: Mapping[str, bytes],
    cids: Mapping[str, tuple[bytes, int]],
) -> None:
    """Update OUT/tree in place under the marker: rebuilt projects' directories moved in,
    gone projects' removed, the root's own files that changed (by ``cids``) replaced."""
    atomic_write_bytes(out / INCOMPLETE_MARKER, b"")
    tree = out / TREE_DIR
    for project in built:
        target = tree / project.name
        if target.exists() and _exchange(pages / project.name, target):
            shutil.rmtree(pages / project.name)
        else:
            shutil.rmtree(target, ignore_errors=True)
            os.rename(pages / project.name, target)
    kept = {p.name for p in built}
    for name in {*changes.removed, *(rel.split("/", 1)[1] for rel in changes.todo)} - kept:
        shutil.rmtree(tree / name, ignore_errors=True)
    before = old.header.get("files", {})
    _write_root_files(tree, {n: data for n, data in root_files.items() if cids[n] != before.get(n)})
    if POLICY_NAME not in root_files:  # the collection's policy.toml was removed
        (tree / POLICY_NAME).unlink(missing_ok=True)


def _write_root_files(tree: Path, files: Mapping[str, bytes]) -> None:
    """Replace the root's own files in a tree being built or updated (under OUT's marker:
    a temporary file a crash leaves goes with the tree, which the next build makes anew;
    so no sweep of the tree's hundreds of thousands of entries for stale ones)."""
    for name, data in files.items():
        temporary = tree / f".{name}.{os.getpid()}.tmp"
        try:
            with open(temporary, "wb") as f:
                f.write(data)
            os.replace(temporary, tree / name)
        finally:
            temporary.unlink(missing_ok=True)


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
        raise CollectionError("not a collection directory", path=directory, code="IO")
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
    keep: bool = False,
) -> BuildResult:
    """Build a collection's root; write the CAR to ``car`` and a build directory to ``out``.

    An existing build directory at ``out`` is updated incrementally (see the module
    docstring). ``metadata`` fetches METADATA (PEP 658) files, ``wheels`` puts verified
    wheels into ``out``'s tree; both run in this process. ``jobs``: worker processes
    (default: one per core for large collections). ``keep``: what the build held in
    memory is left to the process's exit (for a command that ends with the build:
    freeing it object by object would only delay the exit).
    Raises:
        CollectionError, PlatformError, PolicyError, WheelsetError: the collection does
            not load (the first bad file, with its path and code).
        BuildError: a declaration cannot be linked, or ``out`` is something else.
    """
    if wheels is not None and out is None:
        raise BuildError("wheels can only be written into a build directory", code="OUT")
    with (
        cycle_collection_paused(),
        scratch_directory("wheelset-build-") as spool_dir,
    ):
        settings = _read_settings(directory)
        if out is None:
            return _build(directory, settings, None, car, metadata, None, jobs, spool_dir, keep)
        out = out.absolute()
        with _locked(out):
            _check_replaceable(out)
            return _build(directory, settings, out, car, metadata, wheels, jobs, spool_dir, keep)


def _build(
    directory: Path,
    settings: _Settings,
    out: Path | None,
    car: Path | None,
    metadata: MetadataProvider | None,
    wheels: WheelWriter | None,
    jobs: int | None,
    spool_dir: str,
    keep: bool,
) -> BuildResult:
    stamp = time.time_ns()
    # Every project page shows the platforms: another table rebuilds every project.
    digest = hashlib.sha256(dump_json(settings.table)).digest()
    flags = (metadata is not None, wheels is not None, digest)
    root_dir = str(directory)
    old = (_load_state(out, flags) if out is not None else None) or _Old(None, None)
    incremental = old.state is not None
    changes = _find_changes(root_dir, old, _list_prefixes(directory), jobs)

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
        job = _Job(root_dir, spool_dir, writing_car, tree, metadata, wheels, settings.platforms)
        made, entered, dangling = _passes(job, old, changes, settings, jobs)
        del job
        if entered.linked:
            made = [p for p in made if type(p) is not _Linked]
        built = [p for p in made if p.cid]
        root, layout, files, new = _assemble(
            old, settings, changes, built, dangling, entered, placing=out is not None
        )
        if car is not None and out is None:
            _replace_with(car, layout.pieces)
        elif out is not None:
            base = staged or out
            if incremental:
                _move_pages_in(out, Path(tree), old, changes, built, files, new.files)  # type: ignore[arg-type]
                if not _update_car(out / CAR_FILE, layout.pieces, layout.size):
                    _replace_with(out / CAR_FILE, layout.pieces)
            else:
                _write_root_files(Path(tree), files)  # type: ignore[arg-type]
                _write_car(base / CAR_FILE, layout.pieces)
                (base / CAR_FILE).chmod(0o666 & ~current_umask())
            if car is not None:
                with replacing(car) as copy:
                    shutil.copyfile(base / CAR_FILE, copy)
            _save_state(base, old, changes, made, root, layout, new, stamp, flags)
            atomic_write_bytes(base / ROOT_FILE, f"{_cid(root)}\n".encode())
            if staged is not None:
                _swap_in(staged, out)
                # ``staged`` is now the previous OUT, if any. Interrupted while deleting it,
                # the build is still done; the next build's lock sweeps what is left.
                previous, staged = staged, None
                shutil.rmtree(previous, ignore_errors=True)
            else:
                os.unlink(out / INCOMPLETE_MARKER)
    finally:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
        if incremental and tree is not None:
            shutil.rmtree(tree, ignore_errors=True)
    if keep:
        keep_until_exit((made, built, entered, dangling, layout, new, changes, old))
    return BuildResult(
        _cid(root),
        new.tsize,
        new.projects,
        new.wheels,
        layout.blocks if writing_car else None,
        len(built),
        layout.size if writing_car else None,
    )


def _passes(
    job: _Job, old: _Old, changes: _Changes, settings: _Settings, jobs: int | None
) -> tuple[list[_Project | _Linked], _Entered, dict[str, tuple[str, ...]]]:
    """Both passes over the projects to build: (what the second made, the projects entered
    under the new root, the dependents of names that are no project)."""
    # Read every project to build and make its files but the end of its page, which
    # lists the projects depending on it: known once all are read. A kept project
    # whose dependents changed is built again. In the order of the root's buckets:
    # each worker's spool then holds runs of neighbours in the CAR, copied as one range.
    todo = sorted(changes.todo, key=_bucket_order)
    workers = _jobs(len(todo), jobs)
    incremental = old.state is not None
    with contextlib.ExitStack() as stack:
        pool = None
        if not (incremental or job.metadata or job.wheels) and workers > 1 and len(todo) > _CHUNK:
            # One set of workers for both passes, forked while this process is small:
            # no second fork of what the first pass left here, whose pages would count
            # in every worker's resident memory.
            pool = stack.enter_context(_forked(job, workers))
        gathered: _FreshDependents | None = None
        if incremental:
            stashed = _run(job, todo, workers, _read_chunk, key=_rel_bucket)
            scanned = {rel: deps for _, read in stashed for rel, deps in read}
            dependents, dangling = _dependents(old, changes, scanned)
            del scanned
            get = dependents.get

            def chunk_dependents(read: Sequence[tuple[str, tuple[str, ...] | None]]) -> dict:
                return {n: d for rel, deps in read if deps is not None and (d := get(n := rel[3:]))}
        else:
            # Who depends on whom is gathered here as the workers read, not after; each
            # chunk's dependents are sorted out as it is handed to a worker (by the pool's
            # feeding thread, while the workers build the chunks before it).
            gathered = _FreshDependents()
            stashed = _run(
                job, todo, workers, _read_chunk, key=_rel_bucket, each=gathered.add, pool=pool
            )
            if job.car:
                job.bucketed, job.reserved = _buckets_to_link(settings, gathered)
            chunk_dependents = gathered.chunk
        more = sorted(changes.todo.difference(todo), key=_bucket_order)
        stashed += _run(job, more, _jobs(len(more), jobs), _read_chunk)
        setting = (job.bucketed, job.reserved)

        def with_dependents(chunk: Sequence[tuple[_Place, Sequence]]) -> list[tuple]:
            # Each chunk goes with the dependents of its projects (the workers were forked
            # before they were known).
            return [(place, chunk_dependents(read), *setting) for place, read in chunk]

        # The projects are entered under the new root here as the workers make them.
        entered = _Entered(old, job.reserved if job.bucketed and job.tree is None else None)
        made = _run(
            job,
            stashed,
            _jobs(len(todo) + len(more), jobs),
            _finish_chunk,
            1,
            each=entered.add,
            back=_made,
            pool=pool,
            prepare=with_dependents,
        )
        del stashed
        if gathered is not None:
            dangling = gathered.dangling()
    return made, entered, dangling


@contextlib.contextmanager
def _forked(job: _Job, jobs: int) -> Iterator[multiprocessing.pool.Pool]:
    """_workers() forked with ``job`` (for several _run() calls)."""
    global _job
    _job = job
    try:
        with _workers(jobs) as pool:
            _job = None  # the workers have it
            yield pool
    finally:
        _job = None


def _rel_bucket(rel: str) -> int:
    return _bucket_of(rel.split("/", 1)[1])


def _buckets_to_link(settings: _Settings, read: _FreshDependents) -> tuple[bool, frozenset[int]]:
    """For a fresh build once its projects are read: whether the root is sharded, so that
    the workers link its buckets (_link_buckets), and the buckets they leave to
    _assemble(): those of the root's own files."""
    own = root_files(settings.table, b"", 0, 0, settings.policy)
    if not is_sharded(_root_estimate(read.names, read.projects, own)):
        return False, frozenset()
    return True, frozenset(_bucket_of(name) for name in own)


def _root_estimate(names: int, count: int, files: Mapping[str, bytes]) -> int:
    """Kubo's size estimate of the root directory (estimated_directory_size) from the
    projects' Σ len(name) and count and the root's own files."""
    return names + _CID_LENGTH * count + sum(len(name) + _CID_LENGTH for name in files)


def _replace_with(target: Path, pieces: Sequence[_Piece]) -> None:
    with replacing(target) as temporary:
        _write_car(Path(temporary), pieces)


@dataclass
class _NewRoot:
    """The new root's figures and its buckets as the state records them."""

    tsize: int
    projects: int
    wheels: int
    names: int  # Σ len(name) of the projects
    sharded: bool
    files: dict[str, tuple[bytes, int]]  # the root's own files: name -> (CID, Tsize)
    buckets: dict[int, Bucket]  # the buckets changed, whole
    links: dict[int, tuple[bytes, bytes, int] | None]  # bucket -> its link in the root


_CID_LENGTH = 34  # bytes of a CIDv0, as every directory and page of a root has


class _Entered:
    """The built projects entered in their buckets as they come (add()), for _assemble():
    their records, where their blocks are, their root page rows; and the buckets the
    workers linked (a fresh build). With ``reserved`` (the buckets the workers do not
    link, when they link the others for a CAR alone), the projects of the other buckets
    are only counted and their rows kept: nothing places or records them."""

    def __init__(self, old: _Old, reserved: frozenset[int] | None = None) -> None:
        header = old.header
        self.old = old
        self.reserved = reserved
        self.count = header.get("projects", 0)
        self.wheels = header.get("wheels", 0)
        self.names = header.get("names", 0)
        self.changed: dict[int, Bucket] = {}
        self.sources: dict[bytes, tuple[str, int, int, int]] = {}
        self.rows: dict[str, str | None] = {}  # name -> its new root page row (None: no row)
        self.linked: dict[int, _Linked] = {}

    def bucket(self, name: str) -> Bucket:
        index = _bucket_of(name)
        found = self.changed.get(index)
        if found is None:
            found = self.changed[index] = self.old.bucket(index)
        return found

    def add(self, made: Sequence[_Project | _Linked]) -> None:
        sources, rows, reserved = self.sources, self.rows, self.reserved
        for project in made:
            if type(project) is _Linked:
                self.linked[project.index] = project
                continue
            if not project.cid:
                continue
            name = project.name
            if reserved is not None and _bucket_of(name) not in reserved:
                self.count += 1
                self.names += len(name)
                self.wheels += project.wheels
                rows[name] = project.row
                continue
            b = self.bucket(name)
            record = b.projects.get(name)
            if record is None:
                self.count += 1
                self.names += len(name)
            else:
                self.wheels -= record[3]
            self.wheels += project.wheels
            b.dangling.pop(name, None)
            b.projects[name] = [
                project.key,
                project.cid,
                project.tsize,
                project.wheels,
                0,
                0,
                project.blocks,
                project.deps,
                project.dependents,
            ]
            sources[project.cid] = (*project.where, project.blocks)
            rows[name] = project.row


def _assemble(
    old: _Old,
    settings: _Settings,
    changes: _Changes,
    built: Sequence[_Project],
    dangling: Mapping[str, tuple[str, ...]],
    entered: _Entered,
    *,
    placing: bool,
) -> tuple[bytes, _Layout, dict[str, bytes], _NewRoot]:
    """Link the built projects (``entered``) and the kept ones under the new root: (root
    CID, the CAR's layout, the root's own files, the new root's figures). The buckets
    ``entered.linked`` were linked by the workers (a fresh build), their subtrees spooled
    whole; with ``placing`` (for the state) the layout places their projects too."""
    header = old.header
    changed, sources, rows, linked = entered.changed, entered.sources, entered.rows, entered.linked
    bucket = entered.bucket
    gone: set[str] = set()  # projects no longer built (a fresh build has none)
    if old.state is not None:
        gone = {*changes.removed, *(rel.split("/", 1)[1] for rel in changes.todo)}
        gone -= {project.name for project in built}
    for name in gone:
        record = bucket(name).projects.pop(name, None)
        if record is not None:
            entered.count -= 1
            entered.wheels -= record[3]
            entered.names -= len(name)
            rows[name] = None
    count, wheels, names = entered.count, entered.wheels, entered.names
    for name, final in dangling.items():
        b = bucket(name)
        if final:
            b.dangling[name] = final
        else:
            b.dangling.pop(name, None)

    page = _splice_rows(old, rows, settings.platforms, count, wheels)
    files = root_files(settings.table, page, count, wheels, settings.policy)
    held = MemoryBlockStore()
    imported = {name: import_bytes(data, store=held) for name, data in files.items()}
    recorded = {name: (i.cid.to_bytes(), i.tsize) for name, i in imported.items()}
    before = header.get("files", {})
    for name in recorded.keys() | before.keys():
        if recorded.get(name) != before.get(name):
            changed.setdefault(_bucket_of(name), old.bucket(_bucket_of(name)))

    sharded = is_sharded(_root_estimate(names, count, files))
    if linked and not sharded:
        raise BuildError("internal: buckets linked for a root that is not sharded")
    every = not (sharded and header.get("sharded"))
    if every:  # the root was or becomes one directory: every bucket is laid out again
        for index in range(BUCKETS):
            if index not in changed:
                changed[index] = old.bucket(index)
    if old.car is not None:
        car_entries = header["buckets"]
        for index, b in changed.items():
            entry = car_entries[index]
            start = entry[2][0] if entry and entry[2] and header["sharded"] else 0
            for record in b.projects.values():
                if record[1] not in sources:
                    sources[record[1]] = (old.car, start + record[4], record[5], record[6])
    links: dict[int, tuple[bytes, bytes, int] | None] = {}
    if sharded:
        for index in range(BUCKETS):
            if index in linked:
                link = links[index] = linked[index].link
                sources[link[1]] = linked[index].where
            elif index in changed:
                members = [
                    (hamt_hash(raw), raw, record[2], record[1])
                    for name, record in changed[index].projects.items()
                    for raw in (name.encode(),)
                ]
                members += (
                    (hamt_hash(raw), raw, i.tsize, i.cid.to_bytes())
                    for name, i in imported.items()
                    if _bucket_of(name) == index
                    for raw in (name.encode(),)
                )
                links[index] = hamt_link(members, index, 0, 0, held) if members else None
            else:
                entry = header["buckets"][index]
                links[index] = entry[1] if entry is not None else None
                if entry is not None and entry[1] is not None:
                    sources[entry[1][1]] = (old.car, *entry[2])  # type: ignore[arg-type]
        root = hamt_node([(i, *link) for i, link in sorted(links.items()) if link], 0, held)
    else:
        entries = [
            (name, Imported(_cid(record[1]), record[2], 0))
            for b in changed.values()
            for name, record in b.projects.items()
        ]
        root = build_directory([*entries, *imported.items()], store=held)
    blocks = {cid.to_bytes(): block for cid, block in held.items()}
    layout = _layout_car(root.cid.to_bytes(), blocks, sources)
    if linked and placing:  # the projects inside the subtrees copied whole
        placed = layout.placed
        for project in built:
            holder = linked.get(_bucket_of(project.name))
            if holder is not None:
                start = placed[holder.link[1]][0] - holder.where[1]
                placed[project.cid] = (start + project.where[1], project.where[2], project.blocks)
    new = _NewRoot(root.tsize, count, wheels, names, sharded, recorded, changed, links)
    return root.cid.to_bytes(), layout, files, new


def _row_name(row: bytes) -> bytes:
    return row[_ROW_NAME : row.index(b'/"', _ROW_NAME)]


_ROW_NAME = len(b'<tr><td><a href="')


def _splice_rows(
    old: _Old,
    rows: Mapping[str, str | None],
    platforms: Sequence[Platform],
    count: int,
    wheels: int,
) -> bytes:
    """The new root page: the previous one with the rows of ``rows`` replaced, added or
    (None) removed. The rows, one a line, are sorted by name."""
    head, tail = root_page_frame(count, platforms, wheels)
    page = old.page
    before = old.header.get("projects", 0)
    start = end = 0  # the previous rows, each ended by a newline (the tail's first byte)
    if page:
        was_head, was_tail = root_page_frame(before, platforms, old.header["wheels"])
        if not (page.startswith(was_head) and page.endswith(was_tail)):
            raise BuildError("internal: the previous root page is not the one recorded")
        if before:
            start, end = len(was_head), len(page) - len(was_tail) + 1
    if not page:  # a fresh build: the rows by name (canonical names: the rows' links)
        lines = "\n".join(row for name in sorted(rows) if (row := rows[name]) is not None)
        return head + lines.encode() + tail
    if len(rows) * 64 > before:  # many: filter and sort
        lines = [
            line
            for line in page[start:end].split(b"\n")
            if line and _row_name(line).decode() not in rows
        ]
        lines += (row.encode() for row in rows.values() if row is not None)
        lines.sort(key=_row_name)
        return head + b"\n".join(lines) + tail
    # A few: the page is copied once, around them.
    view = memoryview(page)
    parts: list[bytes | memoryview] = [head]
    done = start  # bytes of the previous rows already taken
    for name, row in sorted(rows.items()):
        lo, hi = _find_row(page, name.encode(), done, end)
        parts.append(view[done:lo])
        if row is not None:
            parts.append(row.encode() + b"\n")
        done = hi
    parts.append(view[done:end])
    parts.append(tail[1:] if count else tail)  # the last row's newline is the tail's
    return b"".join(parts)


def _find_row(text: bytes, name: bytes, lo: int, end: int) -> tuple[int, int]:
    """Where the row of ``name`` is in ``text[lo:end]`` (rows sorted by name, each ended by
    a newline, the first starting at ``lo``): (start, end) of the row with its newline; an
    empty range where it would go when there is none."""
    hi = end
    while lo < hi:  # bisect over the rows by the byte offsets of their starts
        mid = (lo + hi) // 2
        start = text.rfind(b"\n", lo, mid) + 1 or lo
        if _row_name(text[start : start + 512 + len(name)] + b'/"') < name:
            lo = text.index(b"\n", start) + 1
        else:
            hi = start
    if lo < end and _row_name(text[lo : lo + 512 + len(name)] + b'/"') == name:
        return lo, text.index(b"\n", lo) + 1
    return lo, lo


def _save_state(
    base: Path,
    old: _Old,
    changes: _Changes,
    made: Sequence[_Project],
    root: bytes,
    layout: _Layout,
    new: _NewRoot,
    stamp: int,
    flags: tuple[bool, bool, bytes],
) -> None:
    """Record this build for the next one (see wheelset.build.state): an incremental
    build appends the pieces it changed to the state, unless those left behind would then
    outweigh the live ones."""
    racy_from = stamp - _RACY_NS
    previous = old.header
    updates: dict[str, dict[str, Stats | None]] = {p: dict(u) for p, u in changes.stats.items()}
    for project in made:
        prefix, name = project.rel.split("/", 1)
        updates.setdefault(prefix, {})[name] = project.stats
    stats: dict[str, bytes] = {}  # the stat data of the prefix directories that changed
    for prefix, changed in updates.items():
        known = previous.get("prefixes", {}).get(prefix)
        items = stats_items(old.state.piece(known[1])) if known else {}  # type: ignore[union-attr]
        for name, found in changed.items():
            if found is None:
                items.pop(name, None)
            else:
                items[name] = found
        stats[prefix] = pack_stats(sorted(items.items()), racy_from)
    page = base / TREE_DIR / INDEX_PAGE
    st = page.stat()
    header = {
        "flags": flags,
        "stamp": stamp,
        "root": root,
        "car_size": layout.size,
        "sharded": new.sharded,
        "projects": new.projects,
        "wheels": new.wheels,
        "names": new.names,
        "files": new.files,
        "page": (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino),
    }
    path = base / STATE_FILE
    writer = StateWriter(path, old.state, append=True)
    header.update(_state_pieces(writer, old, changes, stats, layout, new, racy_from))
    if writer.append and not writer.worth_appending():
        writer = StateWriter(path, old.state, append=False)
        header.update(_state_pieces(writer, old, changes, stats, layout, new, racy_from))
    writer.finish(header)


def _state_pieces(
    writer: StateWriter,
    old: _Old,
    changes: _Changes,
    stats: Mapping[str, bytes],
    layout: _Layout,
    new: _NewRoot,
    racy_from: int,
) -> dict[str, object]:
    """The state's pieces given to ``writer``; the header's index of them."""
    previous = old.header
    buckets: list = []
    for index in range(BUCKETS):
        b = new.buckets.get(index)
        if b is None:  # unchanged: the same piece, link and place in the CAR
            entry = previous["buckets"][index]
            if entry is not None:  # its subtree may have moved in the CAR
                where, link, _ = entry
                place = layout.placed[link[1]] if link is not None else None
                entry = (None if where is None else writer.add(where), link, place)
            buckets.append(entry)
            continue
        link = new.links.get(index)
        place = layout.placed[link[1]] if link is not None else None
        start = place[0] if place is not None and new.sharded else 0
        for record in b.projects.values():
            record[4], record[5] = layout.placed[record[1]][:2]
            record[4] -= start
        where = writer.add(encode_bucket(b)) if b.projects or b.dangling else None
        buckets.append(None if where is None and link is None else (where, link, place))
    prefixes = {}
    for prefix in sorted(changes.own.keys() | previous.get("prefixes", {}).keys()):
        own = changes.own.get(prefix)
        known = previous.get("prefixes", {}).get(prefix)
        if own is None:  # not swept (a fresh build lists every prefix)
            own = known[0]
        if own == (0, 0):
            continue  # the prefix directory is gone
        if prefix in stats:
            piece = stats[prefix]
        elif known is not None:
            piece = known[1]
        else:  # a prefix directory without projects (one removed, its directory left)
            piece = pack_stats([], racy_from)
        where = writer.add(piece)
        racy = own[0] >= racy_from or own[1] >= racy_from
        prefixes[prefix] = ((-1, -1) if racy else own, where)
    return {"prefixes": prefixes, "buckets": buckets}
