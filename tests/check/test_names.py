from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from wheelset.check.names import (
    edit_distance,
    find_confusables,
    is_confusable,
    load_popular_names,
    ultranormalize,
)

KNOWN = ("requests", "numpy", "colorama", "typer")


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("reqeusts", "requests"),
        ("requests_", "requests"),
        ("nurnpy", "numpy"),
        ("co1orama", "colorama"),
        ("Requests.", "requests"),
        ("nunpy", "numpy"),
        ("coloredlogs", None),
    ],
)
def test_typosquats_are_caught(name: str, target: str | None) -> None:
    found = find_confusables([*KNOWN, name], [name])
    assert found.get(canonicalize_name(name), []) == ([target] if target else [])


@pytest.mark.parametrize("name", ["requests", "numpy", "httpx", "h2", "h11", "rich", "attrs"])
def test_real_names_pass(name: str) -> None:
    assert find_confusables([*KNOWN, "h11", "h2", "attrs", name], [name]) == {}


def test_short_names_need_an_exact_ultranormal_collision() -> None:
    assert not is_confusable("h2", "h3")
    assert is_confusable("i0", "l0")


def test_popular_list_is_bundled_and_catches_squats() -> None:
    popular = load_popular_names()
    assert len(popular) >= 1000 and "requests" in popular
    assert find_confusables([*popular, "reqeusts"], ["reqeusts"]) == {"reqeusts": ["requests"]}


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", max_size=20))
def test_a_name_is_never_confusable_with_itself(name: str) -> None:
    assert not is_confusable(name, name)
    assert ultranormalize(ultranormalize(name)) == ultranormalize(name)


@settings(deadline=None)  # each example builds a fresh search: slow on a loaded machine
@given(st.text(alphabet="abcdef", max_size=8), st.text(alphabet="abcdef", max_size=8))
def test_index_agrees_with_pairwise_rule(a: str, b: str) -> None:
    if not a or not b:
        return
    found = find_confusables([a, b], [a])
    pair = canonicalize_name(b) in found.get(canonicalize_name(a), [])
    assert pair == is_confusable(a, b)
    assert edit_distance(a, b) == edit_distance(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("nvidia-nccl-cu12", "nvidia-nccl-cu13"),
        ("odoo14-addon-sale", "odoo15-addon-sale"),
        ("py2", "py3"),
        ("pyqt5", "pyqt6"),
        ("psycopg", "psycopg2"),
        ("synth-project-00001", "synth-project-00002"),
        ("tomli", "tomli-w"),
    ],
)
def test_numbers_and_added_parts_are_not_look_alikes(a: str, b: str) -> None:
    assert not is_confusable(a, b)
    assert find_confusables([a, b]) == {}


@pytest.mark.parametrize(
    ("a", "b"),
    [("requestz", "requests"), ("co1orama", "colorama"), ("foo-1", "foo1"), ("odool4", "odoo14")],
)
def test_look_alikes_within_numbered_names_are_caught(a: str, b: str) -> None:
    assert is_confusable(a, b)
    assert find_confusables([a, b]) == {a: [b], b: [a]}


def test_a_numbered_family_has_no_confusables_and_stays_fast() -> None:
    names = [f"synth-project-{i:05d}" for i in range(1, 20_001)]
    squat = "synth-pr0ject-00042"  # ultranormally equal to -00042: a separator-free clash
    found = find_confusables([*names, "synthproject-00042", squat], ["synthproject-00042"])
    assert found == {"synthproject-00042": ["synth-pr0ject-00042", "synth-project-00042"]}
    assert find_confusables(names) == {}


@settings(deadline=None, max_examples=300)
@given(st.lists(st.text(alphabet="abilnorv019-_.", min_size=1, max_size=9), max_size=12))
def test_index_agrees_with_pairwise_rule_on_lists(names: list[str]) -> None:
    # Look-alike letters, digits and separators: templates, families and the index of
    # one-deletion variants all come into play.
    canonical = list(dict.fromkeys(canonicalize_name(n) for n in names))
    expected = {
        a: sorted(b for b in canonical if b != a and is_confusable(a, b)) for a in canonical
    }
    assert find_confusables(names) == {a: others for a, others in expected.items() if others}


def test_look_alikes_of_members_of_a_large_family_are_caught() -> None:
    # One template for the whole family (one pass); the look-alikes are either in it
    # (folded letters) or one edit from it (indexed, the family probed against them).
    family = [f"synth-project-{i:05d}" for i in range(1, 3_001)]
    squats = {
        "synth-pr0ject-00042": "synth-project-00042",  # folded: the same form
        "synth-project-00o43": "synth-project-00043",  # a letter among the digits
        "synth-projects-00044": "synth-project-00044",  # one letter more
        "synth-prject-00045": "synth-project-00045",  # one letter less
    }
    names = [*family, *squats]
    found = find_confusables(names, squats)
    for squat, target in squats.items():
        # also those one digit from the target: another family, one edit away
        assert found[squat] == sorted(n for n in names if n != squat and is_confusable(squat, n))
        assert target in found[squat]
    assert find_confusables(family) == {}
