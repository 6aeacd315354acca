"""Uniqueness check: one version per project, and no two wheels installable on one system.

Versions: every file of a project whose version is not the newest declared one is
reported (so the fix is to delete the reported files); the message lists a few versions,
not all. Overlap: a wheel installable on one system with an earlier wheel (by path) of the
same version is reported once, naming the first such wheel and a pair of tags one system
accepts (wheelset.model.overlap.first_overlaps, near-linear in the number of wheels).
No I/O. Entry point: check_uniqueness().
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from wheelset.model.closure import summarize
from wheelset.model.declarations import Declaration
from wheelset.model.findings import Finding
from wheelset.model.overlap import first_overlaps

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
        versions = sorted({d.version for d in decls})
        if len(versions) > 1:
            newest = versions[-1]
            listed = summarize(versions)
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
            if len(group) < 2:
                continue
            for later, hit in zip(group, first_overlaps([d.tags for d in group]), strict=True):
                if hit is not None:
                    earlier, tag, other = group[hit[0]], hit[1], hit[2]
                    yield Finding(
                        later.path,
                        "OVERLAP",
                        f"installable on the same system as {earlier.filename} "
                        f"(tags {tag} and {other})",
                    )
