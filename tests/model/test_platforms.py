"""Platforms (platforms.toml, platform ids, interpreters) -> marker environments and
pip-ordered tags; select_wheel()."""

from __future__ import annotations

import platform as _platform
import sys
from pathlib import Path

import pytest
from packaging import tags as ptags
from packaging.markers import Marker, default_environment
from packaging.tags import Tag

from tests.support.decls import make_decl, write_platforms
from wheelset.model.platforms import (
    Platform,
    PlatformError,
    UnknownPlatform,
    current_platform,
    expand_system,
    find_platform,
    interpreter_platform,
    load_platforms,
    make_platform,
    parse_platforms,
    select_wheel,
)

# A root's platforms table, as its manifest carries it (platforms.toml verbatim).
TABLE = {
    "python-versions": ["3.10", "3.11", "3.12", "3.13"],
    "systems": [
        "manylinux_2_28_x86_64",
        "manylinux_2_28_aarch64",
        "musllinux_1_2_x86_64",
        "macosx_11_0_arm64",
        "macosx_10_13_x86_64",
        "win_amd64",
    ],
}


def _by_id(platform_id: str) -> Platform:
    return find_platform(TABLE, platform_id)


def _tags(platform_id: str) -> list[str]:
    return [str(t) for t in _by_id(platform_id).tags]


def test_parse_matrix_in_order() -> None:
    platforms = parse_platforms(
        {"python-versions": ["3.11", "3.12"], "systems": ["win_amd64", "macosx_11_0_arm64"]}
    )
    assert [p.id for p in platforms] == [
        "cp311-win_amd64",
        "cp311-macosx_11_0_arm64",
        "cp312-win_amd64",
        "cp312-macosx_11_0_arm64",
    ]


@pytest.mark.parametrize(
    ("system", "env"),
    [
        (
            "manylinux_2_28_x86_64",
            {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"},
        ),
        ("manylinux_2_28_aarch64", {"platform_machine": "aarch64", "os_name": "posix"}),
        ("musllinux_1_2_x86_64", {"sys_platform": "linux", "platform_machine": "x86_64"}),
        ("macosx_11_0_arm64", {"sys_platform": "darwin", "platform_machine": "arm64"}),
        ("macosx_10_13_x86_64", {"platform_system": "Darwin", "platform_machine": "x86_64"}),
        (
            "win_amd64",
            {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64"},
        ),
        ("win_arm64", {"os_name": "nt", "platform_machine": "ARM64"}),
    ],
)
def test_marker_environment(system: str, env: dict[str, str]) -> None:
    p = make_platform("3.12", system)
    assert p.environment.items() >= env.items()
    assert p.environment["python_version"] == "3.12"
    assert p.environment["python_full_version"] == "3.12.0" == p.python_full_version
    assert p.environment["implementation_name"] == "cpython"
    assert p.environment["platform_python_implementation"] == "CPython"
    # every name PEP 508 defines is set, so this machine's values never leak in
    assert set(p.environment) == set(default_environment())


def test_patch_release_can_be_named() -> None:
    p = make_platform("3.11.4", "win_amd64")
    assert (p.id, p.python_version, p.python_full_version) == ("cp311-win_amd64", "3.11", "3.11.4")


def test_manylinux_expansion_as_pip() -> None:
    aarch64 = expand_system("manylinux_2_28_aarch64")
    assert aarch64[0] == "manylinux_2_28_aarch64"
    assert aarch64[-2:] == ("manylinux_2_17_aarch64", "manylinux2014_aarch64")
    x86 = expand_system("manylinux_2_28_x86_64")
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"} <= set(x86)
    assert x86.index("manylinux_2_17_x86_64") + 1 == x86.index("manylinux2014_x86_64")
    assert x86[-1] == "manylinux1_x86_64"
    assert not any(s.startswith("linux_") for s in x86)
    assert expand_system("manylinux2014_x86_64")[0] == "manylinux_2_17_x86_64"


def test_macos_and_musl_expansion() -> None:
    arm = expand_system("macosx_11_0_arm64")
    assert arm[:2] == ("macosx_11_0_arm64", "macosx_11_0_universal2")
    assert "macosx_10_9_universal2" in arm and "macosx_10_9_x86_64" not in arm
    intel = expand_system("macosx_10_13_x86_64")
    assert "macosx_10_9_x86_64" in intel and "macosx_10_14_x86_64" not in intel
    assert expand_system("musllinux_1_2_x86_64") == (
        "musllinux_1_2_x86_64",
        "musllinux_1_1_x86_64",
        "musllinux_1_0_x86_64",
    )


def test_tag_order_is_packaging_order() -> None:
    p = make_platform("3.12", "win_amd64")
    expected = [
        *ptags.cpython_tags((3, 12), abis=["cp312"], platforms=["win_amd64"]),
        *ptags.compatible_tags((3, 12), interpreter="cp312", platforms=["win_amd64"]),
    ]
    assert list(p.tags) == expected
    assert p.tags[0] == Tag("cp312", "cp312", "win_amd64")
    assert p.tag_rank[Tag("py3", "none", "any")] > p.tag_rank[Tag("cp38", "abi3", "win_amd64")]


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or _platform.libc_ver()[0] != "glibc",
    reason="compares with this machine's own tags, which needs a glibc Linux",
)
def test_same_tags_as_this_machine() -> None:
    """For this interpreter and glibc, our expansion equals packaging's sys_tags (what pip
    uses), apart from the non-portable linux_<arch> tags we leave out."""
    glibc = _platform.libc_ver()[1].split(".")
    arch = _platform.machine()
    mine = make_platform(
        f"{sys.version_info[0]}.{sys.version_info[1]}", f"manylinux_2_{glibc[1]}_{arch}"
    )
    theirs = [t for t in ptags.sys_tags() if not t.platform.startswith(("linux_", "musllinux_"))]
    assert list(mine.tags) == theirs


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ({"python-versions": ["3.11"]}, "missing key 'systems'"),
        ({"python-versions": ["3.11"], "systems": ["win_amd64"], "arch": 1}, "unknown key"),
        ({"python-versions": "3.11", "systems": ["win_amd64"]}, "array of strings"),
        ({"python-versions": [], "systems": ["win_amd64"]}, "must not be empty"),
        ({"python-versions": ["3.11", "3.11"], "systems": ["win_amd64"]}, "repeats"),
        ({"python-versions": ["3.11", "3.11.2"], "systems": ["win_amd64"]}, "same CPython"),
        ({"python-versions": ["2.7"], "systems": ["win_amd64"]}, "3.Y"),
        ({"python-versions": ["3.11"], "systems": ["linux_x86_64"]}, "unknown system"),
        ({"python-versions": ["3.11"], "systems": ["macosx_11_0_universal2"]}, "architecture"),
        ({"python-versions": ["3.11"], "systems": ["macosx_10_15_arm64"]}, "too old"),
        ({"python-versions": ["3.11"], "systems": ["manylinux_2_12_aarch64"]}, "glibc level"),
        ({"python-versions": ["3.11"], "systems": ["manylinux_2_28_sparc"]}, "architecture"),
        # Accepted by install's former platform-id parser, which then accepted no
        # manylinux wheel at all (glibc below 2.5) or a universal2 "machine".
        ({"python-versions": ["3.11"], "systems": ["manylinux_2_4_x86_64"]}, "glibc level"),
        ({"python-versions": ["3.11"], "systems": ["macosx_12_0_universal2"]}, "architecture"),
        ({"python-versions": ["cp311"], "systems": ["win_amd64"]}, "3.Y"),
    ],
)
def test_invalid_platforms(table: dict[str, object], fragment: str) -> None:
    with pytest.raises(PlatformError) as info:
        parse_platforms(table)
    assert info.value.code == "PLATFORMS" and fragment in str(info.value)
    assert "platforms.toml" in info.value.one_line()


def test_load_platforms_keeps_the_table(tmp_path: Path) -> None:
    write_platforms(tmp_path, ["3.12"], ["win_amd64"])
    platforms, table = load_platforms(tmp_path / "platforms.toml")
    assert [p.id for p in platforms] == ["cp312-win_amd64"]
    assert table == {"python-versions": ["3.12"], "systems": ["win_amd64"]}


@pytest.mark.parametrize("text", ["python-versions = [", "\xff"])
def test_load_platforms_bad_file(tmp_path: Path, text: str) -> None:
    (tmp_path / "platforms.toml").write_bytes(text.encode("latin-1"))
    with pytest.raises(PlatformError) as info:
        load_platforms(tmp_path / "platforms.toml")
    assert str(tmp_path / "platforms.toml") in info.value.one_line()


def test_load_platforms_missing(tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match="not found"):
        load_platforms(tmp_path / "platforms.toml")


def test_select_wheel_prefers_the_best_tag() -> None:
    decls = [
        make_decl("foo-1.0-py3-none-any.whl"),
        make_decl("foo-1.0-cp38-abi3-win_amd64.whl"),
        make_decl("foo-1.0-cp312-cp312-win_amd64.whl"),
        make_decl("foo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"),
    ]
    win312 = make_platform("3.12", "win_amd64")
    assert select_wheel(decls, win312) is decls[2]
    assert select_wheel(decls, make_platform("3.11", "win_amd64")) is decls[1]
    assert select_wheel(decls, make_platform("3.11", "macosx_11_0_arm64")) is decls[0]
    assert select_wheel(decls, list(win312.tags), python_version="3.12.1") is decls[2]
    assert select_wheel(decls[3:], make_platform("3.12", "manylinux_2_28_aarch64")) is None


def test_select_wheel_respects_requires_python() -> None:
    new = make_decl("bar-1.0-py3-none-any.whl", requires_python=">=3.12")
    assert select_wheel([new], make_platform("3.11", "win_amd64")) is None
    assert select_wheel([new], make_platform("3.12", "win_amd64")) is new
    patch = make_decl("baz-1.0-py3-none-any.whl", requires_python=">=3.11.2")
    assert select_wheel([patch], make_platform("3.11", "win_amd64")) is None
    assert select_wheel([patch], make_platform("3.11.4", "win_amd64")) is patch


def test_current_platform_is_this_interpreter() -> None:
    here = current_platform()
    assert here.tags == tuple(dict.fromkeys(ptags.sys_tags()))
    assert isinstance(here.tags[0], Tag)
    assert here.environment["python_version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert here.python_version == here.environment["python_version"]
    assert here.id == f"{here.tags[0].interpreter}-{here.tags[0].platform}"
    pure = make_decl("foo-1.0-py3-none-any.whl")
    assert select_wheel([pure], here) is pure


@pytest.mark.parametrize(("full", "release"), [("3.14.0rc1", "3.14.0"), ("3.13.0+", "3.13.0")])
def test_an_interpreters_pre_release_counts_as_its_release(full: str, release: str) -> None:
    """pip checks requires-python against sys.version_info[:3], so a 3.14.0rc1 interpreter
    installs a wheel that requires >=3.14 (install's former walk compared the full version
    text, refused it, and crashed on a '+' build)."""
    environment = {**default_environment(), "python_full_version": full}
    environment["python_version"] = release[:4]
    tag = Tag(f"cp{release[0]}{release[2:4]}", f"cp{release[0]}{release[2:4]}", "win_amd64")
    platform = interpreter_platform(environment, [tag, tag, Tag("py3", "none", "any")])
    assert platform.tags == (tag, Tag("py3", "none", "any"))
    assert (platform.id, platform.python_full_version) == (f"{tag.interpreter}-win_amd64", full)
    needs = make_decl("foo-1.0-py3-none-any.whl", requires_python=f">={release[:4]}")
    assert select_wheel([needs], platform) is needs


def test_an_interpreter_without_a_version_or_tags_is_refused() -> None:
    with pytest.raises(PlatformError, match="python_full_version"):
        interpreter_platform({"python_full_version": "unknown"}, [Tag("py3", "none", "any")])
    with pytest.raises(PlatformError, match="0 tags"):
        interpreter_platform(dict(default_environment()), [])


# Platform ids, as `export --platform` takes them from a root's table.


def test_manylinux_expands_downward_with_legacy_aliases() -> None:
    tags = _tags("cp311-manylinux_2_28_x86_64")
    platforms = list(dict.fromkeys(t.split("-")[2] for t in tags if t.startswith("cp311-cp311")))
    assert platforms[:2] == ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64"]
    assert platforms.index("manylinux_2_17_x86_64") + 1 == platforms.index("manylinux2014_x86_64")
    assert "manylinux1_x86_64" in platforms and "manylinux2010_x86_64" in platforms
    assert platforms[-1] == "manylinux1_x86_64"
    assert "manylinux_2_29_x86_64" not in platforms
    assert not any(p.startswith("linux_") for p in platforms)
    assert tags[0] == "cp311-cp311-manylinux_2_28_x86_64"
    assert "cp311-abi3-manylinux_2_17_x86_64" in tags
    assert "cp310-abi3-manylinux_2_17_x86_64" in tags
    assert "cp312-abi3-manylinux_2_17_x86_64" not in tags
    assert tags[-1] == "py30-none-any"
    assert "py3-none-any" in tags


def test_aarch64_manylinux_stops_at_2_17() -> None:
    tags = _tags("cp312-manylinux_2_28_aarch64")
    assert "cp312-cp312-manylinux2014_aarch64" in tags
    assert not any("manylinux_2_16" in t or "manylinux1" in t for t in tags)


def test_macos_goes_down_and_includes_universal2() -> None:
    tags = _tags("cp312-macosx_11_0_arm64")
    assert tags[:2] == ["cp312-cp312-macosx_11_0_arm64", "cp312-cp312-macosx_11_0_universal2"]
    assert "cp312-cp312-macosx_10_16_universal2" in tags
    assert not any("x86_64" in t for t in tags)
    x86 = _tags("cp310-macosx_10_13_x86_64")
    assert "cp310-cp310-macosx_10_9_x86_64" in x86
    assert "cp310-cp310-macosx_10_13_intel" in x86


def test_windows_and_musllinux() -> None:
    assert _tags("cp313-win_amd64")[0] == "cp313-cp313-win_amd64"
    assert not any("win32" in t for t in _tags("cp313-win_amd64"))
    musl = _tags("cp311-musllinux_1_2_x86_64")
    assert "cp311-cp311-musllinux_1_0_x86_64" in musl
    assert not any("manylinux" in t for t in musl)


@pytest.mark.parametrize(
    ("platform_id", "marker", "expected"),
    [
        ("cp311-manylinux_2_28_x86_64", 'sys_platform == "linux"', True),
        ("cp311-manylinux_2_28_x86_64", 'platform_machine == "x86_64"', True),
        ("cp311-manylinux_2_28_x86_64", 'python_version >= "3.11"', True),
        ("cp310-manylinux_2_28_x86_64", 'python_version >= "3.11"', False),
        (
            "cp312-macosx_11_0_arm64",
            'sys_platform == "darwin" and platform_machine == "arm64"',
            True,
        ),
        ("cp313-win_amd64", 'os_name == "nt" and platform_system == "Windows"', True),
        ("cp313-win_amd64", 'implementation_name == "cpython"', True),
        ("cp311-manylinux_2_28_x86_64", 'python_full_version >= "3.11.0"', True),
    ],
)
def test_marker_environment_of_a_platform_id(platform_id: str, marker: str, expected: bool) -> None:
    env = _by_id(platform_id).environment
    assert Marker(marker).evaluate(dict(env)) is expected


@pytest.mark.parametrize(
    "platform_id",
    [
        "",
        "cp311",
        "py3-manylinux_2_28_x86_64",
        "cp311-linux_x86_64",
        "cp311-solaris_2_sparc",
        "cp39-win_amd64",
    ],
)
def test_unknown_platform_ids(platform_id: str) -> None:
    with pytest.raises(UnknownPlatform) as info:
        _by_id(platform_id)
    assert info.value.code == "PLATFORM"
    assert f"platform {platform_id!r} is not one of platforms.toml's: " in str(info.value)
    assert "cp310-manylinux_2_28_x86_64, cp310-manylinux_2_28_aarch64" in str(info.value)
    assert "\n" not in info.value.one_line()


def test_find_platform_validates_the_table() -> None:
    assert find_platform(TABLE, "cp313-win_amd64", owner="this root").id == "cp313-win_amd64"
    with pytest.raises(PlatformError, match="array of strings"):
        find_platform({"python-versions": "3.11", "systems": ["win_amd64"]}, "cp311-win_amd64")
    with pytest.raises(PlatformError, match=r"3\.Y"):
        find_platform({"python-versions": ["2.7"], "systems": ["win_amd64"]}, "cp27-win_amd64")
    with pytest.raises(PlatformError, match="unknown system 'solaris_2_sparc'"):
        find_platform({"python-versions": ["3.11"], "systems": ["solaris_2_sparc"]}, "x")
    with pytest.raises(UnknownPlatform, match=r"is not one of this root's: cp311-win_amd64$"):
        find_platform(
            {"python-versions": ["3.11"], "systems": ["win_amd64"]}, "x", owner="this root"
        )


def test_a_patch_release_in_the_table_is_found_by_its_id() -> None:
    """platforms.toml may pin 3.Y.Z: its platform keeps the id cp3Y-… and the patch release
    (install's former platform-id parser refused such a table and used 3.Y.0)."""
    table = {"python-versions": ["3.11.4"], "systems": ["win_amd64"]}
    platform = find_platform(table, "cp311-win_amd64")
    assert platform.python_full_version == platform.environment["python_full_version"] == "3.11.4"
    patched = make_decl("baz-1.0-py3-none-any.whl", requires_python=">=3.11.2")
    assert select_wheel([patched], platform) is patched
