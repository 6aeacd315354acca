"""Trust check: confusable project names and licences outside the collection's policy.

Names: a project is reported when it is confusable (wheelset.check.names) with another
project of the collection or with one of the bundled most-used names — unless it is one of
those most-used names itself, or policy.toml's [names] allow lists it or the other name.
Licences (only when policy.toml has a [licenses] section): each declaration's `license`
(or the reviewed expression for its project) must be allowed; a wheel with no licence
recorded is LICENSE-UNKNOWN. No I/O: the policy is passed in.
Entry points: check_names(), check_licenses().
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from packaging.licenses import InvalidLicenseExpression

from wheelset.check.names import ConfusableIndex, load_popular_names
from wheelset.model.declarations import Declaration
from wheelset.model.findings import Finding
from wheelset.model.licenses import disallowed_licenses
from wheelset.model.policy import POLICY_FILE, Policy

__all__ = ["check_licenses", "check_names"]


def check_names(declarations: Iterable[Declaration], policy: Policy | None) -> Iterator[Finding]:
    """NAME-CONFUSABLE for each project confusable with another known name."""
    allowed = policy.allowed_names if policy else frozenset()
    first: dict[str, Declaration] = {}
    for decl in declarations:
        first.setdefault(decl.name, decl)
    popular = load_popular_names()
    index = ConfusableIndex((*popular, *first))
    established = frozenset(popular)
    for name, decl in sorted(first.items()):
        if name in allowed or name in established:
            continue
        clashes = [c for c in index.confusable_with(name) if c not in allowed]
        if clashes:
            yield Finding(
                decl.path,
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
