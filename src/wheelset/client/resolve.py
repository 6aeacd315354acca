"""Resolution in a single-version set: requested names -> the one wheel of each project needed.

Every project of a root has exactly one version, so resolving is the closure walk that
`wheelset check` runs too (`wheelset.model.closure.ClosureWalk` over the root's declarations, on a
`wheelset.model.platforms.Platform`: a platform of the root's table or an interpreter). This
module only turns the walk's first unmet requirement into an error that names the
requirement and who asked (the user or a dependent), and returns the selected wheels in
install order. A dependency asking for an extra its project does not declare is not an
error here (pip only warns; `wheelset check` reports it as EXTRA). resolve_lazily() asks
for projects as the walk reaches them (a root read a project at a time), each the moment a
walk over what has arrived finds it missing. No I/O here, no network.
Entry points: parse_requirements(), resolve(), resolve_lazily(), ProjectLookup, Resolution,
ResolutionError and its subclasses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from wheelset.errors import (
    NoWheelForPlatform,
    ResolutionError,
    UnknownExtra,
    UnknownProject,
    UnsatisfiedDependency,
    VersionConflict,
    WheelsetError,
)
from wheelset.model.closure import ClosureIndex, ClosureWalk, Unsatisfied
from wheelset.model.declarations import Declaration
from wheelset.model.platforms import Platform

__all__ = [
    "NoWheelForPlatform",
    "ProjectLookup",
    "Resolution",
    "ResolutionError",
    "UnknownExtra",
    "UnknownProject",
    "UnsatisfiedDependency",
    "VersionConflict",
    "parse_requirements",
    "resolve",
    "resolve_lazily",
]


@dataclass(frozen=True, slots=True)
class Resolution:
    """The chosen wheels, dependencies before dependents, and the extras each one needs."""

    selected: tuple[Declaration, ...]
    extras: Mapping[NormalizedName, frozenset[NormalizedName]]
    requested: tuple[NormalizedName, ...]


def resolve(
    declarations: Iterable[Declaration],
    requested: Sequence[Requirement],
    platform: Platform,
    *,
    target: str | None = None,
    all_names: Callable[[], Iterable[str]] | None = None,
) -> Resolution:
    """Choose the wheel of every requested project and of its dependency closure.

    ``target`` names the platform in error messages (default: its id); ``all_names``
    gives every project name for a "did you mean" hint (default: the declarations').

    Raises:
        UnknownProject, NoWheelForPlatform, VersionConflict, UnsatisfiedDependency,
        UnknownExtra, ResolutionError (MARKER): the first problem met, walking
        breadth-first from the requests.
    """
    walk = ClosureWalk(ClosureIndex(declarations), platform, requested)
    for outcome in walk.outcomes():
        if isinstance(outcome, Unsatisfied):
            error = _error(outcome, walk, target or platform.id, all_names)
            if error is not None:
                raise error
    return Resolution(
        tuple(walk.install_order()),
        {name: frozenset(extras) for name, extras in walk.extras.items()},
        tuple(dict.fromkeys(walk.requested)),
    )


class ProjectLookup(Protocol):
    """Reads of a root's projects (`wheelset.client.root.ProjectReads`)."""

    @property
    def pending(self) -> int:
        """Projects asked for whose declarations arrived() has not handed back yet."""

    def ask(self, names: Sequence[str]) -> None:
        """Start reading these projects."""

    def arrived(self) -> Iterable[Declaration]:
        """The declarations of the projects read since the last call (at least one project,
        waited for; a project the root lacks has none)."""


def resolve_lazily(
    lookup: ProjectLookup,
    requested: Sequence[Requirement],
    platform: Platform,
    *,
    target: str | None = None,
    all_names: Callable[[], Iterable[str]] | None = None,
    on_selected: Callable[[Declaration], None] | None = None,
) -> Resolution:
    """resolve(), asking ``lookup`` for the declarations of projects only as the walk
    reaches them: the requested ones first, then the projects a walk over what has arrived
    finds missing, asked for at once (a project's read does not wait for the other reads
    under way). Only the closure is ever looked up. ``on_selected(declaration)`` is called
    once for each wheel the walk selects, as soon as a walk selects it, so that the caller
    can start fetching it (every project has one version: a wheel once selected stays so).

    Raises:
        as resolve().
    """
    declarations: list[Declaration] = []
    asked: set[str] = set()
    reported: set[str] = set()
    wanted = [canonicalize_name(r.name) for r in requested]
    asked.update(wanted)
    lookup.ask(wanted)
    read = walked = 0  # projects arrived, and arrived when the walk last ran
    while lookup.pending:
        before = lookup.pending
        declarations += lookup.arrived()
        read += before - lookup.pending
        # A walk covers every declaration so far: walking again only once the arrivals since
        # the last walk are a quarter of those keeps the walks' cost linear in the closure;
        # when nothing is under way any more, the walk must run (else nothing goes on).
        if lookup.pending and 4 * (read - walked) < walked:
            continue
        walked = read
        walk = ClosureWalk(ClosureIndex(declarations), platform, requested)
        missing = sorted(
            {
                walk.index.canonical(outcome.requirement.name)
                for outcome in walk.outcomes()
                if isinstance(outcome, Unsatisfied) and outcome.code == "MISSING"
            }
            - asked
        )
        asked.update(missing)
        lookup.ask(missing)
        if on_selected is not None:
            for name, decl in walk.selected.items():
                if name not in reported:
                    reported.add(name)
                    on_selected(decl)
    return resolve(declarations, requested, platform, target=target, all_names=all_names)


def _by(parent: Declaration | None) -> str:
    return "" if parent is None else f" (required by {parent.name} {parent.version})"


def _error(
    outcome: Unsatisfied,
    walk: ClosureWalk,
    target: str,
    all_names: Callable[[], Iterable[str]] | None,
) -> ResolutionError | None:
    """The install-side error for an unmet requirement (None: not an error here)."""
    index, platform = walk.index, walk.platform
    requirement, parent = outcome.requirement, outcome.required_by
    name = index.canonical(requirement.name)
    if outcome.code == "MARKER":
        return ResolutionError(f"{outcome.message}{_by(parent)}", code="MARKER")
    if outcome.code in ("MISSING", "PYTHON"):
        candidates = index.by_name.get(name, [])
        if not candidates and parent is None:
            names = list(all_names()) if all_names is not None else list(index.by_name)
            import difflib  # (only for this hint)

            close = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            return UnknownProject(f"no project {name!r} in this root{hint}")
        if not candidates:
            return UnknownProject(
                f"{parent.name} {parent.version} depends on {name!r}, which is not in this root"
            )
        return _no_wheel(name, candidates, platform, target, parent)
    selected = index.view(platform).selected[name]
    if outcome.code == "UNSATISFIED":
        if parent is None:
            return VersionConflict(
                f"you asked for {requirement.name}{requirement.specifier}, but this root has "
                f"only {selected.name} {selected.version}"
            )
        return UnsatisfiedDependency(
            f"{parent.name} {parent.version} requires {requirement}, but this root has only "
            f"{selected.name} {selected.version}"
        )
    if parent is not None:  # EXTRA of a dependency: pip installs without it, so do we
        return None
    unknown = sorted({index.canonical(e) for e in requirement.extras} - set(selected.extras))
    offered = ", ".join(selected.extras) or "none"
    return UnknownExtra(
        f"{selected.name} {selected.version} has no extra {unknown[0]!r} (extras: {offered})"
    )


def _no_wheel(
    name: str,
    candidates: Sequence[Declaration],
    platform: Platform,
    target: str,
    parent: Declaration | None,
) -> NoWheelForPlatform:
    ranks = platform.tag_rank
    fitting = [d for d in candidates if any(t in ranks for t in d.tags)]
    if fitting:  # they fit the tags, so requires-python excluded every one of them
        versions = ", ".join(sorted({str(d.version) for d in fitting}))
        needs = " or ".join(sorted({str(d.requires_python) for d in fitting}))
        return NoWheelForPlatform(
            f"{name} {versions}{_by(parent)} requires Python {needs}; {target} is Python "
            f"{platform.python_full_version}"
        )
    versions = ", ".join(sorted({str(d.version) for d in candidates}))
    files = ", ".join(sorted(d.filename for d in candidates)[:3])
    more = f" (+{len(candidates) - 3} more)" if len(candidates) > 3 else ""
    return NoWheelForPlatform(
        f"no wheel of {name} {versions} fits {target}{_by(parent)}; available: {files}{more}"
    )


def parse_requirements(texts: Iterable[str]) -> list[Requirement]:
    """The projects a user asked for, each ``NAME[extras][specifier]`` (PEP 508).

    Raises:
        WheelsetError: a text is not a requirement (code USAGE).
    """
    parsed = []
    for text in texts:
        try:
            parsed.append(Requirement(text))
        except InvalidRequirement as e:
            raise WheelsetError(
                f"{text!r} is not NAME[extras][specifier]: {e}", code="USAGE"
            ) from e
    return parsed
