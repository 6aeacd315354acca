"""The one ROOT opener: a root (format version 2) read a project at a time.

ROOT is a CID (``Qm…``, ``b…``), ``/ipfs/<cid>``, ``ipfs://<cid>``, a build directory OUT
or its OUT/tree, or a CAR file; every command that takes a ROOT opens it here. A root
named by CID (or the root of a CAR file) is read by verified path resolution
(`wheelset.ipfs.resolver`): the header ``/wheelset.json``, each ``/<project>/index.json``
and the optional ``/policy.toml`` are fetched block by block from the root CID down, each
block checked against the CID its parent names, from the block cache, a local node,
trustless gateways or the CAR file.
A build directory is the user's own disk: its tree is read as it is, with the root CID of
OUT/ROOT (and the wheels it holds, built ``--with-wheels``, are handed out verified by
Root.copy_file: install and serve read them before any gateway); the root's blocks, when
a command needs them (diff compares two roots' directories from their CIDs, whatever their
form), come from its root.car, verified likewise. A project is read the first time it is
asked for, never before. Format: docs/root-format.md. Version 1 roots (a
``wheelset-manifest`` header) are refused with one line saying how to rebuild them.
A mutable name (``/ipns/…``, ``ipns://…``, a DNSLink domain) is resolved first, by a
node (resolve_name()), and the CID it gives is opened as any other.
Entry points: resolve_name(), parse_root_ref(), open_root(), Root, RootRef, RootError,
parse_header(), parse_project_file().
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    import httpx

    from wheelset.ipfs.gateway import GatewayFailure, GatewayFetcher
    from wheelset.ipfs.rpc import KuboRpc

from wheelset.build.layout import CAR_FILE, INCOMPLETE_MARKER, ROOT_FILE, TREE_DIR, read_build_root
from wheelset.build.manifest import MetadataFile, WheelEntry
from wheelset.build.rootfiles import (
    FORMAT_NAME,
    FORMAT_VERSION,
    HEADER_NAME,
    INDEX_PAGE,
    POLICY_NAME,
    PROJECT_FILE,
)
from wheelset.errors import BuildError, ContentMismatch, InvalidRoot, RootError
from wheelset.ipfs.cid import CID, DAG_PB, InvalidCID, parse_cid
from wheelset.ipfs.importer import Digest, ImportParams, digest_stream
from wheelset.ipfs.resolver import (
    BlockSource,
    CarBlocks,
    GatewayBlocks,
    NodeBlocks,
    NoSuchPath,
    PathError,
    PathResolver,
    SourceFailure,
    block_dir_of,
)
from wheelset.model.declarations import Declaration, DeclarationError, parse_declaration
from wheelset.workers import signals_to_main_thread

__all__ = [
    "Header",
    "InvalidRoot",
    "ProjectReads",
    "Root",
    "RootError",
    "RootRef",
    "name_of",
    "open_root",
    "parse_header",
    "parse_project_file",
    "parse_root_ref",
    "resolve_name",
    "root_resolver",
]

_V1_FORMAT = "wheelset-manifest"
MAX_HEADER_SIZE = 4 << 20  # bytes; the header holds the platforms table and two counts
MAX_PROJECT_FILE_SIZE = 32 << 20  # bytes; far above any real project, bounds a hostile source
MAX_POLICY_SIZE = 4 << 20  # bytes; a policy is a few allow-lists
# bytes; a root page lists every project (~90 bytes each: 45 MB at 500,000 projects)
MAX_PAGE_SIZE = 256 << 20
_PARALLEL_READS = 8  # project files read at once (each is a round trip or two)
_WINDOW = 64  # projects in flight when streaming every project
_HEADER_KEYS = frozenset({"format", "version", "platforms", "projects", "wheels"})


@dataclass(frozen=True, slots=True)
class RootRef:
    """What the user named: a CID, a build directory, or a CAR file."""

    text: str
    cid: CID | None = None
    directory: Path | None = None  # the build directory OUT (ROOT, tree/)
    car: Path | None = None


@dataclass(frozen=True, slots=True)
class Header:
    """``/wheelset.json`` of a root: the platforms table and the counts."""

    platforms: Mapping[str, object]
    projects: int
    wheels: int


def _is_build_dir(path: Path) -> bool:
    # An interrupted build is recognised here and refused by read_build_root() when opened.
    return ((path / ROOT_FILE).is_file() and (path / TREE_DIR).is_dir()) or (
        path / INCOMPLETE_MARKER
    ).exists()


def parse_root_ref(text: str) -> RootRef:
    """Parse ROOT: a CID, ``/ipfs/<cid>``, ``ipfs://<cid>``, OUT, OUT/tree or a CAR file.

    Raises:
        InvalidRoot: none of these (one line saying what was expected).
    """
    path = Path(text)
    if text and path.is_dir():
        if _is_build_dir(path):
            return RootRef(text, directory=path)
        if path.name == TREE_DIR and _is_build_dir(path.parent):
            return RootRef(text, directory=path.parent)
        raise InvalidRoot(
            f"a directory but not a build directory (want OUT with {ROOT_FILE} and "
            f"{TREE_DIR}/, or OUT/{TREE_DIR}, as `wheelset build --out OUT` writes)",
            path=text,
        )
    if text and path.is_file():
        return RootRef(text, car=path)
    body = text.strip()
    prefixed = body.startswith(("ipfs://", "/ipfs/"))
    if body.startswith("ipfs://"):
        body = body[len("ipfs://") :]
    elif body.startswith("/ipfs/"):
        body = body[len("/ipfs/") :]
    body = body.rstrip("/")
    if "/" in body and not prefixed:
        raise InvalidRoot(
            "no such build directory or CAR file (ROOT is a CID, /ipfs/<cid>, "
            "ipfs://<cid>, a build directory or a CAR file)",
            path=text,
        )
    if "/" in body:
        raise InvalidRoot(f"root {text!r} must be a bare CID, not a path below one")
    try:
        cid = parse_cid(body)
    except InvalidCID as e:
        raise InvalidRoot(
            f"root {text!r} is not a CID, /ipfs/<cid>, ipfs://<cid>, a build directory or a "
            f"CAR file ({e})"
        ) from e
    if cid.codec != DAG_PB:
        raise InvalidRoot(f"root {text!r} is not a directory CID (dag-pb)")
    return RootRef(text, cid=cid)


_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def name_of(text: str) -> str | None:
    """The ``/ipns/…`` path ROOT names when it is a mutable name — ``/ipns/<name>``,
    ``ipns://<name>`` or a DNSLink domain (``example.org``) — else None."""
    body = text.strip().rstrip("/")
    for prefix in ("/ipns/", "ipns://"):
        if body.startswith(prefix):
            name = body[len(prefix) :]
            return f"/ipns/{name}" if name and "/" not in name else None
    if _DOMAIN.match(body) and not Path(text).exists():
        return f"/ipns/{body}"
    return None


def resolve_name(text: str, rpc: KuboRpc | None) -> str | None:
    """Resolve ROOT first when it is a mutable name: the ``/ipfs/<cid>`` it points at now
    (IPNS or DNSLink, through the node's `name/resolve`), else None. The name is only a pointer:
    the CID it gives is then opened and verified like any other.

    Raises:
        RootError: a name but no node to resolve it, or the node cannot resolve it.
    """
    path = name_of(text)
    if path is None:
        return None
    if rpc is None:
        raise RootError(f"{text} is a name (IPNS or DNSLink): give a node to resolve it (--api)")
    from wheelset.ipfs.rpc import RpcError

    try:
        return rpc.name_resolve(path)
    except RpcError as e:
        raise RootError(f"cannot resolve {text}: {e.one_line()}", code="RESOLVE") from e


def tree_copy_failure(error: ContentMismatch | RootError) -> GatewayFailure:
    """Why Root.copy_file() refused a build directory's copy, as a source's failure is
    reported beside the gateways' (mismatch: other bytes; transport: unreadable)."""
    from wheelset.ipfs.gateway import GatewayFailure

    kind = "mismatch" if isinstance(error, ContentMismatch) else "transport"
    return GatewayFailure(str(error.path), kind, str(error))


def _json(data: bytes, where: str) -> object:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise RootError(f"{where} is not JSON: {e}") from e


def parse_header(data: bytes, where: str = HEADER_NAME) -> Header:
    """Parse a root's header.

    Raises:
        RootError: not a header; a version 1 root (code OLD-ROOT, saying how to rebuild it);
            a newer format version.
    """
    doc = _json(data, where)
    if isinstance(doc, dict) and doc.get("format") == _V1_FORMAT:
        raise RootError(
            f"{where}: a version 1 root (wheelset 0.1), which can only be read whole; rebuild "
            "it from its declarations with this wheelset (`wheelset build DIR`) and use the "
            "new root",
            code="OLD-ROOT",
        )
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise RootError(f"{where} is not a wheelset root header")
    if doc.get("version") != FORMAT_VERSION:
        raise RootError(
            f"{where}: root format version {doc.get('version')!r}; this wheelset reads "
            f"{FORMAT_VERSION}: upgrade wheelset"
        )
    platforms, projects, wheels = doc.get("platforms"), doc.get("projects"), doc.get("wheels")
    if (
        set(doc) != _HEADER_KEYS
        or not isinstance(platforms, dict)
        or type(projects) is not int
        or type(wheels) is not int
    ):
        raise RootError(f"{where}: header keys or types are not those of format version 2")
    return Header(platforms, projects, wheels)


def _metadata(value: object, where: str) -> MetadataFile:
    if not isinstance(value, dict) or set(value) != {"content-id", "sha256", "size"}:
        raise RootError(f"{where}: metadata must have content-id, sha256 and size")
    cid, sha256, size = value["content-id"], value["sha256"], value["size"]
    if not isinstance(cid, str) or not isinstance(sha256, str) or type(size) is not int:
        raise RootError(f"{where}: metadata fields have wrong types")
    try:
        return MetadataFile(parse_cid(cid), sha256, size)
    except InvalidCID as e:
        raise RootError(f"{where}: metadata content-id: {e}") from e


def _entry(item: object, project: str, where: str) -> WheelEntry:
    if not isinstance(item, dict) or not isinstance(item.get("wheelset"), dict):
        raise RootError(f"{where}: a file entry without its wheelset table")
    table = dict(item["wheelset"])
    path = table.pop("path", None)
    metadata = table.pop("metadata", None)
    if not isinstance(path, str) or path.startswith("/") or ".." in path.split("/"):
        raise RootError(f"{where}: bad declaration path {path!r}")
    try:
        decl = parse_declaration(table, PurePosixPath(path))
    except DeclarationError as e:
        raise RootError(f"{where}: {e.one_line()}") from e
    hashes = item.get("hashes")
    if (
        decl.name != project
        or item.get("filename") != decl.filename
        or item.get("url") != decl.filename
        or (decl.sha256 is not None and hashes != {"sha256": decl.sha256})
        or item.get("size") != decl.size
    ):
        raise RootError(f"{where}: entry {item.get('filename')!r} disagrees with its declaration")
    return WheelEntry(decl, None if metadata is None else _metadata(metadata, where))


def parse_project_file(
    data: bytes, project: str, where: str | None = None
) -> tuple[WheelEntry, ...]:
    """Parse ``/<project>/index.json``: every wheel of the project, declaration and METADATA.

    Raises:
        RootError: not a PEP 691 project page of ``project`` carrying wheelset's fields.
    """
    where = where or f"/{project}/{PROJECT_FILE}"
    doc = _json(data, where)
    if (
        not isinstance(doc, dict)
        or doc.get("name") != project
        or not isinstance(doc.get("files"), list)
    ):
        raise RootError(f"{where} is not the project file of {project}")
    return tuple(_entry(item, project, where) for item in doc["files"])


@dataclass(eq=False)
class Root:
    """An opened root: its CID and header; projects read (verified) on first request.

    Thread-safe. ``source`` says where it is read from (a build directory, a CAR file, or
    the block sources).
    """

    cid: CID
    header: Header
    source: str
    _reader: _Reader
    _projects: dict[str, tuple[WheelEntry, ...] | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def platforms(self) -> Mapping[str, object]:
        return self.header.platforms

    def project(self, name: str) -> tuple[WheelEntry, ...] | None:
        """The wheels of project ``name`` (any spelling), or None when the root has none.

        Raises:
            RootError: the project file cannot be read, verified or parsed.
        """
        canonical = canonicalize_name(name)
        with self._lock:
            if canonical in self._projects:
                return self._projects[canonical]
        entries = self._reader.project(canonical)
        with self._lock:
            self._projects[canonical] = entries
        return entries

    def projects(self, names: Iterable[str]) -> dict[str, tuple[WheelEntry, ...] | None]:
        """project() of several names, read in parallel; keys are canonical names."""
        wanted = list(dict.fromkeys(canonicalize_name(n) for n in names))
        if len(wanted) <= 1:
            return {n: self.project(n) for n in wanted}
        with ThreadPoolExecutor(
            max_workers=min(_PARALLEL_READS, len(wanted)), initializer=signals_to_main_thread
        ) as pool:
            return dict(zip(wanted, pool.map(self.project, wanted), strict=True))

    def names(self) -> list[str]:
        """Every project name, sorted (reads the root directory, not the projects)."""
        return sorted(self._reader.names())

    def changed(self, other: Root) -> dict[str, tuple[bool, bool]]:
        """The projects that differ between this root and ``other`` (added, removed or
        changed), each with whether it is in this root and in ``other``. The two root
        directories are compared shard by shard from their root CIDs, each root's blocks
        read and verified from its own sources (a build directory's from its root.car):
        shards with the same CID in both are not read, so the cost follows the change.

        Raises:
            RootError: a block of either root directory cannot be read or verified.
        """
        try:
            found = self._reader.resolver.differences(self.cid, other.cid, other._reader.resolver)
        except PathError as e:
            raise RootError(f"roots {self.cid} and {other.cid}: {e}", code=e.code) from e
        return {
            name: (a is not None, b is not None)
            for name, (a, b) in found.items()
            if name not in _ROOT_FILES
        }

    def directories(self) -> Mapping[str, CID]:
        """Each project's directory CID (verified from the root CID; a build directory's are
        read from its root.car, a pass over the whole file)."""
        return self._reader.directories(self.cid)

    def iter_projects(self) -> Iterator[tuple[str, tuple[WheelEntry, ...]]]:
        """Every project in name order, read a window at a time in parallel and not kept
        (memory bounded by the window, not the collection)."""
        names = self.names()
        with ThreadPoolExecutor(
            max_workers=_PARALLEL_READS, initializer=signals_to_main_thread
        ) as pool:
            for start in range(0, len(names), _WINDOW):
                window = names[start : start + _WINDOW]
                for name, entries in zip(
                    window, pool.map(self._reader.project, window), strict=True
                ):
                    if entries is not None:
                        yield name, entries

    def policy(self) -> bytes | None:
        """The collection's policy.toml as the root carries it (verbatim), or None when the
        collection had none.

        Raises:
            RootError: it cannot be read or verified.
        """
        return self._reader.policy()

    def page(self, project: str | None = None) -> bytes | None:
        """The root's own HTML page (docs/root-format.md): its root page, or ``project``'s
        page; None when the root has no such page.

        Raises:
            RootError: it cannot be read or verified.
        """
        return self._reader.page(project)

    def declarations(self, names: Iterable[str]) -> list[Declaration]:
        """The declarations of the named projects that the root has."""
        return [e.declaration for entries in self.projects(names).values() for e in entries or ()]

    @property
    def tree(self) -> Path | None:
        """A build directory's ``tree/`` (which holds the wheels when it was built
        ``--with-wheels``: ``<tree>/<project>/<wheel>``), else None."""
        return self._reader.tree if isinstance(self._reader, _TreeReader) else None

    def copy_file(
        self,
        project: str,
        name: str,
        cid: CID,
        *,
        size: int | None,
        sha256: str | None,
        on_chunk: Callable[[memoryview], None],
    ) -> Digest | None:
        """Hand the build directory's copy of ``<project>/<name>`` — a wheel (built
        ``--with-wheels``) or its METADATA (``--with-metadata``) — to ``on_chunk``, verified
        as the content ``cid`` (and ``size``, ``sha256``) in the one pass that reads it: the
        bytes handed over are that content once this returns its digest. None when the root
        is no build directory or its tree lacks the file (the user's own disk: nothing to
        trust, nothing to fetch).

        Raises:
            ContentMismatch: the copy is other bytes (stale or damaged; a longer file is not
                read to its end).
            RootError: the copy cannot be read.
        """
        tree = self.tree
        if tree is None:
            return None
        path = tree / project / name
        read = 0

        def take(chunk: memoryview) -> None:
            nonlocal read
            read += len(chunk)
            if size is not None and read > size:
                raise ContentMismatch(f"more than the declared {size} bytes", path=path)
            on_chunk(chunk)

        try:
            with path.open("rb") as f:
                digest = digest_stream(f, ImportParams(cid_version=cid.version), on_chunk=take)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise RootError(f"cannot read: {e.strerror or e}", path=path) from e
        if problem := digest.mismatch(cid, size, sha256):
            raise ContentMismatch(problem, path=path)
        return digest

    def node(self) -> NodeBlocks | None:
        """The node (``--api``) the root's blocks come from, if any: a wheel fetch reading
        from this very one takes the wheels' blocks it sent with their projects."""
        sources = self._reader.resolver.sources
        return next((s for s in sources if isinstance(s, NodeBlocks)), None)

    def reads(self) -> ProjectReads:
        """Projects read in parallel as they are asked for and handed back as each arrives
        (the lookup of `wheelset.client.resolve.resolve_lazily`)."""
        return ProjectReads(self)


class ProjectReads:
    """Reads of a root's projects, asked for one batch after another and collected as they
    complete: a dependency walk asks for a project the moment it reaches it, instead of
    waiting for the slowest read of a round. Use as a context manager: leaving it cancels
    the reads not started and waits for those under way.

    The pool's threads hold SIGINT and SIGTERM (as WheelFetch's), so that the kernel hands
    a signal to the main thread, which is the one waiting.
    """

    def __init__(self, root: Root):
        self._root = root
        self._pool = ThreadPoolExecutor(_PARALLEL_READS, initializer=signals_to_main_thread)
        self._pending: dict[Future[tuple[WheelEntry, ...] | None], str] = {}

    def __enter__(self) -> ProjectReads:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    @property
    def pending(self) -> int:
        """Reads asked for and not yet handed back by arrived()."""
        return len(self._pending)

    def ask(self, names: Sequence[str]) -> None:
        """Start reading the projects ``names`` (canonical names)."""
        for name in names:
            self._pending[self._pool.submit(self._root.project, name)] = name

    def arrived(self) -> list[Declaration]:
        """The declarations of every read that completed since the last call (at least one;
        waits for it). A project the root lacks gives none.

        Raises:
            RootError: a project file cannot be read, verified or parsed.
        """
        done, _ = wait(self._pending, return_when=FIRST_COMPLETED)
        found: list[Declaration] = []
        for future in done:
            del self._pending[future]
            found += (e.declaration for e in future.result() or ())
        return found


class _Reader:
    resolver: PathResolver  # reads the root's blocks, verified from its CID

    def header(self) -> bytes:
        raise NotImplementedError

    def project(self, name: str) -> tuple[WheelEntry, ...] | None:
        raise NotImplementedError

    def policy(self) -> bytes | None:
        raise NotImplementedError

    def page(self, project: str | None) -> bytes | None:
        raise NotImplementedError

    def names(self) -> Iterable[str]:
        raise NotImplementedError

    def directories(self, root: CID) -> Mapping[str, CID]:
        raise NotImplementedError


class _TreeReader(_Reader):
    """A build directory: the files of its tree/ (the user's own) as they are; the root's
    blocks, when a command needs them, from its root.car."""

    def __init__(self, tree: Path):
        self.tree = tree
        self.resolver = PathResolver([CarBlocks(tree.parent / CAR_FILE)])

    def _read(self, path: Path, limit: int) -> bytes | None:
        try:
            with path.open("rb") as f:
                data = f.read(limit + 1)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise RootError(f"cannot read: {e.strerror or e}", path=path) from e
        if len(data) > limit:
            raise RootError(f"larger than {limit} bytes", path=path)
        return data

    def header(self) -> bytes:
        data = self._read(self.tree / HEADER_NAME, MAX_HEADER_SIZE)
        if data is None:
            raise RootError(f"has no {HEADER_NAME} (not a build directory)", path=self.tree)
        return data

    def policy(self) -> bytes | None:
        return self._read(self.tree / POLICY_NAME, MAX_POLICY_SIZE)

    def page(self, project: str | None) -> bytes | None:
        where = self.tree if project is None else self.tree / project
        return self._read(where / INDEX_PAGE, MAX_PAGE_SIZE)

    def project(self, name: str) -> tuple[WheelEntry, ...] | None:
        file = self.tree / name / PROJECT_FILE
        data = self._read(file, MAX_PROJECT_FILE_SIZE)
        return None if data is None else parse_project_file(data, name, str(file))

    def names(self) -> Iterable[str]:
        try:
            with os.scandir(self.tree) as entries:
                return [e.name for e in entries if e.is_dir(follow_symlinks=False)]
        except OSError as e:
            raise RootError(f"cannot list: {e.strerror or e}", path=self.tree) from e

    def directories(self, root: CID) -> Mapping[str, CID]:
        return _ResolvedReader(root, self.resolver).directories(root)


class _ResolvedReader(_Reader):
    """Verified path resolution below the root CID."""

    def __init__(self, root: CID, resolver: PathResolver):
        self.root = root
        self.resolver = resolver
        self._listing: dict[str, CID] | None = None

    def _explain(self, e: PathError) -> RootError:
        return RootError(f"root {self.root}: {e}", code=e.code)

    def header(self) -> bytes:
        try:
            return self.resolver.read(self.root, (HEADER_NAME,), max_size=MAX_HEADER_SIZE)
        except NoSuchPath as e:
            raise RootError(
                f"root {self.root} has no /{HEADER_NAME}: not a wheelset root ({e})"
            ) from e
        except PathError as e:
            raise self._explain(e) from e

    def policy(self) -> bytes | None:
        return self._optional((POLICY_NAME,), MAX_POLICY_SIZE)

    def page(self, project: str | None) -> bytes | None:
        return self._optional(
            (INDEX_PAGE,) if project is None else (project, INDEX_PAGE), MAX_PAGE_SIZE
        )

    def _optional(self, names: tuple[str, ...], max_size: int) -> bytes | None:
        try:
            return self.resolver.read(self.root, names, max_size=max_size)
        except NoSuchPath:
            return None
        except PathError as e:
            raise self._explain(e) from e

    def project(self, name: str) -> tuple[WheelEntry, ...] | None:
        try:
            data = self.resolver.read(
                self.root, (name, PROJECT_FILE), max_size=MAX_PROJECT_FILE_SIZE
            )
        except NoSuchPath:
            return None
        except PathError as e:
            raise self._explain(e) from e
        return parse_project_file(data, name, f"/ipfs/{self.root}/{name}/{PROJECT_FILE}")

    def directories(self, root: CID) -> Mapping[str, CID]:
        if self._listing is None:
            try:
                entries = self.resolver.listing(self.root)
            except PathError as e:
                raise self._explain(e) from e
            self._listing = {name: cid for name, cid in entries.items() if name not in _ROOT_FILES}
        return self._listing

    def names(self) -> Iterable[str]:
        return self.directories(self.root).keys()


_ROOT_FILES = frozenset({HEADER_NAME, POLICY_NAME, INDEX_PAGE})


def _open(cid: CID, reader: _Reader, source: str) -> Root:
    return Root(cid, parse_header(reader.header(), f"{source}: /{HEADER_NAME}"), source, reader)


def open_root(
    ref: RootRef, resolver: PathResolver | None = None, *, named_gateways: bool = True
) -> Root:
    """Open ``ref``: read and verify its header (nothing else yet).

    ``resolver`` reads roots named by CID (its sources: block cache, node, gateways); a
    CAR file is put in front of its sources. A CAR carries its whole root (the air-gapped
    form): unless the user named gateways (``named_gateways``), a block it lacks is a broken
    file, not a reason to ask the default public gateways.
    Raises:
        RootError: unreadable, unverifiable (one line naming each source's failure), not a
            wheelset root, or a version 1 root (code OLD-ROOT).
    """
    if ref.directory is not None:
        try:
            cid = read_build_root(ref.directory)
        except BuildError as e:
            raise RootError(e.one_line().removeprefix("OUT "), code="OUT") from e
        return _open(cid, _TreeReader(ref.directory / TREE_DIR), str(ref.directory))
    if ref.car is not None:
        car = CarBlocks(ref.car)
        try:
            roots = car.roots()
        except SourceFailure as e:
            raise RootError(f"not a CAR file: {e}", path=ref.car) from e
        cache = resolver.cache if resolver is not None else None
        sources = (car, *(resolver.sources if resolver is not None else ()))
        if not named_gateways:
            from wheelset.ipfs.gateway import DEFAULT_GATEWAYS

            sources = tuple(
                s
                for s in sources
                if not (isinstance(s, GatewayBlocks) and s.name in DEFAULT_GATEWAYS)
            )
        return _open(
            roots[0], _ResolvedReader(roots[0], PathResolver(sources, cache=cache)), str(ref.car)
        )
    assert ref.cid is not None
    if resolver is None:
        raise RootError(f"root {ref.cid}: no source of blocks (give a gateway or a node)")
    return _open(ref.cid, _ResolvedReader(ref.cid, resolver), str(ref.cid))


def root_resolver(
    fetcher: GatewayFetcher,
    cache_directory: Path,
    *,
    api: str | None = None,
    http: httpx.Client | None = None,
    timeout: float = 30.0,
) -> PathResolver:
    """The resolver every command reads roots with: the block cache (``blocks/`` under the
    cache directory), then the node at ``api`` (its RPC), then each gateway in order."""
    sources: list[BlockSource] = []
    if api:
        assert http is not None
        sources.append(NodeBlocks(api, http, timeout=timeout))
    sources += [GatewayBlocks(fetcher, gateway) for gateway in fetcher.gateways]
    return PathResolver(sources, cache=block_dir_of(cache_directory))
