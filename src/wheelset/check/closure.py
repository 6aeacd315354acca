"""Closure check: on every supported platform, every dependency of every wheel is met.

For each platform, each project's selected wheel (the one pip would install there) has
its dependencies checked — those that apply without extras and those each of its own
extras brings in — against the single declared wheel of the dependency on that platform
(version in the specifier, requested extras provided, requires-python respected).
Findings are grouped: one per (release, problem), on the release's first wheel, with the
platforms it occurs on summarised (describe_platforms) and listed (Finding.platforms), and
the command that fixes it. Wheels that no platform selects are reported as UNUSED warnings.
No I/O. Entry point: check_closure().
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath

from packaging.utils import canonicalize_name

from wheelset.model.closure import ClosureIndex, Unsatisfied
from wheelset.model.declarations import Declaration
from wheelset.model.findings import Finding, Severity
from wheelset.model.platforms import Platform, describe_platforms

__all__ = ["check_closure"]


def _fix(unsatisfied: Unsatisfied) -> str:
    """The command that fixes a closure problem: declare what is missing (with what it
    needs), or re-declare the dependency (``--replace``) choosing a release that fits; for
    a requirement of one of the wheel's extras, or re-declare the wheel without that extra."""
    requirement = unsatisfied.requirement
    name = canonicalize_name(requirement.name)
    extras = sorted(canonicalize_name(e) for e in requirement.extras)
    named = f"{name}[{','.join(extras)}]" if extras else name
    not_declared = unsatisfied.code == "MISSING" and "is not declared" in unsatisfied.message
    if not_declared or unsatisfied.code == "EXTRA":
        fix = f"`wheelset declare --with-deps '{named}'`"
    elif unsatisfied.code in ("MISSING", "UNSATISFIED", "PYTHON"):
        fix = f"`wheelset declare --with-deps '{named}' --replace`"
    else:
        return ""
    owner = unsatisfied.required_by
    if unsatisfied.extra and owner is not None:
        kept = [e for e in owner.extras if e != unsatisfied.extra]
        again = f"{owner.name}[{','.join(kept)}]" if kept else owner.name
        fix += f", or without the extra: `wheelset declare '{again}=={owner.version}' --replace`"
    return fix


def check_closure(
    declarations: Sequence[Declaration],
    platforms: Sequence[Platform],
    index: ClosureIndex | None = None,
) -> Iterator[Finding]:
    """Findings MISSING, UNSATISFIED, EXTRA, PYTHON, MARKER, and UNUSED (a warning)."""
    if not platforms:
        return
    index = index if index is not None else ClosureIndex(declarations)
    # (project, version, code, message) -> platform ids, the problem, its first wheel's path
    problems: dict[tuple[object, object, str, str], tuple[list[str], Unsatisfied, list[str]]] = {}
    used: set[int] = set()
    for platform in platforms:
        view = index.view(platform)
        for decl in view.selected.values():
            used.add(id(decl))
            for unsatisfied in view.unsatisfied(decl):
                key = (decl.name, decl.version, unsatisfied.code, unsatisfied.message)
                entry = problems.setdefault(key, ([], unsatisfied, [str(decl.path)]))
                entry[0].append(platform.id)
                entry[2][0] = min(entry[2][0], str(decl.path))
    findings = []
    for (_, _, code, message), (ids, unsatisfied, path) in problems.items():
        fix = _fix(unsatisfied)
        text = f"{message} (on {describe_platforms(ids, platforms)})" + (f": {fix}" if fix else "")
        findings.append(Finding(PurePosixPath(path[0]), code, text, platforms=tuple(ids)))
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
