"""Reading wheels: digests in one pass, METADATA via pkginfo, WHEEL tags, RECORD hashes."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.wheels import make_metadata, make_wheel
from wheelset.fetch import NotAWheelError
from wheelset.ipfs.importer import digest_stream, import_bytes
from wheelset.model.wheelfile import declaration_for, not_a_wheel_format, read_wheel, sdist_version


def test_digest_is_cid_sha256_and_size(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", files={"demo/big.bin": bytes(range(256)) * 4000})
    data = wheel.read_bytes()
    with wheel.open("rb") as f:
        digest = digest_stream(f)
    assert digest.sha256 == hashlib.sha256(data).hexdigest()
    assert digest.size == len(data)
    assert digest.content_id == import_bytes(data).cid


def test_read_and_declare(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "Demo.Pkg",
        "1.0",
        tag="cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
        requires_dist=["six>=1", 'PySocks!=1.5.7; extra == "socks"'],
        extras=["Socks", "socks"],
        requires_python=">=3.8, !=3.9.*",
    )
    metadata = read_wheel(wheel, wheel.name)
    assert (metadata.name, str(metadata.version)) == ("demo-pkg", "1.0")
    assert metadata.extras == ("socks",)
    assert metadata.dependencies == ("six>=1", 'PySocks!=1.5.7; extra == "socks"')
    with wheel.open("rb") as f:
        digest = digest_stream(f)
    decl = declaration_for(wheel.name, digest, metadata, f"index:{wheel.name}")
    assert str(decl.path) == f"14/demo-pkg/{wheel.name[:-4]}.toml"
    assert decl.sha256 == digest.sha256 and decl.size == digest.size
    assert decl.requires_python == metadata.requires_python


def test_metadata_must_match_the_file_name(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", metadata=make_metadata("other", "1.0"))
    with pytest.raises(NotAWheelError) as info:
        read_wheel(wheel, wheel.name)
    assert info.value.code == "METADATA-MISMATCH"
    wheel = make_wheel(tmp_path / "v", "demo", "1.0", metadata=make_metadata("demo", "1.1"))
    with pytest.raises(NotAWheelError, match=r"METADATA Version .1\.1. is not 1\.0"):
        read_wheel(wheel, wheel.name)


def test_wheel_tags_must_match_the_file_name(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", tag="cp311-cp311-win_amd64")
    renamed = wheel.with_name("demo-1.0-py3-none-any.whl")
    wheel.rename(renamed)
    with pytest.raises(NotAWheelError) as info:
        read_wheel(renamed, renamed.name)
    assert info.value.code == "TAGS-MISMATCH" and "WHEEL tags" in str(info.value)


def test_record_hashes_are_checked(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0")
    tampered = tmp_path / "t" / wheel.name
    tampered.parent.mkdir()
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, b"evil = 1\n" if info.filename == "demo/__init__.py" else data)
    with pytest.raises(NotAWheelError) as info:
        read_wheel(tampered, tampered.name)
    assert info.value.code == "RECORD"


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("demo-1.0-py3-none-any.whl", b"<html>not found</html>", "not a zip"),
        ("demo-1.0.tar.gz", b"", "source distribution"),
        ("demo-1.0.tar.xz", b"", "source distribution"),
        ("demo-1.0-py3.8.egg", b"", "an egg"),
        ("demo-1.0.whl", b"", "invalid wheel file name"),
    ],
)
def test_not_a_wheel(tmp_path: Path, name: str, content: bytes, fragment: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(NotAWheelError, match=fragment):
        read_wheel(path, name)


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        (
            "demo-1.0.tar.gz",
            None,
            "a source distribution, not a wheel; wheelset declares wheels only: build one "
            "(`pip wheel --no-deps demo-1.0.tar.gz`, or `python -m build --wheel` in its source "
            "tree) and declare the .whl",
        ),
        ("demo-1.0.zip", "https://127.0.0.1/x/demo-1.0.zip", "pip wheel --no-deps https://"),
        ("demo-1.0.tgz", "dist/demo-1.0.tgz", "`pip wheel --no-deps dist/demo-1.0.tgz`"),
        ("demo-1.0.tar.bz2", None, "a source distribution, not a wheel"),
        ("demo-1.0.tar", None, "a source distribution, not a wheel"),
        ("demo-1.0-py3.8.egg", "https://127.0.0.1/demo-1.0-py3.8.egg", "`wheel convert demo-1"),
        (
            "demo-1.0-py3.8.egg",
            None,
            "an egg, not a wheel; wheelset declares wheels only: convert it "
            "(`wheel convert demo-1.0-py3.8.egg`) and declare the .whl",
        ),
    ],
)
def test_other_formats_are_refused_saying_what_to_do(
    name: str, source: str | None, expected: str
) -> None:
    assert expected in (not_a_wheel_format(name, source) or "")


@pytest.mark.parametrize("name", ["demo-1.0-py3-none-any.whl", "demo-1.0.whl", "demo", "x.toml"])
def test_other_names_are_not_refused_as_other_formats(name: str) -> None:
    assert not_a_wheel_format(name) is None


def test_read_wheel_names_the_file_it_refuses(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0.tar.gz"
    path.write_bytes(b"")
    with pytest.raises(NotAWheelError) as info:
        read_wheel(path, path.name)
    assert info.value.one_line() == (
        "demo-1.0.tar.gz: NOT-WHEEL " + (not_a_wheel_format("demo-1.0.tar.gz") or "")
    )


def test_no_metadata(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("demo/__init__.py", "")
    with pytest.raises(NotAWheelError, match=r"no \*\.dist-info"):
        read_wheel(path, path.name)


@pytest.mark.parametrize(
    ("filename", "version"),
    [
        ("Demo_Pkg-1.0.tar.gz", "1.0"),
        ("demo-pkg-2.0rc1.zip", "2.0rc1"),
        ("demo.pkg-3.1.tar.bz2", "3.1"),  # any archive pip builds from, not only .tar.gz/.zip
        ("demo-pkg-4.tgz", "4"),
        ("demo-pkg-1.0-py3-none-any.whl", None),
        ("other-1.0.tar.gz", None),
        ("demo-pkg-notaversion.tar.gz", None),
        ("demo-pkg.tar.gz", None),
    ],
)
def test_sdist_version_reads_any_sdist_of_the_project(filename: str, version: str | None) -> None:
    expected = Version(version) if version is not None else None
    assert sdist_version(filename, canonicalize_name("demo-pkg")) == expected
