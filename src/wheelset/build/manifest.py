"""What a root is built from, in memory: the platforms table and every declaration, each
with its METADATA file when the build publishes one (PEP 658).

The root holds no such whole-collection file (docs/root-format.md): the builder writes a
header and one project file per project from it (build/rootfiles.py).
Entry points: Manifest, WheelEntry, MetadataFile, manifest_of().
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from wheelset.ipfs.importer import Digest
from wheelset.model.declarations import (
    Declaration,
)

__all__ = ["Manifest", "MetadataFile", "WheelEntry", "manifest_of"]


# A wheel's METADATA as published beside it (PEP 658) is identified as any bytes are.
MetadataFile = Digest


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
