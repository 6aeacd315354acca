"""Which declared projects have newer releases on the index, and which of those can be used.

For each project of a collection: its declared version, the supported platforms it covers
now (where a wheel of it is selected, as the closure check selects one), and the newest
final, unyanked release on the configured index whose wheels cover every one of those
platforms (coverage as `declare` plans a release: tags and requires-python). Newer releases
that cannot replace it are listed with the platforms they lack and why. Index pages are read
through an IndexClient on a thread pool; nothing is written.
Entry points: check_outdated(), find_update(), ProjectStatus, Shortfall,
format_table(), format_json().
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from wheelset.errors import OutdatedError
from wheelset.fetch.index import IndexClient, IndexFile, IndexLookupError
from wheelset.maintain.declare import DeclareError, WheelCandidate, plan_release, wheel_candidates
from wheelset.model.closure import ClosureIndex
from wheelset.model.collection import Collection as LoadedCollection
from wheelset.model.declarations import Declaration, DeclarationError, parse_wheel_name
from wheelset.model.platforms import PLATFORMS_FILE, Platform, describe_platforms
from wheelset.model.wheelfile import sdist_version
from wheelset.workers import signals_to_main_thread

__all__ = [
    "OutdatedError",
    "ProjectStatus",
    "Shortfall",
    "check_outdated",
    "covered_platforms",
    "find_update",
    "format_json",
    "format_table",
    "private_projects",
    "release_shortfalls",
]


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A release newer than the usable one: the needed platforms it lacks, and why."""

    version: Version
    missing: tuple[str, ...]  # platform ids, in platforms.toml order
    reason: str  # e.g. "no wheels for cp311", "requires Python >=3.12 (cp311)"


@dataclass(frozen=True, slots=True)
class ProjectStatus:
    """One project compared with the index.

    ``platforms`` are the ids of the platforms the project covers now; ``newest`` is the
    newest release (not older than the declared one) whose wheels cover all of them, None
    when none does; ``newer`` lists the releases newer than that which don't, newest
    first; ``error`` says why the index could not be read for this project.
    """

    name: NormalizedName
    declared: tuple[Version, ...]
    platforms: tuple[str, ...]
    newest: Version | None
    newer: tuple[Shortfall, ...] = ()
    error: str | None = None
    private: bool = False  # declared from a URL source: not looked up on the index

    @property
    def current(self) -> Version:
        """The declared version (the highest, should the collection hold several)."""
        return max(self.declared)

    @property
    def is_outdated(self) -> bool:
        return self.newest is not None and self.newest > self.current


def _wheel_version(project: NormalizedName, filename: str) -> Version | None:
    """The version of ``project``'s wheel ``filename`` (None: not a wheel of it)."""
    if not filename.endswith(".whl"):
        return None
    try:
        name, version, _build, _tags = parse_wheel_name(filename)
    except DeclarationError:
        return None
    return version if name == project else None


def _final_versions_of_sdists(name: NormalizedName, files: Sequence[IndexFile]) -> set[Version]:
    found = set()
    for item in files:
        if item.yanked:
            continue
        version = sdist_version(item.filename, name)
        if version is not None and not version.is_prerelease:
            found.add(version)
    return found


def _shortfall(
    version: Version,
    release: Sequence[WheelCandidate],
    needed: Sequence[Platform],
    platforms: Sequence[Platform],
) -> Shortfall | None:
    """Why ``release`` (its wheels) does not cover ``needed``; None when it does."""
    covered = set().union(*(c.covers for c in release)) if release else set()
    missing = [p for p in needed if p.id not in covered]
    if not release:
        return Shortfall(version, tuple(p.id for p in missing), "source distributions only")
    if not missing:
        return None if covered else Shortfall(version, (), "no wheel for a supported platform")
    # Wheels whose tags fit but whose requires-python excludes the platform's Python.
    excluded = {
        p.id: c.file.requires_python
        for p in missing
        for c in release
        if c.file.requires_python and any(t in p.tag_rank for t in c.tags)
    }
    within = [p.id for p in needed]
    reasons = []
    lacking = [p.id for p in missing if p.id not in excluded]
    if lacking:
        reasons.append(f"no wheels for {describe_platforms(lacking, platforms, within)}")
    for spec in sorted(set(excluded.values()), key=str):
        ids = [pid for pid, s in excluded.items() if s == spec]
        reasons.append(f"requires Python {spec} ({describe_platforms(ids, platforms, within)})")
    return Shortfall(version, tuple(p.id for p in missing), "; ".join(reasons))


def find_update(
    name: str,
    declared: Sequence[Version],
    needed: Collection[str],
    files: Sequence[IndexFile],
    platforms: Sequence[Platform],
) -> ProjectStatus:
    """Compare one project's declared versions with the files its index page lists.

    ``needed`` are the ids of the platforms the project must keep covering (when empty,
    a release must cover at least one platform); releases as release_shortfalls() offers
    them.
    """
    project = canonicalize_name(name)
    current = max(declared)
    wanted = [p for p in platforms if p.id in needed]
    newest: Version | None = None
    newer: list[Shortfall] = []
    for version, shortfall in release_shortfalls(project, files, wanted, platforms, current):
        if shortfall is None:
            newest = version
            break
        newer.append(shortfall)
    return ProjectStatus(
        name=project,
        declared=tuple(sorted(set(declared))),
        platforms=tuple(p.id for p in wanted),
        newest=newest,
        newer=tuple(s for s in newer if s.version > current),
    )


def release_shortfalls(
    name: str,
    files: Sequence[IndexFile],
    needed: Sequence[Platform],
    platforms: Sequence[Platform],
    since: Version | None = None,
    *,
    prereleases: bool = False,
) -> Iterator[tuple[Version, Shortfall | None]]:
    """The final releases on a project page (not older than ``since``), newest first, each
    with why its wheels do not cover ``needed`` (None: they do, as `declare` would plan
    them). Yanked files are not offered, nor pre-releases unless ``prereleases`` (as pip
    offers them only to a specifier that names one). Coverage is worked out lazily, one
    release at a time.
    """
    project = canonicalize_name(name)
    offered = [f for f in files if not f.yanked]
    # Group by version first (file names only): a page's many older releases cost nothing
    # until they are reached.
    releases: dict[Version, list[IndexFile]] = {}
    for item in offered:
        version = _wheel_version(project, item.filename)
        if (
            version is not None
            and (prereleases or not version.is_prerelease)
            and (since is None or version >= since)
        ):
            releases.setdefault(version, []).append(item)
    for version in _final_versions_of_sdists(project, offered):
        if since is None or version >= since:
            releases.setdefault(version, [])
    for version in sorted(releases, reverse=True):
        candidates = wheel_candidates(project, releases[version], platforms)
        shortfall = _shortfall(version, candidates, needed, platforms)
        if shortfall is None:
            shortfall = _plan_shortfall(project, version, releases[version], needed, platforms)
        yield version, shortfall


def _plan_shortfall(
    project: NormalizedName,
    version: Version,
    files: Sequence[IndexFile],
    needed: Sequence[Platform],
    platforms: Sequence[Platform],
) -> Shortfall | None:
    """The release's wheels cover ``needed`` together; can declare pick a set that does
    (it never picks two wheels one system could both install)?"""
    try:
        plan = plan_release(project, version, files, platforms)
    except DeclareError as e:
        return Shortfall(version, tuple(p.id for p in needed), str(e))
    gap = [p.id for p in plan.uncovered if p in needed]
    if not gap:
        return None
    within = [p.id for p in needed]
    described = describe_platforms(gap, platforms, within)
    return Shortfall(version, tuple(gap), f"no non-overlapping wheel set covers {described}")


def private_projects(declarations: Sequence[Declaration]) -> set[NormalizedName]:
    """Projects with a declaration from a URL source (``file://``, ``https://``): private
    wheels, which the index must never be asked about nor allowed to replace (a public
    project of the same name is a dependency-confusion risk)."""
    return {d.name for d in declarations if not d.is_index_source}


def covered_platforms(
    declarations: Sequence[Declaration], platforms: Sequence[Platform]
) -> dict[NormalizedName, list[str]]:
    """For each project, the ids of the platforms on which one of its wheels is selected."""
    index = ClosureIndex(declarations)
    covered: dict[NormalizedName, list[str]] = {name: [] for name in index.by_name}
    for platform in platforms:
        for name in index.view(platform).selected:
            covered[name].append(platform.id)
    return covered


def check_outdated(
    collection: LoadedCollection,
    index: IndexClient,
    *,
    jobs: int = 8,
    allow_index_swap: bool = False,
) -> list[ProjectStatus]:
    """The status of every declared project, sorted by name; pages are read ``jobs`` at a time.

    A project the index does not have (or whose page is unreadable) gets ``error`` set.
    A project declared from a URL source is not looked up (``private``) unless
    ``allow_index_swap``.

    Raises:
        OutdatedError: platforms.toml is missing or invalid.
        FetchError: the index cannot be reached (the first such failure).
    """
    if not collection.platforms:
        raise OutdatedError(
            "no supported platforms: fix it first (wheelset check)",
            path=collection.root / PLATFORMS_FILE,
            code="PLATFORMS",
        )
    platforms = collection.platforms
    declared: dict[NormalizedName, list[Version]] = {}
    for decl in collection.declarations:
        declared.setdefault(decl.name, []).append(decl.version)
    covered = covered_platforms(collection.declarations, platforms)
    private = set() if allow_index_swap else private_projects(collection.declarations)

    def unchecked(
        name: NormalizedName, *, private: bool = False, error: str | None = None
    ) -> ProjectStatus:
        return ProjectStatus(
            name=name,
            declared=tuple(sorted(set(declared[name]))),
            platforms=tuple(covered[name]),
            newest=None,
            private=private,
            error=error,
        )

    def one(name: NormalizedName) -> ProjectStatus:
        if name in private:
            return unchecked(name, private=True)
        try:
            files = index.project_files(name)
        except IndexLookupError as e:
            return unchecked(name, error=e.one_line())  # code first; credentials hidden
        return find_update(name, declared[name], covered[name], files, platforms)

    names = sorted(declared)
    pool = ThreadPoolExecutor(max_workers=max(1, jobs), initializer=signals_to_main_thread)
    try:
        futures = [pool.submit(one, name) for name in names]
        return [f.result() for f in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _note(status: ProjectStatus) -> str:
    if status.private:
        return "private source, not checked"
    if status.error is not None:
        return f"error: {status.error}"
    if status.newest is None:
        note = f"no release >= {status.current} covers its platforms"
    elif status.is_outdated:
        note = f"update to {status.newest}"
    else:
        note = "up to date"
    if status.newer:
        first = status.newer[0]
        more = f" (+{len(status.newer) - 1} more)" if len(status.newer) > 1 else ""
        note += f"; newer {first.version}: {first.reason}{more}"
    return note


def format_table(statuses: Sequence[ProjectStatus]) -> str:
    """Aligned columns: project, declared, newest usable, note."""
    rows = [("project", "declared", "newest usable", "note")]
    for s in statuses:
        declared = ", ".join(map(str, s.declared))
        rows.append((s.name, declared, str(s.newest) if s.newest else "none", _note(s)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]
    return "".join(line.rstrip() + "\n" for line in lines)


def format_json(statuses: Sequence[ProjectStatus]) -> str:
    """``{"projects": [...], "outdated": n}``; versions as strings, ``newest`` may be null."""
    projects = [
        {
            "project": s.name,
            "declared": [str(v) for v in s.declared],
            "platforms": list(s.platforms),
            "newest": str(s.newest) if s.newest is not None else None,
            "outdated": s.is_outdated,
            "newer": [
                {"version": str(n.version), "missing": list(n.missing), "reason": n.reason}
                for n in s.newer
            ],
            "error": s.error,
            "private": s.private,
        }
        for s in statuses
    ]
    doc = {"projects": projects, "outdated": sum(s.is_outdated for s in statuses)}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
