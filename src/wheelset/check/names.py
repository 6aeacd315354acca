"""Confusable project names (typosquatting): ultranormalisation plus a small edit distance,
except where names differ only in their numbers.

Rule (documented in the README): two different projects are confusable when their
*ultranormal* forms are equal — lower case, `.`/`_`/`-` removed, look-alikes folded
(`l`, `i` → `1`; `o` → `0`; `rn` → `m`; `vv` → `w`), the stricter form the main index applies
to new names — or, when both ultranormal forms have 5 or more characters, when they are
one edit apart (insert, delete, substitute, or swap two neighbours). Two exceptions keep
real families quiet: names that differ only in their runs of digits (`cu12`/`cu13`,
`odoo14-addon-x`/`odoo15-addon-x`, `pyqt5`/`pyqt6`, `psycopg`/`psycopg2`,
`project-00001`/`-00002`) — their *family* (lower case, separators and digits removed) is
equal and their separator-free forms are not — and names one of which is the other plus
a whole `-`-separated part (`tomli`/`tomli-w`): the separator makes the difference visible.

Finding every confusable pair among N names is near-linear and compact: each name's
ultranormal form and its one-deletion variants (two forms one edit apart share one) are
hashed into 64-bit keys kept in 256 compact partitions, and only names sharing a key — and
of different families — are compared exactly.
Entry points: ultranormalize(), family(), is_confusable(), find_confusables(),
load_popular_names().
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Collection, Sequence
from functools import cache
from importlib import resources

from packaging.utils import canonicalize_name

__all__ = [
    "MIN_DISTANCE_LENGTH",
    "edit_distance",
    "family",
    "find_confusables",
    "is_confusable",
    "load_popular_names",
    "ultranormalize",
]

MIN_DISTANCE_LENGTH = 5  # characters; shorter names differ legitimately by one letter (h2, h11)
_SEPARATORS = re.compile(r"[-_.]+")
_DIGITS = re.compile(r"[0-9]+")
_FOLDS = (("rn", "m"), ("vv", "w"))
_LOOKALIKES = str.maketrans({"l": "1", "i": "1", "o": "0"})
_PARTITIONS = 256


def ultranormalize(name: str) -> str:
    """The form under which look-alike names collide.

    >>> ultranormalize("Co1o.Rama") == ultranormalize("colorama")
    True
    """
    text = _SEPARATORS.sub("", name.lower())
    for pair, replacement in _FOLDS:
        text = text.replace(pair, replacement)
    return text.translate(_LOOKALIKES)


def family(name: str) -> str:
    """The name without separators and digits: names of one numbered family share it.

    >>> family("nvidia-cublas-cu12") == family("nvidia_cublas_cu13")
    True
    """
    return _DIGITS.sub("", _SEPARATORS.sub("", name.lower()))


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _one_part_more(a: str, b: str) -> bool:
    """Is canonical ``b`` canonical ``a`` with one more ``-``-separated part (or vice versa)?"""
    pa, pb = a.split("-"), b.split("-")
    if len(pa) > len(pb):
        pa, pb = pb, pa
    if len(pb) != len(pa) + 1:
        return False
    return any(pb[:k] + pb[k + 1 :] == pa for k in range(len(pb)))


def is_confusable(a: str, b: str) -> bool:
    """True when two *different* projects' names could be mistaken for each other."""
    ca, cb = canonicalize_name(a), canonicalize_name(b)
    if ca == cb:
        return False
    if family(ca) == family(cb) and ca.replace("-", "") != cb.replace("-", ""):
        return False  # only their numbers differ
    ua, ub = ultranormalize(ca), ultranormalize(cb)
    if ua == ub:
        return True
    if min(len(ua), len(ub)) < MIN_DISTANCE_LENGTH or abs(len(ua) - len(ub)) > 1:
        return False
    return edit_distance(ua, ub) <= 1 and not _one_part_more(ca, cb)


def find_confusables(
    names: Sequence[str], only: Collection[str] | None = None
) -> dict[str, list[str]]:
    """For each name (of ``only``, when given) confusable with others of ``names``, those
    others, sorted. Names are canonicalised; repeats are one name.

    Near-linear in the number of names (see the module docstring).
    """
    canonical = list(dict.fromkeys(canonicalize_name(n) for n in names))
    wanted = None if only is None else {canonicalize_name(n) for n in only}
    keys = [array("q") for _ in range(_PARTITIONS)]
    ids = [array("l") for _ in range(_PARTITIONS)]
    for i, name in enumerate(canonical):
        text = ultranormalize(name)
        if len(text) >= MIN_DISTANCE_LENGTH:
            hashes = {hash(text), *map(hash, [text[:k] + text[k + 1 :] for k in range(len(text))])}
        else:
            hashes = {hash(text)}
        for key in hashes:
            keys[key & 0xFF].append(key)
            ids[key & 0xFF].append(i)
    families: list[str | None] = [None] * len(canonical)
    found: dict[str, set[str]] = {}
    for p in range(_PARTITIONS):
        part_keys, part_ids = keys[p], ids[p]
        keys[p], ids[p] = array("q"), array("l")
        shared = {key for key, count in Counter(part_keys).items() if count > 1}
        if not shared:
            continue
        groups: dict[int, list[int]] = {}
        for key, i in zip(part_keys, part_ids):  # noqa: B905 (arrays of one length)
            if key in shared:
                groups.setdefault(key, []).append(i)
        for members in groups.values():
            _compare(canonical, members, families, wanted, found)
    return {name: sorted(others) for name, others in sorted(found.items())}


def _compare(
    canonical: list[str],
    ids: list[int],
    families: list[str | None],
    wanted: set[str] | None,
    found: dict[str, set[str]],
) -> None:
    """Compare the names sharing one key, across families only (a family is exempt)."""
    groups: dict[str, list[int]] = {}
    for i in ids:
        fam = families[i]
        if fam is None:
            fam = families[i] = family(canonical[i])
        groups.setdefault(fam, []).append(i)
    # Names of one family collide only through separators: their separator-free forms.
    for members in groups.values():
        if len(members) > 1:
            forms = [canonical[i].replace("-", "") for i in members]
            if len(set(forms)) == len(forms):
                continue  # the common case: a numbered family's names sharing a key
            plain: dict[str, list[int]] = {}
            for i, form in zip(members, forms, strict=True):
                plain.setdefault(form, []).append(i)
            for same in plain.values():
                for x in same:
                    for y in same:
                        if x != y:
                            _note(canonical[x], canonical[y], wanted, found)
    if len(groups) < 2:
        return
    listed = list(groups.values())
    for g, first in enumerate(listed):
        for second in listed[g + 1 :]:
            for x in first:
                for y in second:
                    a, b = canonical[x], canonical[y]
                    if is_confusable(a, b):
                        _note(a, b, wanted, found)
                        _note(b, a, wanted, found)


def _note(name: str, other: str, wanted: set[str] | None, found: dict[str, set[str]]) -> None:
    if wanted is None or name in wanted:
        found.setdefault(name, set()).add(other)


@cache
def load_popular_names() -> tuple[str, ...]:
    """The bundled list of the most used project names (canonical, most used first)."""
    text = resources.files("wheelset.data").joinpath("top_projects.txt").read_text("utf-8")
    return tuple(
        canonicalize_name(line.strip())
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )
