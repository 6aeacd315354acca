"""Write declaration collections for tests: real wheels declared with their true CIDs."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable, Mapping
from email.parser import BytesHeaderParser
from pathlib import Path, PurePosixPath

import tomli_w

from wheelset.ipfs.importer import import_bytes
from wheelset.model.declarations import (
    Declaration,
    dump_declaration,
    parse_declaration,
    relpath_for,
)

DEFAULT_PLATFORMS: dict[str, object] = {
    "python-versions": ["3.11"],
    "systems": ["manylinux_2_28_x86_64", "win_amd64"],
}


def declaration_of(wheel: Path, source: str | None = None, *, size: bool = True) -> Declaration:
    """The declaration `declare` would write for ``wheel`` (fields read from its METADATA)."""
    data = wheel.read_bytes()
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        meta = BytesHeaderParser().parsebytes(zf.read(name))
    table: dict[str, object] = {
        "source": source or f"index:{wheel.name}",
        "content-id": str(import_bytes(data).cid),
        "sha256": hashlib.sha256(data).hexdigest(),
        "extras": meta.get_all("Provides-Extra") or [],
        "dependencies": meta.get_all("Requires-Dist") or [],
    }
    if size:
        table["size"] = len(data)
    if meta.get("Requires-Python"):
        table["requires-python"] = meta["Requires-Python"]
    return parse_declaration(table, PurePosixPath(str(relpath_for(wheel.name))))


def write_collection(
    root: Path,
    wheels: Iterable[Path],
    *,
    platforms: Mapping[str, object] | None = None,
    source_of=None,
) -> list[Declaration]:
    """Write platforms.toml and one declaration per wheel under ``root``; return them.

    ``source_of(wheel)`` gives each source (default ``index:<file name>``).
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "platforms.toml").write_text(tomli_w.dumps(dict(platforms or DEFAULT_PLATFORMS)))
    decls = []
    for wheel in wheels:
        decl = declaration_of(wheel, source_of(wheel) if source_of else None)
        dump_declaration(decl, root)
        decls.append(decl)
    return decls
