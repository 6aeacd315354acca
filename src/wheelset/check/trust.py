"""Trust check: confusable project names and licences outside the collection's policy.

Names: a project is reported when it is confusable (wheelset.check.names) with another
project of the collection or with one of the bundled most-used names — unless it is one of
those most-used names itself, or policy.toml's [names] allow lists it or the other name.
In CI only new or renamed projects need reporting (``only``); they are still compared with
every name.
Licences (only when policy.toml has a [licenses] section): each declaration's `license`
(or the reviewed expression for its project) must be allowed; a wheel with no licence
recorded is LICENSE-UNKNOWN. No I/O: the policy is passed in.
Entry points: start_check_names(), check_licenses(), Runner, run_here().
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Set
from pathlib import PurePosixPath
from typing import Any, TypeVar

from packaging.licenses import InvalidLicenseExpression

from wheelset.check.names import find_confusables, load_popular_names
from wheelset.model.declarations import Declaration
from wheelset.model.findings import Finding
from wheelset.model.licenses import disallowed_licenses
from wheelset.model.policy import POLICY_FILE, Policy

__all__ = ["Runner", "check_licenses", "run_here", "start_check_names"]

_T = TypeVar("_T")
# Starts function(*args) and returns what waits for its result.
Runner = Callable[..., Callable[[], Any]]


def run_here(function: Callable[..., _T], *args: object) -> Callable[[], _T]:
    """The Runner that does the work at once, in this process."""
    result = function(*args)
    return lambda: result


def start_check_names(
    declarations: Iterable[Declaration],
    policy: Policy | None,
    only: Set[str] | None = None,
    *,
    run: Runner = run_here,
) -> Callable[[], list[Finding]]:
    """NAME-CONFUSABLE for each project confusable with another known name: the name
    search is started with ``run`` (e.g. in another process); calling the result waits
    for it and gives the findings.

    ``only``: report just these projects (new or renamed ones), still compared with every
    project of the collection and every most-used name; None: every project.
    """
    allowed = policy.allowed_names if policy else frozenset()
    first: dict[str, PurePosixPath] = {}
    for decl in declarations:
        first.setdefault(decl.name, decl.path)
    popular = load_popular_names()
    established = frozenset(popular)
    candidates = [
        name
        for name in first
        if name not in allowed and name not in established and (only is None or name in only)
    ]
    if not candidates:
        return list
    search = run(find_confusables, [*popular, *first], candidates)

    def findings() -> list[Finding]:
        found = []
        for name, others in search().items():
            clashes = [c for c in others if c not in allowed]
            if clashes:
                found.append(
                    Finding(
                        first[name],
                        "NAME-CONFUSABLE",
                        f"project name {name!r} is confusable with "
                        f"{', '.join(map(repr, clashes))}; if it is genuine, add it to "
                        f"[names] allow in {POLICY_FILE}",
                    )
                )
        return found

    return findings


def check_licenses(declarations: Iterable[Declaration], policy: Policy | None) -> Iterator[Finding]:
    """LICENSE-UNKNOWN and LICENSE-DISALLOWED against the policy's allow-list."""
    if policy is None or policy.licenses is None:
        return
    for decl in declarations:
        expression = policy.reviewed_licenses.get(decl.name, decl.license)
        if expression is None:
            yield Finding(
                decl.path,
                "LICENSE-UNKNOWN",
                "no licence recorded: re-declare the wheel, or review its licence into "
                f"[licenses.reviewed] in {POLICY_FILE}",
            )
            continue
        try:
            bad = disallowed_licenses(expression, policy.licenses)
        except InvalidLicenseExpression as e:
            yield Finding(decl.path, "LICENSE-UNKNOWN", f"licence {expression!r}: {e}")
            continue
        if bad:
            yield Finding(
                decl.path,
                "LICENSE-DISALLOWED",
                f"licence {expression!r}: {', '.join(bad)} not allowed by {POLICY_FILE}",
            )
