"""Can two wheels be installed on one system? Tag overlap over all systems, not just ours.

A system is a Python (CPython X.Y, or another interpreter named by a wheel's tag) on an
OS/arch with a libc or macOS level. A tag is accepted on a system when pip there would
accept it. Two tags overlap when some system accepts both; since a tag's Python part and
platform part are judged independently, that is: the sets of Pythons accepting each
intersect, and the sets of machines (OS + arch) accepting each intersect — a machine with
the newer glibc/macOS accepts every older level of its arch, universal2 runs on arm64
and x86_64, ``linux_<arch>`` on every Linux of that arch, ``any`` everywhere.
No I/O. Entry points: tags_overlap(), wheels_overlap(), first_overlaps().
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from packaging import tags as _tags
from packaging.tags import Tag

__all__ = ["first_overlaps", "tags_overlap", "wheels_overlap"]

ANY = "*"  # a machine key meaning "every machine"
_GLIBC = re.compile(r"manylinux(?:1|2010|2014|_\d+_\d+)_(.+)")
_MUSL = re.compile(r"musllinux_\d+_\d+_(.+)")
_LINUX = re.compile(r"linux_(.+)")
_MACOS = re.compile(r"macosx_\d+_\d+_(.+)")
# CPythons considered: 2.7 and 3.0 to 3.40 (far enough ahead for abi3 and pyXY tags).
_CPYTHONS = ((2, 7), *((3, minor) for minor in range(41)))
_INTERPRETER = re.compile(r"([a-z]+)(\d)(\d*)")


@functools.cache
def _mac_formats() -> dict[str, frozenset[str]]:
    """macOS binary format -> the machine archs that run it (from packaging's tables)."""
    formats: dict[str, set[str]] = {}
    for arch in ("x86_64", "arm64", "i386", "ppc", "ppc64"):
        version = (11, 0) if arch == "arm64" else (10, 15)
        if arch in ("i386", "ppc", "ppc64"):
            version = (10, 5)
        for platform in _tags.mac_platforms(version, arch):
            fmt = _MACOS.fullmatch(platform)
            if fmt:
                formats.setdefault(fmt.group(1), set()).add(arch)
    return {k: frozenset(v) for k, v in formats.items()}


@functools.lru_cache(maxsize=4096)
def _machines(platform: str) -> frozenset[str]:
    """The machines (``os:arch`` keys) a platform tag installs on."""
    if platform == "any":
        return frozenset({ANY})
    if m := _GLIBC.fullmatch(platform):
        return frozenset({f"glibc:{m.group(1)}"})
    if m := _MUSL.fullmatch(platform):
        return frozenset({f"musl:{m.group(1)}"})
    if m := _LINUX.fullmatch(platform):
        return frozenset({f"glibc:{m.group(1)}", f"musl:{m.group(1)}"})
    if m := _MACOS.fullmatch(platform):
        archs = _mac_formats().get(m.group(1), frozenset({m.group(1)}))
        return frozenset(f"macos:{a}" for a in archs)
    return frozenset({platform})


def _python_parts(
    python: tuple[int, int],
) -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]]:
    """(interpreter, abi) pairs a CPython accepts with a real platform, and with ``any``."""
    interpreter = f"cp{python[0]}{python[1]}"
    specific: set[tuple[str, str]] = set()
    generic: set[tuple[str, str]] = set()
    for tag in _tags.cpython_tags(python, abis=[interpreter], platforms=["x"]):
        specific.add((tag.interpreter, tag.abi))
    for tag in _tags.compatible_tags(python, interpreter=interpreter, platforms=["x"]):
        (specific if tag.platform == "x" else generic).add((tag.interpreter, tag.abi))
    return frozenset(specific), frozenset(generic)


@functools.cache
def _cpython_table() -> dict[str, tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]]]:
    return {f"cp{major}{minor}": _python_parts((major, minor)) for major, minor in _CPYTHONS}


@functools.lru_cache(maxsize=4096)
def _cpythons(interpreter: str, abi: str, is_any: bool) -> frozenset[str]:
    """The CPythons accepting ``interpreter-abi`` on a real platform (or with ``any``)."""
    return frozenset(
        key
        for key, (specific, generic) in _cpython_table().items()
        if (interpreter, abi) in (generic if is_any else specific)
    )


@functools.lru_cache(maxsize=1024)
def _foreign(interpreter: str) -> tuple[int, int] | None:
    """(major, minor) of a non-CPython interpreter tag such as ``pp310``; else None."""
    m = _INTERPRETER.fullmatch(interpreter)
    if not m or m.group(1) in ("cp", "py"):
        return None
    return int(m.group(2)), int(m.group(3) or 0)


def _foreign_accepts(system: str, version: tuple[int, int], tag: Tag) -> bool:
    """Does a system running interpreter ``system`` (e.g. PyPy's pp310) accept ``tag``?

    Like packaging's generic_tags + compatible_tags: its own interpreter tag, and
    ``py<major>`` / ``py<major><minor'>`` (minor' <= its minor) with abi ``none``.
    """
    if tag.interpreter == system:
        return True
    if tag.abi != "none":
        return False
    m = _INTERPRETER.fullmatch(tag.interpreter)
    if not m or m.group(1) != "py" or int(m.group(2)) != version[0]:
        return False
    return not m.group(3) or int(m.group(3)) <= version[1]


@functools.lru_cache(maxsize=65536)
def tags_overlap(a: Tag, b: Tag) -> bool:
    """True when one system accepts both tags.

    >>> tags_overlap(Tag("py3", "none", "any"), Tag("cp311", "cp311", "manylinux_2_28_x86_64"))
    True
    >>> tags_overlap(Tag("cp311", "cp311", "win_amd64"), Tag("cp312", "cp312", "win_amd64"))
    False
    """
    machines_a, machines_b = _machines(a.platform), _machines(b.platform)
    if ANY not in machines_a and ANY not in machines_b and not machines_a & machines_b:
        return False
    foreign_a, foreign_b = _foreign(a.interpreter), _foreign(b.interpreter)
    if foreign_a is not None:
        return _foreign_accepts(a.interpreter, foreign_a, b)
    if foreign_b is not None:
        return _foreign_accepts(b.interpreter, foreign_b, a)
    return bool(
        _cpythons(a.interpreter, a.abi, a.platform == "any")
        & _cpythons(b.interpreter, b.abi, b.platform == "any")
    )


def first_overlaps(
    tagsets: Sequence[frozenset[Tag]],
) -> list[tuple[int, Tag, Tag] | None]:
    """For each wheel (by its tags), the first earlier one installable on a system with it:
    (its index, this wheel's tag, that wheel's tag) — or None. Near-linear.

    Wheels with equal tag sets are matched by a dict; the distinct tag sets claim, in
    order, every (CPython, machine) cell their tags install on, so a later tag set finds
    the first earlier one sharing a cell without comparing pairs. Tags of other
    interpreters (PyPy, …), rare, are compared pairwise with wheels_overlap().
    """
    found: list[tuple[int, Tag, Tag] | None] = [None] * len(tagsets)
    first_with: dict[frozenset[Tag], int] = {}
    distinct: list[int] = []
    repeats: list[tuple[int, int]] = []
    for i, tags in enumerate(tagsets):
        j = first_with.setdefault(tags, i)
        if j == i:
            distinct.append(i)
        else:
            repeats.append((i, j))
    cells: dict[tuple[str, str], tuple[int, Tag]] = {}  # (cpython, machine) -> first claim
    anywhere: dict[str, tuple[int, Tag]] = {}  # cpython -> first claim on every machine
    somewhere: dict[str, tuple[int, Tag]] = {}  # cpython -> first claim on some machine
    foreign: list[int] = []
    for i in distinct:
        tags = tagsets[i]
        ordered = sorted(tags, key=str)
        if any(_foreign(t.interpreter) is not None for t in ordered):
            foreign.append(i)
            continue
        best: tuple[int, Tag, Tag] | None = None
        claims: list[tuple[str, frozenset[str], Tag]] = []
        for tag in ordered:
            machines = _machines(tag.platform)
            for python in _cpythons(tag.interpreter, tag.abi, tag.platform == "any"):
                claims.append((python, machines, tag))
                hits = [anywhere.get(python)]
                if ANY in machines:
                    hits.append(somewhere.get(python))
                else:
                    hits += [cells.get((python, m)) for m in machines]
                for hit in hits:
                    if hit is not None and (best is None or hit[0] < best[0]):
                        best = (hit[0], tag, hit[1])
        for j in foreign:  # earlier tag sets of other interpreters
            if best is not None and best[0] < j:
                break
            if (pair := _wheels_overlap(tags, tagsets[j])) is not None:
                best = (j, *pair)
                break
        found[i] = found[i] or best
        for python, machines, tag in claims:
            if ANY in machines:
                anywhere.setdefault(python, (i, tag))
            else:
                somewhere.setdefault(python, (i, tag))
                for machine in machines:
                    cells.setdefault((python, machine), (i, tag))
    for i in foreign:  # against every earlier distinct tag set
        for j in distinct:
            if j >= i:
                break
            if (pair := _wheels_overlap(tagsets[i], tagsets[j])) is not None:
                found[i] = (j, *pair)
                break
    for i, j in repeats:  # what the first wheel with these tags overlaps, or that wheel
        hit = found[j]
        if hit is not None:
            found[i] = hit
        elif (pair := _wheels_overlap(tagsets[i], tagsets[i])) is not None:
            found[i] = (j, *pair)
    return found


def wheels_overlap(a: Iterable[Tag], b: Iterable[Tag]) -> tuple[Tag, Tag] | None:
    """A pair of tags, one from each wheel, that one system accepts; None if none."""
    return _wheels_overlap(frozenset(a), frozenset(b))


@functools.lru_cache(maxsize=65536)
def _wheels_overlap(a: frozenset[Tag], b: frozenset[Tag]) -> tuple[Tag, Tag] | None:
    tags_b = sorted(b, key=str)
    for tag_a in sorted(a, key=str):
        for tag_b in tags_b:
            if tags_overlap(tag_a, tag_b):
                return tag_a, tag_b
    return None
