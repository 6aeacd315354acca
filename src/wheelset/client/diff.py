"""Compare two built roots: projects added, removed, upgraded, downgraded; wheels per platform.

A ROOT is a build directory (its wheelset.json, checked against its ROOT file) or a CID
(``Qm…``, ``b…`` or ``/ipfs/<cid>``) whose ``/wheelset.json`` is fetched from a gateway and
authenticated by rebuilding the root from it offline: a gateway cannot lie about it.
A wheel is "on" a platform when one of its tags is in the platform's compatible tags.
Entry points: load_root(), diff_manifests(), RootDiff, format_text(), format_json(),
platform_tags().
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from packaging.tags import Tag
from packaging.version import Version

from wheelset.build.manifest import MANIFEST_NAME, InvalidManifest, Manifest, parse_manifest
from wheelset.build.stage import load_build_dir
from wheelset.build.tree import build_root
from wheelset.errors import WheelsetError
from wheelset.ipfs.cid import CID, InvalidCID, parse_cid
from wheelset.model.platforms import PlatformError, parse_platforms

__all__ = [
    "DiffError",
    "PlatformChange",
    "ProjectChange",
    "RootDiff",
    "diff_manifests",
    "format_json",
    "format_text",
    "load_root",
    "platform_tags",
]

MAX_MANIFEST_SIZE = 256 * 1024 * 1024  # bytes; refuse a gateway that streams without end


class DiffError(WheelsetError):
    """A ROOT that cannot be read or authenticated, or a platforms table diff cannot use."""

    def __init__(self, message: str):
        super().__init__(message, code="DIFF")


# --- platforms -----------------------------------------------------------------------


def platform_tags(platforms: Mapping[str, object]) -> dict[str, frozenset[Tag]]:
    """Compatible tags per platform id (``cp311-manylinux_2_28_x86_64``…) of a table.

    Raises:
        DiffError: a platforms table wheelset.model.platforms cannot read.
    """
    try:
        return {p.id: frozenset(p.tags) for p in parse_platforms(platforms)}
    except PlatformError as e:
        raise DiffError(f"platforms of the manifest: {e}") from e


# --- loading a ROOT --------------------------------------------------------------------


def _fetch_manifest(cid: CID, gateway: str, http: httpx.Client) -> bytes:
    url = f"{gateway.rstrip('/')}/ipfs/{cid}/{MANIFEST_NAME}"
    try:
        with http.stream("GET", url, follow_redirects=True) as response:
            if response.status_code != 200:
                raise DiffError(f"{url}: HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_MANIFEST_SIZE:
                    raise DiffError(f"{url}: larger than any manifest should be")
            return bytes(body)
    except httpx.HTTPError as e:
        raise DiffError(f"cannot fetch {url}: {e}") from e


def load_root(spec: str, *, http: httpx.Client, gateway: str | None) -> tuple[CID, Manifest]:
    """The CID and authenticated manifest of a ROOT (build directory or CID).

    Raises:
        DiffError: unreadable, no gateway for a CID, or a manifest that builds another root.
        InvalidManifest, BuildError: a malformed manifest or build directory.
    """
    path = Path(spec)
    if path.is_dir():
        return load_build_dir(path)
    try:
        cid = parse_cid(spec)
    except InvalidCID as e:
        raise DiffError(f"{spec!r} is neither a build directory nor a CID") from e
    if not gateway:
        raise DiffError(f"{spec} is a CID: give --gateway (or WHEELSET_GATEWAY) to fetch it")
    try:
        manifest = parse_manifest(_fetch_manifest(cid, gateway, http))
    except InvalidManifest as e:
        raise InvalidManifest(f"/ipfs/{cid}/{MANIFEST_NAME}: {e}") from e
    rebuilt = build_root(manifest).cid
    if rebuilt.to_v1() != cid.to_v1():
        raise DiffError(
            f"the {MANIFEST_NAME} served for {cid} builds {rebuilt}: not that root's manifest"
        )
    return cid, manifest


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
        )


def _versions(manifest: Manifest) -> dict[str, Version]:
    """Each project's version (the highest, should a collection hold several)."""
    latest: dict[str, Version] = {}
    for decl in manifest.declarations:
        current = latest.get(decl.name)
        if current is None or decl.version > current:
            latest[decl.name] = decl.version
    return latest


def _wheels_by_platform(manifest: Manifest) -> dict[str, set[str]]:
    return {
        platform: {d.filename for d in manifest.declarations if not tags.isdisjoint(d.tags)}
        for platform, tags in platform_tags(manifest.platforms).items()
    }


def diff_manifests(a_root: CID, a: Manifest, b_root: CID, b: Manifest) -> RootDiff:
    """What changed from root A to root B.

    Raises:
        DiffError: a platforms table that cannot be expanded into tags.
    """
    old, new = _versions(a), _versions(b)
    both = sorted(old.keys() & new.keys())
    on_a, on_b = _wheels_by_platform(a), _wheels_by_platform(b)
    platforms = tuple(
        PlatformChange(p, tuple(sorted(on_b[p] - on_a[p])), tuple(sorted(on_a[p] - on_b[p])))
        for p in sorted(on_a.keys() & on_b.keys())
        if on_a[p] != on_b[p]
    )
    return RootDiff(
        a_root,
        b_root,
        tuple(ProjectChange(n, None, str(new[n])) for n in sorted(new.keys() - old.keys())),
        tuple(ProjectChange(n, str(old[n]), None) for n in sorted(old.keys() - new.keys())),
        tuple(ProjectChange(n, str(old[n]), str(new[n])) for n in both if new[n] > old[n]),
        tuple(ProjectChange(n, str(old[n]), str(new[n])) for n in both if new[n] < old[n]),
        platforms,
        tuple(sorted(on_b.keys() - on_a.keys())),
        tuple(sorted(on_a.keys() - on_b.keys())),
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
    for change in diff.platforms:
        lines.append(f"platform {change.platform}: +{len(change.added)} -{len(change.removed)}")
        lines += [f"  + {name}" for name in change.added]
        lines += [f"  - {name}" for name in change.removed]
    if diff.platforms_added:
        lines.append(f"platforms added: {', '.join(diff.platforms_added)}")
    if diff.platforms_removed:
        lines.append(f"platforms removed: {', '.join(diff.platforms_removed)}")
    return "\n".join(lines) + "\n"


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
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"
