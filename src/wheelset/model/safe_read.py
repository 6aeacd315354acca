"""Reading a collection's own files: regular files only, never through a symbolic link.

A collection is a Git repository anyone may send a pull request to, so its files are
untrusted: a declaration that is a symbolic link could make `check` or `build` read
``/etc/passwd``, a declaration outside the collection or ``/dev/zero``; a FIFO would block
forever. Every file of a collection (declarations, platforms.toml, policy.toml) is opened
here: without following a final symbolic link, without blocking, and read only when it
is a regular file of at most ``limit`` bytes. Entry points: UnsafeFile, read_regular().
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["FILE_LIMIT", "UnsafeFile", "read_regular"]

FILE_LIMIT = 1 << 20  # bytes; a declaration is well under 10 kB, platforms.toml smaller


class UnsafeFile(OSError):
    """The file is a symbolic link, not a regular file, or larger than allowed."""


def read_regular(path: Path | str, *, limit: int = FILE_LIMIT) -> bytes:
    """The bytes of ``path`` if it is a regular file (not a link to one) of <= ``limit``.

    Raises:
        UnsafeFile: a symbolic link, a FIFO/device/socket/directory, or too large.
        OSError: cannot be opened or read (FileNotFoundError when absent).
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if os.path.islink(path):
            raise UnsafeFile(
                "a symbolic link (not followed: collection files must be regular files)"
            ) from e
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"not a regular file ({_kind(info.st_mode)})")
        if info.st_size > limit:
            raise UnsafeFile(f"{info.st_size} bytes, over the limit of {limit}")
        # A regular file reads short only at its end: a file that is the size fstat gave
        # takes one read(), not two; one that grew meanwhile is read on to the limit.
        chunks = []
        remaining = limit + 1
        while remaining > 0:
            wanted = min(remaining, max(info.st_size + 1, 1 << 16))
            chunk = os.read(fd, wanted)
            chunks.append(chunk)
            remaining -= len(chunk)
            if len(chunk) < wanted:
                break
        data = b"".join(chunks)
        if len(data) > limit:
            raise UnsafeFile(f"over the limit of {limit} bytes")
        return data
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"
