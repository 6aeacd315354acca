from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wheelset.check.names import (
    ConfusableIndex,
    edit_distance,
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
    index = ConfusableIndex(KNOWN)
    assert index.confusable_with(name) == ([target] if target else [])


@pytest.mark.parametrize("name", ["requests", "numpy", "httpx", "h2", "h11", "rich", "attrs"])
def test_real_names_pass(name: str) -> None:
    assert ConfusableIndex((*KNOWN, "h11", "h2", "attrs")).confusable_with(name) == []


def test_short_names_need_an_exact_ultranormal_collision() -> None:
    assert not is_confusable("h2", "h3")
    assert is_confusable("i0", "l0")


def test_popular_list_is_bundled_and_catches_squats() -> None:
    popular = load_popular_names()
    assert len(popular) >= 1000 and "requests" in popular
    assert "requests" in ConfusableIndex(popular).confusable_with("reqeusts")


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", max_size=20))
def test_a_name_is_never_confusable_with_itself(name: str) -> None:
    assert not is_confusable(name, name)
    assert ultranormalize(ultranormalize(name)) == ultranormalize(name)


@given(st.text(alphabet="abcdef", max_size=8), st.text(alphabet="abcdef", max_size=8))
def test_index_agrees_with_pairwise_rule(a: str, b: str) -> None:
    if not a or not b:
        return
    assert (b.lower() in ConfusableIndex([b]).confusable_with(a)) == is_confusable(a, b)
    assert edit_distance(a, b) == edit_distance(b, a)
