"""platforms.toml -> marker environments and pip-ordered tags; select_wheel()."""

from __future__ import annotations

import platform as _platform
import sys
from pathlib import Path

import pytest
from packaging import tags as ptags
from packaging.markers import default_environment
from packaging.tags import Tag

from tests.support.decls import make_decl, write_platforms
from wheelset.platforms import (
    PlatformError,
    expand_system,
    load_platforms,
    make_platform,
    parse_platforms,
    select_wheel,
)


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
    from wheelset.platforms import current_platform

    here = current_platform()
    assert here.tags == tuple(dict.fromkeys(ptags.sys_tags()))
    assert here.environment["python_version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    pure = make_decl("foo-1.0-py3-none-any.whl")
    assert select_wheel([pure], here) is pure
