"""The check pipeline: run the selected check families over a loaded collection.

One module per family (layout, schema, uniqueness, closure, trust, integrity), each a pure
function yielding findings; this package only selects, runs and sorts them, and caps
what one project can produce (PER_PROJECT findings of a code, then one summary).
Entry points: DEFAULT_FAMILIES, run_checks().
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable, Set
from collections.abc import Collection as Families
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
from wheelset.workers import can_fork, share_parts, usable_cores

__all__ = ["DEFAULT_FAMILIES", "FAMILIES", "PER_PROJECT", "cap_per_project", "run_checks"]

DEFAULT_FAMILIES = ("layout", "schema", "uniqueness", "closure", "trust")
PER_PROJECT = 20  # findings of one code shown per project directory
# From this many declarations on, the checks are shared with another process.
_BESIDE = 5000
# The closure check's slices: small enough that neither process waits long for the other
# at the end (a slice of 5,000 declarations takes about a quarter of a second), few
# enough that each slice's own caches (marker results) cost nothing.
_SLICE = 5000
_MAX_SLICES = 200


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
    2 or more, the in-memory checks are shared with ``workers`` - 1 forked processes
    (None: one per core for a large collection).

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
        tasks = _tasks(collection, families, names_paths, closure)
        if workers is None:
            workers = usable_cores() if len(collection.declarations) >= _BESIDE else 1
        if workers > 1 and can_fork() and len(tasks) > 1:
            parts = share_parts(
                len(tasks),
                lambda i: tasks[i](),
                lambda i: pickle.dumps(tasks[i](), pickle.HIGHEST_PROTOCOL),
                pickle.loads,
                workers - 1,
            )
        else:
            parts = [task() for task in tasks]
        for part in parts:
            findings += part
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


def _tasks(
    collection: Collection,
    families: Families[str],
    names_paths: Set[PurePosixPath] | None,
    closure: ClosureCheck | None,
) -> list[Callable[[], list[Finding]]]:
    """The in-memory checks as independent tasks, in the order share_parts() hands them
    out: this process takes them from the first, another from the last. First the checks
    that touch every declaration (a forked process pays for each page it writes, and
    there they cost more than they saved), last the name check (the largest task, taken
    first by the other process), between them the closure check in small slices, so that
    both processes end together whatever the other tasks cost."""

    def here() -> list[Finding]:
        found: list[Finding] = []
        if "layout" in families:
            found += (f for f in collection.findings if family_of(f.code) == "layout")
            found += check_layout(
                collection.files, {str(d.path): d.name for d in collection.declarations}
            )
        if "schema" in families:
            found += check_schema(collection.findings)
        if "uniqueness" in families:
            found += check_uniqueness(collection.declarations)
        if "trust" in families:
            found += (f for f in collection.findings if family_of(f.code) == "trust")
            found += check_licenses(collection.declarations, collection.policy)
        return found

    tasks = [here]
    if closure is not None:
        count = _closure_slices(len(collection.declarations))
        tasks += (
            functools.partial(closure.findings, i / count, (i + 1) / count) for i in range(count)
        )
    if "trust" in families:
        tasks.append(functools.partial(_names, collection, names_paths))
    return tasks


def _closure_slices(declarations: int) -> int:
    """Into how many slices the closure check is cut: about _SLICE declarations each."""
    return max(1, min(_MAX_SLICES, declarations // _SLICE))


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
