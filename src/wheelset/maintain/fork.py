"""Forks: derive a declarations repository from a published root, and merge upstream updates.

`init` writes a root back out as a collection (declarations, platforms.toml, and
policy.toml when the root carries one), reading its projects one at a time (memory
bounded by a project, not the collection), plus
`upstream.toml`, the record of the root it came from, and the merge base
(`.wheelset/upstream.jsonl`: the platforms, then per project its directory CID and its
declarations, as verified when read) so a later `sync` has its base offline and reads
from the new root only the projects whose directory changed. Rebuilding an unchanged fork
gives the upstream root again.
`sync` is a three-way merge per project (base = recorded root, theirs = new root, ours =
the fork): a side that did not change yields to the side that did; both changing the same
project differently is a conflict, left as the fork has it and reported.
`prune` keeps the named projects and their closure on every (remaining) platform.
Entry points: init_collection(), upstream_of(), merge_collections(), apply_merge(),
read_upstream(), read_prune(), Upstream, plan_prune(), apply_prune().
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import tomli_w
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from wheelset.check.closure import check_closure
from wheelset.client.root import Root
from wheelset.errors import ForkError
from wheelset.fsutil import atomic_write_bytes, atomic_write_text
from wheelset.ipfs.cid import CID, InvalidCID, parse_cid
from wheelset.maintain.template import staged_directory
from wheelset.model.canonical_toml import NotToml, read_toml
from wheelset.model.closure import ClosureIndex, Selected, iter_closure
from wheelset.model.declarations import (
    Declaration,
    DeclarationError,
    dump_declaration,
    parse_declaration,
)
from wheelset.model.platforms import PLATFORMS_FILE, Platform, PlatformError, parse_platforms
from wheelset.model.policy import POLICY_FILE, PolicyError, parse_policy_bytes

__all__ = [
    "UPSTREAM_BASE",
    "UPSTREAM_FILE",
    "Change",
    "ChangeKind",
    "ForkError",
    "MergeResult",
    "PrunePlan",
    "Upstream",
    "apply_merge",
    "apply_prune",
    "init_collection",
    "merge_collections",
    "plan_prune",
    "read_prune",
    "read_upstream",
    "upstream_of",
]

UPSTREAM_FILE = "upstream.toml"
UPSTREAM_BASE = ".wheelset/upstream.jsonl"
_PLATFORMS_KEY = "platforms.toml"  # the platforms table takes part in the merge like a project


@dataclass(frozen=True, slots=True)
class Upstream:
    """A root as a merge base: its platforms, declarations and, per project, its directory
    CID (text; None when not known, e.g. read from a build directory's files)."""

    platforms: Mapping[str, object]
    declarations: tuple[Declaration, ...]
    directories: Mapping[str, str | None] = field(default_factory=dict)


def _token(value: object) -> str | None:
    return str(value) if isinstance(value, CID) else None


def _base_line(name: str, directory: str | None, decls: Iterable[Declaration]) -> str:
    tables = [{"path": str(d.path), **d.to_toml()} for d in decls]
    doc = {"name": name, "directory": directory, "declarations": tables}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False) + "\n"


def init_collection(root: Root, target: Path) -> tuple[int, int]:
    """Write ``root`` as a collection in the new directory ``target``; return the numbers of
    wheels and projects. Projects are read and written one at a time.

    Everything is written into a temporary sibling directory that is renamed at the end, so a
    failure leaves nothing behind.
    Raises:
        ForkError: ``target`` exists and is not empty, or the root's policy.toml is malformed.
        RootError: a project of the root (or its policy.toml) cannot be read.
    """
    wheels = projects = 0
    with staged_directory(target) as staging:
        listing = root.directories()
        base = staging / UPSTREAM_BASE
        base.parent.mkdir(parents=True)
        with base.open("w", encoding="utf-8") as out:
            out.write(json.dumps({"platforms": root.platforms}, sort_keys=True) + "\n")
            for name, entries in root.iter_projects():
                decls = [e.declaration for e in entries]
                for decl in decls:
                    dump_declaration(decl, staging)
                out.write(_base_line(name, _token(listing.get(name)), decls))
                wheels += len(decls)
                projects += 1
        atomic_write_text(staging / PLATFORMS_FILE, tomli_w.dumps(dict(root.platforms)))
        policy = root.policy()
        if policy is not None:
            try:
                parse_policy_bytes(policy)
            except PolicyError as e:
                raise ForkError(
                    f"the root's /{POLICY_FILE} is malformed: {e}", path=target, code="FORK"
                ) from e
            atomic_write_bytes(staging / POLICY_FILE, policy)  # verbatim: the fork rebuilds it
        _write_record(staging, root.cid)
    return wheels, projects


def _write_record(collection: Path, root: CID, keep: Sequence[Requirement] = ()) -> None:
    record: dict[str, object] = {"root": str(root)}
    if keep:
        record["prune"] = {"keep": [str(r) for r in keep]}
    text = (
        "# The published root this collection was derived from (wheelset init / sync),\n"
        "# and what `wheelset prune` kept (sync then takes only what those need).\n"
        + tomli_w.dumps(record)
    )
    atomic_write_text(collection / UPSTREAM_FILE, text)


def _write_upstream(
    collection: Path, root: CID, upstream: Upstream, keep: Sequence[Requirement] = ()
) -> None:
    by_project = _by_project(upstream.declarations)
    lines = [json.dumps({"platforms": upstream.platforms}, sort_keys=True) + "\n"]
    lines += [
        _base_line(name, upstream.directories.get(name), by_project[name])
        for name in sorted(by_project)
    ]
    atomic_write_text(collection / UPSTREAM_BASE, "".join(lines))
    _write_record(collection, root, keep)


def _parse_base(text: str, where: Path) -> Upstream:
    try:
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        platforms = lines[0]["platforms"]
        decls: list[Declaration] = []
        directories: dict[str, str | None] = {}
        for line in lines[1:]:
            directories[line["name"]] = line["directory"]
            for table in line["declarations"]:
                table = dict(table)
                path = PurePosixPath(table.pop("path"))
                decls.append(parse_declaration(table, path))
    except (json.JSONDecodeError, IndexError, KeyError, TypeError, DeclarationError) as e:
        raise ForkError(f"malformed merge base: {e}", path=where, code="FORK") from e
    if not isinstance(platforms, dict):
        raise ForkError("malformed merge base: no platforms table", path=where, code="FORK")
    return Upstream(platforms, tuple(decls), directories)


def read_upstream(collection: Path) -> tuple[CID, Upstream]:
    """The recorded upstream root and the merge base.

    Raises:
        ForkError: no record, or a malformed one.
    """
    record = collection / UPSTREAM_FILE
    try:
        table = read_toml(record.read_bytes())
        root = parse_cid(str(table["root"]))
        text = (collection / UPSTREAM_BASE).read_text("utf-8")
    except FileNotFoundError as e:
        raise ForkError(
            f"not a fork: {Path(e.filename).name} is missing (use wheelset init --from)",
            path=collection,
            code="FORK",
        ) from e
    except (NotToml, KeyError, InvalidCID, OSError) as e:
        raise ForkError(f"malformed upstream record: {e}", path=record, code="FORK") from e
    return root, _parse_base(text, collection / UPSTREAM_BASE)


def upstream_of(root: Root, base: Upstream) -> Upstream:
    """``root`` as the other side of a merge with ``base``: a project whose directory CID is
    the base's is taken from the base; only the others are read from the root.

    Raises:
        RootError: a project of the root cannot be read.
    """
    listing = root.directories()
    base_projects = _by_project(base.declarations)
    same = {
        name
        for name, token in listing.items()
        if _token(token) is not None and base.directories.get(name) == _token(token)
    }
    read = root.projects(sorted(set(listing) - same))
    decls = [d for name in same for d in base_projects.get(name, ())]
    decls += [e.declaration for entries in read.values() for e in entries or ()]
    return Upstream(
        root.platforms,
        tuple(sorted(decls, key=lambda d: str(d.path))),
        {name: _token(token) for name, token in listing.items()},
    )


def read_prune(collection: Path) -> tuple[Requirement, ...]:
    """What `prune` kept in this fork (empty: never pruned, or not a fork)."""
    try:
        table = read_toml((collection / UPSTREAM_FILE).read_bytes())
    except FileNotFoundError:
        return ()
    except (NotToml, OSError) as e:
        raise ForkError(f"malformed upstream record: {e}", path=UPSTREAM_FILE, code="FORK") from e
    prune = table.get("prune", {})
    keep = prune.get("keep", []) if isinstance(prune, dict) else None
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        raise ForkError(
            "prune.keep must be a list of requirements", path=UPSTREAM_FILE, code="FORK"
        )
    try:
        return tuple(Requirement(k) for k in keep)
    except InvalidRequirement as e:
        raise ForkError(f"prune.keep: {e}", path=UPSTREAM_FILE, code="FORK") from e


class ChangeKind(enum.Enum):
    TAKEN = "taken from upstream"  # upstream changed, the fork did not
    KEPT = "kept local"  # the fork changed, upstream did not
    KEPT_REMOVED = "kept removed"  # the fork removed it, upstream changed it
    CONFLICT = "conflict"  # both changed it differently; the fork's version stays


@dataclass(frozen=True, slots=True)
class Change:
    project: str
    kind: ChangeKind
    detail: str


@dataclass(frozen=True, slots=True)
class MergeResult:
    declarations: tuple[Declaration, ...]
    platforms: Mapping[str, object]
    changes: tuple[Change, ...]

    @property
    def conflicts(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind is ChangeKind.CONFLICT)


_State = frozenset[tuple[str, str]]


def _by_project(declarations: Sequence[Declaration]) -> dict[str, list[Declaration]]:
    grouped: dict[str, list[Declaration]] = {}
    for decl in declarations:
        grouped.setdefault(decl.name, []).append(decl)
    return grouped


def _state(decls: Sequence[Declaration]) -> _State:
    return frozenset((str(d.path), tomli_w.dumps(d.to_toml())) for d in decls)


def _versions(decls: Sequence[Declaration]) -> str:
    return ", ".join(sorted({str(d.version) for d in decls})) or "absent"


def merge_collections(
    base: Upstream,
    theirs: Upstream,
    ours_declarations: Sequence[Declaration],
    ours_platforms: Mapping[str, object],
    keep: Sequence[Requirement] = (),
) -> MergeResult:
    """Three-way merge of upstream's change (base → theirs) into the fork (ours).

    ``keep`` is what `prune` kept (read_prune()): a pruned fork takes from upstream only
    the projects the kept ones need.
    """
    groups = {
        "base": _by_project(base.declarations),
        "theirs": _by_project(theirs.declarations),
        "ours": _by_project(ours_declarations),
    }
    merged: list[Declaration] = []
    changes: list[Change] = []
    for project in sorted(set().union(*groups.values())):
        b, t, o = (groups[side].get(project, []) for side in ("base", "theirs", "ours"))
        sb, st, so = _state(b), _state(t), _state(o)
        if so == st or st == sb:
            merged += o
            # A project the fork removed and upstream left alone is no news.
            if so != sb and o:
                changes.append(Change(project, ChangeKind.KEPT, _versions(o)))
        elif so == sb:
            merged += t
            changes.append(Change(project, ChangeKind.TAKEN, f"{_versions(b)} -> {_versions(t)}"))
        elif not o and b:
            changes.append(
                Change(project, ChangeKind.KEPT_REMOVED, f"upstream now has {_versions(t)}")
            )
        else:
            merged += o
            changes.append(
                Change(
                    project,
                    ChangeKind.CONFLICT,
                    f"fork has {_versions(o)}, upstream went {_versions(b)} -> {_versions(t)}",
                )
            )
    platforms: Mapping[str, object] = ours_platforms
    if dict(ours_platforms) == dict(base.platforms):
        platforms = theirs.platforms
        if dict(theirs.platforms) != dict(base.platforms):
            changes.append(Change(_PLATFORMS_KEY, ChangeKind.TAKEN, "supported platforms changed"))
    elif dict(theirs.platforms) not in (dict(base.platforms), dict(ours_platforms)):
        changes.append(
            Change(
                _PLATFORMS_KEY,
                ChangeKind.CONFLICT,
                "both the fork and upstream changed the platforms",
            )
        )
    if keep:
        merged, changes = _within_pruned(merged, platforms, keep, changes)
    return MergeResult(tuple(merged), platforms, tuple(changes))


def _within_pruned(
    merged: list[Declaration],
    platforms_table: Mapping[str, object],
    keep: Sequence[Requirement],
    changes: list[Change],
) -> tuple[list[Declaration], list[Change]]:
    """A pruned fork takes from upstream only what its kept projects need."""
    index = ClosureIndex(merged)
    try:
        platforms = parse_platforms(platforms_table)
    except PlatformError as e:
        raise ForkError(str(e), path=PLATFORMS_FILE, code="FORK") from e
    needed: set[str] = set()
    for platform in platforms:
        needed |= set(_closure_with_declared_extras(index, platform, keep)[0])
    # Projects the fork declares on its own stay; upstream's only when needed.
    ours_only = {c.project for c in changes if c.kind is not ChangeKind.TAKEN}
    kept = [d for d in merged if str(d.path) in needed or d.name in ours_only]
    names = {d.name for d in kept}
    return kept, [
        c
        for c in changes
        if c.kind is not ChangeKind.TAKEN or c.project in names or c.project == _PLATFORMS_KEY
    ]


def apply_merge(
    collection: Path,
    result: MergeResult,
    current: Sequence[Declaration],
    new_root: CID,
    new_upstream: Upstream,
) -> None:
    """Write the merged collection: new/changed declaration files, removed ones deleted,
    platforms, and the new upstream record (only after everything else is in place).

    With conflicts the record stays at the old root: the next sync merges from the same
    base and reports them again, until the fork resolves them (or takes upstream's side).
    """
    wanted = {str(d.path): d for d in result.declarations}
    for decl in result.declarations:
        if decl not in current:
            dump_declaration(decl, collection)
    for decl in current:
        if str(decl.path) not in wanted:
            _remove_declaration(collection, decl)
    _write_platforms_if_changed(collection, result.platforms)
    if not result.conflicts:
        _write_upstream(collection, new_root, new_upstream, read_prune(collection))


@dataclass(frozen=True, slots=True)
class PrunePlan:
    """What `prune` keeps and removes; ``platforms`` is the new platforms.toml table."""

    keep: tuple[Declaration, ...]
    remove: tuple[Declaration, ...]
    platforms: Mapping[str, object]


def _narrow(table: Mapping[str, object], only: Sequence[str]) -> dict[str, object]:
    """Keep only the named Python versions and/or systems (each given dimension narrows)."""
    narrowed = dict(table)
    for key, pick in (
        ("python-versions", [o for o in only if re.fullmatch(r"\d+\.\d+(\.\d+)?", o)]),
        ("systems", [o for o in only if not re.fullmatch(r"\d+\.\d+(\.\d+)?", o)]),
    ):
        if not pick:
            continue
        present = [str(v) for v in table.get(key, [])]  # type: ignore[attr-defined]
        unknown = [p for p in pick if p not in present]
        if unknown:
            raise ForkError(
                f"--platform {unknown[0]!r} is not in {PLATFORMS_FILE} "
                f"(its {key}: {', '.join(present)})",
                code="PRUNE",
            )
        narrowed[key] = [v for v in present if v in pick]
    return narrowed


def plan_prune(
    declarations: Sequence[Declaration],
    platforms_table: Mapping[str, object],
    keep: Sequence[Requirement],
    only: Sequence[str] = (),
) -> PrunePlan:
    """Keep ``keep`` and everything they need, on every platform left after ``only``.

    A wheel stays when some remaining platform installs it for the kept set; everything
    else goes. The kept set is then checked (closure on every platform).
    Raises:
        ForkError: an unknown project, an unknown platform, or a kept set whose closure is
            broken (code PRUNE; nothing is changed).
    """
    table = _narrow(platforms_table, only)
    try:
        platforms = parse_platforms(table)
    except PlatformError as e:
        raise ForkError(str(e), path=PLATFORMS_FILE, code="PRUNE") from e
    index = ClosureIndex(declarations)
    unknown = [str(r) for r in keep if canonicalize_name(r.name) not in index.by_name]
    if unknown:
        raise ForkError(f"--keep {unknown[0]!r}: no such project in the collection", code="PRUNE")
    kept: dict[str, Declaration] = {}
    problems: list[str] = []
    for platform in platforms:
        kept_here, problems_here = _closure_with_declared_extras(index, platform, keep)
        kept.update(kept_here)
        problems += problems_here
    if not kept:
        raise ForkError(
            "no wheel of the kept projects installs on the remaining platforms", code="PRUNE"
        )
    findings = list(check_closure(list(kept.values()), platforms))
    problems += [f"{f.path}: {f.code} {f.message}" for f in findings]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ForkError(f"the pruned set would not be sound: {problems[0]}{more}", code="PRUNE")
    keep_decls = tuple(sorted(kept.values(), key=lambda d: d.path))
    remove = tuple(d for d in declarations if str(d.path) not in kept)
    return PrunePlan(keep_decls, remove, table)


def _closure_with_declared_extras(
    index: ClosureIndex, platform: Platform, keep: Sequence[Requirement]
) -> tuple[dict[str, Declaration], list[str]]:
    """The closure of ``keep`` on ``platform``, grown until every kept wheel's declared
    extras are in it too: check requires what those extras bring in."""
    view = index.view(platform)
    wanted = [r for r in keep if canonicalize_name(r.name) in view.selected]
    with_extras: set[tuple[str, tuple[str, ...]]] = set()
    while True:
        kept: dict[str, Declaration] = {}
        problems: list[str] = []
        for outcome in iter_closure(index, platform, wanted):
            if isinstance(outcome, Selected):
                kept[str(outcome.declaration.path)] = outcome.declaration
            else:
                problems.append(f"{platform.id}: {outcome.code} {outcome.message}")
        grown = {(d.name, tuple(d.extras)) for d in kept.values() if d.extras} - with_extras
        if not grown:
            return kept, problems
        with_extras |= grown
        wanted += [Requirement(f"{name}[{','.join(extras)}]") for name, extras in sorted(grown)]


def _remove_declaration(collection: Path, decl: Declaration) -> None:
    file = collection / Path(*decl.path.parts)
    file.unlink(missing_ok=True)
    for folder in (file.parent, file.parent.parent):
        if folder != collection and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _write_platforms_if_changed(collection: Path, table: Mapping[str, object]) -> None:
    platforms_file = collection / PLATFORMS_FILE
    try:
        unchanged = read_toml(platforms_file.read_bytes()) == dict(table)
    except (OSError, NotToml):
        unchanged = False
    if not unchanged:
        atomic_write_text(platforms_file, tomli_w.dumps(dict(table)))


def apply_prune(collection: Path, plan: PrunePlan, keep: Sequence[Requirement] = ()) -> None:
    """Delete the removed declarations and write the narrowed platforms.toml; in a fork,
    record ``keep`` so that sync takes from upstream only what it needs."""
    for decl in plan.remove:
        _remove_declaration(collection, decl)
    _write_platforms_if_changed(collection, plan.platforms)
    if keep and (collection / UPSTREAM_FILE).is_file():
        root, base = read_upstream(collection)
        _write_upstream(collection, root, base, keep)
