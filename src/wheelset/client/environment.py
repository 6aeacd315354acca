"""The distributions installed in an environment (a scheme's purelib and platlib).

Read fast, for the no-op path: the name and version come from the ``.dist-info`` directory
names (PEP 427 escapes them, so ``name-version.dist-info`` splits unambiguously); METADATA is
read only for a name that does not split or when requirements are asked for. Also which root
a distribution came from: wheelset writes ``WHEELSET`` (JSON: root and wheel CIDs) into the
dist-info directories it installs; pip and uv ignore unknown files there, and remove it with
the rest because it is in RECORD.
Entry points: InstalledDist, installed_distributions(), broken_dependents(), ORIGIN_FILE.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelset.client.link import ORIGIN_FILE

__all__ = ["ORIGIN_FILE", "InstalledDist", "broken_dependents", "installed_distributions"]


@dataclass(frozen=True, slots=True)
class InstalledDist:
    name: NormalizedName
    version: str
    dist_info: Path

    def _metadata(self):
        from email.parser import BytesHeaderParser  # not needed when no METADATA is read

        try:
            return BytesHeaderParser().parsebytes((self.dist_info / "METADATA").read_bytes())
        except OSError:
            return None

    def requires(self) -> list[Requirement]:
        """Its Requires-Dist (unparsable ones are skipped: pip would not act on them)."""
        metadata = self._metadata()
        found = []
        for text in metadata.get_all("Requires-Dist", []) if metadata else []:
            try:
                found.append(Requirement(str(text)))
            except InvalidRequirement:
                continue
        return found

    def files(self, roots: Sequence[str]) -> list[str] | None:
        """Absolute paths of its files (RECORD, and their bytecode), inside ``roots`` only;
        None when it has no RECORD."""
        try:
            text = (self.dist_info / "RECORD").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        base = str(self.dist_info.parent)
        allowed = [os.path.join(os.path.abspath(r), "") for r in roots]
        found: list[str] = []
        caches: set[str] = set()
        import csv  # (only to replace or remove a distribution)

        for row in csv.reader(text.splitlines()):
            if not row or not row[0]:
                continue
            path = os.path.normpath(os.path.join(base, row[0]))
            if not any(path.startswith(root) for root in allowed):
                continue
            found.append(path)
            if path.endswith(".py"):
                caches.add(os.path.join(os.path.dirname(path), "__pycache__"))
        stems = {os.path.basename(p)[:-3] for p in found if p.endswith(".py")}
        seen = set(found)
        for cache in sorted(caches):
            try:
                names = os.listdir(cache)
            except OSError:
                continue
            for name in names:
                path = os.path.join(cache, name)
                if name.endswith(".pyc") and name.split(".", 1)[0] in stems and path not in seen:
                    found.append(path)
                    seen.add(path)
        return found

    def installer(self) -> str:
        try:
            return (self.dist_info / "INSTALLER").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return ""

    def origin(self) -> str | None:
        """The root CID it was installed from by wheelset, if recorded."""
        try:
            doc = json.loads((self.dist_info / ORIGIN_FILE).read_bytes())
        except (OSError, ValueError):
            return None
        root = doc.get("root") if isinstance(doc, dict) else None
        return root if isinstance(root, str) else None


def _from_dir(path: Path) -> InstalledDist | None:
    stem = path.name[: -len(".dist-info")]
    name, sep, version = stem.partition("-")
    if sep and "-" not in version:
        try:
            Version(version)
            return InstalledDist(canonicalize_name(name), version, path)
        except InvalidVersion:
            pass
    dist = InstalledDist(canonicalize_name(stem), "", path)
    metadata = dist._metadata()
    if metadata is None or not metadata.get("Name") or not metadata.get("Version"):
        return None
    return InstalledDist(canonicalize_name(metadata["Name"]), str(metadata["Version"]), path)


def installed_distributions(scheme: Mapping[str, str]) -> dict[NormalizedName, InstalledDist]:
    """Every distribution with a dist-info directory in purelib or platlib (first one wins,
    as for the import system)."""
    found: dict[NormalizedName, InstalledDist] = {}
    for directory in dict.fromkeys([scheme["purelib"], scheme["platlib"]]):
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                dist = _from_dir(Path(directory) / name)
                if dist is not None:
                    found.setdefault(dist.name, dist)
    return found


def broken_dependents(
    present: Iterable[InstalledDist],
    new_versions: Mapping[NormalizedName, str | None],
    environment: Mapping[str, str],
) -> list[str]:
    """Requirements of ``present`` distributions that ``new_versions`` would break.

    ``new_versions`` maps a project to the version it will have (None: removed); markers are
    evaluated in ``environment`` (the target interpreter's), without extras. Each item reads
    ``dependent 1.0 requires dep>=2 (would be 1.5)``.
    """
    broken = []
    env = {**environment, "extra": ""}
    for dist in present:
        if dist.name in new_versions:
            continue
        for req in dist.requires():
            name = canonicalize_name(req.name)
            if name not in new_versions:
                continue
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            version = new_versions[name]
            if version is None:
                broken.append(f"{dist.name} {dist.version} requires {req} (would be removed)")
            elif not req.specifier.contains(version, prereleases=True):
                broken.append(f"{dist.name} {dist.version} requires {req} (would be {version})")
    return broken
