"""Files are never half-written: write a temp file in the same directory, then rename.

Temp files are named ``.<target name>.<pid>-<random>.wheelset-tmp`` (is_temp_name()), so that
loaders and checks recognise and skip them, and so that a temp file left by a killed
process (kill -9 runs no cleanup) can be told from one still being written: the first
time a process makes a temp file in a directory, it removes the ones there whose process
is gone. Any other exit removes the temp file on the way out. Scratch directories
(scratch_directory(): a build's spools) carry their process's id the same way.
"""

from __future__ import annotations

import contextlib
import os
import threading

TYPE_CHECKING = False  # pathlib is not loaded on the no-op and warm install paths
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from typing import BinaryIO

__all__ = [
    "TEMP_SUFFIX",
    "atomic_write_bytes",
    "atomic_write_text",
    "current_umask",
    "is_temp_name",
    "make_temp",
    "remove_stale_temps",
    "replacing",
    "scratch_directory",
    "temp_writer",
]

TEMP_SUFFIX = ".wheelset-tmp"
_swept: set[str] = set()  # directories this process has already cleaned
_swept_lock = threading.Lock()


def current_umask() -> int:
    """The process umask (reading it means setting it; set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def is_temp_name(name: str) -> bool:
    """Whether ``name`` (a file name, no directory) is one of make_temp()'s temp files."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def _owner_alive(name: str) -> bool:
    return _alive(name[: -len(TEMP_SUFFIX)].rsplit(".", 1)[-1].split("-", 1)[0])


def _alive(pid_text: str) -> bool:
    """Whether the process of this id (text) may still run; not digits: no process."""
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # a process of another user: alive
    return True


def remove_stale_temps(directory: str | Path) -> None:
    """Remove temp files in ``directory`` (not below it) whose process has ended."""
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            if is_temp_name(entry.name) and not _owner_alive(entry.name):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


@contextlib.contextmanager
def scratch_directory(prefix: str) -> Iterator[str]:
    """A private directory ``<temp dir>/<prefix><pid>-<random>`` for one run's scratch
    files, removed on the way out. Ones whose process has ended (killed with -9, which
    runs no cleanup; a build's spools can be gigabytes) are removed first."""
    import shutil
    import tempfile

    base = tempfile.gettempdir()
    with contextlib.suppress(OSError), os.scandir(base) as entries:
        for entry in entries:
            pid, dash, _ = entry.name[len(prefix) :].partition("-")
            if entry.name.startswith(prefix) and dash and pid.isdigit() and not _alive(pid):
                shutil.rmtree(entry.path, ignore_errors=True)
    path = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=base)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def make_temp(directory: Path, name: str) -> tuple[int, Path]:
    """A new temp file (fd, path) for ``directory/name``, mode 0600; stale ones swept first."""
    from pathlib import Path

    fd, tmp = _temp(directory, name)
    return fd, Path(tmp)


def _temp(directory: str | Path, name: str) -> tuple[int, str]:
    key = os.path.abspath(directory)
    with _swept_lock:
        sweep = key not in _swept
        _swept.add(key)
    if sweep:
        remove_stale_temps(directory)
    # As tempfile.mkstemp, which is not imported for this: the install paths that write a
    # record would load it (and shutil, bz2, lzma, random) for this one call.
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        tmp = os.path.join(
            os.path.abspath(directory), f".{name}.{os.getpid()}-{os.urandom(6).hex()}{TEMP_SUFFIX}"
        )
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue


@contextlib.contextmanager
def temp_writer(directory: Path, name: str) -> Iterator[tuple[BinaryIO, Path]]:
    """A new temp file for ``directory/name`` (the directory made if need be), open for
    writing, and its path; removed when the block ends unless it was moved away."""
    os.makedirs(directory, exist_ok=True)
    fd, tmp = make_temp(directory, name)
    try:
        with os.fdopen(fd, "wb") as sink:
            yield sink, tmp
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def replacing(target: str | Path) -> Iterator[str]:
    """The path of a new temp file beside ``target``, to write; when the block ends
    without an error it replaces ``target`` (with the mode open() gives), else it is
    removed. Readers see the old file or the new one, never a part of it."""
    parent, name = os.path.split(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    fd, tmp = _temp(parent, name)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())  # made 0600, as mkstemp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write ``data`` so readers see the old file or the new one, never a part of it."""
    with replacing(target) as tmp, open(tmp, "wb") as f:
        f.write(data)


def atomic_write_text(target: str | Path, text: str) -> None:
    """atomic_write_bytes() of UTF-8 text with Unix newlines."""
    atomic_write_bytes(target, text.encode("utf-8"))
