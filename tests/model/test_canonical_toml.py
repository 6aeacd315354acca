"""The fast reader of canonical declaration TOML agrees with tomllib, or steps aside."""

from __future__ import annotations

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from wheelset.model.canonical_toml import loads, parse_canonical

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

_keys = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True)
_text = st.text(st.characters(codec="utf-8"), max_size=30)
_values = st.one_of(
    _text, st.integers(min_value=-5, max_value=2**63 - 1), st.lists(_text, max_size=4)
)


@given(st.dictionaries(_keys, _values, max_size=8))
def test_tomli_w_output_reads_the_same(table: dict[str, object]) -> None:
    text = tomli_w.dumps(table)
    expected = tomllib.loads(text)
    fast = parse_canonical(text)
    assert fast is None or fast == expected
    assert loads(text) == expected


@given(
    st.dictionaries(
        _keys,
        st.one_of(
            st.from_regex(r'[a-z<>=;\'" ._-]{0,20}', fullmatch=True),
            st.lists(st.from_regex(r'[a-z<>=;\'" .]{0,20}', fullmatch=True), max_size=3),
        ),
        max_size=7,
    )
)
def test_declaration_like_tables_take_the_fast_path(table: dict[str, object]) -> None:
    text = tomli_w.dumps(table)
    assert parse_canonical(text) == tomllib.loads(text)


@given(st.text(st.sampled_from("ab =[]\"\\\n,0123 \t\x01#'-"), max_size=60))
def test_anything_accepted_is_what_tomllib_reads(text: str) -> None:
    fast = parse_canonical(text)
    if fast is not None:
        assert fast == tomllib.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        'a = "x" # comment\n',
        "\na = 1\n",
        'a = "x"\na = "y"\n',
        "a = 01\n",
        "a = [\n    'x',\n]\n",
        'a = "x"\r\n',
        'a = "x"',
        'a = "\\u0041"\n',
        'a.b = "x"\n',
    ],
)
def test_other_toml_falls_back(text: str) -> None:
    assert parse_canonical(text) is None


def test_malformed_toml_raises_tomllib_error() -> None:
    with pytest.raises(tomllib.TOMLDecodeError):
        loads('a = "x"\na = "y"\n')
