"""Uniqueness check: one version per project, and no two wheels installable on one system.

Versions: every file of a project whose version is not the newest declared one is
reported (so the fix is to delete the reported files). Overlap: for every pair of wheels
of one version of a project, a pair of tags one system accepts (see
wheelset.model.overlap) is reported on the later file, naming the earlier one.
No I/O. Entry point: check_uniqueness().
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from wheelset.model.declarations import Declaration
from wheelset.model.findings import Finding
from wheelset.model.overlap import ANY, machines_of, wheels_overlap

__all__ = ["check_uniqueness"]


def check_uniqueness(declarations: Iterable[Declaration]) -> Iterator[Finding]:
    """Findings VERSIONS and OVERLAP."""
    by_name: dict[str, list[Declaration]] = {}
    for decl in declarations:
        by_name.setdefault(decl.name, []).append(decl)
    for name, decls in sorted(by_name.items()):
        if len(decls) == 1:
            continue
        decls.sort(key=lambda d: d.path)
        versions = {d.version for d in decls}
        if len(versions) > 1:
            newest = max(versions)
            listed = ", ".join(str(v) for v in sorted(versions))
            for decl in decls:
                if decl.version != newest:
                    yield Finding(
                        decl.path,
                        "VERSIONS",
                        f"{name} {decl.version} is declared beside {newest} "
                        f"(versions: {listed}); a project has exactly one version",
                    )
        by_version: dict[object, list[Declaration]] = {}
        for decl in decls:  # wheels of different versions: already a VERSIONS finding
            by_version.setdefault(decl.version, []).append(decl)
        for group in by_version.values():
            yield from _overlaps(group)


def _overlaps(decls: list[Declaration]) -> Iterator[Finding]:
    machines = [machines_of(d.tags) for d in decls]
    for i, later in enumerate(decls):
        for j in range(i):
            if ANY not in machines[i] and ANY not in machines[j] and not machines[i] & machines[j]:
                continue
            earlier = decls[j]
            pair = wheels_overlap(later.tags, earlier.tags)
            if pair is not None:
                yield Finding(
                    later.path,
                    "OVERLAP",
                    f"installable on the same system as {earlier.filename} "
                    f"(tags {pair[0]} and {pair[1]})",
                )
