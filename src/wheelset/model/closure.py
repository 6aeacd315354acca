"""Dependency closure on one platform: which declared wheel answers each requirement.

Shared by the closure check (every selected wheel, every extra, every platform) and the
installer (the wheels a set of requested requirements pulls in). A collection holds one
version per project, so nothing is resolved: on a platform each project has at most one
selected wheel (the one platforms.select_wheel picks), and a requirement is satisfied
when that wheel's version is in its specifier and it provides the requested extras.
Markers are evaluated in the platform's environment with ``extra`` set to each extra in
play (PEP 508/685). For speed on large collections, each declaration's dependencies are
analysed once (not per platform), distinct tag sets are ranked once per platform, and
marker results are cached per (marker, extra) and platform. A ClosureWalk also records
the requested projects, activated extras and dependency edges, so `wheelset.client.resolve` gets
its install order (dependencies first) from the same walk.
No I/O. Entry points: ClosureIndex, PlatformView, Selected, Unsatisfied, iter_closure(),
ClosureWalk.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name

from wheelset.model.declarations import Declaration, parse_requirement
from wheelset.model.platforms import Platform, better_wheel

__all__ = [
    "ClosureIndex",
    "ClosureWalk",
    "Dependency",
    "PlatformView",
    "Selected",
    "Selection",
    "Unsatisfied",
    "evaluate_marker",
    "iter_closure",
    "summarize",
]


@dataclass(frozen=True, slots=True)
class Selected:
    """``declaration`` answers ``requirement`` (asked by ``required_by``; None: by the user)."""

    declaration: Declaration
    requirement: Requirement
    required_by: Declaration | None = None


@dataclass(frozen=True, slots=True)
class Unsatisfied:
    """A requirement the collection cannot meet on a platform.

    ``code`` is a finding code (MISSING, UNSATISFIED, EXTRA, PYTHON, MARKER); ``message``
    names the requirement but not the platform; ``extra`` is the extra of ``required_by``
    under which the requirement applies ("" when it always does).
    """

    requirement: Requirement
    code: str
    message: str
    required_by: Declaration | None = None
    extra: str = ""


class Dependency(NamedTuple):
    """One dependency of a declaration, analysed once for every platform. (Immutable and
    made in C: a collection has about two distinct dependency texts per declaration, and
    a frozen dataclass took most of the time of analysing one.)"""

    requirement: Requirement
    text: str  # as written in the declaration
    name: NormalizedName
    marker: Marker | None
    marker_text: str  # str(marker), the cache key
    conditional: bool  # the marker mentions ``extra``
    checks_version: bool  # the specifier is not empty


@dataclass(frozen=True, slots=True)
class Selection:
    """ClosureIndex.selection(): for each project, the wheels selected on some of
    ``platforms`` with the mask of those platforms (bit i: ``platforms[i]``), and the
    wheels that fit a platform's tags but not its Python (``gaps``, likewise)."""

    platforms: tuple[Platform, ...]
    selected: dict[NormalizedName, list[tuple[Declaration, int]]]
    gaps: dict[NormalizedName, list[tuple[Declaration, int]]]


class ClosureIndex:
    """The declarations of a collection grouped by project, with a view per platform."""

    def __init__(self, declarations: Iterable[Declaration]):
        self.by_name: dict[NormalizedName, list[Declaration]] = {}
        # Distinct tag sets get small ids so a platform ranks each set once.
        self._tagset_ids: dict[frozenset[Tag], int] = {}
        self.tagsets: list[frozenset[Tag]] = []
        self._tagset_of: dict[int, int] = {}
        for decl in declarations:
            self.by_name.setdefault(decl.name, []).append(decl)
            tagset = self._tagset_ids.get(decl.tags)
            if tagset is None:
                tagset = self._tagset_ids[decl.tags] = len(self.tagsets)
                self.tagsets.append(decl.tags)
            self._tagset_of[id(decl)] = tagset
        self._views: dict[Platform, PlatformView] = {}
        self._names: dict[str, NormalizedName] = {}
        # Keyed by id() for speed: the specifier set and version objects are shared by
        # every declaration with the same texts (the parsers' caches), and each entry
        # holds both, so a recycled id can never answer for another object.
        self._contains: dict[tuple[int, int], tuple[bool, SpecifierSet, object]] = {}
        self._marker_texts: dict[int, tuple[Marker, str]] = {}
        self._dependencies: dict[str, Dependency] = {}

    def selection(self, platforms: Sequence[Platform]) -> Selection:
        """Which wheel of each project is selected on each of ``platforms`` (as
        platforms.select_wheel picks it), as platform bit masks (bit i: platforms[i]).

        A project with one wheel — most of them — is decided for every platform at once
        from its tag set's and requires-python's masks, each computed once per distinct
        tag set and specifier; only projects with several wheels are compared per platform.
        """
        count = len(platforms)
        rank_tables = [platform.tag_rank for platform in platforms]
        tag_ranks = [
            [min((ranks[t] for t in tags if t in ranks), default=None) for ranks in rank_tables]
            for tags in self.tagsets
        ]
        tag_masks = [
            sum(1 << i for i, rank in enumerate(ranks) if rank is not None) for ranks in tag_ranks
        ]
        python_masks: dict[int, int] = {}  # by id() of a SpecifierSet the declarations hold

        def python_mask(spec: SpecifierSet) -> int:
            mask = python_masks.get(id(spec))
            if mask is None:
                mask = python_masks[id(spec)] = sum(
                    1 << i
                    for i, platform in enumerate(platforms)
                    if spec.contains(platform.python, prereleases=True)
                )
            return mask

        everywhere = (1 << count) - 1
        selected: dict[NormalizedName, list[tuple[Declaration, int]]] = {}
        gaps: dict[NormalizedName, list[tuple[Declaration, int]]] = {}
        for name, decls in self.by_name.items():
            if len(decls) == 1:
                decl = decls[0]
                fits = tag_masks[self._tagset_of[id(decl)]]
                spec = decl.requires_python
                ok = fits if spec is None else fits & python_mask(spec)
                if ok:
                    selected[name] = [(decl, ok)]
                if fits & ~ok & everywhere:
                    gaps[name] = [(decl, fits & ~ok)]
                continue
            chosen: dict[int, tuple[Declaration, int]] = {}
            missed: dict[int, tuple[Declaration, int]] = {}
            for i in range(count):
                best: Declaration | None = None
                best_key: tuple[int, str] | None = None
                gap: Declaration | None = None
                for decl in decls:
                    rank = tag_ranks[self._tagset_of[id(decl)]][i]
                    if rank is None:
                        continue
                    spec = decl.requires_python
                    if spec is not None and not python_mask(spec) >> i & 1:
                        gap = gap or decl
                        continue
                    key = (rank, decl.filename)
                    if better_wheel(decl, key, best, best_key):
                        best, best_key = decl, key
                if best is not None:
                    entry = chosen.get(id(best), (best, 0))
                    chosen[id(best)] = (best, entry[1] | 1 << i)
                elif gap is not None:
                    entry = missed.get(id(gap), (gap, 0))
                    missed[id(gap)] = (gap, entry[1] | 1 << i)
            if chosen:
                selected[name] = list(chosen.values())
            if missed:
                gaps[name] = list(missed.values())
        return Selection(tuple(platforms), selected, gaps)

    def view(self, platform: Platform) -> PlatformView:
        """The (cached) selections and marker results of one platform."""
        view = self._views.get(platform)
        if view is None:
            view = self._views[platform] = PlatformView(self, platform)
        return view

    def canonical(self, name: str) -> NormalizedName:
        canonical = self._names.get(name)
        if canonical is None:
            canonical = self._names[name] = canonicalize_name(name)
        return canonical

    def plan(self, decl: Declaration) -> tuple[Dependency, ...]:
        """The declaration's dependencies, analysed (each distinct text once)."""
        known = self._dependencies
        return tuple(known.get(text) or self._remember(text) for text in decl.dependencies)

    def _remember(self, text: str) -> Dependency:
        found = self._dependencies[text] = self.dependency(parse_requirement(text), text)
        return found

    def dependency(self, requirement: Requirement, text: str | None = None) -> Dependency:
        marker = requirement.marker
        marker_text = ""
        if marker is not None:
            # Requirements of the same marker text share one Marker (parse_requirement's
            # cache), and str() of a marker costs as much as parsing it.
            known = self._marker_texts.get(id(marker))
            if known is None:
                known = self._marker_texts[id(marker)] = (marker, str(marker))
            marker_text = known[1]
        return Dependency(
            requirement=requirement,
            text=str(requirement) if text is None else text,
            name=self.canonical(requirement.name),
            marker=marker,
            marker_text=marker_text,
            conditional="extra" in marker_text,
            checks_version=bool(requirement.specifier),
        )

    def problems(
        self,
        dep: Dependency,
        extra: str,
        target: Declaration | None,
        gap: Declaration | None = None,
    ) -> list[tuple[str, str]]:
        """(code, message) for each way ``target`` (the selected wheel of the dependency's
        project on a platform; None: none is, and ``gap`` fits but for requires-python)
        fails the dependency, under ``extra`` of the dependent ("": always)."""
        prefix = f"extra {extra!r} " if extra else ""
        text = dep.text
        if target is None:
            if gap is not None:
                return [
                    (
                        "PYTHON",
                        f"{prefix}requires {text!r}: {gap.filename} requires Python "
                        f"{gap.requires_python}",
                    )
                ]
            declared = self.by_name.get(dep.name)
            if not declared:
                return [("MISSING", f"{prefix}requires {text!r}: {dep.name} is not declared")]
            versions = summarize(sorted({d.version for d in declared}))
            return [
                (
                    "MISSING",
                    f"{prefix}requires {text!r}: {dep.name} {versions} has no wheel for "
                    "the platform",
                )
            ]
        if not self.version_ok(dep, target):
            return [
                (
                    "UNSATISFIED",
                    f"{prefix}requires {text!r}: {dep.name} {target.version} is declared",
                )
            ]
        return [
            (
                "EXTRA",
                f"{prefix}requires {text!r}: {target.name} {target.version} has no extra {e!r}",
            )
            for e in sorted(dep.requirement.extras)
            if self.canonical(e) not in target.extras
        ]

    def version_ok(self, dependency: Dependency, decl: Declaration) -> bool:
        """Is ``decl``'s version inside the dependency's specifier (pre-releases allowed:
        a single declared version is what pip would take)."""
        if not dependency.checks_version:
            return True
        specifier, version = dependency.requirement.specifier, decl.version
        key = (id(specifier), id(version))
        known = self._contains.get(key)
        if known is None:
            ok = specifier.contains(version, prereleases=True)
            known = self._contains[key] = (ok, specifier, version)
        return known[0]


class PlatformView:
    """One platform of a ClosureIndex: the selected wheel of each project, cached markers.

    ``selected`` maps each project to the wheel pip would install here (as
    platforms.select_wheel picks it); ``python_gaps`` the projects whose wheels fit the
    platform's tags but whose requires-python excludes its Python.
    """

    def __init__(self, index: ClosureIndex, platform: Platform):
        self.index = index
        self.platform = platform
        selection = index.selection((platform,))
        self.selected: dict[NormalizedName, Declaration] = {
            name: entries[0][0] for name, entries in selection.selected.items()
        }
        self.python_gaps: dict[NormalizedName, Declaration] = {
            name: entries[0][0] for name, entries in selection.gaps.items()
        }
        self._environments: dict[str, dict[str, str]] = {}
        self._markers: dict[tuple[str, str], bool | str] = {}

    def _environment(self, extra: str) -> dict[str, str]:
        env = self._environments.get(extra)
        if env is None:
            env = self._environments[extra] = {**self.platform.environment, "extra": extra}
        return env

    def marker_result(self, marker: Marker, extra: str = "", text: str | None = None) -> bool | str:
        """True/False, or the reason the marker cannot be evaluated here (a string)."""
        text = str(marker) if text is None else text
        key = (text, extra if "extra" in text else "")
        result = self._markers.get(key)
        if result is None:
            result = self._markers[key] = evaluate_marker(marker, self._environment(key[1]))
        return result

    def _problems(self, dep: Dependency, extra: str) -> list[tuple[str, str]]:
        """(code, message) for each way the selected wheel fails the dependency."""
        return self.index.problems(
            dep, extra, self.selected.get(dep.name), self.python_gaps.get(dep.name)
        )

    def _applies(self, dep: Dependency, extra: str) -> bool | str:
        marker = dep.marker
        if marker is None:
            return True
        key = (dep.marker_text, extra if dep.conditional else "")
        result = self._markers.get(key)
        if result is None:
            result = self.marker_result(marker, extra, dep.marker_text)
        return result

    def iter_dependencies(
        self, decl: Declaration, extras: Iterable[str] = ()
    ) -> Iterator[tuple[Dependency, str]]:
        """(dependency, extra) for each dependency of ``decl`` that applies here.

        First those that apply without extras (extra ""), then, for each of ``extras``,
        those only that extra brings in. A marker that cannot be evaluated is yielded with
        extra ``"!<reason>"``.
        """
        conditional = []
        for dep in self.index.plan(decl):
            result = self._applies(dep, "")
            if result is True:
                yield dep, ""
            elif isinstance(result, str):
                yield dep, "!" + result
            elif dep.conditional:
                conditional.append(dep)
        for extra in extras:
            for dep in conditional:
                result = self._applies(dep, extra)
                if result is True:
                    yield dep, extra
                elif isinstance(result, str):
                    yield dep, "!" + result

    def unsatisfied(self, decl: Declaration) -> list[Unsatisfied]:
        """Every dependency of ``decl`` (with each of its own extras) not met here."""
        found: list[Unsatisfied] = []
        selected = self.selected
        version_ok = self.index.version_ok
        conditional = []
        for dep in self.index.plan(decl):
            if dep.marker is not None:
                result = self._applies(dep, "")
                if result is False:
                    if dep.conditional and decl.extras:
                        conditional.append(dep)
                    continue
                if result is not True:
                    found.append(self._marker_problem(dep, str(result), decl))
                    continue
            # The common case, inline: the selected wheel exists and fits.
            target = selected.get(dep.name)
            if (
                target is not None
                and not dep.requirement.extras
                and (not dep.checks_version or version_ok(dep, target))
            ):
                continue
            found += (
                Unsatisfied(dep.requirement, code, message, decl)
                for code, message in self._problems(dep, "")
            )
        for extra in decl.extras if conditional else ():
            for dep in conditional:
                result = self._applies(dep, extra)
                if result is True:
                    found += (
                        Unsatisfied(dep.requirement, code, message, decl, extra)
                        for code, message in self._problems(dep, extra)
                    )
                elif result is not False:
                    found.append(self._marker_problem(dep, str(result), decl))
        return found

    def _marker_problem(
        self, dep: Dependency, reason: str, decl: Declaration | None
    ) -> Unsatisfied:
        message = f"dependency {dep.text!r}: marker cannot be evaluated: {reason}"
        return Unsatisfied(dep.requirement, "MARKER", message, decl)

    def resolve(
        self,
        requirement: Requirement,
        *,
        required_by: Declaration | None = None,
        extra: str = "",
        text: str | None = None,
    ) -> list[Selected | Unsatisfied]:
        """The wheel answering ``requirement`` here (its marker is not evaluated), and any
        problems: Selected, or Unsatisfied, or Selected plus Unsatisfied for missing extras.
        """
        dep = self.index.dependency(requirement, text)
        problems = self._problems(dep, extra)
        found: list[Selected | Unsatisfied] = [
            Unsatisfied(requirement, code, message, required_by, extra)
            for code, message in problems
        ]
        if not problems or problems[0][0] == "EXTRA":
            found.insert(0, Selected(self.selected[dep.name], requirement, required_by))
        return found


def iter_closure(
    index: ClosureIndex, platform: Platform, requirements: Sequence[Requirement]
) -> Iterator[Selected | Unsatisfied]:
    """Every wheel that ``requirements`` pull in on ``platform``, and what cannot be met.

    Each project is yielded once (Selected, in discovery order), the first time it is
    needed; extras requested later still bring in their dependencies. A requested
    requirement whose marker is false on the platform is skipped.
    """
    return ClosureWalk(index, platform, requirements).outcomes()


def summarize(items: Sequence[object], limit: int = 5) -> str:
    """``a, b, c``; past ``limit`` items the first ones and how many more (messages stay
    short however many versions or wheels a project has).

    >>> summarize([1, 2, 3, 4, 5, 6, 7], limit=3)
    '1, 2, 3 and 4 more'
    """
    shown = ", ".join(str(item) for item in items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def evaluate_marker(marker: Marker, environment: Mapping[str, str]) -> bool | str:
    """True/False, or the reason the marker cannot be evaluated there (a string)."""
    try:
        return marker.evaluate(environment)  # type: ignore[arg-type]
    except Exception as e:  # packaging's Undefined*/InvalidVersion: not our bug
        return f"{type(e).__name__}: {e}"


class ClosureWalk:
    """One closure walk (what iter_closure() yields), remembering what an installer needs
    once it has run: the requested projects, each selected project's activated extras,
    and who depends on whom, for install_order().

    ``requested`` lists the projects of the requirements whose marker holds here, in
    order; ``selected`` every project's wheel, in discovery order; ``extras`` the extras
    of each selected project that are in play; ``edges`` each project's dependencies
    (among the selected).
    """

    def __init__(
        self, index: ClosureIndex, platform: Platform, requirements: Sequence[Requirement]
    ):
        self.index = index
        self.platform = platform
        self.requirements = tuple(requirements)
        self.requested: list[NormalizedName] = []
        self.selected: dict[NormalizedName, Declaration] = {}
        self.extras: dict[NormalizedName, set[NormalizedName]] = {}
        self.edges: dict[NormalizedName, set[NormalizedName]] = {}

    def outcomes(self) -> Iterator[Selected | Unsatisfied]:
        """Walk breadth-first from the requirements; call once per ClosureWalk."""
        index = self.index
        view = index.view(self.platform)
        queue: deque[tuple[Requirement, str | None, Declaration | None, str]] = deque()
        for requirement in self.requirements:
            if requirement.marker is not None:
                result = view.marker_result(requirement.marker)
                if isinstance(result, str):
                    message = (
                        f"requirement {str(requirement)!r}: marker cannot be evaluated: {result}"
                    )
                    yield Unsatisfied(requirement, "MARKER", message)
                    continue
                if not result:
                    continue
            self.requested.append(index.canonical(requirement.name))
            queue.append((requirement, None, None, ""))
        activated = self.extras
        while queue:
            requirement, text, required_by, extra = queue.popleft()
            if extra.startswith("!"):
                message = f"dependency {text!r}: marker cannot be evaluated: {extra[1:]}"
                yield Unsatisfied(requirement, "MARKER", message, required_by)
                continue
            for outcome in view.resolve(
                requirement, required_by=required_by, extra=extra, text=text
            ):
                if isinstance(outcome, Unsatisfied):
                    yield outcome
                    continue
                decl = outcome.declaration
                if required_by is not None:
                    self.edges.setdefault(required_by.name, set()).add(decl.name)
                wanted = {index.canonical(e) for e in requirement.extras} & set(decl.extras)
                done = activated.get(decl.name)
                if done is None:
                    done = activated[decl.name] = set()
                    self.selected[decl.name] = decl
                    yield outcome
                    new = sorted(wanted)
                    dependencies = list(view.iter_dependencies(decl, new))
                else:
                    new = sorted(wanted - done)
                    if not new:
                        continue
                    dependencies = [d for d in view.iter_dependencies(decl, new) if d[1] in new]
                done.update(new)
                for dependency, why in dependencies:
                    queue.append((dependency.requirement, dependency.text, decl, why))

    def install_order(self) -> list[Declaration]:
        """The selected wheels, each after its dependencies: depth first from the requested
        projects, dependencies in name order; a cycle is cut where the walk re-enters it."""
        order: list[Declaration] = []
        seen: set[NormalizedName] = set()
        for root in (*self.requested, *self.selected):
            if root in seen or root not in self.selected:
                continue
            seen.add(root)
            stack = [(root, iter(sorted(self.edges.get(root, ()))))]
            while stack:
                name, children = stack[-1]
                for child in children:
                    if child not in seen:
                        seen.add(child)
                        stack.append((child, iter(sorted(self.edges.get(child, ())))))
                        break
                else:
                    stack.pop()
                    order.append(self.selected[name])
        return order
