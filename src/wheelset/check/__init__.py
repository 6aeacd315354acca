"""The check pipeline: run the selected check families over a loaded collection.

One module per family (layout, schema, uniqueness, closure, trust, integrity), each a pure
function yielding findings; this package only selects, runs and sorts them, and caps
what one project can produce (PER_PROJECT findings of a code, then one summary).
Entry points: DEFAULT_FAMILIES, run_checks().
"""

from __future__ import annotations

import functools
from collections.abc import Collection as Families
from collections.abc import Set
from pathlib import PurePosixPath

from wheelset.check.closure import ClosureCheck
from wheelset.check.integrity import Fetcher, check_integrity
from wheelset.check.layout import check_layout
from wheelset.check.schema import check_schema
from wheelset.check.trust import check_licenses, check_names
from wheelset.check.uniqueness import check_uniqueness
from wheelset.gcpause import cycle_collection_paused
from wheelset.model.collection import Collection
from wheelset.model.findings import FAMILIES, Finding, Severity, family_of
from wheelset.workers import can_fork, run_in_child, usable_cores

__all__ = ["DEFAULT_FAMILIES", "FAMILIES", "PER_PROJECT", "cap_per_project", "run_checks"]

DEFAULT_FAMILIES = ("layout", "schema", "uniqueness", "closure", "trust")
PER_PROJECT = 20  # findings of one code shown per project directory
# From this many declarations on, the name check and part of the closure check run in
# another process.
_BESIDE = 5000
# The closure check's share in that process beside the name check: what balances the two
# processes' work (measured at 100,000 declarations: names 2.5 s, closure 3.5 s, layout
# and uniqueness 1.7 s of CPU).
_CLOSURE_BESIDE_NAMES = 0.35


def run_checks(
    collection: Collection,
    families: Families[str] = DEFAULT_FAMILIES,
    *,
    fetcher: Fetcher | None = None,
    integrity_paths: Set[PurePosixPath] | None = None,
    names_paths: Set[PurePosixPath] | None = None,
    jobs: int = 1,
    workers: int | None = None,
) -> list[Finding]:
    """Every finding of the selected families, sorted by path, code and message (at most
    PER_PROJECT of a code per project, see cap_per_project()).

    ``integrity_paths`` limits the integrity check (None: every declaration); it needs
    ``fetcher``. ``names_paths`` limits which projects the confusable-name rule reports:
    those with a declaration among these paths (new or renamed projects, in CI), each
    still compared with every name; None: every project (a full sweep). ``workers``: with
    2 or more, the name check and a share of the closure check run in another process
    beside the others (None: so for a large collection when there are cores for it).

    Raises:
        ValueError: an unknown family, or integrity without a fetcher.
    """
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown check family {sorted(unknown)[0]!r}")
    findings: list[Finding] = []
    # The in-memory families allocate many long-lived objects and no cycles; the
    # integrity check (network, threads) runs with the collector on.
    with cycle_collection_paused():
        closure = None
        if "closure" in families:
            closure = ClosureCheck(collection.declarations, collection.platforms)
        if workers is None:
            workers = usable_cores() if len(collection.declarations) >= _BESIDE else 1
        beside = "trust" in families or closure is not None
        fork = workers > 1 and can_fork() and beside
        # Another process takes the name check (a second per 50,000 names) and a share of
        # the closure check while this one runs the others and the rest of the closure.
        # (The layout check stays here: a forked child pays for every page it writes, and
        # in one it cost more than it saved.)
        share = (_CLOSURE_BESIDE_NAMES if "trust" in families else 0.5) if fork else 0.0
        their_part = functools.partial(
            _beside, collection, names_paths, "trust" in families, closure, share
        )
        their_findings = run_in_child(their_part) if fork else their_part
        if "layout" in families:
            findings += (f for f in collection.findings if family_of(f.code) == "layout")
            findings += check_layout(
                collection.files, {d.path: d.name for d in collection.declarations}
            )
        if "schema" in families:
            findings += check_schema(collection.findings)
        if "uniqueness" in families:
            findings += check_uniqueness(collection.declarations)
        if closure is not None:
            findings += closure.findings(share, 1.0)
        if "trust" in families:
            findings += (f for f in collection.findings if family_of(f.code) == "trust")
            findings += check_licenses(collection.declarations, collection.policy)
        findings += their_findings()
    if "integrity" in families:
        if fetcher is None:
            raise ValueError("the integrity check needs a fetcher")
        selected = [
            d
            for d in collection.declarations
            if integrity_paths is None or d.path in integrity_paths
        ]
        findings += check_integrity(selected, fetcher, jobs=jobs)
    return cap_per_project(sorted(set(findings), key=Finding.sort_key))


def _beside(
    collection: Collection,
    names_paths: Set[PurePosixPath] | None,
    names: bool,
    closure: ClosureCheck | None,
    share: float,
) -> list[Finding]:
    """The name check (when ``names``) and the first ``share`` of the closure check."""
    found = _names(collection, names_paths) if names else []
    if closure is not None and share:
        found += closure.findings(0.0, share)
    return found


def _names(collection: Collection, names_paths: Set[PurePosixPath] | None) -> list[Finding]:
    only = None
    if names_paths is not None:
        only = {d.name for d in collection.declarations if d.path in names_paths}
    return list(check_names(collection.declarations, collection.policy, only))


def cap_per_project(findings: list[Finding], limit: int = PER_PROJECT) -> list[Finding]:
    """At most ``limit`` findings of one code per project directory; the rest become one
    summary finding on the directory, so output grows with the number of projects and
    codes, not with the square of one project's size. ``findings`` are sorted by path."""
    counts: dict[tuple[PurePosixPath, str], int] = {}
    hidden: dict[tuple[PurePosixPath, str], list[int]] = {}  # [count, errors]
    kept: list[Finding] = []
    for finding in findings:
        parts = finding.path.parts
        key = (finding.path.parent if len(parts) == 3 else finding.path, finding.code)
        seen = counts[key] = counts.get(key, 0) + 1
        if seen <= limit:
            kept.append(finding)
            continue
        tally = hidden.setdefault(key, [0, 0])
        tally[0] += 1
        tally[1] += finding.severity is Severity.ERROR
    for (project, code), (count, errors) in hidden.items():
        kept.append(
            Finding(
                project,
                code,
                f"and {count} more {code} finding(s) in this project, not shown "
                f"(only the first {limit} of each code are)",
                Severity.ERROR if errors else Severity.WARNING,
            )
        )
    kept.sort(key=Finding.sort_key)
    return kept
