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

Finding every confusable pair among N names is near-linear and compact. Names are first
gathered by *template*: the ultranormal form with each digit (written or folded) made `#`.
A template maps the form one character at a time, so two names one edit apart have
templates at most one edit apart, and the search has two parts:
- names sharing a template are compared among themselves: a numbered family
  (`project-000001` … `-500000`: one template, one family) costs one pass over its names;
- templates one edit apart share the hash of one of their forms or one-deletion variants
  (64-bit keys, kept in compact arrays partitioned by the key's first two characters and
  counted in C); only the names of templates sharing a key are compared.
Comparing two large sides (a family of thousands against a few look-alikes) never forms
their pairs: all sides but the largest are indexed by the same keys of their names'
forms, and the largest side's names are probed against that index.
Entry points: ultranormalize(), family(), is_confusable(), find_confusables(),
load_popular_names().
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from functools import cache
from importlib import resources
from itertools import chain, combinations, compress, repeat

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
_FOLDS = (("rn", "m"), ("vv", "w"))
# Separators removed and look-alikes folded in one pass (the folds above touch neither).
_LOOKALIKES = str.maketrans({"l": "1", "i": "1", "o": "0", "-": None, "_": None, ".": None})
_FAMILY = str.maketrans("", "", "-_.0123456789")
_DIGIT_CLASS = str.maketrans(dict.fromkeys("0123456789", "#"))
# Up to this many pairs, two sides are compared pair by pair rather than indexed.
_PAIRWISE = 64


def ultranormalize(name: str) -> str:
    """The form under which look-alike names collide.

    >>> ultranormalize("Co1o.Rama") == ultranormalize("colorama")
    True
    """
    text = name.lower().translate(_LOOKALIKES)
    for pair, replacement in _FOLDS:
        text = text.replace(pair, replacement)
    return text


def family(name: str) -> str:
    """The name without separators and digits: names of one numbered family share it.

    >>> family("nvidia-cublas-cu12") == family("nvidia_cublas_cu13")
    True
    """
    return name.lower().translate(_FAMILY)


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
    canonical = list(dict.fromkeys(map(canonicalize_name, names)))
    wanted = None if only is None else {canonicalize_name(n) for n in only}
    forms = list(map(ultranormalize, canonical))
    templates: dict[str, list[int]] = {}
    for i, form in enumerate(forms):
        templates.setdefault(form.translate(_DIGIT_CLASS), []).append(i)
    comparison = _Comparison(canonical, forms, wanted)
    for members in templates.values():
        if len(members) > 1:
            comparison.within(members)
    listed = list(templates.values())
    for group in _sharing(list(templates)):
        comparison.across([listed[j] for j in group])
    return {name: sorted(others) for name, others in sorted(comparison.found.items())}


def _sharing(texts: list[str]) -> Iterator[tuple[int, ...]]:
    """Each set of two or more of ``texts`` (their indexes) sharing a key: the hash of one's
    form or of one of its one-deletion variants. Forms one edit apart share one; so may a
    few others (hash collisions), which the exact comparison drops."""
    parts: dict[str, tuple[array[int], array[int]]] = {}

    def part(prefix: str) -> tuple[array[int], array[int]]:
        found = parts.get(prefix)
        if found is None:
            found = parts[prefix] = (array("q"), array("q"))
        return found

    for j, text in enumerate(texts):
        n = len(text)
        if n < MIN_DISTANCE_LENGTH:
            continue  # shorter forms are confusable only when equal: one template
        # combinations() leaves out the last character first and the first one last; a
        # key's partition is its first two characters, as for the form it may equal.
        variants = list(map(hash, combinations(text, n - 1)))
        keys, owners = part(text[:2])
        keys.append(hash(tuple(text)))
        keys.extend(variants[:-2])
        owners.extend(repeat(j, n - 1))
        keys, owners = part(text[0] + text[2])
        keys.append(variants[-2])
        owners.append(j)
        keys, owners = part(text[1:3])
        keys.append(variants[-1])
        owners.append(j)
    seen: set[tuple[int, ...]] = set()
    while parts:
        keys, owners = parts.popitem()[1]
        counts = Counter(keys)
        if len(counts) == len(keys):
            continue
        shared = {key for key, count in counts.items() if count > 1}
        del counts
        groups: dict[int, set[int]] = {}
        chosen = list(map(shared.__contains__, keys))
        for key, j in zip(compress(keys, chosen), compress(owners, chosen)):  # noqa: B905
            groups.setdefault(key, set()).add(j)
        for members in groups.values():
            group = tuple(sorted(members))
            if len(group) > 1 and group not in seen:
                seen.add(group)
                yield group


class _Comparison:
    """The exact comparison of candidate names, and the confusable pairs found."""

    def __init__(self, canonical: list[str], forms: list[str], wanted: set[str] | None) -> None:
        self.canonical, self.forms, self.wanted = canonical, forms, wanted
        self.found: dict[str, set[str]] = {}

    def within(self, members: list[int]) -> None:
        """Names sharing one template: those with equal forms, and one-edit pairs across
        families (a family is exempt)."""
        forms = self.forms
        if len({forms[i] for i in members}) < len(members):
            equal: dict[str, list[int]] = {}
            for i in members:
                equal.setdefault(forms[i], []).append(i)
            for same in equal.values():
                for a, x in enumerate(same):
                    for y in same[a + 1 :]:
                        self._check(x, y)
        if len(forms[members[0]]) < MIN_DISTANCE_LENGTH:
            return
        families: dict[str, list[int]] = {}
        for i in members:
            families.setdefault(family(self.canonical[i]), []).append(i)
        if len(families) > 1:
            self.across(list(families.values()))

    def across(self, sides: list[list[int]]) -> None:
        """Compare each name of a side with each of the other sides (never two of one)."""
        sizes = [len(side) for side in sides]
        if (sum(sizes) ** 2 - sum(s * s for s in sizes)) // 2 <= _PAIRWISE:
            for s, first in enumerate(sides):
                for second in sides[s + 1 :]:
                    for x in first:
                        for y in second:
                            self._check(x, y)
            return
        largest = sizes.index(max(sizes))
        index: dict[int, list[tuple[int, int]]] = {}
        for s, side in enumerate(sides):
            if s != largest:
                for i in side:
                    for key in set(self._keys(i)):
                        index.setdefault(key, []).append((s, i))
        pairs: set[tuple[int, int]] = set()
        for entries in index.values():
            for a, (s, x) in enumerate(entries):
                pairs.update((x, y) for t, y in entries[a + 1 :] if t != s)
        keys = index.keys()
        for x in sides[largest]:
            if not keys.isdisjoint(self._keys(x)):
                for key in keys & set(self._keys(x)):
                    pairs.update((x, y) for _, y in index[key])
        for x, y in pairs:
            self._check(x, y)

    def _keys(self, i: int) -> Iterator[int]:
        """The hashes of a name's form and of its one-deletion variants."""
        form = self.forms[i]
        return chain((hash(tuple(form)),), map(hash, combinations(form, len(form) - 1)))

    def _check(self, x: int, y: int) -> None:
        a, b = self.canonical[x], self.canonical[y]
        if is_confusable(a, b):
            self._note(a, b)
            self._note(b, a)

    def _note(self, name: str, other: str) -> None:
        if self.wanted is None or name in self.wanted:
            self.found.setdefault(name, set()).add(other)


@cache
def load_popular_names() -> tuple[str, ...]:
    """The bundled list of the most used project names (canonical, most used first)."""
    text = resources.files("wheelset.data").joinpath("top_projects.txt").read_text("utf-8")
    return tuple(
        canonicalize_name(line.strip())
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )
