"""Bumping projects: swap their declarations for other releases', checked before writing.

plan_bump() works in memory: it plans each release as `declare` does (the fewest wheels
covering the supported platforms), fetches and verifies those wheels, builds the would-be
collection (the projects' declarations replaced, all together) and runs the checks on it
and on the current collection. Only what is new after the bump is blamed on it: closure
problems are compared per (project, code, requirement, extra) and platform, other findings
by file (a bumped project's files count as one) and message. It also reports platforms a
project no longer has a wheel for, and the wheel each platform gets before and after.
apply_bump() writes the new declarations, then removes the old ones. Formatters give a
Markdown report (ready for a pull-request description) and JSON.
Entry points: plan_bump(), apply_bump(), BumpPlan, ProjectBump, Problem, PlatformChange,
format_markdown(), format_json(), parse_targets().
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from wheelset.check import run_checks
from wheelset.check.report import shown_path
from wheelset.errors import BumpError, UsageError
from wheelset.fetch.wheels import WheelFetcher
from wheelset.maintain.declare import (
    declare_release,
    parse_source,
    plan_release,
    write_declarations,
)
from wheelset.maintain.outdated import covered_platforms, find_update, private_projects
from wheelset.model.closure import ClosureIndex, Unsatisfied
from wheelset.model.collection import Collection as LoadedCollection
from wheelset.model.declarations import Declaration, prefix_of
from wheelset.model.findings import Finding, Severity
from wheelset.model.platforms import PLATFORMS_FILE, Platform, describe_platforms

__all__ = [
    "BumpError",
    "BumpPlan",
    "PlatformChange",
    "Problem",
    "ProjectBump",
    "apply_bump",
    "format_json",
    "format_markdown",
    "parse_targets",
    "plan_bump",
]

# Closure codes come from the per-platform comparison, not from the findings' text.
_CLOSURE_CODES = frozenset({"MISSING", "UNSATISFIED", "EXTRA", "PYTHON", "MARKER"})


@dataclass(frozen=True, slots=True)
class PlatformChange:
    """The platforms on which the project's selected wheel goes from ``before`` to ``after``
    (file names; None: no wheel of the project installs there)."""

    platforms: tuple[str, ...]
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class Problem:
    """Something the bump breaks (or fixes).

    ``kind``: ``dependent`` (another project's requirement on the bumped one is no longer
    met), ``dependency`` (a requirement of the new release is not met), ``closure`` (any
    other closure problem), ``platform`` (a platform left without a wheel of the project),
    ``finding`` (any other check finding). ``path`` is relative to the collection.
    """

    kind: str
    code: str
    message: str
    path: PurePosixPath | None = None
    platforms: tuple[str, ...] = ()
    severity: Severity = Severity.ERROR


@dataclass(frozen=True, slots=True)
class ProjectBump:
    """One project's part of a bump: ``removed`` are the declaration files to delete
    (relative to the collection), ``added`` the new declarations (a file of the same name
    is overwritten), ``changes`` the wheel each platform gets before and after."""

    project: NormalizedName
    old_versions: tuple[Version, ...]
    new_version: Version
    removed: tuple[PurePosixPath, ...] = ()
    added: tuple[Declaration, ...] = ()
    changes: tuple[PlatformChange, ...] = ()

    @property
    def is_noop(self) -> bool:
        """Nothing to do: the project is already at the newest usable release."""
        return not self.added and not self.removed


@dataclass(frozen=True, slots=True)
class BumpPlan:
    """What a bump changes and what it breaks; nothing is written yet.

    ``breaks`` are the new errors (the bump is sound when there are none), ``warnings`` the
    new warnings, ``fixed`` the problems the bump makes disappear.
    """

    projects: tuple[ProjectBump, ...]
    breaks: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    fixed: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    platforms: tuple[Platform, ...] = field(default=(), repr=False, compare=False)

    @property
    def is_sound(self) -> bool:
        return not self.breaks

    @property
    def is_noop(self) -> bool:
        return all(p.is_noop for p in self.projects)

    @property
    def removed(self) -> tuple[PurePosixPath, ...]:
        return tuple(path for p in self.projects for path in p.removed)

    @property
    def added(self) -> tuple[Declaration, ...]:
        return tuple(decl for p in self.projects for decl in p.added)


def parse_targets(texts: Iterable[str]) -> dict[NormalizedName, Version | None]:
    """The projects to bump, from ``PROJECT`` or ``PROJECT==VERSION`` texts (``None``: the
    newest release that fits).

    Raises:
        UsageError: a text is neither form, or a project is named twice.
    """
    targets: dict[NormalizedName, Version | None] = {}
    for text in texts:
        spec = parse_source(text)
        if spec.kind != "release" or spec.name is None:
            raise UsageError(f"{text!r}: expected PROJECT or PROJECT==VERSION")
        if spec.name in targets:
            raise UsageError(f"{spec.name} is named twice")
        targets[spec.name] = spec.version
    return targets


def plan_bump(
    collection: LoadedCollection,
    targets: Mapping[str, Version | None],
    *,
    fetcher: WheelFetcher,
    extras: Collection[str] | None = None,
    jobs: int = 4,
    allow_index_swap: bool = False,
) -> BumpPlan:
    """Plan replacing each target project's declarations with a release, and check the
    result of replacing them all together. A project declared from a URL source (a private
    wheel) is refused unless ``allow_index_swap``: its new declarations would come from the
    index.

    A target's version None means the newest release covering every platform the project
    covers now (see outdated.find_update); a project already there is left as it is. The
    new declarations keep the extras the current ones declare, unless ``extras`` names
    them. The wheels are fetched (``jobs`` at a time) and verified.

    Raises:
        BumpError: a project is not declared or is private, platforms.toml is broken, no
            release fits.
        DeclareError: a version is not on the index, or none of its wheels fits.
        FetchError, NotAWheelError: a page or wheel cannot be fetched, or is not valid.
    """
    platforms = collection.platforms
    if not platforms:
        raise BumpError(
            "no supported platforms: fix it first (wheelset check)",
            path=collection.root / PLATFORMS_FILE,
            code="PLATFORMS",
        )
    if extras is not None and len(targets) > 1:
        raise BumpError("extras can be chosen when bumping one project only", code="USAGE")
    wanted: dict[NormalizedName, Version | None] = {}
    for project, version in targets.items():
        name = canonicalize_name(project)
        if name in wanted:
            raise BumpError(f"{name} is named twice", code="USAGE")
        if not any(d.name == name for d in collection.declarations):
            raise BumpError(
                f"{name} is not declared in {collection.root} "
                f"(add it with: wheelset declare {name} --into {collection.root})",
                code="UNKNOWN",
            )
        wanted[name] = version
    covered = covered_platforms(collection.declarations, platforms)
    would_be = collection
    bumps: dict[NormalizedName, tuple[ProjectBump, set[PurePosixPath]]] = {}
    notes: list[str] = []
    private = set() if allow_index_swap else private_projects(collection.declarations)
    for name in wanted:
        if name in private:
            raise BumpError(
                f"{name} is declared from a private URL source; a bump would take it from "
                "the index instead (a dependency-confusion risk): declare the new wheel by "
                "its URL, or pass --allow-index-swap",
                code="PRIVATE",
            )
    for name, version in wanted.items():
        current = [d for d in collection.declarations if d.name == name]
        old_versions = tuple(sorted({d.version for d in current}))
        files = fetcher.index.project_files(name)
        if version is None:
            status = find_update(name, old_versions, covered[name], files, platforms)
            if status.newest is None:
                why = "; ".join(f"{s.version}: {s.reason}" for s in status.newer[:3])
                raise BumpError(
                    f"no release of {name} covers its platforms "
                    f"({describe_platforms(covered[name], platforms) or 'none'})"
                    + (f" ({why})" if why else "")
                    + f"; name one: {name}==VERSION",
                    code="NO-RELEASE",
                )
            if not status.is_outdated:
                bumps[name] = (ProjectBump(name, old_versions, status.current), set())
                continue
            version = status.newest
        release = plan_release(name, version, files, platforms)
        declared = declare_release(release, fetcher=fetcher, jobs=jobs)
        new, extra_notes = _with_extras(name, version, declared, current, extras)
        notes += extra_notes
        if any(not d.is_index_source for d in current):
            notes.append(f"{name}: the new declarations' sources are index: links, not URLs")
        would_be, replaced = _swap(would_be, name, new)
        removed = tuple(sorted(replaced - {d.path for d in new}))
        bumps[name] = (ProjectBump(name, old_versions, version, removed, new), replaced)
    if all(bump.is_noop for bump, _replaced in bumps.values()):
        return BumpPlan(tuple(b for b, _r in bumps.values()), platforms=platforms)
    project_files = {path for _bump, replaced in bumps.values() for path in replaced}
    project_files |= {d.path for bump, _replaced in bumps.values() for d in bump.added}
    introduced, fixed = _compare(collection, would_be, set(wanted), project_files)
    lost: list[Problem] = []
    projects = []
    for name, (bump, _replaced) in bumps.items():
        if bump.is_noop:
            projects.append(bump)
            continue
        changes, gone = _platform_changes(collection, would_be, name, bump)
        projects.append(dataclasses.replace(bump, changes=changes))
        lost += gone
    return BumpPlan(
        projects=tuple(projects),
        breaks=tuple(lost + [p for p in introduced if p.severity is Severity.ERROR]),
        warnings=tuple(p for p in introduced if p.severity is not Severity.ERROR),
        fixed=tuple(fixed),
        notes=tuple(notes),
        platforms=platforms,
    )


def _with_extras(
    name: NormalizedName,
    version: Version,
    declared: Sequence[Declaration],
    current: Sequence[Declaration],
    extras: Collection[str] | None,
) -> tuple[tuple[Declaration, ...], list[str]]:
    """The declarations restricted to the kept extras, and notes on extras that changed."""
    offered = {e for d in declared for e in d.extras}
    notes = []
    if extras is None:
        keep = {e for d in current for e in d.extras}
        dropped = sorted(keep - offered)
        if dropped:
            notes.append(f"{name} {version} no longer provides extras: {', '.join(dropped)}")
        new_ones = sorted(offered - keep)
        if new_ones:
            notes.append(
                f"{name} {version} also provides extras {', '.join(new_ones)}: not declared "
                "(bump with --extras to declare them)"
            )
    else:
        keep = {canonicalize_name(e) for e in extras if e.strip()}
        unknown = sorted(keep - offered)
        if unknown:
            notes.append(f"{name} {version} has no extras {', '.join(unknown)}")
    new = tuple(
        dataclasses.replace(d, extras=tuple(e for e in d.extras if e in keep)) for d in declared
    )
    return new, notes


def _swap(
    collection: LoadedCollection, name: NormalizedName, new: Sequence[Declaration]
) -> tuple[LoadedCollection, set[PurePosixPath]]:
    """The collection with ``name``'s declaration files replaced by ``new``, and the paths of
    the replaced files (every loaded declaration of the project, and every .toml file in its
    directory, loadable or not)."""
    project_dir = PurePosixPath(prefix_of(name), name)
    removed = {d.path for d in collection.declarations if d.name == name}
    removed |= {f for f in collection.files if f.parent == project_dir and f.suffix == ".toml"}
    declarations = [d for d in collection.declarations if d.path not in removed]
    declarations += new
    declarations.sort(key=lambda d: d.path)
    files = (set(collection.files) - removed) | {d.path for d in new}
    would_be = dataclasses.replace(
        collection,
        declarations=tuple(declarations),
        files=tuple(sorted(files)),
        findings=tuple(f for f in collection.findings if f.path not in removed),
    )
    return would_be, removed


_ClosureKey = tuple[str, str, str, str]  # (project, code, requirement, extra)


def _closure_problems(
    declarations: Sequence[Declaration], platforms: Sequence[Platform]
) -> dict[_ClosureKey, tuple[Declaration, Unsatisfied, list[str]]]:
    """Every unmet requirement, keyed without versions so that one that was already unmet
    before a bump is recognised after it; with the platforms it occurs on."""
    index = ClosureIndex(declarations)
    found: dict[_ClosureKey, tuple[Declaration, Unsatisfied, list[str]]] = {}
    for platform in platforms:
        view = index.view(platform)
        for decl in view.selected.values():
            for problem in view.unsatisfied(decl):
                key = (decl.name, problem.code, str(problem.requirement), problem.extra)
                entry = found.setdefault(key, (decl, problem, []))
                if platform.id not in entry[2]:
                    entry[2].append(platform.id)
    return found


def _closure_problem(
    names: Set[str], decl: Declaration, unsatisfied: Unsatisfied, platforms: list[str]
) -> Problem:
    if decl.name in names:
        kind = "dependency"
    elif canonicalize_name(unsatisfied.requirement.name) in names:
        kind = "dependent"
    else:
        kind = "closure"
    return Problem(
        kind,
        unsatisfied.code,
        f"{decl.name} {decl.version} {unsatisfied.message}",
        decl.path,
        tuple(platforms),
    )


def _compare(
    before: LoadedCollection,
    after: LoadedCollection,
    names: Set[str],
    project_files: Set[PurePosixPath],
) -> tuple[list[Problem], list[Problem]]:
    """(problems the bump introduces, problems it fixes). Findings on the bumped projects'
    files (``project_files``, old and new) are compared by code and message only."""
    introduced: list[Problem] = []
    fixed: list[Problem] = []
    old = _closure_problems(before.declarations, before.platforms)
    new = _closure_problems(after.declarations, after.platforms)
    for mine, theirs, out in ((new, old, introduced), (old, new, fixed)):
        for key, (decl, unsatisfied, ids) in mine.items():
            other = theirs.get(key)
            extra = [i for i in ids if other is None or i not in other[2]]
            if extra:
                out.append(_closure_problem(names, decl, unsatisfied, extra))

    def keyed(findings: Iterable[Finding]) -> dict[tuple[object, ...], Finding]:
        return {
            (
                "" if f.path in project_files else str(f.path),
                f.code,
                f.message,
                f.severity,
            ): f
            for f in findings
            if f.code not in _CLOSURE_CODES
        }

    old_findings = keyed(run_checks(before))
    new_findings = keyed(run_checks(after))
    for mine_f, theirs_f, out in (
        (new_findings, old_findings, introduced),
        (old_findings, new_findings, fixed),
    ):
        out += (
            Problem("finding", f.code, f.message, f.path, severity=f.severity)
            for key, f in mine_f.items()
            if key not in theirs_f
        )
    return introduced, fixed


def _platform_changes(
    before: LoadedCollection, after: LoadedCollection, name: NormalizedName, bump: ProjectBump
) -> tuple[tuple[PlatformChange, ...], list[Problem]]:
    """The wheel selected on each platform before and after, and the platforms lost."""
    old, new = ClosureIndex(before.declarations), ClosureIndex(after.declarations)
    rows: dict[tuple[str | None, str | None], list[str]] = {}
    lost: dict[str, list[str]] = {}  # reason -> platform ids
    for platform in before.platforms:
        was = old.view(platform).selected.get(name)
        view = new.view(platform)
        now = view.selected.get(name)
        key = (was.filename if was else None, now.filename if now else None)
        rows.setdefault(key, []).append(platform.id)
        if was is not None and now is None:
            gap = view.python_gaps.get(name)
            reason = f"it requires Python {gap.requires_python}; " if gap else ""
            lost.setdefault(reason, []).append(platform.id)
    changes = tuple(PlatformChange(tuple(ids), b, a) for (b, a), ids in rows.items())
    release = f"{name} {bump.new_version}"
    problems = [
        Problem(
            "platform",
            "NO-WHEEL",
            f"{release} has no wheel for {describe_platforms(ids, before.platforms)} "
            f"({reason}{_versions(bump.old_versions)} had one)",
            platforms=tuple(ids),
        )
        for reason, ids in lost.items()
    ]
    return changes, problems


def apply_bump(plan: BumpPlan, root: Path) -> list[tuple[str, Path]]:
    """Write the plan's declarations under ``root`` (each file atomically), then delete the
    replaced ones. Returns (``added``/``updated``/``unchanged``/``removed``, path) pairs.

    Raises:
        DeclareError, BumpError: a file cannot be written or removed (code IO).
    """
    report = write_declarations(plan.added, root)
    try:
        for rel in plan.removed:
            target = root / Path(*rel.parts)
            target.unlink(missing_ok=True)
            report.append(("removed", target))
            for folder in (target.parent, target.parent.parent):
                if folder != root and folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
    except OSError as e:
        raise BumpError(f"cannot remove old declarations: {e}", path=root, code="IO") from e
    return report


def _versions(versions: Sequence[Version]) -> str:
    return ", ".join(map(str, versions))


def _problem_line(problem: Problem, plan: BumpPlan, base: PurePath | str | None) -> str:
    text = f"`{problem.code}` {problem.message}"
    if problem.platforms and problem.kind != "platform":
        text += f" — on {describe_platforms(problem.platforms, plan.platforms)}"
    if problem.path is not None:
        text += f" (`{shown_path(base, problem.path)}`)"
    return f"- {text}"


def _title(bump: ProjectBump) -> str:
    return f"`{bump.project}` {_versions(bump.old_versions)} → {bump.new_version}"


def format_markdown(plan: BumpPlan, *, applied: bool, base: PurePath | str | None = None) -> str:
    """A Markdown report for a pull-request description (paths shown under ``base``)."""
    current = [b for b in plan.projects if b.is_noop]
    moving = [b for b in plan.projects if not b.is_noop]
    if not moving:
        lines = [f"### Up to date: {', '.join(f'`{b.project}`' for b in current)}", ""]
        lines += [
            f"- `{b.project}` {_versions(b.old_versions)} is the newest release with wheels "
            "for every platform it covers."
            for b in current
        ]
        return "\n".join(lines) + "\n"
    lines = [f"### Bump {', '.join(_title(b) for b in moving)}", ""]
    if plan.is_sound:
        verdict = "**Sound**: the checks find nothing new."
    else:
        count = len(plan.breaks)
        verdict = f"**Breaks the collection** ({count} problem{'s' if count != 1 else ''})."
    if applied:
        verdict += " Applied." if plan.is_sound else " Applied anyway (`--force`)."
    else:
        verdict += " Not applied." if plan.is_sound else " Not applied (`--force` writes it)."
    lines.append(verdict)
    for bump in moving:
        if len(moving) > 1:
            lines += ["", f"#### {_title(bump)}"]
        old, new = _versions(bump.old_versions), bump.new_version
        lines += ["", f"| platforms | {old} | {new} |", "|---|---|---|"]
        for change in bump.changes:
            where = describe_platforms(change.platforms, plan.platforms)
            before = f"`{change.before}`" if change.before else "no wheel"
            after = f"`{change.after}`" if change.after else "**no wheel**"
            lines.append(f"| {where} | {before} | {after} |")
    sections = (
        ("Breaks", plan.breaks),
        ("New warnings", plan.warnings),
        ("Fixed by the bump", plan.fixed),
    )
    for title, problems in sections:
        if problems:
            lines += ["", f"#### {title}", ""]
            lines += [_problem_line(p, plan, base) for p in problems]
    lines += ["", "#### Declarations", ""]
    lines += [f"- removed `{shown_path(base, path)}`" for path in plan.removed]
    lines += [f"- added `{shown_path(base, d.path)}`" for d in plan.added]
    notes = [*plan.notes]
    notes += [f"`{b.project}` {_versions(b.old_versions)} is already up to date" for b in current]
    if notes:
        lines += ["", "#### Notes", ""]
        lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def _problem_json(problem: Problem, base: PurePath | str | None) -> dict[str, object]:
    return {
        "kind": problem.kind,
        "code": problem.code,
        "severity": problem.severity.value,
        "message": problem.message,
        "path": shown_path(base, problem.path) if problem.path is not None else None,
        "platforms": list(problem.platforms),
    }


def format_json(plan: BumpPlan, *, applied: bool, base: PurePath | str | None = None) -> str:
    """The report as one JSON document (see README: "Maintaining a collection")."""
    doc = {
        "sound": plan.is_sound,
        "applied": applied,
        "projects": [
            {
                "project": b.project,
                "from": [str(v) for v in b.old_versions],
                "to": str(b.new_version),
                "up_to_date": b.is_noop,
                "platforms": [
                    {"platforms": list(c.platforms), "before": c.before, "after": c.after}
                    for c in b.changes
                ],
                "removed": [shown_path(base, p) for p in b.removed],
                "added": [shown_path(base, d.path) for d in b.added],
            }
            for b in plan.projects
        ],
        "breaks": [_problem_json(p, base) for p in plan.breaks],
        "warnings": [_problem_json(p, base) for p in plan.warnings],
        "fixed": [_problem_json(p, base) for p in plan.fixed],
        "notes": list(plan.notes),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
