"""Compare two roots: projects added, removed, upgraded, downgraded; wheels per platform.

Both roots are opened by `wheelset.client.root` (any ROOT form). Their root directories
are compared from their CIDs, shard by shard (Root.changed()), and only the projects whose
directory differs (added, removed or changed) are read: the cost follows the change, not
the collection. An
unchanged project has the same wheels on every platform the two roots share, so it
cannot change a platform's wheel set. A wheel is "on" a platform when one of its tags is
in the platform's compatible tags.
Entry points: diff_roots(), RootDiff, format_text(), format_markdown(), format_json(),
platform_tags().
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging.tags import Tag
from packaging.version import Version

from wheelset.build.manifest import WheelEntry
from wheelset.client.root import Root
from wheelset.errors import DiffError
from wheelset.ipfs.cid import CID
from wheelset.model.platforms import Platform, PlatformError, describe_platforms, parse_platforms

__all__ = [
    "DiffError",
    "PlatformChange",
    "ProjectChange",
    "RootDiff",
    "WheelReplaced",
    "diff_roots",
    "format_json",
    "format_markdown",
    "format_text",
    "platform_tags",
]


# --- platforms -----------------------------------------------------------------------


def _platforms(table: Mapping[str, object]) -> list[Platform]:
    try:
        return parse_platforms(table)
    except PlatformError as e:
        raise DiffError(f"platforms of the root: {e}") from e


def platform_tags(platforms: Mapping[str, object]) -> dict[str, frozenset[Tag]]:
    """Compatible tags per platform id (``cp311-manylinux_2_28_x86_64``…) of a table.

    Raises:
        DiffError: a platforms table wheelset.model.platforms cannot read.
    """
    return _tags(_platforms(platforms))


def _tags(platforms: Sequence[Platform]) -> dict[str, frozenset[Tag]]:
    return {p.id: frozenset(p.tags) for p in platforms}


# --- the comparison --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectChange:
    name: str
    old: str | None  # version in A (None: added)
    new: str | None  # version in B (None: removed)


@dataclass(frozen=True, slots=True)
class PlatformChange:
    platform: str
    added: tuple[str, ...]  # wheel file names
    removed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WheelReplaced:
    """A wheel file name both roots hold, with other bytes in B: a review must see it."""

    filename: str
    old: CID  # content-id in A
    new: CID  # content-id in B


@dataclass(frozen=True, slots=True)
class RootDiff:
    a: CID
    b: CID
    added: tuple[ProjectChange, ...]
    removed: tuple[ProjectChange, ...]
    upgraded: tuple[ProjectChange, ...]
    downgraded: tuple[ProjectChange, ...]
    platforms: tuple[PlatformChange, ...]  # platforms in both roots, with changes only
    platforms_added: tuple[str, ...]
    platforms_removed: tuple[str, ...]
    shared: tuple[Platform, ...] = ()  # the platforms of both roots, in B's order
    replaced: tuple[WheelReplaced, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.upgraded
            or self.downgraded
            or self.platforms
            or self.platforms_added
            or self.platforms_removed
            or self.replaced
        )


def _versions(entries: Mapping[str, Sequence[WheelEntry]]) -> dict[str, Version]:
    """Each project's version (the highest, should a collection hold several)."""
    return {
        name: max(e.declaration.version for e in project)
        for name, project in entries.items()
        if project
    }


def _wheels_by_platform(
    tags: Mapping[str, frozenset[Tag]], entries: Mapping[str, Sequence[WheelEntry]]
) -> dict[str, set[str]]:
    decls = [e.declaration for project in entries.values() for e in project]
    return {
        platform: {d.filename for d in decls if not platform_tags.isdisjoint(d.tags)}
        for platform, platform_tags in tags.items()
    }


def _replaced(
    old: Mapping[str, Sequence[WheelEntry]], new: Mapping[str, Sequence[WheelEntry]]
) -> tuple[WheelReplaced, ...]:
    """Wheels of one file name whose content-id differs between the roots."""
    before = {e.declaration.filename: e.declaration.content_id for p in old.values() for e in p}
    return tuple(
        WheelReplaced(d.filename, before[d.filename], d.content_id)
        for d in sorted((e.declaration for p in new.values() for e in p), key=lambda d: d.filename)
        if d.filename in before and before[d.filename] != d.content_id
    )


def diff_roots(a: Root, b: Root) -> RootDiff:
    """What changed from root A to root B, reading only the projects that differ.

    Raises:
        DiffError: a platforms table that cannot be expanded into tags.
        RootError: a project of either root cannot be read.
    """
    changed = sorted(a.changed(b).items())
    old = {n: e for n, e in a.projects([n for n, (in_a, _) in changed if in_a]).items() if e}
    new = {n: e for n, e in b.projects([n for n, (_, in_b) in changed if in_b]).items() if e}
    old_versions, new_versions = _versions(old), _versions(new)
    both = sorted(old_versions.keys() & new_versions.keys())
    # Expanding a table into tags is most of a small diff's work: done once when both
    # roots have the same table.
    platforms_a = _platforms(a.platforms)
    same = b.platforms == a.platforms
    platforms_b = platforms_a if same else _platforms(b.platforms)
    tags_a = _tags(platforms_a)
    tags_b = tags_a if same else _tags(platforms_b)
    wheels_a, wheels_b = _wheels_by_platform(tags_a, old), _wheels_by_platform(tags_b, new)
    platforms = tuple(
        PlatformChange(
            p, tuple(sorted(wheels_b[p] - wheels_a[p])), tuple(sorted(wheels_a[p] - wheels_b[p]))
        )
        for p in sorted(tags_a.keys() & tags_b.keys())
        if wheels_a[p] != wheels_b[p]
    )
    return RootDiff(
        a.cid,
        b.cid,
        tuple(
            ProjectChange(n, None, str(new_versions[n]))
            for n in sorted(new_versions.keys() - old_versions.keys())
        ),
        tuple(
            ProjectChange(n, str(old_versions[n]), None)
            for n in sorted(old_versions.keys() - new_versions.keys())
        ),
        tuple(
            ProjectChange(n, str(old_versions[n]), str(new_versions[n]))
            for n in both
            if new_versions[n] > old_versions[n]
        ),
        tuple(
            ProjectChange(n, str(old_versions[n]), str(new_versions[n]))
            for n in both
            if new_versions[n] < old_versions[n]
        ),
        platforms,
        tuple(sorted(tags_b.keys() - tags_a.keys())),
        tuple(sorted(tags_a.keys() - tags_b.keys())),
        tuple(p for p in platforms_b if p.id in tags_a),
        _replaced(old, new),
    )


# --- output ----------------------------------------------------------------------------


def format_text(diff: RootDiff) -> str:
    """A human-readable report: ``+``/``-`` for added/removed, ``^``/``v`` for up/down."""
    lines = [f"A {diff.a}", f"B {diff.b}"]
    if diff.is_empty:
        return "\n".join([*lines, "no differences"]) + "\n"
    lines.append(
        f"projects: {len(diff.added)} added, {len(diff.removed)} removed, "
        f"{len(diff.upgraded)} upgraded, {len(diff.downgraded)} downgraded"
    )
    lines += [f"  + {c.name} {c.new}" for c in diff.added]
    lines += [f"  - {c.name} {c.old}" for c in diff.removed]
    lines += [f"  ^ {c.name} {c.old} -> {c.new}" for c in diff.upgraded]
    lines += [f"  v {c.name} {c.old} -> {c.new}" for c in diff.downgraded]
    moved = _moved_wheels(diff)
    if moved:
        lines.append(f"wheels: {_count_moved(moved)}")
    lines += [f"  {sign} {name} (on {platforms})" for sign, name, platforms in moved]
    if diff.replaced:
        lines.append(f"wheels with other bytes under the same name: {len(diff.replaced)}")
        lines += [f"  ! {r.filename} {r.old} -> {r.new}" for r in diff.replaced]
    if diff.platforms_added:
        lines.append(f"platforms added: {', '.join(diff.platforms_added)}")
    if diff.platforms_removed:
        lines.append(f"platforms removed: {', '.join(diff.platforms_removed)}")
    return "\n".join(lines) + "\n"


def _moved_wheels(diff: RootDiff) -> list[tuple[str, str, str]]:
    """(``+``/``-``, wheel, the platforms it arrives on or leaves, summarised): a wheel
    once, not once per platform."""
    moved: dict[tuple[str, str], list[str]] = {}
    for change in diff.platforms:
        for name in change.added:
            moved.setdefault(("+", name), []).append(change.platform)
        for name in change.removed:
            moved.setdefault(("-", name), []).append(change.platform)
    return [
        (sign, name, describe_platforms(ids, diff.shared))
        for (sign, name), ids in sorted(moved.items(), key=lambda item: (item[0][1], item[0][0]))
    ]


def _count_moved(moved: Sequence[tuple[str, str, str]]) -> str:
    arriving = sum(sign == "+" for sign, _, _ in moved)
    return f"{arriving} in, {len(moved) - arriving} out"


def format_markdown(diff: RootDiff) -> str:
    """The diff for a pull request's summary or comment: a table of project changes, then
    the wheels that arrive or leave and any replaced bytes (names in code spans, so that
    ``_`` in a wheel name is not read as emphasis)."""
    lines = [f"Root `{diff.a}` → `{diff.b}`", ""]
    if diff.is_empty:
        return "\n".join([*lines, "No differences."]) + "\n"
    rows = [
        *(("added", c.name, "", c.new) for c in diff.added),
        *(("removed", c.name, c.old, "") for c in diff.removed),
        *(("upgraded", c.name, c.old, c.new) for c in diff.upgraded),
        *(("downgraded", c.name, c.old, c.new) for c in diff.downgraded),
    ]
    if rows:
        lines += ["| change | project | from | to |", "|---|---|---|---|"]
        lines += [
            f"| {change} | `{name}` | {old or ''} | {new or ''} |"
            for change, name, old, new in rows
        ]
        lines.append("")
    moved = _moved_wheels(diff)
    if moved:
        lines += [f"**Wheels:** {_count_moved(moved)}", ""]
        lines += [
            f"- {'in' if sign == '+' else 'out'}: `{name}` (on {platforms})"
            for sign, name, platforms in moved
        ]
        lines.append("")
    if diff.replaced:
        lines += ["**Wheels with other bytes under the same name:**", ""]
        lines += [f"- `{r.filename}` `{r.old}` → `{r.new}`" for r in diff.replaced]
        lines.append("")
    if diff.platforms_added:
        lines.append(f"**Platforms added:** {', '.join(diff.platforms_added)}")
    if diff.platforms_removed:
        lines.append(f"**Platforms removed:** {', '.join(diff.platforms_removed)}")
    return "\n".join(lines).rstrip("\n") + "\n"


def format_json(diff: RootDiff) -> str:
    """The diff as one JSON document (stable key order)."""
    doc = {
        "a": str(diff.a),
        "b": str(diff.b),
        "projects": {
            "added": [{"name": c.name, "version": c.new} for c in diff.added],
            "removed": [{"name": c.name, "version": c.old} for c in diff.removed],
            "upgraded": [{"name": c.name, "from": c.old, "to": c.new} for c in diff.upgraded],
            "downgraded": [{"name": c.name, "from": c.old, "to": c.new} for c in diff.downgraded],
        },
        "platforms": {
            c.platform: {"added": list(c.added), "removed": list(c.removed)} for c in diff.platforms
        },
        "platforms-added": list(diff.platforms_added),
        "platforms-removed": list(diff.platforms_removed),
        "replaced": [
            {"filename": r.filename, "from": str(r.old), "to": str(r.new)} for r in diff.replaced
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"
