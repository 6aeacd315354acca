"""Crafted hostile wheels are each rejected with their own problem code."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.wheels import make_wheel, rewrite_wheel
from wheelset.cli import app
from wheelset.model.wheel_validity import validate_wheel


def _codes(path: Path, filename: str | None = None) -> set[str]:
    return {p.code for p in validate_wheel(path, filename or path.name)}


def test_good_wheel_has_no_problems(tmp_path: Path) -> None:
    for tag in ["py3-none-any", "cp311-abi3-manylinux_2_28_x86_64", "cp312-cp312-win_amd64"]:
        assert _codes(make_wheel(tmp_path, "good-pkg", "1.0", tag=tag)) == set()


def test_bad_record_hash(tmp_path: Path) -> None:
    good = make_wheel(tmp_path / "a", "evil", "1.0")
    bad = rewrite_wheel(good, tmp_path / good.name, replace={"evil/__init__.py": b"import os\n"})
    assert _codes(bad) == {"RECORD"}


def test_unlisted_member(tmp_path: Path) -> None:
    good = make_wheel(tmp_path / "a", "evil", "1.0")
    bad = rewrite_wheel(good, tmp_path / good.name, add={"evil/extra.py": b"x = 1\n"})
    assert _codes(bad) == {"RECORD"}


@pytest.mark.parametrize(
    "member", ["../evil.py", "/etc/evil", "evil/../../x.py", "C:/x.py", "evil\\..\\x.py"]
)
def test_zip_slip(tmp_path: Path, member: str) -> None:
    good = make_wheel(tmp_path / "a", "evil", "1.0")
    bad = rewrite_wheel(good, tmp_path / good.name, add={member: b"boom"})
    assert "UNSAFE-PATH" in _codes(bad)


def test_symlink_member(tmp_path: Path) -> None:
    good = make_wheel(tmp_path / "a", "evil", "1.0")
    link = zipfile.ZipInfo("evil/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    assert "UNSAFE-LINK" in _codes(rewrite_wheel(good, tmp_path / good.name, add_info=[link]))


def test_zip_bomb(tmp_path: Path) -> None:
    bomb = make_wheel(tmp_path, "bomb", "1.0", files={"bomb/zeros.bin": bytes(50 << 20)})
    assert _codes(bomb) == {"ZIP-BOMB"}


def test_padded_shared_library_is_not_a_bomb(tmp_path: Path) -> None:
    # Shared libraries aligned to 2 MiB pages are mostly zeros (Pillow's libXau: 224x).
    library = b"\x7fELF" + bytes(2 << 20)
    wheel = make_wheel(tmp_path, "padded", "1.0", files={"padded.libs/libx.so.6": library})
    assert _codes(wheel) == set()


def test_mismatched_tags(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "a", "liar", "1.0", tag="cp311-cp311-win_amd64")
    renamed = tmp_path / "liar-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"
    wheel.rename(renamed)
    assert _codes(renamed) == {"TAGS-MISMATCH"}


def test_mismatched_metadata(tmp_path: Path) -> None:
    metadata = "Metadata-Version: 2.1\nName: requests\nVersion: 9.9\n\n"
    assert _codes(make_wheel(tmp_path, "liar", "1.0", metadata=metadata)) == {"METADATA-MISMATCH"}


def test_not_a_zip(tmp_path: Path) -> None:
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    junk.write_bytes(b"PK\x03\x04 definitely not a zip")
    assert _codes(junk) == {"NOT-WHEEL"}


def _hostile(tmp_path: Path, kind: str) -> Path:
    good = make_wheel(tmp_path / "src", "evil", "1.0")
    out = tmp_path / "hostile"
    out.mkdir()
    if kind == "RECORD":
        return rewrite_wheel(good, out / good.name, replace={"evil/__init__.py": b"import os\n"})
    if kind == "UNSAFE-PATH":
        return rewrite_wheel(good, out / good.name, add={"../../evil.pth": b"import os"})
    if kind == "ZIP-BOMB":
        return make_wheel(out, "evil", "1.0", files={"evil/zeros.bin": bytes(50 << 20)})
    if kind == "TAGS-MISMATCH":
        wheel = make_wheel(tmp_path / "t", "evil", "1.0", tag="cp311-cp311-win_amd64")
        return wheel.rename(out / "evil-1.0-cp311-cp311-manylinux_2_28_x86_64.whl")
    metadata = "Metadata-Version: 2.1\nName: requests\nVersion: 1.0\n\n"
    return make_wheel(out, "evil", "1.0", metadata=metadata)


@pytest.mark.parametrize(
    "kind", ["RECORD", "UNSAFE-PATH", "ZIP-BOMB", "TAGS-MISMATCH", "METADATA-MISMATCH"]
)
def test_declare_refuses_hostile_wheels(tmp_path: Path, kind: str) -> None:
    wheel = _hostile(tmp_path, kind)
    root = tmp_path / "declarations"
    result = CliRunner().invoke(
        app,
        ["declare", str(wheel), "--into", str(root), "--no-cache"],
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and f" {kind} " in lines[0]
    assert not root.exists() or not any(root.rglob("*.toml"))
