"""A wheel file on disk: its digests (CID, sha256, size) and what its METADATA declares.

digest_stream() computes the Kubo CID, sha256 and size in one pass. read_wheel() opens
the zip, finds the one ``*.dist-info/METADATA`` (parsed with pkginfo), refuses a wheel
whose METADATA Name/Version or WHEEL tags disagree with its file name (PEP 427, core
metadata), and checks every RECORD hash, which pip does not. declaration_for() turns
the two into a Declaration. No network. Entry points: Digest, WheelMetadata,
digest_stream(), read_wheel(), declaration_for().
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import warnings
import zipfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pkginfo
from packaging.requirements import InvalidRequirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, parse_tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelset.declarations import (
    Declaration,
    DeclarationError,
    parse_declaration,
    parse_requirement,
    parse_wheel_name,
    relpath_for,
)
from wheelset.ipfs.cid import CID
from wheelset.ipfs.importer import import_file
from wheelset.sources import NotAWheelError

__all__ = ["Digest", "WheelMetadata", "declaration_for", "digest_stream", "read_wheel"]

_SIGNATURES = ("RECORD.jws", "RECORD.p7s")
_RECORD_HASHES = frozenset({"sha256", "sha384", "sha512"})
_READ_SIZE = 1 << 20  # bytes


@dataclass(frozen=True, slots=True)
class Digest:
    """The identity of some bytes: Kubo CIDv0, hex sha256, length."""

    content_id: CID
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class WheelMetadata:
    """What a wheel's METADATA says, already normalised; ``raw`` is the file's bytes."""

    name: NormalizedName
    version: Version
    requires_python: SpecifierSet | None
    extras: tuple[NormalizedName, ...]
    dependencies: tuple[str, ...]
    raw: bytes


def digest_stream(stream: BinaryIO) -> Digest:
    """CID (as `ipfs add` with Kubo defaults), sha256 and size of a stream, in one pass."""
    sha = hashlib.sha256()
    imported = import_file(stream, on_chunk=sha.update)
    return Digest(imported.cid, sha.hexdigest(), imported.file_size)


def _dist_info_file(names: list[str], leaf: str, filename: str) -> str:
    found = [
        n for n in names if n.count("/") == 1 and n.endswith(f".dist-info/{leaf}") and n[0] != "/"
    ]
    if len(found) != 1:
        what = "no" if not found else "more than one"
        raise NotAWheelError(f"{filename}: {what} *.dist-info/{leaf} in the archive")
    return found[0]


def _parse_metadata(raw: bytes, filename: str) -> WheelMetadata:
    dist = pkginfo.Distribution()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pkginfo warns about newer Metadata-Versions
        dist.parse(raw)
    if not dist.name or not dist.version:
        raise NotAWheelError(f"{filename}: METADATA lacks Name or Version")
    try:
        version = Version(dist.version)
    except InvalidVersion as e:
        raise NotAWheelError(f"{filename}: METADATA Version {dist.version!r} is invalid") from e
    requires_python = None
    if dist.requires_python:
        try:
            requires_python = SpecifierSet(dist.requires_python)
        except InvalidSpecifier as e:
            raise NotAWheelError(
                f"{filename}: METADATA Requires-Python {dist.requires_python!r} is invalid"
            ) from e
    dependencies = tuple(dist.requires_dist or ())
    for dependency in dependencies:
        try:
            parse_requirement(dependency)
        except InvalidRequirement as e:
            raise NotAWheelError(f"{filename}: METADATA Requires-Dist {dependency!r}: {e}") from e
    extras = tuple(dict.fromkeys(canonicalize_name(e) for e in dist.provides_extras or ()))
    return WheelMetadata(
        name=canonicalize_name(dist.name),
        version=version,
        requires_python=requires_python,
        extras=extras,
        dependencies=dependencies,
        raw=raw,
    )


def _wheel_tags(data: bytes) -> frozenset[Tag]:
    tags: set[Tag] = set()
    for line in data.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "tag" and value.strip():
            tags |= parse_tag(value.strip())
    return frozenset(tags)


def _check_record(archive: zipfile.ZipFile, record_name: str, filename: str) -> None:
    text = archive.read(record_name).decode("utf-8")
    listed: dict[str, tuple[str, str]] = {}
    for row in csv.reader(io.StringIO(text)):
        if not row:
            continue
        path, digest = row[0], row[1] if len(row) > 1 else ""
        algorithm, _, value = digest.partition("=")
        listed[path] = (algorithm, value)
    dist_info = record_name.rsplit("/", 1)[0]
    unsigned = {record_name} | {f"{dist_info}/{s}" for s in _SIGNATURES}
    for info in archive.infolist():
        name = info.filename
        if name.endswith("/") or name in unsigned:
            continue
        entry = listed.get(name)
        if entry is None or not entry[1]:
            raise NotAWheelError(f"{filename}: RECORD has no hash for {name}", code="RECORD")
        algorithm, expected = entry
        if algorithm not in _RECORD_HASHES:
            raise NotAWheelError(
                f"{filename}: RECORD uses hash {algorithm!r} for {name}", code="RECORD"
            )
        h = hashlib.new(algorithm)
        with archive.open(info) as member:
            while block := member.read(_READ_SIZE):
                h.update(block)
        actual = base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()
        if actual != expected.rstrip("="):
            how = (
                "is written in hex, not urlsafe base64 as the wheel spec requires"
                if expected.lower() == h.hexdigest()
                else "differs"
            )
            raise NotAWheelError(f"{filename}: RECORD hash of {name} {how}", code="RECORD")
    present = {info.filename for info in archive.infolist()}
    for name in listed:
        if name not in present and not name.endswith("/"):
            raise NotAWheelError(f"{filename}: RECORD lists {name}, absent", code="RECORD")


def read_wheel(path: Path, filename: str) -> WheelMetadata:
    """Open the wheel at ``path`` (named ``filename``) and return its checked METADATA.

    Raises:
        NotAWheelError: bad file name, not a zip, no METADATA, METADATA or WHEEL tags
            disagreeing with the file name (code METADATA-MISMATCH), or a RECORD problem
            (code RECORD).
    """
    if filename.endswith((".tar.gz", ".zip", ".tar.bz2", ".tgz")):
        raise NotAWheelError(f"{filename} is a source distribution; wheelset declares wheels")
    try:
        name, version, _build, tags = parse_wheel_name(filename)
    except DeclarationError as e:
        raise NotAWheelError(str(e)) from e
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            metadata_name = _dist_info_file(names, "METADATA", filename)
            metadata = _parse_metadata(archive.read(metadata_name), filename)
            wheel_name = metadata_name.rsplit("/", 1)[0] + "/WHEEL"
            if wheel_name in names:
                declared_tags = _wheel_tags(archive.read(wheel_name))
                if declared_tags and declared_tags != tags:
                    raise NotAWheelError(
                        f"{filename}: WHEEL tags {', '.join(sorted(map(str, declared_tags)))} "
                        "differ from the file name",
                        code="METADATA-MISMATCH",
                    )
            _check_record(archive, _dist_info_file(names, "RECORD", filename), filename)
    except (zipfile.BadZipFile, EOFError) as e:
        raise NotAWheelError(f"{filename}: not a zip archive ({e})") from e
    except (OSError, UnicodeDecodeError, zipfile.LargeZipFile, NotImplementedError) as e:
        raise NotAWheelError(f"{filename}: cannot read the archive ({e})") from e
    if metadata.name != name or metadata.version != version:
        raise NotAWheelError(
            f"{filename}: METADATA says {metadata.name} {metadata.version}, "
            f"the file name {name} {version}",
            code="METADATA-MISMATCH",
        )
    return metadata


def declaration_for(
    filename: str,
    digest: Digest,
    metadata: WheelMetadata,
    source: str,
    extras: Collection[str] | None = None,
) -> Declaration:
    """The declaration of a wheel read with read_wheel() and digested with digest_stream().

    ``extras`` keeps only those of the wheel's extras (in METADATA order; names it does
    not provide are ignored); None keeps them all.

    Raises:
        DeclarationError: the source does not fit the file name (code SOURCE) and the like.
    """
    table: dict[str, object] = {
        "source": source,
        "content-id": str(digest.content_id),
        "sha256": digest.sha256,
        "size": digest.size,
    }
    if metadata.requires_python is not None:
        table["requires-python"] = str(metadata.requires_python)
    wanted = None if extras is None else {canonicalize_name(e) for e in extras}
    table["extras"] = [e for e in metadata.extras if wanted is None or e in wanted]
    table["dependencies"] = list(metadata.dependencies)
    return parse_declaration(table, relpath_for(filename))
