"""Target environments: (marker environment, ordered compatible tags) for a platform id.

A platform id names one supported platform of a root's manifest, ``cp311-manylinux_2_28_x86_64``:
a CPython tag and a platform tag from the manifest's ``python-versions`` × ``systems`` table.
Tags follow pip (via `packaging.tags`): cpython_tags + compatible_tags, manylinux levels
expanded downward with their legacy aliases, musllinux minors downward, macOS versions
downward with universal2/intel/fat formats. No I/O.
MERGE NOTE: to be folded into `wheelset.platforms` (branch `check`), which derives the same
pair from platforms.toml; this module exists so install/export work before that lands.
Entry points: TargetEnv, target_for_platform_id(), running_target(), iter_platform_ids().
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from packaging.markers import default_environment
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms, sys_tags

from wheelset.errors import WheelsetError

__all__ = [
    "InvalidPlatformId",
    "TargetEnv",
    "iter_platform_ids",
    "platform_tags_for",
    "running_target",
    "target_for_platform_id",
]

# manylinux legacy aliases (PEP 600): the glibc level each older name stands for.
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
_PLATFORM_ID = re.compile(r"cp(?P<major>3)(?P<minor>\d{1,2})-(?P<system>[a-z0-9_]+)")
_MANYLINUX = re.compile(r"manylinux_2_(?P<minor>\d+)_(?P<arch>\w+)")
_LEGACY = re.compile(r"(?P<name>manylinux1|manylinux2010|manylinux2014)_(?P<arch>\w+)")
_MUSLLINUX = re.compile(r"musllinux_1_(?P<minor>\d+)_(?P<arch>\w+)")
_MACOS = re.compile(r"macosx_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>\w+)")
_WINDOWS = {"win_amd64": "AMD64", "win32": "x86", "win_arm64": "ARM64"}


class InvalidPlatformId(WheelsetError, ValueError):
    """A platform id that is not ``cp3XY-<platform tag>`` with a known platform tag."""

    def __init__(self, message: str):
        super().__init__(message, code="PLATFORM")


@dataclass(frozen=True, slots=True)
class TargetEnv:
    """Where wheels will be installed: PEP 508 marker values and tags, best first."""

    name: str
    env: Mapping[str, str]
    tags: tuple[Tag, ...]

    @property
    def python_version(self) -> str:
        return self.env["python_version"]


def _manylinux_platforms(minor: int, arch: str) -> Iterator[str]:
    oldest = 5 if arch in ("x86_64", "i686") else 17
    for level in range(minor, oldest - 1, -1):
        yield f"manylinux_2_{level}_{arch}"
        if level in _LEGACY_MANYLINUX:
            yield f"{_LEGACY_MANYLINUX[level]}_{arch}"


def platform_tags_for(system: str) -> tuple[list[str], dict[str, str]]:
    """Platform tags (best first) and OS marker values for a platform tag like ``win_amd64``.

    Raises:
        InvalidPlatformId: the platform tag is not manylinux, musllinux, macOS or Windows.
    """
    linux = {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux"}
    if m := _MANYLINUX.fullmatch(system):
        arch = m["arch"]
        return list(_manylinux_platforms(int(m["minor"]), arch)), {
            **linux,
            "platform_machine": arch,
        }
    if m := _LEGACY.fullmatch(system):
        level = {v: k for k, v in _LEGACY_MANYLINUX.items()}[m["name"]]
        arch = m["arch"]
        return list(_manylinux_platforms(level, arch)), {**linux, "platform_machine": arch}
    if m := _MUSLLINUX.fullmatch(system):
        arch = m["arch"]
        platforms = [f"musllinux_1_{n}_{arch}" for n in range(int(m["minor"]), -1, -1)]
        return platforms, {**linux, "platform_machine": arch}
    if m := _MACOS.fullmatch(system):
        arch = m["arch"]
        version = (int(m["major"]), int(m["minor"]))
        machine = "arm64" if arch == "arm64" else "x86_64"
        return list(mac_platforms(version, arch)), {
            "os_name": "posix",
            "sys_platform": "darwin",
            "platform_system": "Darwin",
            "platform_machine": machine,
        }
    if system in _WINDOWS:
        return [system], {
            "os_name": "nt",
            "sys_platform": "win32",
            "platform_system": "Windows",
            "platform_machine": _WINDOWS[system],
        }
    raise InvalidPlatformId(f"unknown platform tag {system!r}")


def target_for_platform_id(platform_id: str) -> TargetEnv:
    """The target of ``cp3XY-<platform tag>``; ``python_full_version`` is ``3.XY.0``.

    platform_release and platform_version are unknowable for a platform and stay empty.

    >>> str(target_for_platform_id("cp311-manylinux_2_28_x86_64").tags[0])
    'cp311-cp311-manylinux_2_28_x86_64'

    Raises:
        InvalidPlatformId: not ``cp3XY-<platform tag>``.
    """
    m = _PLATFORM_ID.fullmatch(platform_id)
    if m is None:
        raise InvalidPlatformId(
            f"platform id {platform_id!r} is not cp3XY-<platform tag> "
            "(e.g. cp311-manylinux_2_28_x86_64)"
        )
    version = (int(m["major"]), int(m["minor"]))
    platforms, os_markers = platform_tags_for(m["system"])
    interpreter = f"cp{version[0]}{version[1]}"
    tags = (
        *cpython_tags(version, abis=[interpreter], platforms=platforms),
        *compatible_tags(version, interpreter=interpreter, platforms=platforms),
    )
    full_version = f"{version[0]}.{version[1]}.0"
    env = {
        "implementation_name": "cpython",
        "implementation_version": full_version,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
        "python_full_version": full_version,
        "python_version": f"{version[0]}.{version[1]}",
        **os_markers,
    }
    return TargetEnv(platform_id, env, tags)


def running_target() -> TargetEnv:
    """The running interpreter: `default_environment()` and `sys_tags()`."""
    env = {k: str(v) for k, v in default_environment().items()}
    tags = tuple(sys_tags())
    return TargetEnv(f"this interpreter ({tags[0]})", env, tags)


def _python_tag(version: str) -> str:
    text = version.strip()
    if re.fullmatch(r"cp3\d{1,2}", text):
        return text
    if m := re.fullmatch(r"3\.(\d{1,2})", text):
        return f"cp3{m[1]}"
    raise InvalidPlatformId(f"python-versions entry {version!r} is not 3.X or cp3X")


def iter_platform_ids(platforms: Mapping[str, object]) -> Iterator[str]:
    """The platform ids of a manifest's platforms table (``python-versions`` × ``systems``).

    Raises:
        InvalidPlatformId: an entry of either list is malformed.
    """
    versions = platforms.get("python-versions", [])
    systems = platforms.get("systems", [])
    if not _is_str_list(versions) or not _is_str_list(systems):
        raise InvalidPlatformId("platforms: python-versions and systems must be string lists")
    for version in versions:
        for system in systems:
            yield f"{_python_tag(version)}-{system}"


def _is_str_list(value: object) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and all(isinstance(v, str) for v in value)
    )
