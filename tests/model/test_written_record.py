"""written_record(): the one-match reading of declaration files as `declare` writes them
accepts exactly what the general path (TOML parser + validate_declaration) accepts, as
the same declaration, and leaves everything else to that path."""

from __future__ import annotations

from pathlib import PurePosixPath

import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.decls import SOME_CID
from wheelset.model.canonical_toml import loads
from wheelset.model.declarations import (
    KEY_ORDER,
    MAX_FILE_SIZE,
    format_declaration,
    parse_declaration,
    validate_declaration,
    written_record,
)

_REL = "ab/foo-bar/Foo_Bar-1.0-py3-none-any.toml"
_WHEEL = "Foo_Bar-1.0-py3-none-any.whl"

# Each key's values: valid ones and ones the general path rejects (or that TOML types
# differently), so that the fast path meets every kind of problem.
_VALUES: dict[str, st.SearchStrategy[object]] = {
    "source": st.sampled_from(
        [
            f"index:{_WHEEL}",
            "index:other-1.0-py3-none-any.whl",
            f"https://example.invalid/wheels/{_WHEEL}",
            "https://example.invalid/wheels/other.whl",
            "ftp://example.invalid/x.whl",
            'index:"quoted"',
            42,
        ]
    ),
    "content-id": st.sampled_from(
        [
            SOME_CID,
            "Qm" + "z" * 44,  # base58, 46 characters, but not a sha2-256 multihash
            "Qm" + "1" * 44,
            "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354",  # a CIDv1
            SOME_CID[:-1] + "0",  # not base58
            "",
        ]
    ),
    "sha256": st.sampled_from(["f" * 64, "F" * 64, "f" * 63, 7]),
    "size": st.sampled_from([0, 83480, MAX_FILE_SIZE, MAX_FILE_SIZE + 1, -1, "12", True]),
    "requires-python": st.sampled_from([">=3.9", "<4,>=3.10", " >= 3.9 ", ">=3.x", "", 3]),
    "license": st.sampled_from(["MIT", "Apache-2.0 OR MIT", "mit", "not a licence ((", 1]),
    "extras": st.lists(
        st.sampled_from(["test", "docs", "a-b", "Test", "a_b", "a--b", "-a", ""]), max_size=3
    )
    | st.just("test"),
    "dependencies": st.lists(
        st.sampled_from(
            [
                "samakunakuva>=7.20.3",
                'tuzudesazata[test]; implementation_name == "cpython"',
                "kebafapunasa[test]>=21",
                "back\\slash",
                "x @ file:///tmp/x-1.0-py3-none-any.whl",
                "not a requirement !",
                'quote"inside',
                "tab\tafter; python_version>='3.9'",
            ]
        ),
        max_size=4,
    ),
}
_VALID: dict[str, st.SearchStrategy[object]] = {
    "source": st.just(f"index:{_WHEEL}"),
    "content-id": st.just(SOME_CID),
    "sha256": st.just("f" * 64),
    "size": st.integers(0, MAX_FILE_SIZE),
    "requires-python": st.sampled_from([">=3.9", "<4,>=3.10"]),
    "license": st.sampled_from(["MIT", "Apache-2.0 OR MIT"]),
    "extras": st.lists(st.sampled_from(["test", "docs", "a-b"]), unique=True, max_size=3),
    "dependencies": st.lists(
        st.sampled_from(
            [
                "samakunakuva>=7.20.3",
                'tuzudesazata[test]; implementation_name == "cpython"',
                "x @ file:///tmp/x-1.0-py3-none-any.whl",
            ]
        ),
        max_size=4,
    ),
}
_RELS = st.sampled_from(
    [
        _REL,
        _REL,
        _REL,
        "Foo_Bar-1.0-py3-none-any.toml",
        "ab/foo-bar/Foo_Bar-1.0-1build-py3-none-any.toml",
        "ab/foo-bar/bad name-1.0-py3-none-any.toml",
        "ab/foo-bar/.toml",
        "ab/foo-bar/Foo_Bar-1.0-py3-none-any.txt",
        "ab/foo-bar/Foo__Bar-1.0-py3-none-any.toml",
    ]
)


@st.composite
def _tables(draw: st.DrawFn) -> dict[str, object]:
    keys = [k for k in KEY_ORDER if draw(st.integers(0, 19)) > 0]  # now and then one missing
    if draw(st.integers(0, 19)) == 0:
        keys = draw(st.permutations(keys))  # not the written order
    # Mostly valid values, so that both ways are taken often.
    table = {key: draw(_VALID[key] if draw(st.integers(0, 9)) else _VALUES[key]) for key in keys}
    if draw(st.integers(0, 19)) == 0:
        table["unknown"] = "x"
    return table


@settings(max_examples=400)
@given(table=_tables(), rel=_RELS)
def test_accepts_exactly_what_validation_accepts(table: dict[str, object], rel: str) -> None:
    text = tomli_w.dumps(table)
    record = written_record(text, rel)
    decl, problems = validate_declaration(loads(text), PurePosixPath(rel))
    if record is None:
        # Left to the general path: either it has something to say, or the text is not
        # in the written form (keys out of order).
        in_order = [k for k in KEY_ORDER if k in table] == list(table)
        assert problems or not in_order or not rel.endswith(".toml")
    else:
        assert not problems and decl is not None
        assert record == decl.to_record()


_WRITTEN_DEPENDENCIES = {
    "samakunakuva>=7.20.3",
    'tuzudesazata[test]; implementation_name == "cpython"',
    "kebafapunasa[test]>=21",
    "x @ file:///tmp/x-1.0-py3-none-any.whl",
}


@given(
    deps=_VALUES["dependencies"],
    extras=st.lists(st.sampled_from(["test", "docs", "a-b"]), unique=True, max_size=3),
    optional=st.fixed_dictionaries(
        {},
        optional={
            "sha256": st.just("0123456789abcdef" * 4),
            "size": st.integers(0, MAX_FILE_SIZE),
            "requires-python": st.sampled_from([">=3.9", "<4,>=3.10"]),
            "license": st.sampled_from(["MIT", "Apache-2.0 OR MIT"]),
        },
    ),
)
def test_every_written_declaration_takes_the_fast_path(
    deps: list[str], extras: list[str], optional: dict[str, object]
) -> None:
    # Valid, and written with no escapes but \" (tomli-w writes a tab as \t).
    valid = [d for d in deps if d in _WRITTEN_DEPENDENCIES]
    table = {"source": f"index:{_WHEEL}", "content-id": SOME_CID, **optional}
    table |= {"extras": extras, "dependencies": valid}
    decl = parse_declaration(table, PurePosixPath(_REL))
    record = written_record(format_declaration(decl), _REL)
    assert record is not None
    assert record == decl.to_record()


def test_bad_files_are_left_to_the_general_path() -> None:
    good = format_declaration(
        parse_declaration(
            {"source": f"index:{_WHEEL}", "content-id": SOME_CID, "extras": [], "dependencies": []},
            PurePosixPath(_REL),
        )
    )
    assert written_record(good, _REL) is not None
    for bad in (
        good.replace(SOME_CID, "Qm" + "z" * 44),
        good.replace("index:", "index:x"),
        good.replace("dependencies = []", 'dependencies = [\n    "not a requirement !",\n]'),
        good.replace("extras = []", 'extras = [\n    "test",\n    "test",\n]'),
        good + "# a comment\n",
        good.replace("\n", "\r\n"),
    ):
        assert written_record(bad, _REL) is None
