"""read_collection: the platforms table verbatim, every declaration, first error names its file."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from tests.support.collection import write_collection
from tests.support.wheels import make_wheel
from wheelset.model.collection import CollectionError, read_collection


def test_reads_platforms_and_sorted_declarations(tmp_path: Path) -> None:
    wheels = [make_wheel(tmp_path / "w", n, "1.0") for n in ("zeta", "alpha", "mid-name")]
    platforms = {"python-versions": ["3.12", "3.11"], "systems": ["win_amd64"]}
    write_collection(tmp_path / "c", wheels, platforms=platforms)
    (tmp_path / "c" / ".git").mkdir()
    (tmp_path / "c" / ".git" / "junk.toml").write_text("not = [valid")

    table, decls = read_collection(tmp_path / "c")

    assert table == platforms
    assert [str(d.path) for d in decls] == sorted(str(d.path) for d in decls)
    assert {d.name for d in decls} == {"zeta", "alpha", "mid-name"}
    assert all(isinstance(d.path, PurePosixPath) and d.path.parts[0] != "c" for d in decls)


@pytest.mark.parametrize(
    ("platforms_text", "code"),
    [(None, "PLATFORMS"), ("python-versions = [", "PLATFORMS")],
)
def test_platforms_missing_or_malformed(tmp_path: Path, platforms_text, code) -> None:
    tmp_path.joinpath("c").mkdir()
    if platforms_text is not None:
        (tmp_path / "c" / "platforms.toml").write_text(platforms_text)
    with pytest.raises(CollectionError) as info:
        read_collection(tmp_path / "c")
    assert info.value.code == code
    assert str(info.value.path).endswith("platforms.toml")


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(CollectionError) as info:
        read_collection(tmp_path / "missing")
    assert "not a collection directory" in str(info.value)


@pytest.mark.parametrize(
    ("text", "code"),
    [("source = [", "TOML"), ('source = "index:x.whl"\n', "MISSING-KEY")],
)
def test_first_bad_file_names_itself(tmp_path: Path, text: str, code: str) -> None:
    write_collection(tmp_path / "c", [make_wheel(tmp_path / "w", "alpha", "1.0")])
    bad = tmp_path / "c" / "06" / "alpha" / "alpha-2.0-py3-none-any.toml"
    bad.write_text(text)
    with pytest.raises(CollectionError) as info:
        read_collection(tmp_path / "c")
    assert info.value.code == code
    assert info.value.path == PurePosixPath("06/alpha/alpha-2.0-py3-none-any.toml")
