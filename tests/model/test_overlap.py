"""Two wheels overlap when one system (any Python, any machine) would install both."""

from __future__ import annotations

import pytest
from packaging.tags import parse_tag

from wheelset.model.overlap import first_overlaps, wheels_overlap

OVERLAPPING = [
    ("py3-none-any", "cp311-cp311-manylinux_2_28_x86_64"),
    ("cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64", "cp311-cp311-manylinux_2_28_x86_64"),
    ("cp311-cp311-manylinux1_x86_64", "cp311-cp311-manylinux_2_28_x86_64"),
    ("cp311-cp311-macosx_10_9_universal2", "cp311-cp311-macosx_11_0_arm64"),
    ("cp311-cp311-macosx_10_9_universal2", "cp311-cp311-macosx_10_13_x86_64"),
    ("cp311-cp311-macosx_10_9_x86_64", "cp311-cp311-macosx_12_0_x86_64"),
    ("cp38-abi3-win_amd64", "cp312-cp312-win_amd64"),
    ("cp311-none-any", "py3-none-any"),
    ("py311-none-any", "py312-none-any"),
    ("py2.py3-none-any", "py3-none-any"),
    ("cp311-cp311-linux_x86_64", "cp311-cp311-musllinux_1_2_x86_64"),
    ("pp310-pypy310_pp73-manylinux_2_17_x86_64", "py3-none-any"),
    ("py3-none-win_amd64", "cp311-cp311-win_amd64"),
]
DISJOINT = [
    ("cp311-cp311-win_amd64", "cp312-cp312-win_amd64"),
    ("cp312-abi3-win_amd64", "cp311-cp311-win_amd64"),
    ("cp311-cp311-manylinux_2_28_aarch64", "cp311-cp311-manylinux_2_28_x86_64"),
    ("cp311-cp311-musllinux_1_2_x86_64", "cp311-cp311-manylinux_2_28_x86_64"),
    ("cp311-cp311-macosx_10_9_x86_64", "cp311-cp311-macosx_11_0_arm64"),
    ("cp311-none-any", "cp312-none-any"),
    ("py2-none-any", "py3-none-any"),
    ("cp311-cp311-win_amd64", "cp311-cp311-win32"),
    ("pp310-pypy310_pp73-manylinux_2_17_x86_64", "cp310-cp310-manylinux_2_17_x86_64"),
    ("py3-none-win_amd64", "py3-none-macosx_11_0_arm64"),
]


@pytest.mark.parametrize(("a", "b"), OVERLAPPING)
def test_overlapping(a: str, b: str) -> None:
    assert wheels_overlap(parse_tag(a), parse_tag(b)) is not None
    assert wheels_overlap(parse_tag(b), parse_tag(a)) is not None


@pytest.mark.parametrize(("a", "b"), DISJOINT)
def test_disjoint(a: str, b: str) -> None:
    assert wheels_overlap(parse_tag(a), parse_tag(b)) is None
    assert wheels_overlap(parse_tag(b), parse_tag(a)) is None


def test_reports_the_tags_that_meet() -> None:
    pair = wheels_overlap(
        parse_tag("cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"),
        parse_tag("cp312-cp312-manylinux_2_28_x86_64")
        | parse_tag("cp311-cp311-manylinux_2_28_x86_64"),
    )
    assert pair is not None
    assert str(pair[1]) == "cp311-cp311-manylinux_2_28_x86_64"


def test_first_overlaps_agrees_with_the_pairwise_rule() -> None:
    texts = sorted({t for pair in OVERLAPPING + DISJOINT for t in pair})
    tagsets = [frozenset(parse_tag(t)) for t in texts]
    tagsets += [tagsets[0], tagsets[3] | tagsets[5], tagsets[-1]]
    found = first_overlaps(tagsets)
    for i, hit in enumerate(found):
        earlier = [j for j in range(i) if wheels_overlap(tagsets[i], tagsets[j]) is not None]
        assert (hit[0] if hit else None) == (earlier[0] if earlier else None), texts[i % len(texts)]
        if hit:
            assert hit[1] in tagsets[i] and hit[2] in tagsets[hit[0]]
