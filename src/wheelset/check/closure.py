"""Closure check: on every supported platform, every dependency of every wheel is met.

For each platform, each project's selected wheel (the one pip would install there) has
its dependencies checked — those that apply without extras and those each of its own
extras brings in — against the single declared wheel of the dependency on that platform
(version in the specifier, requested extras provided, requires-python respected).
Findings are grouped: one per (file, problem), listing the platforms it occurs on.
Wheels that no platform selects are reported as UNUSED warnings.
No I/O. Entry point: check_closure().
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from wheelset.model.closure import ClosureIndex
from wheelset.model.declarations import Declaration
from wheelset.model.findings import Finding, Severity
from wheelset.model.platforms import Platform

__all__ = ["check_closure"]


def _where(platform_ids: list[str], total: int) -> str:
    if len(platform_ids) == total and total > 1:
        return f"on all {total} platforms"
    return "on " + ", ".join(platform_ids)


def check_closure(
    declarations: Sequence[Declaration],
    platforms: Sequence[Platform],
    index: ClosureIndex | None = None,
) -> Iterator[Finding]:
    """Findings MISSING, UNSATISFIED, EXTRA, PYTHON, MARKER, and UNUSED (a warning)."""
    if not platforms:
        return
    index = index if index is not None else ClosureIndex(declarations)
    problems: dict[tuple[object, str, str], list[str]] = {}
    used: set[int] = set()
    for platform in platforms:
        view = index.view(platform)
        for decl in view.selected.values():
            used.add(id(decl))
            for unsatisfied in view.unsatisfied(decl):
                key = (decl.path, unsatisfied.code, unsatisfied.message)
                problems.setdefault(key, []).append(platform.id)
    findings = [
        Finding(path, code, f"{message} ({_where(ids, len(platforms))})")  # type: ignore[arg-type]
        for (path, code, message), ids in problems.items()
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
