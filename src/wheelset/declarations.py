"""Wheel declarations: the TOML model, its validation, and the path + prefix rule.

One declaration = one wheel, at ``<prefix>/<project>/<wheel filename without .whl>.toml``
(DESIGN §2). Parsing validates every field and returns an immutable Declaration whose
fields are already parsed; dumping writes keys in a fixed order so files diff cleanly.
No network here. Entry points: Declaration, parse_declaration(), format_declaration(),
load_declaration(), dump_declaration(), prefix_of(), relpath_for().
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import tomli_w
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    BuildTag,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import Version

from wheelset.errors import WheelsetError
from wheelset.fsutil import atomic_write_text
from wheelset.ipfs.cid import CID, InvalidCID, parse_cid

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = [
    "KEY_ORDER",
    "Declaration",
    "DeclarationError",
    "dump_declaration",
    "format_declaration",
    "load_declaration",
    "parse_declaration",
    "prefix_of",
    "relpath_for",
]

# The order keys are written in; also the set of keys allowed.
KEY_ORDER = (
    "source",
    "content-id",
    "sha256",
    "size",
    "requires-python",
    "extras",
    "dependencies",
)
_REQUIRED = frozenset({"source", "content-id", "extras", "dependencies"})
_SHA256 = re.compile(r"[0-9a-f]{64}")
INDEX_SOURCE_PREFIX = "index:"


class DeclarationError(WheelsetError, ValueError):
    """A declaration file is malformed, misplaced or inconsistent (DESIGN §2)."""


def prefix_of(name: str) -> str:
    """The two-hex-digit directory prefix of a project (of its canonical name).

    >>> prefix_of("numpy"), prefix_of("requests"), prefix_of("Tomli")
    ('39', '7c', '25')
    """
    return f"{sum(map(ord, canonicalize_name(name))) & 0xFF:02x}"


def relpath_for(wheel_filename: str) -> PurePosixPath:
    """Where a wheel's declaration lives, relative to the collection directory.

    Raises:
        DeclarationError: the file name is not a valid wheel name (code LAYOUT).
    """
    name = _parse_filename(wheel_filename, PurePosixPath(wheel_filename))[0]
    stem = wheel_filename[: -len(".whl")]
    return PurePosixPath(prefix_of(name), name, f"{stem}.toml")


def _parse_filename(
    filename: str, path: PurePosixPath | Path
) -> tuple[NormalizedName, Version, BuildTag, frozenset[Tag]]:
    if "/" in filename or "\\" in filename or filename.startswith("."):
        raise DeclarationError(f"invalid wheel file name {filename!r}", path=path, code="LAYOUT")
    try:
        return parse_wheel_filename(filename)
    except InvalidWheelFilename as e:
        raise DeclarationError(f"invalid wheel file name: {e}", path=path, code="LAYOUT") from e


@dataclass(frozen=True, slots=True)
class Declaration:
    """One declared wheel. ``path`` is relative to the collection directory (posix)."""

    path: PurePosixPath
    filename: str
    name: NormalizedName
    version: Version
    build: BuildTag
    tags: frozenset[Tag]
    source: str
    content_id: CID
    extras: tuple[NormalizedName, ...]
    dependencies: tuple[str, ...]
    requires_python: SpecifierSet | None = None
    sha256: str | None = None
    size: int | None = None
    requirements: tuple[Requirement, ...] = field(default=(), compare=False, repr=False)

    @property
    def is_index_source(self) -> bool:
        return self.source.startswith(INDEX_SOURCE_PREFIX)

    def to_toml(self) -> dict[str, object]:
        """The TOML table, keys in KEY_ORDER, optional keys only when set."""
        table: dict[str, object] = {"source": self.source, "content-id": str(self.content_id)}
        if self.sha256 is not None:
            table["sha256"] = self.sha256
        if self.size is not None:
            table["size"] = self.size
        if self.requires_python is not None:
            table["requires-python"] = str(self.requires_python)
        table["extras"] = list(self.extras)
        table["dependencies"] = list(self.dependencies)
        return table


def _require(table: Mapping[str, object], key: str, kind: type, path: PurePosixPath) -> object:
    value = table[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise DeclarationError(
            f"{key!r} must be {kind.__name__}, not {type(value).__name__}", path=path, code="SCHEMA"
        )
    return value


def _string_list(table: Mapping[str, object], key: str, path: PurePosixPath) -> list[str]:
    items = _require(table, key, list, path)
    assert isinstance(items, list)
    if not all(isinstance(item, str) for item in items):
        raise DeclarationError(f"{key!r} must be an array of strings", path=path, code="SCHEMA")
    return items


def _check_source(source: str, filename: str, path: PurePosixPath) -> None:
    if source.startswith(INDEX_SOURCE_PREFIX):
        if source[len(INDEX_SOURCE_PREFIX) :] != filename:
            raise DeclarationError(
                f"index source {source!r} does not name this wheel ({filename})",
                path=path,
                code="SOURCE",
            )
        return
    if not re.match(r"(https?|file)://[^\s]+$", source):
        raise DeclarationError(
            f"source must be an https://, http://, file:// URL or index:<wheel>, got {source!r}",
            path=path,
            code="SOURCE",
        )
    if source.rsplit("/", 1)[-1].split("#", 1)[0].split("?", 1)[0] != filename:
        raise DeclarationError(
            f"source URL does not end in the wheel file name {filename}", path=path, code="SOURCE"
        )


def parse_declaration(table: Mapping[str, object], path: PurePosixPath) -> Declaration:
    """Validate a parsed TOML table found at ``path`` (relative to the collection).

    The path must end in ``<project>/<stem>.toml``; the wheel name comes from the stem.
    Raises:
        DeclarationError: with code LAYOUT, SCHEMA, SOURCE or CID.
    """
    if path.suffix != ".toml":
        raise DeclarationError("declaration must end in .toml", path=path, code="LAYOUT")
    filename = path.name[: -len(".toml")] + ".whl"
    name, version, build, tags = _parse_filename(filename, path)
    unknown = sorted(set(table) - set(KEY_ORDER))
    if unknown:
        raise DeclarationError(f"unknown key {unknown[0]!r}", path=path, code="SCHEMA")
    missing = sorted(_REQUIRED - set(table))
    if missing:
        raise DeclarationError(f"missing required key {missing[0]!r}", path=path, code="SCHEMA")
    source = _require(table, "source", str, path)
    assert isinstance(source, str)
    _check_source(source, filename, path)
    cid_text = _require(table, "content-id", str, path)
    try:
        content_id = parse_cid(str(cid_text))
    except InvalidCID as e:
        raise DeclarationError(f"content-id: {e}", path=path, code="CID") from e
    if content_id.version != 0:
        raise DeclarationError("content-id must be a CIDv0 (Qm…)", path=path, code="CID")
    requires_python = None
    if "requires-python" in table:
        text = _require(table, "requires-python", str, path)
        try:
            requires_python = SpecifierSet(str(text))
        except InvalidSpecifier as e:
            raise DeclarationError(f"requires-python: {e}", path=path, code="SCHEMA") from e
    extras = _string_list(table, "extras", path)
    normalised = tuple(canonicalize_name(e) for e in extras)
    if list(normalised) != extras:
        raise DeclarationError("extras must be normalised names", path=path, code="SCHEMA")
    if len(set(normalised)) != len(normalised):
        raise DeclarationError("extras must not repeat", path=path, code="SCHEMA")
    dependencies = tuple(_string_list(table, "dependencies", path))
    try:
        requirements = tuple(Requirement(d) for d in dependencies)
    except InvalidRequirement as e:
        raise DeclarationError(f"dependencies: {e}", path=path, code="SCHEMA") from e
    sha256 = None
    if "sha256" in table:
        sha256 = _require(table, "sha256", str, path)
        if not _SHA256.fullmatch(str(sha256)):
            raise DeclarationError(
                "sha256 must be 64 lower-case hex digits", path=path, code="SCHEMA"
            )
    size = None
    if "size" in table:
        size = _require(table, "size", int, path)
        if int(size) < 0:  # type: ignore[call-overload]
            raise DeclarationError("size must not be negative", path=path, code="SCHEMA")
    return Declaration(
        path=path,
        filename=filename,
        name=name,
        version=version,
        build=build,
        tags=tags,
        source=source,
        content_id=content_id,
        extras=normalised,
        dependencies=dependencies,
        requires_python=requires_python,
        sha256=sha256,  # type: ignore[arg-type]
        size=size,  # type: ignore[arg-type]
        requirements=requirements,
    )


def format_declaration(decl: Declaration) -> str:
    """The TOML text of a declaration (stable key order)."""
    return tomli_w.dumps(decl.to_toml())


def load_declaration(file: Path, root: Path) -> Declaration:
    """Read and validate ``file`` (inside collection directory ``root``).

    Raises:
        DeclarationError: unreadable file, malformed TOML (code TOML), or invalid content.
    """
    rel = PurePosixPath(file.relative_to(root).as_posix())
    try:
        with file.open("rb") as f:
            table = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise DeclarationError(f"malformed TOML: {e}", path=rel, code="TOML") from e
    except (OSError, UnicodeDecodeError) as e:
        raise DeclarationError(f"cannot read: {e}", path=rel, code="IO") from e
    return parse_declaration(table, rel)


def dump_declaration(decl: Declaration, root: Path) -> Path:
    """Write the declaration under collection directory ``root``; return the file written."""
    target = root / Path(*decl.path.parts)
    atomic_write_text(target, format_declaration(decl))
    return target
