"""Helpers shared by the tests of wheelset.ipfs: trees on disk, unreadable paths."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

import pytest

Tree = Mapping[str, "bytes | Tree"]


def write_tree(root: Path, tree: Tree) -> Path:
    """Create directories and files under ``root`` (a dict is a directory, bytes a file)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, node in tree.items():
        if isinstance(node, bytes):
            (root / name).write_bytes(node)
        else:
            write_tree(root / name, node)
    return root


def _write_only_proc_file() -> Path | None:
    for candidate in sorted(Path("/proc/sys/vm").glob("*")):
        try:
            mode = candidate.stat().st_mode
        except OSError:
            continue
        if stat.S_ISREG(mode) and not mode & 0o444:
            return candidate
    return None


@pytest.fixture
def unreadable_file(tmp_path: Path) -> Path:
    """A regular file that open() refuses with EACCES for the user running the tests.

    chmod 000 does that for ordinary users. Root reads any file regardless of its mode,
    so as root the stand-in is a write-only sysctl file (mode 0200, e.g.
    /proc/sys/vm/compact_memory), which the kernel refuses to open for reading even to
    root.
    """
    if os.geteuid() != 0:
        path = tmp_path / "secret"
        path.write_bytes(b"secret")
        path.chmod(0)
        return path
    found = _write_only_proc_file()
    if found is None:
        pytest.skip("running as root and no write-only /proc/sys/vm file to stand in")
    return found
