"""Platforms: marker environments and ordered wheel tags, for checking and for installing.

A supported platform is one CPython X.Y on one system, the system named by its most capable
platform tag (spec: docs/platforms.md). From it come (a) the PEP 508 marker environment and (b) the
ordered list of wheel tags pip would accept there (`packaging.tags.cpython_tags` +
`compatible_tags`, platform tags expanded as pip expands them on a real machine:
manylinux_2_28 also accepts 2_27 … 2_17 (… 2_5 on x86_64/i686) and the legacy
manylinux2014/2010/1 aliases; musllinux_1_2 accepts 1_1, 1_0; macOS accepts older versions
and fat/universal2 binaries via `packaging.tags.mac_platforms`). `linux_<arch>` wheels are
not portable and are not accepted. A platform id (``cp311-manylinux_2_28_x86_64``) names
one platform of a platforms table; `find_platform` looks one up in platforms.toml's table
or a root manifest's copy of it. An interpreter is a Platform too: `current_platform()` for
the running one, `interpreter_platform()` for what another one reports about itself
(`wheelset.client.interpreter`). No I/O except load_platforms().
Entry points: Platform, parse_platforms(), load_platforms(), find_platform(),
current_platform(), interpreter_platform(), select_wheel(), describe_platforms().
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging import tags as _tags
from packaging.markers import default_environment
from packaging.tags import Tag
from packaging.version import Version

from wheelset.errors import UnknownPlatform, WheelsetError
from wheelset.model.canonical_toml import NotToml, read_toml
from wheelset.model.declarations import Declaration
from wheelset.model.safe_read import read_regular

__all__ = [
    "PLATFORMS_FILE",
    "Platform",
    "PlatformError",
    "UnknownPlatform",
    "better_wheel",
    "current_platform",
    "describe_platforms",
    "expand_system",
    "find_platform",
    "interpreter_platform",
    "load_platforms",
    "make_platform",
    "parse_platforms",
    "select_wheel",
]

PLATFORMS_FILE = "platforms.toml"
_KEYS = ("python-versions", "systems")
_PYTHON = re.compile(r"3\.(0|[1-9][0-9]?)(?:\.(0|[1-9][0-9]*))?")
_RELEASE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_MANYLINUX = re.compile(r"manylinux_(\d+)_(\d+)_([a-z0-9_]+)")
_LEGACY_MANYLINUX = re.compile(r"manylinux(1|2010|2014)_([a-z0-9_]+)")
_MUSLLINUX = re.compile(r"musllinux_(\d+)_(\d+)_([a-z0-9_]+)")
_MACOS = re.compile(r"macosx_(\d+)_(\d+)_([a-z0-9_]+)")
_LEGACY_GLIBC = {"1": (2, 5), "2010": (2, 12), "2014": (2, 17)}
# glibc level -> legacy alias, and the architectures each alias was defined for (PEP 600).
_LINUX_ARCHES = frozenset({"x86_64", "i686", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x"})
_LEGACY_ALIAS = {
    (2, 17): ("manylinux2014", _LINUX_ARCHES),
    (2, 12): ("manylinux2010", {"x86_64", "i686"}),
    (2, 5): ("manylinux1", {"x86_64", "i686"}),
}
_MACOS_ARCHES = frozenset({"x86_64", "arm64"})
# Windows platform tag -> platform.machine() as CPython reports it there.
_WINDOWS = {"win_amd64": "AMD64", "win_arm64": "ARM64", "win32": "x86"}


class PlatformError(WheelsetError, ValueError):
    """platforms.toml is missing, malformed, or names an unknown Python or system (or an
    interpreter described itself without a usable Python version or tags)."""

    def __init__(self, message: str, *, path: Path | str | None = PLATFORMS_FILE):
        super().__init__(message, path=path, code="PLATFORMS")


@dataclass(frozen=True, slots=True)
class Platform:
    """One platform: CPython ``python_version`` on ``system`` (a supported platform of a
    platforms table, made by make_platform), or an interpreter (interpreter_platform).

    ``environment`` is the full PEP 508 marker environment (without ``extra``);
    ``tags`` are the compatible wheel tags, most preferred first. ``python_full_version``
    is ``X.Y.0`` unless platforms.toml names a patch release: the oldest release of the
    line, so a marker or requires-python that needs a later patch release is caught.
    ``python`` is the version requires-python is checked against.
    """

    id: str
    python_version: str
    python_full_version: str
    system: str
    environment: Mapping[str, str] = field(compare=False, repr=False)
    tags: tuple[Tag, ...] = field(compare=False, repr=False)
    tag_rank: Mapping[Tag, int] = field(compare=False, repr=False)
    python: Version = field(compare=False, repr=False)

    def __str__(self) -> str:
        return self.id


def expand_system(system: str) -> tuple[str, ...]:
    """The platform tags a system accepts, most specific first (as pip on that machine).

    >>> expand_system("manylinux_2_28_aarch64")[-2:]
    ('manylinux_2_17_aarch64', 'manylinux2014_aarch64')

    Raises:
        PlatformError: not a supported system tag.
    """
    return _expand(system)[0]


def _expand(system: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """(platform tags, the system's part of the marker environment)."""
    if m := _LEGACY_MANYLINUX.fullmatch(system):
        major, minor = _LEGACY_GLIBC[m.group(1)]
        return _expand(f"manylinux_{major}_{minor}_{m.group(2)}")
    if m := _MANYLINUX.fullmatch(system):
        major, minor, arch = int(m.group(1)), int(m.group(2)), m.group(3)
        _check_arch(system, arch, _LINUX_ARCHES)
        # packaging: glibc 2.5 is the floor on x86/i686, 2.17 elsewhere.
        floor = 5 if arch in {"x86_64", "i686"} else 17
        if major != 2 or minor < floor:
            raise PlatformError(f"system {system!r}: glibc level must be 2.{floor} or later")
        found: list[str] = []
        for m_ in range(minor, floor - 1, -1):
            found.append(f"manylinux_2_{m_}_{arch}")
            legacy = _LEGACY_ALIAS.get((2, m_))
            if legacy and arch in legacy[1]:
                found.append(f"{legacy[0]}_{arch}")
        return tuple(found), _linux_env(arch)
    if m := _MUSLLINUX.fullmatch(system):
        major, minor, arch = int(m.group(1)), int(m.group(2)), m.group(3)
        _check_arch(system, arch, _LINUX_ARCHES)
        if major != 1:
            raise PlatformError(f"system {system!r}: only musl 1.x is known")
        return tuple(f"musllinux_1_{m_}_{arch}" for m_ in range(minor, -1, -1)), _linux_env(arch)
    if m := _MACOS.fullmatch(system):
        major, minor, arch = int(m.group(1)), int(m.group(2)), m.group(3)
        _check_arch(system, arch, _MACOS_ARCHES)
        if (major, minor) < (10, 9) or (arch == "arm64" and major < 11):
            raise PlatformError(f"system {system!r}: macOS version too old for {arch}")
        env = {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"}
        platforms = tuple(_tags.mac_platforms((major, minor), arch))
        return platforms, {**env, "platform_machine": arch}
    if system in _WINDOWS:
        env = {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"}
        return (system,), {**env, "platform_machine": _WINDOWS[system]}
    raise PlatformError(
        f"unknown system {system!r} (expected manylinux_X_Y_<arch>, musllinux_X_Y_<arch>, "
        f"macosx_X_Y_<arm64|x86_64>, {', '.join(sorted(_WINDOWS))})"
    )


def _check_arch(system: str, arch: str, known: frozenset[str]) -> None:
    if arch not in known:
        raise PlatformError(
            f"system {system!r}: architecture {arch!r} is not one of {', '.join(sorted(known))}"
        )


def _linux_env(arch: str) -> dict[str, str]:
    return {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": arch,
    }


def make_platform(python: str, system: str) -> Platform:
    """The Platform for CPython ``python`` (``"3.11"`` or ``"3.11.4"``) on ``system``.

    Raises:
        PlatformError: bad Python version or unknown system.
    """
    m = _PYTHON.fullmatch(python)
    if not m:
        raise PlatformError(f"python version {python!r} must look like 3.Y or 3.Y.Z")
    minor = int(m.group(1))
    full = python if m.group(2) is not None else f"{python}.0"
    platform_tags, system_env = _expand(system)
    interpreter = f"cp3{minor}"
    ordered = [
        *_tags.cpython_tags((3, minor), abis=[interpreter], platforms=platform_tags),
        *_tags.compatible_tags((3, minor), interpreter=interpreter, platforms=platform_tags),
    ]
    unique = tuple(dict.fromkeys(ordered))
    environment = {
        "implementation_name": "cpython",
        "implementation_version": full,
        "platform_python_implementation": "CPython",
        "python_version": f"3.{minor}",
        "python_full_version": full,
        "platform_release": "",
        "platform_version": "",
        **system_env,
    }
    return Platform(
        id=f"{interpreter}-{system}",
        python_version=f"3.{minor}",
        python_full_version=full,
        system=system,
        environment=environment,
        tags=unique,
        tag_rank={tag: rank for rank, tag in enumerate(unique)},
        python=Version(full),
    )


def parse_platforms(table: Mapping[str, object]) -> list[Platform]:
    """Platforms of a parsed platforms.toml table: every Python × every system, in order.

    Raises:
        PlatformError: unknown key, wrong type, empty or repeated lists, bad values.
    """
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise PlatformError(f"unknown key {unknown[0]!r} (allowed: {', '.join(_KEYS)})")
    lists: dict[str, list[str]] = {}
    for key in _KEYS:
        value = table.get(key)
        if value is None:
            raise PlatformError(f"missing key {key!r}")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PlatformError(f"{key!r} must be an array of strings")
        if not value:
            raise PlatformError(f"{key!r} must not be empty")
        if len(set(value)) != len(value):
            raise PlatformError(f"{key!r} repeats an entry")
        lists[key] = value
    platforms = [make_platform(p, s) for p in lists["python-versions"] for s in lists["systems"]]
    ids = [p.id for p in platforms]
    if len(set(ids)) != len(ids):
        raise PlatformError("two python-versions entries name the same CPython X.Y")
    return platforms


def load_platforms(path: Path) -> tuple[list[Platform], dict[str, object]]:
    """Read platforms.toml (a regular file, never through a symbolic link): the platforms
    and the table as written (for the manifest).

    Raises:
        PlatformError: unreadable, malformed TOML, or invalid content.
    """
    try:
        table = read_toml(read_regular(path))
    except FileNotFoundError as e:
        raise PlatformError("not found", path=path) from e
    except NotToml as e:
        raise PlatformError(str(e), path=path) from e
    except OSError as e:
        raise PlatformError(f"cannot read: {e.strerror or e}", path=path) from e
    try:
        return parse_platforms(table), table
    except PlatformError as e:
        raise PlatformError(str(e), path=path) from None


def find_platform(
    table: Mapping[str, object], platform_id: str, *, owner: str = PLATFORMS_FILE
) -> Platform:
    """The platform ``platform_id`` (``cp311-manylinux_2_28_x86_64``) of a platforms table:
    platforms.toml's, or the copy of it in a root's manifest (``owner`` names it in errors).

    Raises:
        PlatformError: the table itself is invalid.
        UnknownPlatform: no platform of the table has that id (the message lists them all).
    """
    platforms = parse_platforms(table)
    for platform in platforms:
        if platform.id == platform_id:
            return platform
    raise UnknownPlatform(
        f"platform {platform_id!r} is not one of {owner}'s: {', '.join(p.id for p in platforms)}"
    )


def interpreter_platform(environment: Mapping[str, str], tags: Iterable[Tag]) -> Platform:
    """An interpreter as a Platform, from its own `default_environment()` and `sys_tags()`.

    The id is the first tag's interpreter and platform (``cp312-manylinux_2_39_x86_64``).
    requires-python is checked against the release X.Y.Z of ``python_full_version``, as pip
    checks it against ``sys.version_info[:3]``: a pre-release (``3.14.0rc1``) or a local
    build (``3.13.0+``) counts as its release.

    Raises:
        PlatformError: the environment has no usable python_full_version, or no tags.
    """
    ordered = tuple(dict.fromkeys(tags))
    full = environment.get("python_full_version", "")
    release = _RELEASE.match(full)
    if release is None or not ordered:
        raise PlatformError(
            f"interpreter reports python_full_version {full!r} and {len(ordered)} tags",
            path=None,
        )
    first = ordered[0]
    return Platform(
        id=f"{first.interpreter}-{first.platform}",
        python_version=environment.get("python_version") or ".".join(release.groups()[:2]),
        python_full_version=full,
        system=first.platform,
        environment=dict(environment),
        tags=ordered,
        tag_rank={tag: rank for rank, tag in enumerate(ordered)},
        python=Version(".".join(g for g in release.groups() if g is not None)),
    )


def current_platform() -> Platform:
    """The running interpreter as a Platform (`default_environment()`, `sys_tags()`)."""
    environment = {k: str(v) for k, v in default_environment().items()}
    return interpreter_platform(environment, _tags.sys_tags())


def select_wheel(
    declarations: Iterable[Declaration],
    platform_tags: Platform | Sequence[Tag],
    *,
    python_version: str | Version | None = None,
) -> Declaration | None:
    """The declaration pip would pick on a platform: as pip, the highest version first,
    then the best tag rank; requires-python is respected.

    ``platform_tags`` is a Platform (its tags and Python are used) or an ordered tag
    list, most preferred first, with ``python_version`` for requires-python. Several
    versions or equal ranks only occur in collections with VERSIONS or OVERLAP findings;
    remaining ties go to the first file name.
    """
    if isinstance(platform_tags, Platform):
        ranks = platform_tags.tag_rank
        python: Version | None = platform_tags.python
    else:
        ranks = {tag: rank for rank, tag in enumerate(platform_tags)}
        python = Version(python_version) if isinstance(python_version, str) else python_version
    best: Declaration | None = None
    best_key: tuple[int, str] | None = None
    for decl in declarations:
        rank = min((ranks[t] for t in decl.tags if t in ranks), default=None)
        if rank is None:
            continue
        if (
            python is not None
            and decl.requires_python is not None
            and not decl.requires_python.contains(python, prereleases=True)
        ):
            continue
        key = (rank, decl.filename)
        if better_wheel(decl, key, best, best_key):
            best, best_key = decl, key
    return best


def better_wheel(
    decl: Declaration,
    key: tuple[int, str],
    best: Declaration | None,
    best_key: tuple[int, str] | None,
) -> bool:
    """select_wheel()'s order: is ``decl`` (with ``key`` = (tag rank, file name)) preferred
    to ``best``? A higher version wins, then the lower key."""
    if best is None or best_key is None:
        return True
    if decl.version != best.version:
        return decl.version > best.version
    return key < best_key


def describe_platforms(
    ids: Collection[str], platforms: Sequence[Platform], within: Collection[str] | None = None
) -> str:
    """Platform ids in few words: ``all 8 platforms``, whole Pythons (``cp311``) and whole
    systems (``win_amd64``) when every platform of them (among ``within``, default all) is
    in ``ids``, then the remaining ids, in platforms.toml order.
    """
    universe = [p for p in platforms if within is None or p.id in within]
    wanted = set(ids)
    if len(universe) > 1 and wanted >= {p.id for p in universe}:
        return f"all {len(universe)} platforms"
    parts: list[str] = []
    left = [p for p in universe if p.id in wanted]
    for key in (_python_label, _system_label):
        groups: dict[str, list[Platform]] = {}
        for p in universe:
            groups.setdefault(key(p), []).append(p)
        for name, group in groups.items():
            whole = len(group) > 1 and all(p.id in wanted for p in group)
            if whole and any(p in left for p in group):
                parts.append(name)
                left = [p for p in left if p not in group]
    parts += [p.id for p in left]
    parts += sorted(wanted - {p.id for p in universe})
    return ", ".join(parts)


def _python_label(platform: Platform) -> str:
    return platform.id.split("-", 1)[0]  # "cp311"


def _system_label(platform: Platform) -> str:
    return platform.system
