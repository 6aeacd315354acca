"""The cache of verified, unpacked wheels: identity-checked reuse, rehash on change, no trust
in a planted entry, hostile archives refused before anything is kept."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from tests.support.wheels import make_wheel, rewrite_wheel
from wheelset.client.unpacked import UnpackedCache, UnpackError

CID = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"


def _wheel(tmp_path: Path) -> Path:
    return make_wheel(tmp_path / "w", "demo", "1.0", files={"demo/__init__.py": b"A = 1\n"})


def test_an_entry_is_reused_by_identity_and_rehashed_when_it_changes(tmp_path: Path) -> None:
    cache = UnpackedCache(tmp_path / "cache")
    wheel = cache.unpack(CID, _wheel(tmp_path), "demo-1.0-py3-none-any.whl")
    module = Path(wheel.tree) / "demo" / "__init__.py"
    assert module.read_bytes() == b"A = 1\n"
    assert {f.path for f in wheel.files} == {
        "demo/__init__.py",
        "demo-1.0.dist-info/METADATA",
        "demo-1.0.dist-info/WHEEL",
    }
    assert cache.get(CID) == wheel

    # Same size, mtime and inode: trusted without reading (this is what makes it fast).
    st = module.stat()
    with open(module, "r+b") as f:
        f.write(b"B")
    os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.get(CID) is not None

    # A new mtime: rehashed; the wrong content discards the entry.
    os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cache.get(CID) is None
    assert not (tmp_path / "cache" / "unpacked" / str(CID)).exists()

    # Touched but unchanged: rehashed once, kept, and its new identity recorded.
    wheel = cache.unpack(CID, _wheel(tmp_path), "demo-1.0-py3-none-any.whl")
    os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns + 2 * 10**9))
    assert cache.get(CID) is not None
    entry = json.loads((tmp_path / "cache" / "unpacked" / str(CID) / "entry.json").read_text())
    row = next(r for r in entry["files"] if r[0] == "demo/__init__.py")
    assert row[5] == module.stat().st_mtime_ns  # path, hash, size, executable, size, mtime, inode


@pytest.mark.parametrize("planted", [b"", b"{}", b"not json", None])
def test_a_planted_or_foreign_entry_proves_nothing(tmp_path: Path, planted: bytes | None) -> None:
    cache = UnpackedCache(tmp_path / "cache")
    entry = tmp_path / "cache" / "unpacked" / str(CID)
    if planted is None:  # a real entry of another wheel, renamed to this CID
        other = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        cache.unpack(other, _wheel(tmp_path), "demo-1.0-py3-none-any.whl")
        os.rename(tmp_path / "cache" / "unpacked" / str(other), entry)
    else:
        (entry / "tree").mkdir(parents=True)
        (entry / "entry.json").write_bytes(planted)
    assert cache.get(CID) is None
    assert not entry.exists()


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}\n"


def _with_member(tmp_path: Path, name: str, data: bytes, *, in_record: bool = True) -> Path:
    src = _wheel(tmp_path)
    with zipfile.ZipFile(src) as zf:
        record = zf.read("demo-1.0.dist-info/RECORD").decode()
    if in_record:
        record = _record_line(name, data) + record
    (tmp_path / "bad").mkdir(exist_ok=True)
    return rewrite_wheel(
        src,
        tmp_path / "bad" / src.name,
        replace={"demo-1.0.dist-info/RECORD": record.encode()},
        add={name: data},
    )


@pytest.mark.parametrize(
    ("member", "in_record", "message"),
    [
        ("../evil.py", True, "has an unsafe path"),
        ("/abs/evil.py", True, "has an unsafe path"),
        ("demo/../../evil.py", True, "has an unsafe path"),
        ("demo/extra.py", False, "is not in RECORD"),
        ("demo-1.0.data/elsewhere/x", True, "is not in a known .data scheme"),
    ],
)
def test_hostile_members_are_refused_and_nothing_is_kept(
    tmp_path: Path, member: str, in_record: bool, message: str
) -> None:
    bad = _with_member(tmp_path, member, b"print('owned')\n", in_record=in_record)
    cache = UnpackedCache(tmp_path / "cache")
    with pytest.raises(UnpackError, match=message):
        cache.unpack(CID, bad, bad.name)
    assert list((tmp_path / "cache" / "unpacked").iterdir()) == []
    assert not (tmp_path / "evil.py").exists()


def test_a_lying_record_and_a_symlink_member_are_refused(tmp_path: Path) -> None:
    src = _wheel(tmp_path)
    for sub in ("lying", "link"):
        (tmp_path / sub).mkdir()
    lying = rewrite_wheel(
        src, tmp_path / "lying" / src.name, replace={"demo/__init__.py": b"A = 2\n"}
    )
    cache = UnpackedCache(tmp_path / "cache")
    with pytest.raises(UnpackError, match=r"demo/__init__\.py does not match its RECORD"):
        cache.unpack(CID, lying, lying.name)
    link = zipfile.ZipInfo("demo/link.py")
    link.external_attr = (0o120777) << 16
    with zipfile.ZipFile(src) as zf:
        record = zf.read("demo-1.0.dist-info/RECORD").decode()
    symlinked = rewrite_wheel(
        src,
        tmp_path / "link" / src.name,
        replace={
            "demo-1.0.dist-info/RECORD": (_record_line("demo/link.py", b"target") + record).encode()
        },
        add_info=[link],
    )
    with pytest.raises(UnpackError, match="is a symbolic link"):
        cache.unpack(CID, symlinked, symlinked.name)
    assert list((tmp_path / "cache" / "unpacked").iterdir()) == []


def test_a_decompression_bomb_is_refused_before_it_is_written(tmp_path: Path) -> None:
    bomb = _with_member(tmp_path, "demo/zeros.bin", bytes(300 << 20))
    assert bomb.stat().st_size < 2 << 20
    cache = UnpackedCache(tmp_path / "cache")
    with pytest.raises(UnpackError, match="unpacks to more than 100x its size"):
        cache.unpack(CID, bomb, bomb.name)
    assert list((tmp_path / "cache" / "unpacked").iterdir()) == []


def test_a_killed_unpack_is_removed_by_the_next_one(tmp_path: Path) -> None:
    stale = tmp_path / "cache" / "unpacked" / f".tmp-999999999-{CID}"
    (stale / "tree").mkdir(parents=True)
    live = tmp_path / "cache" / "unpacked" / f".tmp-{os.getpid()}-other"
    live.mkdir()
    UnpackedCache(tmp_path / "cache").unpack(CID, _wheel(tmp_path), "demo-1.0-py3-none-any.whl")
    assert not stale.exists() and live.exists()
