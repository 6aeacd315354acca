"""Compare two built roots: projects added, removed, upgraded, downgraded; wheels per platform.

A ROOT is a build directory (its wheelset.json, checked against its ROOT file) or a CID
(``Qm…``, ``b…`` or ``/ipfs/<cid>``) whose ``/wheelset.json`` is fetched from a gateway and
authenticated by rebuilding the root from it offline: a gateway cannot lie about it.
A wheel is "on" a platform when one of its tags is in the platform's compatible tags.
Entry points: load_root(), diff_manifests(), RootDiff, FORMATTERS, platform_tags().
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.version import Version

from wheelset.build import build_root
from wheelset.build_stage import load_build_dir
from wheelset.errors import WheelsetError
from wheelset.ipfs.cid import CID, InvalidCID, parse_cid
from wheelset.manifest import MANIFEST_NAME, InvalidManifest, Manifest, parse_manifest

__all__ = [
    "FORMATTERS",
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
# A stand-in for wheelset.platforms (same platforms.toml shape): python-versions × systems.

_LEGACY_MANYLINUX = {
    17: ("manylinux2014", {"x86_64", "i686", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x"}),
    12: ("manylinux2010", {"x86_64", "i686"}),
    5: ("manylinux1", {"x86_64", "i686"}),
}


def _expand_system(system: str) -> list[str]:
    """Platform tags a system accepts, as pip expands them (older glibc/musl/macOS too)."""
    if m := re.fullmatch(r"manylinux_2_(\d+)_(\w+)", system):
        minor, arch = int(m[1]), m[2]
        lowest = 5 if arch in ("x86_64", "i686") else 17
        tags = []
        for level in range(minor, lowest - 1, -1):
            tags.append(f"manylinux_2_{level}_{arch}")
            legacy, arches = _LEGACY_MANYLINUX.get(level, ("", set()))
            if arch in arches:
                tags.append(f"{legacy}_{arch}")
        return tags
    if m := re.fullmatch(r"musllinux_1_(\d+)_(\w+)", system):
        return [f"musllinux_1_{level}_{m[2]}" for level in range(int(m[1]), -1, -1)]
    if m := re.fullmatch(r"macosx_(\d+)_(\d+)_(\w+)", system):
        return list(mac_platforms((int(m[1]), int(m[2])), m[3]))
    return [system]


def platform_tags(platforms: Mapping[str, object]) -> dict[str, frozenset[Tag]]:
    """Compatible tags per platform name (``cp311-manylinux_2_28_x86_64``…).

    Raises:
        DiffError: the table lacks python-versions/systems lists of strings.
    """
    versions, systems = platforms.get("python-versions"), platforms.get("systems")
    if not (
        isinstance(versions, list)
        and isinstance(systems, list)
        and all(isinstance(v, str) and re.fullmatch(r"3\.\d+", v) for v in versions)
        and all(isinstance(s, str) and s for s in systems)
    ):
        raise DiffError("platforms need python-versions (like '3.11') and systems lists")
    result = {}
    for version in versions:
        python = (3, int(version.split(".")[1]))
        interpreter = f"cp3{python[1]}"
        for system in systems:
            expanded = _expand_system(system)
            tags = {*cpython_tags(python, platforms=expanded)}
            tags.update(compatible_tags(python, interpreter, expanded))
            result[f"{interpreter}-{system}"] = frozenset(tags)
    return result


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


FORMATTERS: dict[str, Callable[[RootDiff], str]] = {"text": format_text, "json": format_json}
