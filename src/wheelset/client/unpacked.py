"""A cache of verified, unpacked wheels, linked into environments by `wheelset.client.install`.

``<cache>/unpacked/<wheel cid>/`` holds ``tree/`` (every member of the wheel, as in the
archive) and ``entry.json``, written last: the wheel's CID, its dist-info directory, where
its root goes (purelib or platlib) and, for every file, its RECORD hash and size and the
identity (size, mtime, inode) the file had once its content matched that hash. Unpacking
checks every member against the wheel's RECORD (hash and size, no member outside RECORD, no
absolute or ``..`` path, no link, no unknown ``.data`` scheme, bounded total size), so an
entry is a RECORD-validated wheel.

An entry is used without rehashing when every file still has its recorded identity; a file
whose identity changed (edited through a hard link, touched, replaced) is rehashed, and any
mismatch, a missing file or an entry.json that does not describe this CID discards the entry
(it is unpacked again). An empty or planted entry.json therefore proves nothing and is not
trusted. Unpacking happens in ``.tmp-<pid>-<cid>`` and is renamed into place; interrupted
unpacks are removed at once, and those of killed processes by the next unpack.
Entry points: UnpackedCache, UnpackedWheel, UnpackedFile, UnpackError.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections import namedtuple
from collections.abc import Iterator

from wheelset.client import fastjson
from wheelset.errors import UnpackError

TYPE_CHECKING = False  # typing and pathlib are not loaded on the warm install path
if TYPE_CHECKING:
    import zipfile
    from pathlib import Path
    from typing import BinaryIO

__all__ = ["UnpackError", "UnpackedCache", "UnpackedFile", "UnpackedWheel"]

_ENTRY = "entry.json"
_TREE = "tree"
_CHUNK = 1 << 20
_SCHEMES = frozenset({"purelib", "platlib", "headers", "scripts", "data"})
# A wheel may unpack to at most this many times its size plus a constant: real wheels
# compress a few times, a decompression bomb thousands of times.
_MAX_RATIO = 100
_MAX_EXTRA = 256 << 20
_MAX_MEMBERS = 200_000


class UnpackedFile(namedtuple("UnpackedFile", "path hash size executable")):
    """One file of an unpacked wheel: ``path`` (str, the member's POSIX path in the wheel),
    ``hash`` (str, as in RECORD: "<algorithm>=<urlsafe base64, no padding>"), ``size``
    (int), ``executable`` (bool)."""

    __slots__ = ()


class UnpackedWheel(namedtuple("UnpackedWheel", "cid tree dist_info root_is_purelib files")):
    """A verified wheel on disk: ``cid`` (str, the wheel's CID), ``tree`` (str, the directory
    holding ``tree/<file.path>`` for each file, RECORD itself excluded), ``dist_info`` (str,
    e.g. "foo-1.0.dist-info"), ``root_is_purelib`` (bool), ``files`` (tuple of
    UnpackedFile)."""

    __slots__ = ()

    @property
    def data_dir(self) -> str:
        return self.dist_info[: -len(".dist-info")] + ".data"


def record_hash(algorithm: str, digest: bytes) -> str:
    import base64  # (not loaded by the warm install, which hashes nothing)

    return f"{algorithm}=" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _hash_file(path: str, algorithm: str) -> str:
    import hashlib  # (not loaded by the warm install while every identity holds)

    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return record_hash(algorithm, digest.digest())


def _identity(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino]


class UnpackedCache:
    """Unpacked wheels under ``<cache dir>/unpacked``; safe for concurrent processes."""

    def __init__(self, cache_dir: str | os.PathLike[str]):
        self._directory = os.path.join(cache_dir, "unpacked")
        self._swept = False  # the temp directories of killed unpacks removed (once is enough)

    @property
    def directory(self) -> Path:
        from pathlib import Path

        return Path(self._directory)

    def get(self, cid: str) -> UnpackedWheel | None:
        """The valid entry for ``cid``, or None (an invalid entry is removed)."""
        entry = os.path.join(self._directory, cid)
        try:
            with open(os.path.join(entry, _ENTRY), "rb") as f:
                doc = fastjson.loads(f.read())
            wheel, identities = _from_doc(cid, os.path.join(entry, _TREE), doc)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            self._discard(entry)
            return None
        changed = False
        tree = wheel.tree + os.sep
        for file, identity in zip(wheel.files, identities, strict=True):
            path = tree + file.path
            try:
                st = os.lstat(path)
            except OSError:
                self._discard(entry)
                return None
            if _identity(st) == identity and stat.S_ISREG(st.st_mode):
                continue
            algorithm = file.hash.partition("=")[0]
            if not stat.S_ISREG(st.st_mode) or _hash_file(path, algorithm) != file.hash:
                self._discard(entry)
                return None
            changed = True
        if changed:  # the contents are right: record the new identities
            with contextlib.suppress(OSError):
                _write_entry(entry, wheel)
        return wheel

    def _discard(self, entry: str | Path) -> None:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(entry, _ENTRY))
        _remove_tree(entry)

    def unpack(self, cid: str, wheel: Path | BinaryIO, filename: str) -> UnpackedWheel:
        """Unpack the verified wheel of ``cid`` (a file, or its bytes in a seekable stream),
        checking every member against RECORD.

        Raises:
            UnpackError: the archive is not a valid wheel or does not match its RECORD.
            OSError: the cache cannot be written.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self._swept:
            self._swept = True
            self._remove_stale()
        work = self.directory / f".tmp-{os.getpid()}-{cid}"
        _remove_tree(work)
        try:
            opened = (
                open(wheel, "rb")  # noqa: SIM115 - closed by the with
                if isinstance(wheel, os.PathLike)
                else contextlib.nullcontext(wheel)
            )
            with opened as archive:
                unpacked, identities = _extract(cid, archive, filename, str(work / _TREE))
            _write_entry(work, unpacked, identities)
            final = self.directory / cid
            if final.exists():
                self._discard(final)
            try:
                os.rename(work, final)
            except OSError:  # another process put a valid entry there meanwhile
                _remove_tree(work)
                got = self.get(cid)
                if got is None:
                    raise
                return got
            return UnpackedWheel(cid, str(final / _TREE), unpacked.dist_info,
                                 unpacked.root_is_purelib, unpacked.files)  # fmt: skip
        except BaseException:
            _remove_tree(work)
            raise

    def _remove_stale(self) -> None:
        """Drop the temp directories of unpacks whose process is gone (killed)."""
        for child in self.directory.iterdir():
            if not child.name.startswith(".tmp-"):
                continue
            pid = child.name.split("-")[1]
            if pid.isdigit() and not _alive(int(pid)):
                _remove_tree(child)


def _remove_tree(path: str | Path) -> None:
    import shutil  # not loaded by the warm install, which never removes an entry

    shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_entry(
    entry: str | Path, wheel: UnpackedWheel, identities: list[list[int]] | None = None
) -> None:
    """Write ``entry.json``; ``identities``: each file's as it was written (else looked up)."""
    if identities is None:
        tree = os.path.join(entry, _TREE)
        identities = [_identity(os.lstat(os.path.join(tree, f.path))) for f in wheel.files]
    files = [
        [file.path, file.hash, file.size, file.executable, *identity]
        for file, identity in zip(wheel.files, identities, strict=True)
    ]
    doc = {
        "cid": str(wheel.cid),
        "dist_info": wheel.dist_info,
        "root_is_purelib": wheel.root_is_purelib,
        "files": files,
    }
    tmp = os.path.join(entry, f".{_ENTRY}.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(fastjson.dumps(doc, compact=True))
    os.replace(tmp, os.path.join(entry, _ENTRY))


def _from_doc(cid: str, tree: str, doc: dict) -> tuple[UnpackedWheel, list[list[int]]]:
    if doc["cid"] != cid or not isinstance(doc["files"], list) or not doc["files"]:
        raise ValueError("entry.json does not describe this wheel")
    files = []
    identities = []
    for path, hash_, size, executable, *identity in doc["files"]:
        if not isinstance(path, str) or not _safe_member(path) or len(identity) != 3:
            raise ValueError("bad file row")
        files.append(UnpackedFile(path, str(hash_), int(size), bool(executable)))
        identities.append([int(i) for i in identity])
    dist_info = str(doc["dist_info"])
    return UnpackedWheel(cid, tree, dist_info, bool(doc["root_is_purelib"]), tuple(files)), (
        identities
    )


def _safe_member(name: str) -> bool:
    parts = name.split("/")
    return (
        bool(name)
        and not name.startswith("/")
        and "\\" not in name
        and "\0" not in name
        and ":" not in parts[0]
        and all(part not in ("", ".", "..") for part in parts)
    )


def _record(zf: zipfile.ZipFile, filename: str, dist_info: str) -> dict[str, tuple[str, int]]:
    """The wheel's RECORD (PEP 376 CSV rows: path, ``algorithm=digest``, size) as path ->
    (hash, size); every file but RECORD itself must have a hash of a guaranteed, unbroken
    algorithm and a size."""
    import csv
    import hashlib

    try:
        text = zf.read(f"{dist_info}/RECORD").decode("utf-8")
    except (KeyError, UnicodeDecodeError) as e:
        raise UnpackError(f"unreadable RECORD ({e})", path=filename) from e
    record: dict[str, tuple[str, int]] = {}
    try:
        rows = list(csv.reader(text.splitlines(), delimiter=",", quotechar='"'))
    except csv.Error as e:
        raise UnpackError(f"unreadable RECORD ({e})", path=filename) from e
    for number, row in enumerate(rows, 1):
        if len(row) != 3 or not row[0]:
            raise UnpackError(
                f"unreadable RECORD (row {number} is not path,hash,size)", path=filename
            )
        path, hash_, size = row[0].replace("\\", "/"), row[1], row[2]
        if path == f"{dist_info}/RECORD":
            continue
        algorithm, eq, digest = hash_.partition("=")
        if not eq or not digest or not size:
            raise UnpackError(f"RECORD gives no hash or size for {path}", path=filename)
        if algorithm not in hashlib.algorithms_guaranteed or algorithm in ("md5", "sha1"):
            raise UnpackError(f"RECORD uses {algorithm} for {path}", path=filename)
        try:
            record[path] = (hash_, int(size))
        except ValueError:
            raise UnpackError(
                f"unreadable RECORD (size {size!r} of {path})", path=filename
            ) from None
    return record


def _dist_info(zf: zipfile.ZipFile, filename: str) -> str:
    tops = {name.split("/", 1)[0] for name in zf.namelist()}
    found = [t for t in tops if t.endswith(".dist-info")]
    if len(found) != 1:
        raise UnpackError("not exactly one .dist-info directory", path=filename)
    from packaging.utils import canonicalize_name

    project = filename.split("-", 1)[0]
    if canonicalize_name(found[0][: -len(".dist-info")].rsplit("-", 1)[0]) != canonicalize_name(
        project
    ):
        raise UnpackError(
            f"its .dist-info directory {found[0]} names another project", path=filename
        )
    return found[0]


def _extract(
    cid: str, archive: BinaryIO, filename: str, tree: str
) -> tuple[UnpackedWheel, list[list[int]]]:
    """The wheel (the seekable ``archive``) unpacked into ``tree``, checked, and the identity
    of each file written."""
    import zipfile

    try:
        archive_size = archive.seek(0, os.SEEK_END)
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise UnpackError(f"not a zip archive ({e})", path=filename) from e
    with zf:
        dist_info = _dist_info(zf, filename)
        record = _record(zf, filename, dist_info)
        data_dir = dist_info[: -len(".dist-info")] + ".data"
        members = [i for i in zf.infolist() if not i.is_dir()]
        if len(members) > _MAX_MEMBERS:
            raise UnpackError(f"more than {_MAX_MEMBERS} members", path=filename)
        budget = _MAX_RATIO * archive_size + _MAX_EXTRA
        files: list[UnpackedFile] = []
        identities: list[list[int]] = []
        seen: set[str] = set()
        made: set[str] = set()
        for info in members:
            name = info.filename
            if name in (
                f"{dist_info}/RECORD",
                f"{dist_info}/RECORD.jws",
                f"{dist_info}/RECORD.p7s",
            ):
                continue  # RECORD is written anew at install; signatures sign the old one
            problem = _member_problem(info, name, seen, record, data_dir)
            if problem:
                raise UnpackError(f"member {name!r} {problem}", path=filename)
            seen.add(name)
            if "__pycache__" in name.split("/")[:-1]:
                continue  # as installers do: never install bytecode shipped in a wheel
            expected_hash, size = record[name]
            budget -= size
            if budget < 0:
                raise UnpackError(f"unpacks to more than {_MAX_RATIO}x its size", path=filename)
            target = f"{tree}/{name}"
            parent = os.path.dirname(target)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            algorithm = expected_hash.partition("=")[0]
            mode = info.external_attr >> 16
            executable = bool(mode & 0o111) and stat.S_ISREG(mode)
            got_hash, got_size, identity = _copy(
                zf, info, target, algorithm, size, 0o755 if executable else 0o644
            )
            if got_size != size or got_hash != expected_hash:
                raise UnpackError(f"{name} does not match its RECORD entry", path=filename)
            files.append(UnpackedFile(name, expected_hash, size, executable))
            identities.append(identity)
        missing = sorted(set(record) - seen)
        if missing:
            raise UnpackError(
                f"RECORD lists {missing[0]}, which is not in the wheel", path=filename
            )
        try:
            wheel_meta = zf.read(f"{dist_info}/WHEEL").decode("utf-8")
        except (KeyError, UnicodeDecodeError) as e:
            raise UnpackError(f"no readable {dist_info}/WHEEL", path=filename) from e
    fields = dict(line.split(":", 1) for line in wheel_meta.splitlines() if ":" in line)
    version = fields.get("Wheel-Version", "").strip()
    if not version.startswith("1."):
        raise UnpackError(f"Wheel-Version {version or '?'} is not 1.x", path=filename)
    purelib = fields.get("Root-Is-Purelib", "").strip().lower() == "true"
    return UnpackedWheel(cid, tree, dist_info, purelib, tuple(files)), identities


def _member_problem(
    info: zipfile.ZipInfo,
    name: str,
    seen: set[str],
    record: dict[str, tuple[str, int]],
    data_dir: str,
) -> str | None:
    if not _safe_member(name):
        return "has an unsafe path"
    if name in seen:
        return "appears twice"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link"
    if name not in record:
        return "is not in RECORD"
    if name.startswith(f"{data_dir}/"):
        parts = name.split("/")
        if len(parts) < 3 or parts[1] not in _SCHEMES:
            return "is not in a known .data scheme"
    return None


def _copy(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: str, algorithm: str, size: int, mode: int
) -> tuple[str, int, list[int]]:
    """Write one member with ``mode``, hashing it; stop reading one byte past the RECORD
    size. Its hash, size and the identity the file has once written."""
    import hashlib

    digest = hashlib.new(algorithm)
    written = 0
    with zf.open(info) as source, open(target, "xb") as out:
        for chunk in _chunks(source, size + 1):
            digest.update(chunk)
            out.write(chunk)
            written += len(chunk)
        out.flush()  # the last write sets the modification time the identity holds
        os.fchmod(out.fileno(), mode)
        identity = _identity(os.fstat(out.fileno()))
    return record_hash(algorithm, digest.digest()), written, identity


def _chunks(source, limit: int) -> Iterator[bytes]:
    left = limit
    while left > 0:
        chunk = source.read(min(_CHUNK, left))
        if not chunk:
            return
        left -= len(chunk)
        yield chunk
