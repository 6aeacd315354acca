"""parse_requirement's fast path gives what packaging's Requirement gives, or its error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.requirements import InvalidRequirement, Requirement

from wheelset.model.declarations import parse_requirement

TEXTS = [
    "six",
    "six>=1.10",
    "lib >= 2, <3",
    "click[color,rich]>=8; extra == 'cli'",
    'colorama; sys_platform == "win32"',
    "a.b_c-d[x]~=1.2;python_version<'3.12' and platform_machine=='x86_64'",
    "foo[]",
    "foo==1.*",
    "foo>=1.*",
    "foo~=1",
    "foo>=1.0 bar",
    "foo>=1.0;",
    "foo; nonsense == 1",
    "foo @ https://example.invalid/foo-1.0.whl",
    "foo (>=1.0)",
    "foo[bad extra]",
    "foo>=1.0,",
    "-foo",
    "foo; extra == 'x' or",
    "foo; python_version < '3.12'  ",
    "foo ;\textra == 'x'\t",
    "foo; os_name == 'nt'\n",
    "foo; os_name == 'nt'\nand",
    "foo;  ",
    "foo-",
    "foo_>=1",
    "foo.[x]",
    "foo-bar[x] >=1",
]


def _same(text: str) -> None:
    try:
        expected = Requirement(text)
    except InvalidRequirement:
        with pytest.raises(InvalidRequirement):
            parse_requirement.__wrapped__(text)
        return
    got = parse_requirement.__wrapped__(text)
    assert (got.name, got.url, got.extras, str(got.specifier), str(got.marker)) == (
        expected.name,
        expected.url,
        expected.extras,
        str(expected.specifier),
        str(expected.marker),
    )
    assert str(got) == str(expected) and got == expected


@pytest.mark.parametrize("text", TEXTS)
def test_fast_path_agrees_with_packaging(text: str) -> None:
    _same(text)


PARTS = st.sampled_from(
    [
        "foo",
        "a.b",
        "x",
        "[",
        "]",
        ",",
        " ",
        ">=",
        "==",
        "<",
        "~=",
        "1.0",
        "1.*",
        "2",
        ";",
        "python_version",
        "'3.11'",
        "extra",
        "'x'",
        "and",
        "@",
        "(",
        ")",
        "\t",
        "\n",
    ]
)


@given(st.lists(PARTS, min_size=1, max_size=12).map("".join))
def test_fast_path_agrees_on_generated_texts(text: str) -> None:
    _same(text)
