"""Crafted hostile wheels are each rejected with their own problem code."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from tests.support.wheels import make_wheel
from wheelset.trust.wheel_validity import validate_wheel


def _codes(path: Path, filename: str | None = None) -> set[str]:
    return {p.code for p in validate_wheel(path, filename or path.name)}


def _rewrite(
    src: Path,
    dst: Path,
    *,
    replace: dict[str, bytes] | None = None,
    add: dict[str, bytes] | None = None,
    add_info: list[zipfile.ZipInfo] | None = None,
) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = (replace or {}).get(info.filename, zin.read(info))
            zout.writestr(info, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
        for info in add_info or []:
            zout.writestr(info, b"target")
    return dst


def test_good_wheel_has_no_problems(tmp_path: Path) -> None:
    for tag in ["py3-none-any", "cp311-abi3-manylinux_2_28_x86_64", "cp312-cp312-win_amd64"]:
        assert _codes(make_wheel(tmp_path, "good-pkg", "1.0", tag=tag)) == set()


def test_bad_record_hash(tmp_path: Path) -> None:
    good = make_wheel(tmp_path / "a", "evil", "1.0")
    bad = _rewrite(good, tmp_path / good.name, replace={"evil/__init__.py": b"import os\n"})
    assert _codes(bad) == {"WHEEL_RECORD"}


def test_unlisted_member(tmp_path: Path) -> None:
    good = make_wheel(tmp_path / "a", "evil", "1.0")
    bad = _rewrite(good, tmp_path / good.name, add={"evil/extra.py": b"x = 1\n"})
    assert _codes(bad) == {"WHEEL_RECORD"}


@pytest.mark.parametrize(
    "member", ["../evil.py", "/etc/evil", "evil/../../x.py", "C:/x.py", "evil\\..\\x.py"]
)
def test_zip_slip(tmp_path: Path, member: str) -> None:
    good = make_wheel(tmp_path / "a", "evil", "1.0")
    bad = _rewrite(good, tmp_path / good.name, add={member: b"boom"})
    assert "WHEEL_PATH" in _codes(bad)


def test_symlink_member(tmp_path: Path) -> None:
    good = make_wheel(tmp_path / "a", "evil", "1.0")
    link = zipfile.ZipInfo("evil/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    assert "WHEEL_LINK" in _codes(_rewrite(good, tmp_path / good.name, add_info=[link]))


def test_zip_bomb(tmp_path: Path) -> None:
    bomb = make_wheel(tmp_path, "bomb", "1.0", files={"bomb/zeros.bin": bytes(50 << 20)})
    assert _codes(bomb) == {"WHEEL_BOMB"}


def test_mismatched_tags(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "a", "liar", "1.0", tag="cp311-cp311-win_amd64")
    renamed = tmp_path / "liar-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"
    wheel.rename(renamed)
    assert _codes(renamed) == {"WHEEL_TAGS"}


def test_mismatched_metadata(tmp_path: Path) -> None:
    metadata = "Metadata-Version: 2.1\nName: requests\nVersion: 9.9\n\n"
    assert _codes(make_wheel(tmp_path, "liar", "1.0", metadata=metadata)) == {"WHEEL_METADATA"}


def test_not_a_zip(tmp_path: Path) -> None:
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    junk.write_bytes(b"PK\x03\x04 definitely not a zip")
    assert _codes(junk) == {"WHEEL_ZIP"}
