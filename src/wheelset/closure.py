"""Dependency closure on one platform: which declared wheel answers each requirement.

Shared by the closure check (every selected wheel, every extra, every platform) and the
installer (the wheels a set of requested requirements pulls in). A collection holds one
version per project, so nothing is resolved: on a platform each project has at most one
selected wheel (platforms.select_wheel), and a requirement is satisfied when that wheel's
version is in its specifier and it provides the requested extras. Markers are evaluated
in the platform's environment with ``extra`` set to each extra in play (PEP 508/685),
cached per (marker, extra) and platform; selections are computed once per platform.

Extras: a wheel's extra is *offered* on a platform when every project it brings in there
is declared in the collection; an extra that names an undeclared project (a test or docs
toolchain, say) is simply not part of the collection. The closure check examines the
dependencies of every offered extra, and a requirement that asks for an extra the target
does not offer is an EXTRA problem, so nothing a user or a wheel can ask for goes
unchecked. (Checking every extra of every wheel would drag each project's development
tooling, and sdist-only projects, into the collection.)
No I/O. Entry points: ClosureIndex, PlatformView, Selected, Unsatisfied, iter_closure().
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from wheelset.declarations import Declaration
from wheelset.platforms import Platform, select_wheel

__all__ = ["ClosureIndex", "PlatformView", "Selected", "Unsatisfied", "iter_closure"]


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


class ClosureIndex:
    """The declarations of a collection grouped by project, with a view per platform."""

    def __init__(self, declarations: Iterable[Declaration]):
        self.by_name: dict[NormalizedName, list[Declaration]] = {}
        for decl in declarations:
            self.by_name.setdefault(decl.name, []).append(decl)
        self._views: dict[Platform, PlatformView] = {}
        self._names: dict[str, NormalizedName] = {}
        self._contains: dict[tuple[object, object], bool] = {}

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

    def version_ok(self, requirement: Requirement, decl: Declaration) -> bool:
        """Is ``decl``'s version inside the requirement's specifier (pre-releases allowed:
        a single declared version is what pip would take)."""
        specifier = requirement.specifier
        if not specifier:
            return True
        key = (specifier, decl.version)
        ok = self._contains.get(key)
        if ok is None:
            ok = self._contains[key] = specifier.contains(decl.version, prereleases=True)
        return ok


class PlatformView:
    """One platform of a ClosureIndex: the selected wheel of each project, cached markers."""

    def __init__(self, index: ClosureIndex, platform: Platform):
        self.index = index
        self.platform = platform
        self.selected: dict[NormalizedName, Declaration] = {}
        # Projects whose wheels fit the platform's tags but not its Python.
        self.python_gaps: dict[NormalizedName, Declaration] = {}
        ranks = platform.tag_rank
        fits: dict[frozenset, bool] = {}
        for name, decls in index.by_name.items():
            candidates = []
            for decl in decls:
                fit = fits.get(decl.tags)
                if fit is None:
                    fit = fits[decl.tags] = any(t in ranks for t in decl.tags)
                if fit:
                    candidates.append(decl)
            if not candidates:
                continue
            chosen = select_wheel(candidates, platform)
            if chosen is not None:
                self.selected[name] = chosen
            else:
                self.python_gaps[name] = candidates[0]
        self._environments: dict[str, dict[str, str]] = {}
        self._markers: dict[tuple[str, str], bool | str] = {}
        self._unoffered: dict[int, dict[str, str]] = {}

    def _environment(self, extra: str) -> dict[str, str]:
        env = self._environments.get(extra)
        if env is None:
            env = self._environments[extra] = {**self.platform.environment, "extra": extra}
        return env

    def marker_result(self, marker: Marker, extra: str = "") -> bool | str:
        """True/False, or the reason the marker cannot be evaluated here (a string)."""
        text = str(marker)
        key = (text, extra if "extra" in text else "")
        result = self._markers.get(key)
        if result is None:
            try:
                result = marker.evaluate(self._environment(key[1]))
            except Exception as e:  # packaging's Undefined*/InvalidVersion: not our bug
                result = f"{type(e).__name__}: {e}"
            self._markers[key] = result
        return result

    def _resolve(
        self, requirement: Requirement, text: str, prefix: str
    ) -> Declaration | tuple[str, str]:
        """The selected wheel satisfying the requirement, or (code, message)."""
        name = self.index.canonical(requirement.name)
        target = self.selected.get(name)
        if target is None:
            gap = self.python_gaps.get(name)
            if gap is not None:
                return "PYTHON", (
                    f"{prefix}requires {text!r}: {gap.filename} requires Python "
                    f"{gap.requires_python}"
                )
            declared = self.index.by_name.get(name)
            if not declared:
                return "MISSING", f"{prefix}requires {text!r}: {name} is not declared"
            versions = ", ".join(sorted({str(d.version) for d in declared}))
            return "MISSING", (
                f"{prefix}requires {text!r}: {name} {versions} has no wheel for the platform"
            )
        if not self.index.version_ok(requirement, target):
            return "UNSATISFIED", (
                f"{prefix}requires {text!r}: {name} {target.version} is declared"
            )
        return target

    def _missing_extras(
        self, requirement: Requirement, target: Declaration, text: str, prefix: str
    ) -> Iterator[tuple[str, str]]:
        unoffered = self.unoffered_extras(target)
        for extra in sorted(requirement.extras):
            canonical = self.index.canonical(extra)
            if canonical not in target.extras:
                yield (
                    "EXTRA",
                    (
                        f"{prefix}requires {text!r}: {target.name} {target.version} "
                        f"has no extra {extra!r}"
                    ),
                )
            elif canonical in unoffered:
                yield (
                    "EXTRA",
                    (
                        f"{prefix}requires {text!r}: extra {canonical!r} of {target.name} "
                        f"{target.version} needs {unoffered[canonical]}, which is not declared"
                    ),
                )

    def iter_dependencies(
        self, decl: Declaration, extras: Iterable[str] = ()
    ) -> Iterator[tuple[Requirement, str, str]]:
        """(requirement, raw text, extra) of each dependency of ``decl`` that applies here.

        First those that apply without extras (extra ""), then, for each of ``extras``,
        those that only that extra brings in. A marker that cannot be evaluated is yielded
        with extra set to ``"!<reason>"``.
        """
        pairs = tuple(zip(decl.requirements, decl.dependencies, strict=True))
        conditional = []
        for requirement, text in pairs:
            marker = requirement.marker
            if marker is None:
                yield requirement, text, ""
                continue
            result = self.marker_result(marker)
            if isinstance(result, str):
                yield requirement, text, "!" + result
            elif result:
                yield requirement, text, ""
            elif "extra" in text:
                conditional.append((requirement, text, marker))
        for extra in extras:
            for requirement, text, marker in conditional:
                result = self.marker_result(marker, extra)
                if isinstance(result, str):
                    yield requirement, text, "!" + result
                elif result:
                    yield requirement, text, extra

    def unoffered_extras(self, decl: Declaration) -> dict[str, str]:
        """Extras of ``decl`` not offered here -> the first undeclared project each needs
        (see the module docstring)."""
        found = self._unoffered.get(id(decl))
        if found is None:
            found = {}
            for requirement, _text, extra in self.iter_dependencies(decl, decl.extras):
                if (
                    extra
                    and not extra.startswith("!")
                    and extra not in found
                    and self.index.canonical(requirement.name) not in self.index.by_name
                ):
                    found[extra] = self.index.canonical(requirement.name)
            self._unoffered[id(decl)] = found
        return found

    def offered_extras(self, decl: Declaration) -> tuple[str, ...]:
        """The extras of ``decl`` whose every dependency here names a declared project."""
        unoffered = self.unoffered_extras(decl)
        return tuple(e for e in decl.extras if e not in unoffered)

    def iter_unsatisfied(self, decl: Declaration) -> Iterator[Unsatisfied]:
        """Every dependency of ``decl`` (with each extra it offers) not met here."""
        for requirement, text, extra in self.iter_dependencies(decl, self.offered_extras(decl)):
            for code, message in self._check(requirement, text, extra):
                yield Unsatisfied(requirement, code, message, decl, extra)

    def _check(self, requirement: Requirement, text: str, extra: str) -> Iterator[tuple[str, str]]:
        if extra.startswith("!"):
            yield "MARKER", f"dependency {text!r}: marker cannot be evaluated: {extra[1:]}"
            return
        prefix = f"extra {extra!r} " if extra else ""
        outcome = self._resolve(requirement, text, prefix)
        if isinstance(outcome, tuple):
            yield outcome
        elif requirement.extras:
            yield from self._missing_extras(requirement, outcome, text, prefix)

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
        shown = str(requirement) if text is None else text
        prefix = f"extra {extra!r} " if extra else ""
        outcome = self._resolve(requirement, shown, prefix)
        if isinstance(outcome, tuple):
            return [Unsatisfied(requirement, *outcome, required_by, extra)]
        found: list[Selected | Unsatisfied] = [Selected(outcome, requirement, required_by)]
        for code, message in self._missing_extras(requirement, outcome, shown, prefix):
            found.append(Unsatisfied(requirement, code, message, required_by, extra))
        return found


def iter_closure(
    index: ClosureIndex, platform: Platform, requirements: Sequence[Requirement]
) -> Iterator[Selected | Unsatisfied]:
    """Every wheel that ``requirements`` pull in on ``platform``, and what cannot be met.

    Each project is yielded once (Selected, in discovery order), the first time it is
    needed; extras requested later still bring in their dependencies. A requested
    requirement whose marker is false on the platform is skipped.
    """
    view = index.view(platform)
    queue: deque[tuple[Requirement, str | None, Declaration | None, str]] = deque()
    for requirement in requirements:
        if requirement.marker is not None:
            result = view.marker_result(requirement.marker)
            if isinstance(result, str):
                message = f"requirement {str(requirement)!r}: marker cannot be evaluated: {result}"
                yield Unsatisfied(requirement, "MARKER", message)
                continue
            if not result:
                continue
        queue.append((requirement, None, None, ""))
    activated: dict[NormalizedName, set[str]] = {}
    while queue:
        requirement, text, required_by, extra = queue.popleft()
        if extra.startswith("!"):
            message = f"dependency {text!r}: marker cannot be evaluated: {extra[1:]}"
            yield Unsatisfied(requirement, "MARKER", message, required_by)
            continue
        for outcome in view.resolve(requirement, required_by=required_by, extra=extra, text=text):
            if isinstance(outcome, Unsatisfied):
                yield outcome
                continue
            decl = outcome.declaration
            wanted = {index.canonical(e) for e in requirement.extras} & set(decl.extras)
            done = activated.get(decl.name)
            if done is None:
                done = activated[decl.name] = set()
                yield outcome
                new = sorted(wanted)
                dependencies = view.iter_dependencies(decl, new)
            else:
                new = sorted(wanted - done)
                if not new:
                    continue
                dependencies = (d for d in view.iter_dependencies(decl, new) if d[2] != "")
            done.update(new)
            for dependency, raw, why in dependencies:
                queue.append((dependency, raw, decl, why))
