"""Is a wheel file what it claims to be, and safe to unpack? (PEP 427 / PEP 491, RECORD rules)

Checks every member against RECORD (sha256 and size, both directions), refuses absolute
paths, `..` segments, backslashes, drive letters and symbolic links, bounds member count,
total size and compression ratio (zip bombs) from the headers *before* decompressing, and
compares METADATA name/version and WHEEL tags with the file name. Reads the zip one
member at a time in bounded chunks. Returns problems; never raises on hostile input.
Entry points: validate_wheel(), WheelLimits, WheelProblem.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import stat
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import BinaryIO

from packaging.tags import parse_tag
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    canonicalize_version,
    parse_wheel_filename,
)

__all__ = ["WheelLimits", "WheelProblem", "validate_wheel"]

_READ_SIZE = 1 << 20  # bytes per read while hashing members
_SIGNATURE_FILES = ("RECORD.jws", "RECORD.p7s")
_HASHES = {"sha256", "sha384", "sha512"}


@dataclass(frozen=True, slots=True)
class WheelLimits:
    max_members: int = 100_000
    max_total_size: int = 8 << 30  # bytes uncompressed; the largest real wheels are ~3 GiB
    max_ratio: int = 200  # uncompressed/compressed, for members over ratio_floor
    # bytes; smaller members may compress extremely well: shared libraries padded to 2 MiB
    # pages (Pillow's bundled libXau: 2 MiB, 224x) are real, and max_total_size bounds them
    ratio_floor: int = 16 << 20


@dataclass(frozen=True, slots=True)
class WheelProblem:
    # NOT-WHEEL, UNSAFE-PATH, UNSAFE-LINK, ZIP-BOMB, RECORD, METADATA-MISMATCH or TAGS-MISMATCH
    code: str
    message: str


def _unsafe_reason(member: str) -> str | None:
    if member.startswith(("/", "\\")) or (len(member) > 1 and member[1] == ":"):
        return "absolute path"
    if "\\" in member:
        return "backslash in path"
    if ".." in member.split("/"):
        return "'..' segment"
    if "\0" in member:
        return "NUL in path"
    return None


def _decode_record_hash(text: str) -> tuple[str, bytes] | None:
    algorithm, _, value = text.partition("=")
    if algorithm not in _HASHES or not value:
        return None
    try:
        return algorithm, base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, TypeError):
        return None


def _hash_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, algorithm: str) -> tuple[bytes, int]:
    digest = hashlib.new(algorithm)
    size = 0
    with zf.open(info) as stream:
        while block := stream.read(_READ_SIZE):
            size += len(block)
            digest.update(block)
    return digest.digest(), size


def _read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int = 16 << 20) -> bytes:
    if info.file_size > limit:
        raise ValueError(f"{info.filename} is larger than {limit} bytes")
    with zf.open(info) as stream:
        return stream.read(limit + 1)[:limit]


def _check_members(infos: list[zipfile.ZipInfo], limits: WheelLimits) -> list[WheelProblem]:
    problems: list[WheelProblem] = []
    if len(infos) > limits.max_members:
        problems.append(
            WheelProblem("ZIP-BOMB", f"{len(infos)} members (limit {limits.max_members})")
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_size:
        problems.append(
            WheelProblem("ZIP-BOMB", f"{total} bytes uncompressed (limit {limits.max_total_size})")
        )
    seen: set[str] = set()
    for info in infos:
        reason = _unsafe_reason(info.filename)
        if reason:
            problems.append(WheelProblem("UNSAFE-PATH", f"{info.filename!r}: {reason}"))
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(WheelProblem("UNSAFE-LINK", f"{info.filename!r} is a symbolic link"))
        if info.filename in seen:
            problems.append(WheelProblem("NOT-WHEEL", f"{info.filename!r} appears twice"))
        seen.add(info.filename)
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            problems.append(
                WheelProblem(
                    "ZIP-BOMB",
                    f"{info.filename!r} expands {info.file_size // max(info.compress_size, 1)}x "
                    f"(limit {limits.max_ratio}x)",
                )
            )
    return problems


def _check_record(
    zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], record_name: str
) -> list[WheelProblem]:
    problems: list[WheelProblem] = []
    try:
        text = _read_small(zf, infos[record_name]).decode("utf-8")
        rows = list(csv.reader(io.StringIO(text)))
    except (ValueError, UnicodeDecodeError, csv.Error, zipfile.BadZipFile) as e:
        return [WheelProblem("RECORD", f"unreadable RECORD: {e}")]
    listed: set[str] = set()
    for row in rows:
        if not row:
            continue
        if len(row) != 3:
            problems.append(WheelProblem("RECORD", f"malformed RECORD row {row!r}"))
            continue
        path, hash_text, size_text = row
        listed.add(path)
        if path == record_name or path.endswith(_SIGNATURE_FILES):
            continue
        info = infos.get(path)
        if info is None:
            problems.append(WheelProblem("RECORD", f"RECORD lists missing file {path!r}"))
            continue
        expected = _decode_record_hash(hash_text)
        if expected is None:
            problems.append(WheelProblem("RECORD", f"{path!r}: no usable hash in RECORD"))
            continue
        digest, size = _hash_member(zf, info, expected[0])
        if digest != expected[1]:
            hex_written = hash_text.partition("=")[2].lower() == digest.hex()
            how = "is written in hex, not urlsafe base64" if hex_written else "differs"
            problems.append(WheelProblem("RECORD", f"{path!r}: RECORD hash {how}"))
        if size_text and size_text != str(size):
            problems.append(
                WheelProblem("RECORD", f"{path!r}: size {size} but RECORD says {size_text}")
            )
    for name, info in infos.items():
        if name not in listed and not info.is_dir() and not name.endswith(_SIGNATURE_FILES):
            problems.append(WheelProblem("RECORD", f"{name!r} is not listed in RECORD"))
    return problems


def _check_metadata(
    zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], dist_info: str, filename: str
) -> list[WheelProblem]:
    name, version, _, tags = parse_wheel_filename(filename)
    problems: list[WheelProblem] = []
    meta_info = infos.get(f"{dist_info}/METADATA")
    wheel_info = infos.get(f"{dist_info}/WHEEL")
    if meta_info is None or wheel_info is None:
        return [WheelProblem("METADATA-MISMATCH", f"{dist_info} lacks METADATA or WHEEL")]
    try:
        meta = HeaderParser().parsestr(_read_small(zf, meta_info).decode("utf-8"))
        wheel = HeaderParser().parsestr(_read_small(zf, wheel_info).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile) as e:
        return [WheelProblem("METADATA-MISMATCH", f"unreadable METADATA/WHEEL: {e}")]
    meta_name, meta_version = meta.get("Name", ""), meta.get("Version", "")
    if canonicalize_name(meta_name) != name:
        problems.append(
            WheelProblem("METADATA-MISMATCH", f"METADATA Name {meta_name!r} is not {name}")
        )
    if canonicalize_version(meta_version or "0-invalid") != canonicalize_version(version):
        problems.append(
            WheelProblem("METADATA-MISMATCH", f"METADATA Version {meta_version!r} is not {version}")
        )
    try:
        declared = frozenset(t for text in wheel.get_all("Tag", []) for t in parse_tag(text))
    except ValueError:
        declared = frozenset()
    if declared != tags:
        problems.append(
            WheelProblem(
                "TAGS-MISMATCH",
                f"WHEEL tags {sorted(map(str, declared))} differ from the file name's "
                f"{sorted(map(str, tags))}",
            )
        )
    if not wheel.get("Wheel-Version", "").startswith("1."):
        problems.append(WheelProblem("METADATA-MISMATCH", "WHEEL has no Wheel-Version 1.x"))
    return problems


def validate_wheel(
    source: Path | BinaryIO, filename: str, limits: WheelLimits = WheelLimits()
) -> list[WheelProblem]:
    """Every problem found in the wheel ``source`` named ``filename`` (empty = valid)."""
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except InvalidWheelFilename as e:
        return [WheelProblem("NOT-WHEEL", f"invalid wheel file name: {e}")]
    try:
        with zipfile.ZipFile(source) as zf:
            all_infos = zf.infolist()
            problems = _check_members(all_infos, limits)
            if any(p.code in ("ZIP-BOMB", "UNSAFE-PATH", "UNSAFE-LINK") for p in problems):
                return problems  # don't decompress anything from a hostile archive
            infos = {i.filename: i for i in all_infos}
            dist_infos = {
                n.split("/", 1)[0] for n in infos if n.split("/", 1)[0].endswith(".dist-info")
            }
            expected = f"{name.replace('-', '_')}-{version}.dist-info"
            matching = [
                d
                for d in dist_infos
                if canonicalize_name(d[: -len(".dist-info")].rsplit("-", 1)[0]) == name
            ]
            if not dist_infos:
                return [*problems, WheelProblem("NOT-WHEEL", "no *.dist-info directory")]
            if len(dist_infos) != 1 or len(matching) != 1:
                return [
                    *problems,
                    WheelProblem(
                        "METADATA-MISMATCH",
                        f"expected one {expected} directory, found {sorted(dist_infos)}",
                    ),
                ]
            dist_info = matching[0]
            record = f"{dist_info}/RECORD"
            if record not in infos:
                return [*problems, WheelProblem("RECORD", f"{record} is missing")]
            problems += _check_record(zf, infos, record)
            problems += _check_metadata(zf, infos, dist_info, filename)
            return problems
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as e:
        return [WheelProblem("NOT-WHEEL", f"not a readable zip archive: {e}")]
