"""Build small, real wheels on the fly (METADATA, WHEEL, RECORD all correct) for tests."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.utils import canonicalize_name


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_metadata(
    name: str,
    version: str,
    *,
    requires_dist: Iterable[str] = (),
    extras: Iterable[str] = (),
    requires_python: str | None = None,
    license_expression: str | None = None,
    classifiers: Iterable[str] = (),
    metadata_version: str = "2.1",
) -> str:
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines.append(f"Summary: test project {name}")
    if license_expression:
        lines.append(f"License-Expression: {license_expression}")
    lines += [f"Classifier: {c}" for c in classifiers]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {e}" for e in extras]
    lines += [f"Requires-Dist: {r}" for r in requires_dist]
    return "\n".join(lines) + "\n\n"


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    tag: str = "py3-none-any",
    requires_dist: Iterable[str] = (),
    extras: Iterable[str] = (),
    requires_python: str | None = None,
    files: Mapping[str, bytes] | None = None,
    metadata: str | None = None,
    license_expression: str | None = "MIT",
    classifiers: Iterable[str] = (),
) -> Path:
    """Write ``{name}-{version}-{tag}.whl`` into ``directory`` and return its path.

    By default the wheel holds an importable module ``<name>/__init__.py`` that records its
    version. ``metadata`` replaces the generated METADATA text (to plant mismatches).
    """
    directory.mkdir(parents=True, exist_ok=True)
    dist = canonicalize_name(name).replace("-", "_")
    dist_info = f"{dist}-{version}.dist-info"
    contents: dict[str, bytes] = dict(
        files
        if files is not None
        else {f"{dist}/__init__.py": f'__version__ = "{version}"\n'.encode()}
    )
    contents[f"{dist_info}/METADATA"] = (
        metadata
        if metadata is not None
        else make_metadata(
            name,
            version,
            requires_dist=requires_dist,
            extras=extras,
            requires_python=requires_python,
            license_expression=license_expression,
            classifiers=classifiers,
        )
    ).encode()
    pure = "true" if tag.endswith("-none-any") else "false"
    wheel_lines = ["Wheel-Version: 1.0", "Generator: wheelset-tests", f"Root-Is-Purelib: {pure}"]
    interpreters, abis, platforms = tag.split("-")
    for i in interpreters.split("."):
        for a in abis.split("."):
            for p in platforms.split("."):
                wheel_lines.append(f"Tag: {i}-{a}-{p}")
    contents[f"{dist_info}/WHEEL"] = ("\n".join(wheel_lines) + "\n").encode()
    record_name = f"{dist_info}/RECORD"
    record = "".join(
        f"{path},{_record_hash(data)},{len(data)}\n" for path, data in contents.items()
    )
    record += f"{record_name},,\n"
    contents[record_name] = record.encode()
    path = directory / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member, data in contents.items():
            info = zipfile.ZipInfo(member, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return path


def rewrite_wheel(
    src: Path,
    dst: Path,
    *,
    replace: dict[str, bytes] | None = None,
    add: dict[str, bytes] | None = None,
    add_info: list[zipfile.ZipInfo] | None = None,
) -> Path:
    """Copy a wheel, replacing or adding members (to plant faults) without fixing RECORD."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = (replace or {}).get(info.filename, zin.read(info))
            zout.writestr(info, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
        for info in add_info or []:
            zout.writestr(info, b"target")
    return dst
