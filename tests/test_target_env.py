"""Platform ids -> marker environments and pip-ordered tags."""

from __future__ import annotations

import pytest
from packaging.markers import Marker
from packaging.tags import Tag, sys_tags

from wheelset.target_env import (
    InvalidPlatformId,
    iter_platform_ids,
    running_target,
    target_for_platform_id,
)


def _tags(platform_id: str) -> list[str]:
    return [str(t) for t in target_for_platform_id(platform_id).tags]


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
def test_marker_environment(platform_id: str, marker: str, expected: bool) -> None:
    env = target_for_platform_id(platform_id).env
    assert Marker(marker).evaluate(dict(env)) is expected


@pytest.mark.parametrize(
    "platform_id",
    ["", "cp311", "py3-manylinux_2_28_x86_64", "cp311-linux_x86_64", "cp311-solaris_2_sparc"],
)
def test_invalid_platform_ids(platform_id: str) -> None:
    with pytest.raises(InvalidPlatformId) as info:
        target_for_platform_id(platform_id)
    assert info.value.code == "PLATFORM"


def test_iter_platform_ids() -> None:
    table = {"python-versions": ["3.10", "cp311"], "systems": ["win_amd64", "macosx_11_0_arm64"]}
    assert list(iter_platform_ids(table)) == [
        "cp310-win_amd64",
        "cp310-macosx_11_0_arm64",
        "cp311-win_amd64",
        "cp311-macosx_11_0_arm64",
    ]
    with pytest.raises(InvalidPlatformId):
        list(iter_platform_ids({"python-versions": "3.11", "systems": ["win_amd64"]}))
    with pytest.raises(InvalidPlatformId):
        list(iter_platform_ids({"python-versions": ["2.7"], "systems": ["win_amd64"]}))


def test_running_target_is_this_interpreter() -> None:
    target = running_target()
    assert target.tags == tuple(sys_tags())
    assert isinstance(target.tags[0], Tag)
    assert target.python_version == target.env["python_version"]
