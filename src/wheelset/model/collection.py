"""A collection directory: platforms.toml plus every declaration below it, loaded once.

Declarations are every ``*.toml`` below the directory except the top-level
``platforms.toml``, ``policy.toml`` and ``upstream.toml``; other top-level files
(README.md, …) and dot-directories (.git, .github, .wheelset) are ignored; any other file
inside the prefix tree is kept in ``files`` so the layout check can report it. Files that
fail to load become findings, never exceptions, so one bad file does not hide the others.
Files are read through wheelset.model.safe_read: symbolic links (to a file or a directory)
are never followed and special files never opened — each is an IO finding — and the walk
is iterative, so no nesting depth breaks it. read_collection() is the build's gate over
the same load: the first finding becomes an error. Also: which declarations changed since
a Git ref (for `check --changed-since`).
Entry points: Collection, load_collection(), read_collection(), decode_declaration(),
changed_paths().
"""

from __future__ import annotations

import marshal
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from wheelset.errors import CollectionError
from wheelset.fsutil import is_temp_name
from wheelset.gcpause import cycle_collection_paused
from wheelset.model import canonical_toml
from wheelset.model.declarations import (
    Declaration,
    DeclarationRecord,
    validate_declaration,
    written_record,
)
from wheelset.model.findings import Finding
from wheelset.model.platforms import PLATFORMS_FILE, Platform, PlatformError, load_platforms
from wheelset.model.policy import POLICY_FILE, Policy, PolicyError, load_policy
from wheelset.model.safe_read import read_regular
from wheelset.workers import can_fork, share_parts, usable_cores

# Top-level files that are not declarations: the platforms, the policy (names, licences)
# and a fork's record of its upstream root.
RESERVED_FILES = frozenset({PLATFORMS_FILE, POLICY_FILE, "upstream.toml"})


__all__ = [
    "RESERVED_FILES",
    "Collection",
    "CollectionError",
    "changed_paths",
    "decode_declaration",
    "load_collection",
    "read_collection",
    "top_level",
]


@dataclass(frozen=True, slots=True)
class Collection:
    """A loaded collection. Paths in ``files``, ``declarations`` and ``findings`` are relative.

    ``platforms`` is empty when platforms.toml failed to load (then ``findings`` says why);
    ``platforms_table`` is that file's table verbatim (the build manifest embeds it).
    ``files`` lists every file of the prefix tree, declarations or not, sorted.
    """

    root: Path
    platforms: tuple[Platform, ...]
    platforms_table: dict[str, object]
    declarations: tuple[Declaration, ...]
    findings: tuple[Finding, ...]
    files: tuple[PurePosixPath, ...]
    policy: Policy | None = None

    @property
    def ok(self) -> bool:
        """True when every file loaded (no findings)."""
        return not self.findings


# What the walk found at a path besides a directory: a file to read (or report as stray),
# or something never read, with the reason reported as an IO finding.
_REGULAR = ""
_SYMLINK = "a symbolic link (not followed: collection files must be regular files)"
_SPECIAL = "not a regular file (a FIFO, device or socket is never read)"


def _kind(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        return _SYMLINK
    if entry.is_file(follow_symlinks=False):
        return _REGULAR
    return _SPECIAL


def top_level(root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """(top-level directories, top-level TOML entries as (name, _kind())), each sorted so
    that walking the directories in order lists paths in sorted order."""
    directories: list[str] = []
    top_toml: list[tuple[str, str]] = []
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                directories.append(entry.name)
            elif entry.name.endswith(".toml") and entry.name not in RESERVED_FILES:
                top_toml.append((entry.name, _kind(entry)))
    # "a-b/x" sorts before "a/x": order directories as their paths' prefixes "name/" do.
    directories.sort(key=lambda name: f"{name}/")
    top_toml.sort()
    return directories, top_toml


def _list_tree(root: str, top: str) -> list[tuple[str, str]]:
    """Every entry below top-level directory ``top``, as (relative path, _kind()), sorted.

    Iterative, so any depth of nesting is fine; directories are entered only when they
    are real directories (a symbolic link to one is an entry like a file).
    """
    tree: list[tuple[str, str]] = []
    pending = [(f"{root}/{top}", top)]
    while pending:
        directory, rel = pending.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    base = entry.name
                    if base[0] == "." and is_temp_name(base):
                        continue  # a write in progress, or left by a killed one (swept)
                    name = f"{rel}/{base}"
                    # _kind() with the common case (a regular file) asked first
                    if entry.is_file(follow_symlinks=False):
                        tree.append((name, _REGULAR))
                    elif entry.is_dir(follow_symlinks=False):
                        pending.append((entry.path, name))
                    else:
                        tree.append((name, _kind(entry)))
        except OSError as e:
            tree.append((rel, f"cannot read the directory: {e.strerror or e}"))
    tree.sort()
    return tree


# One entry of the walk: relative path, why it was not read ("" when read or not a
# declaration), the declaration (or its record, from a worker process), the findings'
# (code, message).
_Entry = tuple[str, str, "Declaration | DeclarationRecord | None", tuple[tuple[str, str], ...]]


def _read_entries(root: str, listed: list[tuple[str, str]], compact: bool) -> list[_Entry]:
    # Phase by phase over the part (read every file, then make every record): the same
    # work as file by file, for less CPU (each phase's code and data stay in the caches).
    # A file format_declaration() could have written takes one match (written_record());
    # any other goes the general way, which says what is wrong with it.
    contents = [
        None if kind or not rel.endswith(".toml") else _read(f"{root}/{rel}")
        for rel, kind in listed
    ]
    records = [
        _written(data, rel) if type(data) is bytes else None
        for data, (rel, _) in zip(contents, listed, strict=True)
    ]
    from_record = Declaration.from_record
    read: list[_Entry] = []
    for (rel, kind), data, record in zip(listed, contents, records, strict=True):
        if record is not None:
            read.append((rel, "", record if compact else from_record(record), ()))
        elif data is None:
            read.append((rel, kind, None, ()))
        else:
            path = PurePosixPath(rel)
            table = _table(data, path)
            if not isinstance(table, dict):
                read.append((rel, "", None, (table,)))
                continue
            decl, problems = validate_declaration(table, path)
            loaded = decl.to_record() if compact and decl is not None else decl
            read.append((rel, "", loaded, tuple((p.code, str(p)) for p in problems)))
    return read


def _written(data: bytes, rel: str) -> DeclarationRecord | None:
    try:
        return written_record(data.decode("utf-8"), rel)
    except UnicodeDecodeError:
        return None  # the general path reports it


def _read_here(root: str, top: str) -> list[_Entry]:
    """Top-level directory ``top`` listed and read in this process."""
    return _read_entries(root, _list_tree(root, top), compact=False)


def _read_part(root: str, top: str) -> bytes:
    """In a worker process: top-level directory ``top`` listed and read, as marshal bytes
    of plain records (cheap to send back, unlike pickled objects)."""
    return marshal.dumps(_read_entries(root, _list_tree(root, top), compact=True))


def _rebuilt(data: bytes) -> list[_Entry]:
    """A worker's entries with its records made declarations again."""
    return [
        (rel, kind, Declaration.from_record(decl) if decl is not None else None, problems)
        for rel, kind, decl, problems in marshal.loads(data)
    ]


def _read_shared(root: str, parts: list[str], sizes: list[int], workers: int) -> list[list[_Entry]]:
    """Every part read, returned in order: this process takes parts from the front of a
    hand-out order, ``workers`` processes from its back, until they meet. Rebuilding
    objects from a worker's records costs a fraction of reading the files, and this
    process would otherwise wait. The order puts the largest parts at both ends and the
    smallest in the middle, where the processes meet: a numbered family fills a few dozen
    prefix directories, the largest (thousands of projects each) in the middle of the
    sorted order, and one process would read the last of them while the other waits."""
    ranked = sorted(range(len(parts)), key=lambda i: -sizes[i])
    order = ranked[0::2] + ranked[1::2][::-1]
    read = share_parts(
        len(order),
        lambda i: _read_here(root, parts[order[i]]),
        lambda i: _read_part(root, parts[order[i]]),
        _rebuilt,
        workers,
    )
    entries: list[list[_Entry]] = [[] for _ in parts]
    for part, part_entries in zip(order, read, strict=True):
        entries[part] = part_entries
    return entries


def _workers(wanted: int | None, parts: list[str], sizes: list[int]) -> int:
    """How many processes besides this one read the tree (0: this one alone)."""
    if wanted is None:
        large = len(parts) > 1 and sum(sizes) >= _PARALLEL_PROJECTS
        wanted = usable_cores() if large else 1
    return wanted - 1 if wanted > 1 and can_fork() else 0


# Below about this many projects reading in this process beats starting workers.
_PARALLEL_PROJECTS = 128


def _projects(root: str, parts: list[str]) -> list[int]:
    """About how many project directories each top-level (prefix) directory holds.
    Counting the prefixes is not enough: a family of numbered names shares a few dozen of
    them however large it is. A directory's link count is 2 plus its subdirectories on
    most file systems (one stat per prefix, no listing); where it is not (btrfs says 1),
    a prefix counts as one project."""
    sizes = []
    for top in parts:
        try:
            links = os.stat(os.path.join(root, top), follow_symlinks=False).st_nlink
        except OSError:
            links = 0
        sizes.append(max(links - 2, 1))
    return sizes


def _read(path: str) -> bytes | tuple[str, str]:
    """A file's bytes, or the (code, message) of why they cannot be read."""
    try:
        return read_regular(path)
    except OSError as e:
        return "IO", f"cannot read: {e.strerror or e}"


def _table(
    data: bytes | tuple[str, str], path: PurePosixPath
) -> dict[str, object] | tuple[str, str]:
    """The TOML table in a file's bytes, or the (code, message) of why there is none."""
    if isinstance(data, tuple):
        return data
    try:
        return canonical_toml.read_toml(data)
    except canonical_toml.NotToml as e:
        return "TOML", str(e)


def decode_declaration(
    data: bytes, path: PurePosixPath
) -> tuple[Declaration | None, list[Finding]]:
    """The declaration in a file's bytes (found at ``path``), or the findings that stop it."""
    table = _table(data, path)
    if not isinstance(table, dict):
        return None, [Finding(path, *table)]
    decl, problems = validate_declaration(table, path)
    return decl, [Finding(path, p.code, str(p)) for p in problems]


def load_collection(directory: Path, *, workers: int | None = None) -> Collection:
    """Load platforms.toml and every declaration below ``directory``.

    Symbolic links and special files are never read: each is an IO finding. ``workers``
    processes read the files, this one among them (None: one per core for a large
    collection; 1: this one alone).

    Raises:
        CollectionError: the directory does not exist or is not a directory.
    """
    if not directory.is_dir():
        raise CollectionError("not a collection directory", path=directory, code="IO")
    with cycle_collection_paused():
        return _load(directory, workers)


def _load(directory: Path, wanted: int | None) -> Collection:
    findings: list[Finding] = []
    platforms: tuple[Platform, ...] = ()
    table: dict[str, object] = {}
    try:
        loaded, table = load_platforms(directory / PLATFORMS_FILE)
        platforms = tuple(loaded)
    except PlatformError as e:
        findings.append(Finding(PurePosixPath(PLATFORMS_FILE), "PLATFORMS", str(e)))
    policy = None
    try:
        policy = load_policy(directory / POLICY_FILE)
    except PolicyError as e:
        findings.append(Finding(PurePosixPath(POLICY_FILE), "POLICY", str(e)))
    parts, top_toml = top_level(directory)
    root = str(directory)
    declarations: list[Declaration] = []
    files: list[PurePosixPath] = []

    def add(entries: list[_Entry]) -> None:
        for rel, kind, decl, problems in entries:
            path = decl.path if isinstance(decl, Declaration) else PurePosixPath(rel)
            files.append(path)
            if kind:
                findings.append(Finding(path, "IO", f"not read: {kind}"))
                continue
            if isinstance(decl, Declaration):
                declarations.append(decl)
            findings.extend(Finding(path, code, message) for code, message in problems)

    add(_read_entries(root, top_toml, compact=False))
    sizes = _projects(root, parts)
    workers = _workers(wanted, parts, sizes)
    if workers:
        for entries in _read_shared(root, parts, sizes, workers):
            add(entries)
    else:
        for top in parts:
            add(_read_here(root, top))
    # In path order (part by part), compared as strings in C: joined with NUL, which sorts
    # before every character a path holds, a path's text sorts as its parts do.
    declarations.sort(key=lambda d: str(d.path).replace("/", "\0"))
    return Collection(
        root=directory,
        platforms=platforms,
        platforms_table=table,
        declarations=tuple(declarations),
        findings=tuple(findings),
        files=tuple(files),
        policy=policy,
    )


def read_collection(directory: Path) -> tuple[dict[str, object], list[Declaration]]:
    """What a build needs: the platforms table (verbatim) and every declaration, sorted by
    path — from a collection that loads completely. Collection-wide checks (layout,
    uniqueness, closure) stay `wheelset check`'s job.

    Raises:
        CollectionError: the directory is missing, or a file of it does not load (the
            first one, with its path and finding code).
    """
    collection = load_collection(directory)
    if collection.findings:
        first = collection.findings[0]
        more = len(collection.findings) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''}; see `wheelset check`)"
        raise CollectionError(
            first.message + (suffix if more else ""), path=first.path, code=first.code
        )
    return collection.platforms_table, list(collection.declarations)


def changed_paths(directory: Path, ref: str) -> set[PurePosixPath]:
    """Declarations below ``directory`` added or modified since Git ``ref`` (incl. uncommitted
    and untracked files), relative to ``directory``.

    Raises:
        CollectionError: not a Git work tree, or ``ref`` is unknown.
    """
    # Outside a work tree `git diff` compares files (--no-index) and prints its usage.
    commands = (
        ["git", "rev-parse", "--is-inside-work-tree"],
        ["git", "diff", "--name-only", "--relative", "--no-renames", "--diff-filter=AM", ref, "--"],
        ["git", "ls-files", "--others", "--exclude-standard"],
    )
    paths: set[PurePosixPath] = set()
    for command in commands:
        try:
            result = subprocess.run(
                command, cwd=directory, capture_output=True, text=True, check=False
            )
        except OSError as e:
            raise CollectionError(f"cannot run git: {e}", code="GIT") from e
        if command[1] == "rev-parse":
            if result.returncode != 0 or result.stdout.strip() != "true":
                raise CollectionError("not inside a Git work tree", path=directory, code="GIT")
            continue
        if result.returncode != 0:
            detail = result.stderr.strip().splitlines()
            raise CollectionError(
                f"git {command[1]} failed: {detail[-1] if detail else 'unknown error'}",
                path=directory,
                code="GIT",
            )
        paths.update(PurePosixPath(line) for line in result.stdout.splitlines() if line)
    return {p for p in paths if p.suffix == ".toml"}
