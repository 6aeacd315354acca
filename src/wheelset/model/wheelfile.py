"""A wheel file on disk: what its METADATA declares.

Its digests (CID, sha256, size) come from ipfs.importer.digest_stream(). read_wheel() first
validates the archive (wheelset.model.wheel_validity: RECORD hashes and sizes, which pip
does not check, unsafe paths and links, zip-bomb limits, METADATA Name/Version and WHEEL
tags against the file name), then reads the one ``*.dist-info/METADATA`` with pkginfo,
licence included. declaration_for() turns the two into a Declaration. No network.
Entry points: WheelMetadata, read_wheel(), declaration_for().
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pkginfo
from packaging.requirements import InvalidRequirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelset.fetch import NotAWheelError
from wheelset.ipfs.importer import Digest
from wheelset.model.declarations import (
    Declaration,
    DeclarationError,
    parse_declaration,
    parse_requirement,
    parse_wheel_name,
    relpath_for,
)
from wheelset.model.licenses import license_from_fields
from wheelset.model.wheel_validity import validate_wheel

__all__ = [
    "SDIST_SUFFIXES",
    "WheelMetadata",
    "declaration_for",
    "not_a_wheel_format",
    "read_wheel",
    "sdist_version",
]

# Every archive format pip builds a wheel from: an index lists old releases' sdists in any.
SDIST_SUFFIXES = (
    ".tar.gz",
    ".tgz",
    ".zip",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
    ".tar",
)


@dataclass(frozen=True, slots=True)
class WheelMetadata:
    """What a wheel's METADATA says, already normalised; ``raw`` is the file's bytes."""

    name: NormalizedName
    version: Version
    requires_python: SpecifierSet | None
    extras: tuple[NormalizedName, ...]
    dependencies: tuple[str, ...]
    raw: bytes
    license: str | None = None


def _dist_info_file(names: list[str], leaf: str, filename: str) -> str:
    found = [
        n for n in names if n.count("/") == 1 and n.endswith(f".dist-info/{leaf}") and n[0] != "/"
    ]
    if len(found) != 1:
        what = "no" if not found else "more than one"
        raise NotAWheelError(f"{what} *.dist-info/{leaf} in the archive", path=filename)
    return found[0]


def parse_metadata(raw: bytes, filename: str) -> WheelMetadata:
    dist = pkginfo.Distribution()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pkginfo warns about newer Metadata-Versions
        dist.parse(raw)
    if not dist.name or not dist.version:
        raise NotAWheelError("METADATA lacks Name or Version", path=filename)
    try:
        version = Version(dist.version)
    except InvalidVersion as e:
        raise NotAWheelError(f"METADATA Version {dist.version!r} is invalid", path=filename) from e
    requires_python = None
    if dist.requires_python:
        try:
            requires_python = SpecifierSet(dist.requires_python)
        except InvalidSpecifier as e:
            raise NotAWheelError(
                f"METADATA Requires-Python {dist.requires_python!r} is invalid", path=filename
            ) from e
    dependencies = tuple(dist.requires_dist or ())
    for dependency in dependencies:
        try:
            parse_requirement(dependency)
        except InvalidRequirement as e:
            raise NotAWheelError(
                f"METADATA Requires-Dist {dependency!r}: {e}", path=filename
            ) from e
    extras = tuple(dict.fromkeys(canonicalize_name(e) for e in dist.provides_extras or ()))
    return WheelMetadata(
        name=canonicalize_name(dist.name),
        version=version,
        requires_python=requires_python,
        extras=extras,
        dependencies=dependencies,
        raw=raw,
        license=license_from_fields(
            getattr(dist, "license_expression", None), dist.classifiers or (), dist.license
        ),
    )


def sdist_version(filename: str, project: NormalizedName) -> Version | None:
    """The version of ``filename`` when it names a source distribution of ``project``
    (``NAME-VERSION`` and one of SDIST_SUFFIXES), else None."""
    suffix = next((s for s in SDIST_SUFFIXES if filename.endswith(s)), None)
    if suffix is None:
        return None
    name, _, text = filename[: -len(suffix)].rpartition("-")
    if canonicalize_name(name) != project:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def not_a_wheel_format(filename: str, source: str | None = None) -> str | None:
    """Why ``filename`` is refused if it names a source distribution or an egg: what it is
    and how to get the wheel wheelset needs (built from ``source``, its path or URL when
    known). None for other names. The caller raises it with its own code.
    """
    if filename.endswith(SDIST_SUFFIXES):
        return (
            "a source distribution, not a wheel; wheelset declares wheels only: build one "
            f"(`pip wheel --no-deps {source or filename}`, or `python -m build --wheel` in its "
            "source tree) and declare the .whl"
        )
    if filename.endswith(".egg"):
        # `wheel convert` reads a local file only, not a URL as pip does
        return (
            "an egg, not a wheel; wheelset declares wheels only: convert it "
            f"(`wheel convert {filename}`) and declare the .whl"
        )
    return None


def read_wheel(path: Path, filename: str) -> WheelMetadata:
    """Open the wheel at ``path`` (named ``filename``) and return its checked METADATA.

    Raises:
        NotAWheelError: a source distribution or egg, bad file name, not a zip, no
            METADATA, or the first problem validate_wheel() finds, with its code (RECORD,
            UNSAFE-PATH, UNSAFE-LINK, ZIP-BOMB, TAGS-MISMATCH, METADATA-MISMATCH, NOT-WHEEL).
    """
    refused = not_a_wheel_format(filename)
    if refused is not None:
        raise NotAWheelError(refused, path=filename)
    try:
        parse_wheel_name(filename)
    except DeclarationError as e:
        raise NotAWheelError(str(e)) from e
    problems = validate_wheel(path, filename)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise NotAWheelError(f"{problems[0].message}{more}", path=filename, code=problems[0].code)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            metadata_name = _dist_info_file(names, "METADATA", filename)
            metadata = parse_metadata(archive.read(metadata_name), filename)
    except (zipfile.BadZipFile, EOFError) as e:
        raise NotAWheelError(f"not a zip archive ({e})", path=filename) from e
    except (OSError, UnicodeDecodeError, zipfile.LargeZipFile, NotImplementedError) as e:
        raise NotAWheelError(f"cannot read the archive ({e})", path=filename) from e
    return metadata


def declaration_for(
    filename: str,
    digest: Digest,
    metadata: WheelMetadata,
    source: str,
    extras: Collection[str] | None = None,
) -> Declaration:
    """The declaration of a wheel read with read_wheel() and digested with digest_stream().

    ``extras`` keeps only those of the wheel's extras (in METADATA order); None keeps them
    all.

    Raises:
        DeclarationError: an extra the wheel does not provide (code EXTRAS), the source does
            not fit the file name (code SOURCE) and the like.
    """
    table: dict[str, object] = {
        "source": source,
        "content-id": str(digest.content_id),
        "sha256": digest.sha256,
        "size": digest.size,
    }
    if metadata.requires_python is not None:
        table["requires-python"] = str(metadata.requires_python)
    if metadata.license is not None:
        table["license"] = metadata.license
    wanted = None if extras is None else {canonicalize_name(e) for e in extras}
    unknown = sorted((wanted or set()) - set(metadata.extras))
    if unknown:
        offered = ", ".join(metadata.extras) or "none"
        raise DeclarationError(
            f"no extra {', '.join(unknown)} (it provides: {offered})",
            path=filename,
            code="EXTRAS",
        )
    table["extras"] = [e for e in metadata.extras if wanted is None or e in wanted]
    table["dependencies"] = list(metadata.dependencies)
    return parse_declaration(table, relpath_for(filename))
