"""Trust check: confusable project names and licences outside the collection's policy.

Names: a project is reported when it is confusable (wheelset.check.names) with another
project of the collection or with one of the bundled most-used names — unless it is one of
those most-used names itself, or policy.toml's [names] allow lists it or the other name.
In CI only new or renamed projects need reporting (``only``); they are still compared with
every name.
Licences (only when policy.toml has a [licenses] section): each declaration's `license`
(or the reviewed expression for its project) must be allowed; a wheel with no licence
recorded is LICENSE-UNKNOWN. No I/O: the policy is passed in.
Entry points: check_names(), check_licenses().
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Set

from packaging.licenses import InvalidLicenseExpression

from wheelset.check.names import find_confusables, load_popular_names
from wheelset.model.declarations import Declaration
from wheelset.model.findings import Finding
from wheelset.model.licenses import disallowed_licenses
from wheelset.model.policy import POLICY_FILE, Policy

__all__ = ["check_licenses", "check_names"]


def check_names(
    declarations: Iterable[Declaration],
    policy: Policy | None,
    only: Set[str] | None = None,
) -> Iterator[Finding]:
    """NAME-CONFUSABLE for each project confusable with another known name.

    ``only``: report just these projects (new or renamed ones), still compared with every
    project of the collection and every most-used name; None: every project.
    """
    allowed = policy.allowed_names if policy else frozenset()
    first: dict[str, Declaration] = {}
    for decl in declarations:
        first.setdefault(decl.name, decl)
    popular = load_popular_names()
    established = frozenset(popular)
    candidates = [
        name
        for name in first
        if name not in allowed and name not in established and (only is None or name in only)
    ]
    if not candidates:
        return
    confusables = find_confusables([*popular, *first], candidates)
    for name, others in confusables.items():
        clashes = [c for c in others if c not in allowed]
        if clashes:
            yield Finding(
                first[name].path,
                "NAME-CONFUSABLE",
                f"project name {name!r} is confusable with {', '.join(map(repr, clashes))}; "
                f"if it is genuine, add it to [names] allow in {POLICY_FILE}",
            )


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
