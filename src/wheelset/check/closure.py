"""Closure check: on every supported platform, every dependency of every wheel is met.

For each platform, each project's selected wheel (the one pip would install there) has
its dependencies checked — those that apply without extras and those each of its own
extras brings in — against the single declared wheel of the dependency on that platform
(version in the specifier, requested extras provided, requires-python respected).
Findings are grouped: one per (file, problem), listing the platforms it occurs on.
Wheels that no platform selects are reported as UNUSED warnings.

The platforms are not walked one by one: a wheel's selection, a marker's result and a
dependency's target are platform bit masks (ClosureIndex.selection), so each dependency
is judged once per distinct situation (marker result × selected target), not once per
platform. No I/O. Entry point: check_closure().
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from packaging.markers import Marker

from wheelset.model.closure import ClosureIndex, Dependency, evaluate_marker
from wheelset.model.declarations import Declaration
from wheelset.model.findings import Finding, Severity
from wheelset.model.platforms import Platform

__all__ = ["check_closure"]


def _where(platforms: Sequence[Platform], mask: int) -> str:
    if mask == (1 << len(platforms)) - 1 and len(platforms) > 1:
        return f"on all {len(platforms)} platforms"
    return "on " + ", ".join(p.id for i, p in enumerate(platforms) if mask >> i & 1)


class _Markers:
    """Each (marker, extra) evaluated once on every platform: the mask where it holds and,
    by reason, the masks where it cannot be evaluated."""

    def __init__(self, platforms: Sequence[Platform]):
        self.environments = [dict(p.environment) for p in platforms]
        self.cache: dict[tuple[str, str], tuple[int, dict[str, int]]] = {}

    def masks(self, marker: Marker, text: str, extra: str) -> tuple[int, dict[str, int]]:
        key = (text, extra)
        found = self.cache.get(key)
        if found is None:
            true, errors = 0, {}
            for i, environment in enumerate(self.environments):
                environment["extra"] = extra
                result = evaluate_marker(marker, environment)
                if result is True:
                    true |= 1 << i
                elif result is not False:
                    errors[result] = errors.get(result, 0) | 1 << i
            found = self.cache[key] = (true, errors)
        return found


def check_closure(
    declarations: Sequence[Declaration],
    platforms: Sequence[Platform],
    index: ClosureIndex | None = None,
) -> Iterator[Finding]:
    """Findings MISSING, UNSATISFIED, EXTRA, PYTHON, MARKER, and UNUSED (a warning)."""
    if not platforms:
        return
    index = index if index is not None else ClosureIndex(declarations)
    selection = index.selection(platforms)
    selected, gaps = selection.selected, selection.gaps
    markers = _Markers(platforms)
    problems: dict[tuple[object, str, str], int] = {}
    used: set[int] = set()

    def report(decl: Declaration, code: str, message: str, mask: int) -> None:
        key = (decl.path, code, message)
        problems[key] = problems.get(key, 0) | mask

    def judge(decl: Declaration, dep: Dependency, extra: str, mask: int) -> None:
        """The dependency, applying on ``mask`` (under ``extra``), against its targets."""
        rest = mask
        for target, where in selected.get(dep.name, ()):
            here = rest & where
            if not here:
                continue
            rest &= ~where
            if not dep.requirement.extras and index.version_ok(dep, target):
                continue
            for code, message in index.problems(dep, extra, target):
                report(decl, code, message, here)
        for gap, where in gaps.get(dep.name, ()) if rest else ():
            if rest & where:
                for code, message in index.problems(dep, extra, None, gap):
                    report(decl, code, message, rest & where)
                rest &= ~where
        if rest:
            for code, message in index.problems(dep, extra, None):
                report(decl, code, message, rest)

    for entries in selected.values():
        for decl, where in entries:
            used.add(id(decl))
            for requirement, text in zip(decl.requirements, decl.dependencies, strict=True):
                dep = index.dependency(requirement, text)
                if dep.marker is None:
                    judge(decl, dep, "", where)
                    continue
                true, errors = markers.masks(dep.marker, dep.marker_text, "")
                for reason, bad in errors.items():
                    if bad & where:
                        message = f"dependency {text!r}: marker cannot be evaluated: {reason}"
                        report(decl, "MARKER", message, bad & where)
                if true & where:
                    judge(decl, dep, "", true & where)
                if not (dep.conditional and decl.extras):
                    continue
                unmet = where & ~true & ~sum(errors.values())
                for extra in decl.extras if unmet else ():
                    true_e, errors_e = markers.masks(dep.marker, dep.marker_text, extra)
                    for reason, bad in errors_e.items():
                        if bad & unmet:
                            message = f"dependency {text!r}: marker cannot be evaluated: {reason}"
                            report(decl, "MARKER", message, bad & unmet)
                    if true_e & unmet:
                        judge(decl, dep, extra, true_e & unmet)
    findings = [
        Finding(path, code, f"{message} ({_where(platforms, mask)})")
        for (path, code, message), mask in problems.items()
    ]
    newest: dict[str, object] = {}
    for decl in declarations:
        if decl.name not in newest or decl.version > newest[decl.name]:  # type: ignore[operator]
            newest[decl.name] = decl.version
    for decl in declarations:
        # Older versions are VERSIONS findings already; only the newest is ever selected.
        if id(decl) not in used and decl.version == newest[decl.name]:
            findings.append(
                Finding(
                    decl.path,
                    "UNUSED",
                    f"installs on none of the {len(platforms)} supported platforms "
                    "(or another wheel of the project is preferred everywhere)",
                    Severity.WARNING,
                )
            )
    findings.sort(key=Finding.sort_key)
    yield from findings
