"""The declaration model: validation codes, the path rule, and a stable TOML form."""

from __future__ import annotations

import marshal
from pathlib import Path, PurePosixPath

import pytest
import tomli_w
import tomllib
from hypothesis import given
from hypothesis import strategies as st

from tests.support.decls import SOME_CID, decl_table, make_decl
from wheelset.model.declarations import (
    Declaration,
    DeclarationError,
    dump_declaration,
    format_declaration,
    load_declaration,
    parse_declaration,
    parse_wheel_name,
    prefix_of,
    relpath_for,
    validate_declaration,
)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

WHEEL = "tomli-2.0.1-py3-none-any.whl"
PATH = PurePosixPath("25/tomli/tomli-2.0.1-py3-none-any.toml")


@pytest.mark.parametrize(
    ("name", "prefix"),
    [("numpy", "39"), ("requests", "7c"), ("tomli", "25"), ("packaging", "a5"), ("Tomli", "25")],
)
def test_prefix(name: str, prefix: str) -> None:
    assert prefix_of(name) == prefix


def test_prefix_is_zero_padded() -> None:
    assert sum(map(ord, "click")) & 0xFF == 6
    assert prefix_of("click") == "06"


def test_relpath_for_uses_the_canonical_name() -> None:
    assert relpath_for("Foo_Bar-1.0-py3-none-any.whl") == PurePosixPath(
        f"{prefix_of('foo-bar')}/foo-bar/Foo_Bar-1.0-py3-none-any.toml"
    )


def test_parse_valid_declaration() -> None:
    table = decl_table(
        WHEEL,
        requires_python=">=3.7",
        extras=["socks"],
        dependencies=["pysocks>=1; extra == 'socks'"],
        sha256="ab" * 32,
        size=12,
    )
    decl = parse_declaration(table, PATH)
    assert (decl.name, str(decl.version), decl.filename) == ("tomli", "2.0.1", WHEEL)
    assert str(decl.content_id) == SOME_CID and decl.is_index_source
    assert decl.requirements[0].name == "pysocks"
    assert decl.to_toml() == table | {"requires-python": ">=3.7"}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"colour": "blue"}, "UNKNOWN-KEY"),
        ({"source": 3}, "TYPE"),
        ({"extras": "socks"}, "TYPE"),
        ({"dependencies": ["ok", 3]}, "TYPE"),
        ({"size": True}, "TYPE"),
        ({"size": 1.5}, "TYPE"),
        ({"size": -1}, "VALUE"),
        ({"size": 2**53}, "VALUE"),
        ({"size": 10**100}, "VALUE"),
        ({"sha256": "AB" * 32}, "VALUE"),
        ({"sha256": "ab"}, "VALUE"),
        ({"requires-python": ">=3.7,<"}, "SPECIFIER"),
        ({"requires-python": "3.7"}, "SPECIFIER"),
        ({"dependencies": ["foo >>= 1"]}, "REQUIREMENT"),
        ({"extras": ["Socks"]}, "EXTRAS"),
        ({"extras": ["socks", "socks"]}, "EXTRAS"),
        ({"extras": ["-a"]}, "EXTRAS"),
        ({"extras": [""]}, "EXTRAS"),
        ({"content-id": "Qmnotacid"}, "CID"),
        ({"content-id": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"}, "CID"),
        ({"source": "ftp://example.invalid/tomli-2.0.1-py3-none-any.whl"}, "SOURCE"),
        ({"source": "https://example.invalid/other-1.0-py3-none-any.whl"}, "SOURCE"),
        ({"source": "index:other-1.0-py3-none-any.whl"}, "SOURCE"),
        ({"source": "/tmp/tomli-2.0.1-py3-none-any.whl"}, "SOURCE"),
    ],
)
def test_invalid_field_codes(change: dict[str, object], code: str) -> None:
    decl, problems = validate_declaration(decl_table(WHEEL) | change, PATH)
    assert decl is None
    assert [p.code for p in problems] == [code]
    with pytest.raises(DeclarationError) as info:
        parse_declaration(decl_table(WHEEL) | change, PATH)
    assert info.value.code == code and info.value.path == PATH


def test_missing_keys_are_each_reported() -> None:
    _decl, problems = validate_declaration({"source": f"index:{WHEEL}"}, PATH)
    assert sorted(str(p) for p in problems if p.code == "MISSING-KEY") == [
        "missing required key 'content-id'",
        "missing required key 'dependencies'",
        "missing required key 'extras'",
    ]


def test_every_problem_of_a_file_is_reported() -> None:
    table = decl_table(WHEEL, requires_python="~=", colour=1) | {"size": -2}
    _decl, problems = validate_declaration(table, PATH)
    assert sorted(p.code for p in problems) == ["SPECIFIER", "UNKNOWN-KEY", "VALUE"]


def test_percent_encoded_url_names_the_wheel() -> None:
    wheel = "torch-2.0.0+cpu-cp311-cp311-linux_x86_64.whl"
    table = decl_table(
        wheel, source="https://example.invalid/whl/torch-2.0.0%2Bcpu-cp311-cp311-linux_x86_64.whl"
    )
    assert parse_declaration(table, relpath_for(wheel)).filename == wheel


@pytest.mark.parametrize(
    "filename",
    [
        "foo-1.0.whl",
        "foo-bar-1.0-py3-none-any.whl",
        "..-1.0-py3-none-any.whl",
        ".foo-1.0-py3-none-any.whl",
        "foo-1.0-x-py3-none-any.whl",
        "foo-1.0-py3-none-.whl",
        "a/b-1.0-py3-none-any.whl",
        "a\\b-1.0-py3-none-any.whl",
        "foo-1.0-py3-none-any.tar.gz",
        "foo-notaversion!-py3-none-any.whl",
    ],
)
def test_invalid_wheel_names(filename: str) -> None:
    with pytest.raises(DeclarationError) as info:
        parse_wheel_name(filename)
    assert info.value.code == "FILENAME"


def test_wheel_name_parts() -> None:
    name, version, build, tags = parse_wheel_name(
        "Foo_Bar-1.0-2x-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )
    assert (name, str(version), build) == ("foo-bar", "1.0", (2, "x"))
    assert sorted(str(t) for t in tags) == [
        "cp311-cp311-manylinux2014_x86_64",
        "cp311-cp311-manylinux_2_17_x86_64",
    ]


def test_declaration_must_be_toml() -> None:
    _decl, problems = validate_declaration(decl_table(WHEEL), PATH.with_suffix(".txt"))
    assert [p.code for p in problems] == ["FILENAME"]


def test_dump_load_roundtrip_with_stable_key_order(tmp_path: Path) -> None:
    decl = make_decl(
        WHEEL, dependencies=['b; extra == "x"', "a>=1"], extras=["x"], sha256="0" * 64, size=5
    )
    written = dump_declaration(decl, tmp_path)
    assert written == tmp_path / PATH
    text = written.read_text()
    assert [line.split(" = ")[0] for line in text.splitlines() if " = " in line] == [
        "source",
        "content-id",
        "sha256",
        "size",
        "extras",
        "dependencies",
    ]
    assert load_declaration(written, tmp_path) == decl
    assert format_declaration(load_declaration(written, tmp_path)) == text


def test_load_reports_malformed_toml(tmp_path: Path) -> None:
    file = tmp_path / PATH
    file.parent.mkdir(parents=True)
    file.write_text('source = "unterminated\n')
    with pytest.raises(DeclarationError) as info:
        load_declaration(file, tmp_path)
    assert info.value.code == "TOML" and info.value.path == PATH


_names = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
_specifiers = st.sampled_from(["", ">=1", "==1.2", "<2.0.1", "~=1.2", ">=1,<3"])
_markers = st.sampled_from(
    ["", '; python_version < "3.12"', "; extra == 'x'", ' ; sys_platform == "win32"']
)
_requirements = st.builds(lambda *parts: "".join(parts), _names, _specifiers, _markers)


@given(
    deps=st.lists(_requirements, max_size=6),
    extras=st.lists(_names, max_size=3, unique=True),
    size=st.integers(min_value=0, max_value=2**40),
)
def test_format_parse_roundtrip(deps: list[str], extras: list[str], size: int) -> None:
    decl = make_decl(WHEEL, dependencies=deps, extras=extras, size=size, sha256="f" * 64)
    assert parse_declaration(tomllib.loads(format_declaration(decl)), decl.path) == decl
    assert tomli_w.dumps(decl.to_toml()) == format_declaration(decl)


_wheels = st.sampled_from(
    [
        WHEEL,
        "six-1.16.0-1local-py2.py3-none-any.whl",
        "numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "Foo.Bar-1.0.post1-py3-none-any.whl",
    ]
)


@given(
    wheel=_wheels,
    deps=st.lists(_requirements | st.just("x @ file:///tmp/x-1.0-py3-none-any.whl"), max_size=4),
    extras=st.lists(_names, max_size=3, unique=True),
    optional=st.fixed_dictionaries(
        {},
        optional={
            "size": st.integers(min_value=0, max_value=2**40),
            "sha256": st.just("f" * 64),
            "license": st.sampled_from(["MIT", "Apache-2.0 OR MIT"]),
            "requires-python": st.sampled_from([">=3.9", "<4,>=3.10", "~=3.11"]),
        },
    ),
)
def test_record_round_trip(
    wheel: str, deps: list[str], extras: list[str], optional: dict[str, object]
) -> None:
    """What worker processes send back (marshal) rebuilds an equal declaration."""
    decl = parse_declaration(
        decl_table(wheel, dependencies=deps, extras=extras, **optional), relpath_for(wheel)
    )
    record = marshal.loads(marshal.dumps(decl.to_record()))
    back = Declaration.from_record(record)
    assert back == decl
    assert (back.requirements, back.tags, back.content_id) == (
        decl.requirements,
        decl.tags,
        decl.content_id,
    )
    assert format_declaration(back) == format_declaration(decl)


def test_requires_python_texts_stay_bounded(monkeypatch):
    """A long-lived process sees ever new specifier sets (declaring from index pages): the
    table of their texts does not grow past its bound, and what it returns stays right."""
    from packaging.specifiers import SpecifierSet

    from wheelset.model import declarations

    monkeypatch.setattr(declarations, "_TEXTS_CACHED", 8)
    monkeypatch.setattr(declarations, "_SPECIFIER_TEXTS", {})
    for minor in range(40):
        specifier = SpecifierSet(f">=3.{minor}")
        assert declarations._specifier_text(specifier) == f">=3.{minor}"
        assert len(declarations._SPECIFIER_TEXTS) <= 8
