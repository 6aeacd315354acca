"""Confusable project names (typosquatting): ultranormalisation plus a small edit distance.

Rule (documented in the README): two different projects are confusable when their
*ultranormal* forms are equal — lower case, `.`/`_`/`-` removed, look-alikes folded
(`l`, `i` → `1`; `o` → `0`; `rn` → `m`; `vv` → `w`), the stricter form the main index applies
to new names — or, when both ultranormal forms have 5 or more characters, when they are
one edit apart (insert, delete, substitute, or swap two neighbours).
Entry points: ultranormalize(), is_confusable(), ConfusableIndex, load_popular_names().
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources

from packaging.utils import canonicalize_name

__all__ = [
    "MIN_DISTANCE_LENGTH",
    "ConfusableIndex",
    "edit_distance",
    "is_confusable",
    "load_popular_names",
    "ultranormalize",
]

MIN_DISTANCE_LENGTH = 5  # characters; shorter names differ legitimately by one letter (h2, h11)
_SEPARATORS = re.compile(r"[-_.]+")
_FOLDS = (("rn", "m"), ("vv", "w"))
_LOOKALIKES = str.maketrans({"l": "1", "i": "1", "o": "0"})


def ultranormalize(name: str) -> str:
    """The form under which look-alike names collide.

    >>> ultranormalize("Co1o.Rama") == ultranormalize("colorama")
    True
    """
    text = _SEPARATORS.sub("", name.lower())
    for pair, replacement in _FOLDS:
        text = text.replace(pair, replacement)
    return text.translate(_LOOKALIKES)


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


def is_confusable(a: str, b: str) -> bool:
    """True when two *different* projects' names could be mistaken for each other."""
    if canonicalize_name(a) == canonicalize_name(b):
        return False
    ua, ub = ultranormalize(a), ultranormalize(b)
    if ua == ub:
        return True
    if min(len(ua), len(ub)) < MIN_DISTANCE_LENGTH:
        return False
    return abs(len(ua) - len(ub)) <= 1 and edit_distance(ua, ub) <= 1


def _deletions(text: str) -> Iterator[str]:
    yield text
    for i in range(len(text)):
        yield text[:i] + text[i + 1 :]


class ConfusableIndex:
    """Known names indexed by their single-deletion variants, so lookups stay fast.

    Any two strings within distance 1 share a deletion variant, so candidates come from a
    dict lookup and only those are compared exactly.
    """

    def __init__(self, names: Iterable[str]):
        self._by_variant: dict[str, set[str]] = {}
        for name in names:
            canonical = canonicalize_name(name)
            for variant in set(_deletions(ultranormalize(canonical))):
                self._by_variant.setdefault(variant, set()).add(canonical)

    def confusable_with(self, name: str) -> list[str]:
        """Known names (canonical) confusable with ``name``, sorted."""
        candidates: set[str] = set()
        for variant in set(_deletions(ultranormalize(name))):
            candidates |= self._by_variant.get(variant, set())
        return sorted(c for c in candidates if is_confusable(name, c))


@cache
def load_popular_names() -> tuple[str, ...]:
    """The bundled list of the most used project names (canonical, most used first)."""
    text = resources.files("wheelset.data").joinpath("top_projects.txt").read_text("utf-8")
    return tuple(
        canonicalize_name(line.strip())
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )
