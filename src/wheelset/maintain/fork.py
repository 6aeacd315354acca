"""Forks: derive a declarations repository from a published root, and merge upstream updates.

`init` writes a root's manifest back out as a collection (declarations, platforms.toml) plus
`upstream.toml`, the record of the root it came from, and a copy of that root's manifest
(`.wheelset/upstream.json`, authenticated when it was fetched) so a later `sync` has its merge
base offline. Rebuilding an unchanged fork gives the upstream root again.
`sync` is a three-way merge per project (base = recorded root, theirs = new root, ours =
the fork): a side that did not change yields to the side that did; both changing the same
project differently is a conflict, left as the fork has it and reported.
`prune` keeps the named projects and their closure on every (remaining) platform.
Entry points: init_collection(), merge_collections(), apply_merge(), read_upstream(),
read_prune(), plan_prune(), apply_prune().
"""

from __future__ import annotations

import enum
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import tomli_w
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from wheelset.build.manifest import Manifest, format_manifest, parse_manifest
from wheelset.check.closure import check_closure
from wheelset.errors import WheelsetError
from wheelset.fsutil import atomic_write_bytes, atomic_write_text
from wheelset.ipfs.cid import CID, InvalidCID, parse_cid
from wheelset.model.closure import ClosureIndex, Selected, iter_closure
from wheelset.model.declarations import Declaration, dump_declaration
from wheelset.model.platforms import PLATFORMS_FILE, Platform, PlatformError, parse_platforms

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = [
    "UPSTREAM_FILE",
    "UPSTREAM_MANIFEST",
    "Change",
    "ChangeKind",
    "ForkError",
    "MergeResult",
    "PrunePlan",
    "apply_merge",
    "apply_prune",
    "init_collection",
    "merge_collections",
    "plan_prune",
    "read_prune",
    "read_upstream",
]

UPSTREAM_FILE = "upstream.toml"
UPSTREAM_MANIFEST = ".wheelset/upstream.json"
_PLATFORMS_KEY = "platforms.toml"  # the platforms table takes part in the merge like a project


class ForkError(WheelsetError):
    """A fork cannot be created or synchronised (non-empty target, missing upstream record…)."""


def init_collection(manifest: Manifest, root: CID, target: Path) -> int:
    """Write ``manifest`` as a collection in the new directory ``target``; return the wheel count.

    Everything is written into a temporary sibling directory that is renamed at the end, so a
    failure leaves nothing behind.
    Raises:
        ForkError: ``target`` exists and is not empty.
    """
    if target.exists() and any(target.iterdir()):
        raise ForkError("target directory is not empty", path=target, code="FORK")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.wheelset-init"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir()
        for decl in manifest.declarations:
            dump_declaration(decl, staging)
        atomic_write_text(staging / PLATFORMS_FILE, tomli_w.dumps(dict(manifest.platforms)))
        _write_upstream(staging, root, manifest)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(manifest.declarations)


def _write_upstream(
    collection: Path, root: CID, manifest: Manifest, keep: Sequence[Requirement] = ()
) -> None:
    record: dict[str, object] = {"root": str(root)}
    if keep:
        record["prune"] = {"keep": [str(r) for r in keep]}
    text = (
        "# The published root this collection was derived from (wheelset init / sync),\n"
        "# and what `wheelset prune` kept (sync then takes only what those need).\n"
        + tomli_w.dumps(record)
    )
    # The canonical bytes of an authenticated manifest are the ones its root was built from.
    atomic_write_bytes(collection / UPSTREAM_MANIFEST, format_manifest(manifest))
    atomic_write_text(collection / UPSTREAM_FILE, text)


def read_upstream(collection: Path) -> tuple[CID, Manifest]:
    """The recorded upstream root and its manifest (the merge base).

    Raises:
        ForkError: no record, or a malformed one.
    """
    record = collection / UPSTREAM_FILE
    try:
        table = tomllib.loads(record.read_text("utf-8"))
        root = parse_cid(str(table["root"]))
        base = parse_manifest((collection / UPSTREAM_MANIFEST).read_bytes())
    except FileNotFoundError as e:
        raise ForkError(
            f"not a fork: {Path(e.filename).name} is missing (use wheelset init --from)",
            path=collection,
            code="FORK",
        ) from e
    except (tomllib.TOMLDecodeError, KeyError, InvalidCID, OSError, UnicodeDecodeError) as e:
        raise ForkError(f"malformed upstream record: {e}", path=record, code="FORK") from e
    return root, base


def read_prune(collection: Path) -> tuple[Requirement, ...]:
    """What `prune` kept in this fork (empty: never pruned, or not a fork)."""
    try:
        table = tomllib.loads((collection / UPSTREAM_FILE).read_text("utf-8"))
    except FileNotFoundError:
        return ()
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as e:
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
    base: Manifest,
    theirs: Manifest,
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
    new_manifest: Manifest,
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
        _write_upstream(collection, new_root, new_manifest, read_prune(collection))


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
        with platforms_file.open("rb") as f:
            unchanged = tomllib.load(f) == dict(table)
    except (OSError, tomllib.TOMLDecodeError):
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
