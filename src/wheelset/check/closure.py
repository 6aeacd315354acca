"""Closure check: on every supported platform, every dependency of every wheel is met.

For each platform, each project's selected wheel (the one pip would install there) has
its dependencies checked — those that apply without extras and those each of its own
extras brings in — against the single declared wheel of the dependency on that platform
(version in the specifier, requested extras provided, requires-python respected).
Findings are grouped: one per (release, problem), on the release's first wheel with it,
with the platforms it occurs on summarised (describe_platforms) and listed
(Finding.platforms), and the command that fixes it. Wheels that no platform selects are
reported as UNUSED warnings.

The platforms are not walked one by one: a wheel's selection, a marker's result and a
dependency's target are platform bit masks (ClosureIndex.selection), so each dependency
is judged once per distinct situation (marker result × selected target), not once per
platform. No I/O. Entry point: check_closure().
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from wheelset.model.closure import ClosureIndex, Dependency, evaluate_marker
from wheelset.model.declarations import Declaration
from wheelset.model.findings import Finding, Severity
from wheelset.model.platforms import Platform, describe_platforms

__all__ = ["ClosureCheck", "check_closure"]


def _fix(code: str, message: str, requirement: Requirement, extra: str, owner: Declaration) -> str:
    """The command that fixes a closure problem: declare what is missing (with what it
    needs), or re-declare the dependency (``--replace``) choosing a release that fits; for
    a requirement of one of the wheel's extras, or re-declare the wheel without that extra."""
    name = canonicalize_name(requirement.name)
    extras = sorted(canonicalize_name(e) for e in requirement.extras)
    named = f"{name}[{','.join(extras)}]" if extras else name
    not_declared = code == "MISSING" and "is not declared" in message
    if not_declared or code == "EXTRA":
        fix = f"`wheelset declare --with-deps '{named}'`"
    elif code in ("MISSING", "UNSATISFIED", "PYTHON"):
        fix = f"`wheelset declare --with-deps '{named}' --replace`"
    else:
        return ""
    if extra:
        kept = [e for e in owner.extras if e != extra]
        again = f"{owner.name}[{','.join(kept)}]" if kept else owner.name
        fix += f", or without the extra: `wheelset declare '{again}=={owner.version}' --replace`"
    return fix


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
    yield from ClosureCheck(declarations, platforms, index).findings()


class ClosureCheck:
    """check_closure() prepared once (the index and the selection), then judged in parts:
    ``findings(start, stop)`` judges the selected wheels of that fraction of the projects,
    so that parts can run in different (forked) processes; the part reaching 1.0 also
    reports UNUSED. The parts' findings together are check_closure()'s."""

    def __init__(
        self,
        declarations: Sequence[Declaration],
        platforms: Sequence[Platform],
        index: ClosureIndex | None = None,
    ):
        self.declarations = declarations
        self.platforms = platforms
        if platforms:
            self.index = index if index is not None else ClosureIndex(declarations)
            self.selection = self.index.selection(platforms)

    def findings(self, start: float = 0.0, stop: float = 1.0) -> list[Finding]:
        """The findings of the projects in [start, stop) (fractions of their number), sorted."""
        platforms = self.platforms
        if not platforms:
            return []
        index, selection = self.index, self.selection
        selected, gaps = selection.selected, selection.gaps
        projects = list(selected.values())
        first, last = round(start * len(projects)), round(stop * len(projects))
        findings = self._judge(projects[first:last], index, selected, gaps)
        if stop >= 1.0:
            findings += self._unused(selected)
        findings.sort(key=Finding.sort_key)
        return findings

    def _judge(
        self,
        projects: list[list[tuple[Declaration, int]]],
        index: ClosureIndex,
        selected: dict[NormalizedName, list[tuple[Declaration, int]]],
        gaps: dict[NormalizedName, list[tuple[Declaration, int]]],
    ) -> list[Finding]:
        platforms = self.platforms
        markers = _Markers(platforms)
        # (project, version, code, message) -> platform mask, first wheel's path, the fix
        problems: dict[tuple[object, object, str, str], tuple[int, str, str]] = {}

        def report(
            decl: Declaration,
            code: str,
            message: str,
            mask: int,
            dep: Dependency | None = None,
            extra: str = "",
        ) -> None:
            key = (decl.name, decl.version, code, message)
            found = problems.get(key)
            if found is None:
                fix = _fix(code, message, dep.requirement, extra, decl) if dep is not None else ""
                problems[key] = (mask, str(decl.path), fix)
            else:
                problems[key] = (found[0] | mask, min(found[1], str(decl.path)), found[2])

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
                    report(decl, code, message, here, dep, extra)
            for gap, where in gaps.get(dep.name, ()) if rest else ():
                if rest & where:
                    for code, message in index.problems(dep, extra, None, gap):
                        report(decl, code, message, rest & where, dep, extra)
                    rest &= ~where
            if rest:
                for code, message in index.problems(dep, extra, None):
                    report(decl, code, message, rest, dep, extra)

        for entries in projects:
            for decl, where in entries:
                for dep in index.plan(decl):
                    text = dep.text
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
                                message = (
                                    f"dependency {text!r}: marker cannot be evaluated: {reason}"
                                )
                                report(decl, "MARKER", message, bad & unmet)
                        if true_e & unmet:
                            judge(decl, dep, extra, true_e & unmet)
        findings = []
        for (_, _, code, message), (mask, path, fix) in problems.items():
            ids = [p.id for i, p in enumerate(platforms) if mask >> i & 1]
            text = f"{message} (on {describe_platforms(ids, platforms)})" + (
                f": {fix}" if fix else ""
            )
            findings.append(Finding(PurePosixPath(path), code, text, platforms=tuple(ids)))
        return findings

    def _unused(
        self, selected: dict[NormalizedName, list[tuple[Declaration, int]]]
    ) -> list[Finding]:
        declarations, platforms = self.declarations, self.platforms
        used = {id(decl) for entries in selected.values() for decl, _ in entries}
        findings = []
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
        return findings
