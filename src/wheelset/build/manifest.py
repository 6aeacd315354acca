"""The manifest (`/wheelset.json` in every built root): platforms and every declaration.

It is the one file that makes a root self-describing: install, export, serve, diff and
init read it, and since the whole root is a pure function of the manifest, a client can
rebuild the root from it offline and compare CIDs — which authenticates the manifest
without trusting the gateway that served it. Serialisation is deterministic JSON.
Entry points: Manifest, WheelEntry, format_manifest(), parse_manifest().
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from wheelset.errors import WheelsetError
from wheelset.ipfs.cid import CID, InvalidCID, parse_cid
from wheelset.model.declarations import (
    MAX_FILE_SIZE,
    Declaration,
    DeclarationError,
    parse_declaration,
)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "InvalidManifest",
    "Manifest",
    "MetadataFile",
    "WheelEntry",
    "format_manifest",
    "manifest_of",
    "parse_manifest",
]

MANIFEST_NAME = "wheelset.json"
FORMAT_NAME = "wheelset-manifest"
FORMAT_VERSION = 1


class InvalidManifest(WheelsetError, ValueError):
    """A manifest that is not JSON, of an unknown format version, or with bad entries."""

    def __init__(self, message: str):
        super().__init__(message, code="MANIFEST")


@dataclass(frozen=True, slots=True)
class MetadataFile:
    """A wheel's METADATA as published beside it (PEP 658): content-id, sha256, size."""

    content_id: CID
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class WheelEntry:
    declaration: Declaration
    metadata: MetadataFile | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    """``platforms`` is the platforms.toml table as written; entries are sorted by path."""

    platforms: Mapping[str, object]
    entries: tuple[WheelEntry, ...] = field(default=())

    @property
    def declarations(self) -> tuple[Declaration, ...]:
        return tuple(e.declaration for e in self.entries)


def _entry_to_json(entry: WheelEntry) -> dict[str, object]:
    out: dict[str, object] = {"path": str(entry.declaration.path), **entry.declaration.to_toml()}
    if entry.metadata is not None:
        out["metadata"] = {
            "content-id": str(entry.metadata.content_id),
            "sha256": entry.metadata.sha256,
            "size": entry.metadata.size,
        }
    return out


def format_manifest(manifest: Manifest) -> bytes:
    """Deterministic JSON bytes: sorted keys, entries sorted by path, trailing newline."""
    doc = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "platforms": manifest.platforms,
        "declarations": [
            _entry_to_json(e)
            for e in sorted(manifest.entries, key=lambda e: str(e.declaration.path))
        ],
    }
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _parse_metadata(value: object, where: str) -> MetadataFile:
    if not isinstance(value, dict) or set(value) != {"content-id", "sha256", "size"}:
        raise InvalidManifest(f"{where}: metadata must have content-id, sha256 and size")
    cid, sha256, size = value["content-id"], value["sha256"], value["size"]
    if not isinstance(cid, str) or not isinstance(sha256, str) or type(size) is not int:
        raise InvalidManifest(f"{where}: metadata fields have wrong types")
    if not 0 <= size <= MAX_FILE_SIZE:
        raise InvalidManifest(f"{where}: metadata size must be between 0 and {MAX_FILE_SIZE}")
    try:
        return MetadataFile(parse_cid(cid), sha256, size)
    except InvalidCID as e:
        raise InvalidManifest(f"{where}: metadata content-id: {e}") from e


def _parse_entry(item: object, index: int) -> WheelEntry:
    where = f"declarations[{index}]"
    if not isinstance(item, dict):
        raise InvalidManifest(f"{where} is not an object")
    table = dict(item)
    path = table.pop("path", None)
    if not isinstance(path, str) or path.startswith("/") or ".." in path.split("/"):
        raise InvalidManifest(f"{where}: bad path {path!r}")
    metadata = table.pop("metadata", None)
    try:
        decl = parse_declaration(table, PurePosixPath(path))
    except DeclarationError as e:
        raise InvalidManifest(f"{where}: {e.one_line()}") from e
    return WheelEntry(decl, None if metadata is None else _parse_metadata(metadata, where))


def parse_manifest(data: bytes) -> Manifest:
    """Parse manifest bytes.

    Raises:
        InvalidManifest: not JSON, not a wheelset manifest, an unknown version, bad entries.
    """
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise InvalidManifest(f"not JSON: {e}") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise InvalidManifest("not a wheelset manifest")
    if doc.get("version") != FORMAT_VERSION:
        raise InvalidManifest(
            f"unknown manifest format version {doc.get('version')!r} (this wheelset reads "
            f"{FORMAT_VERSION}); upgrade wheelset"
        )
    platforms = doc.get("platforms")
    items = doc.get("declarations")
    if not isinstance(platforms, dict) or not isinstance(items, list):
        raise InvalidManifest("manifest needs a platforms object and a declarations array")
    entries = tuple(_parse_entry(item, i) for i, item in enumerate(items))
    paths = [str(e.declaration.path) for e in entries]
    if len(set(paths)) != len(paths):
        raise InvalidManifest("duplicate declaration path")
    return Manifest(platforms, entries)


def manifest_of(
    platforms: Mapping[str, object],
    declarations: Sequence[Declaration],
    metadata: Mapping[str, MetadataFile] | None = None,
) -> Manifest:
    """Assemble a manifest; ``metadata`` maps wheel file names to their METADATA files."""
    meta = metadata or {}
    return Manifest(
        platforms,
        tuple(
            WheelEntry(d, meta.get(d.filename))
            for d in sorted(declarations, key=lambda d: str(d.path))
        ),
    )
