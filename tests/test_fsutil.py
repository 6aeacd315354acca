"""Temp files of atomic writes: recognised by loaders, cleaned by the next run after a kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.decls import write_decl, write_platforms
from wheelset.fsutil import atomic_write_text, is_temp_name, make_temp, remove_stale_temps
from wheelset.model.collection import load_collection

# A child that starts an atomic write of a declaration and is killed before the rename.
_KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from wheelset.fsutil import make_temp
make_temp(Path(sys.argv[1]), "tomli-2.0.1-py3-none-any.toml")
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed_write(directory: Path) -> Path:
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(directory)], check=False)
    assert done.returncode == -signal.SIGKILL
    (left,) = [p for p in directory.iterdir() if is_temp_name(p.name)]
    return left


def test_a_killed_writers_temp_file_is_ignored_then_swept(tmp_path: Path) -> None:
    write_platforms(tmp_path)
    rel = write_decl(tmp_path, "tomli-2.0.1-py3-none-any.whl")
    project = tmp_path / Path(*rel.parts).parent
    left = _killed_write(project)
    assert left.stat().st_size == 0 and left.stat().st_mode & 0o777 == 0o600
    collection = load_collection(tmp_path)
    assert collection.ok, collection.findings  # the loader skips it: no STRAY, no TOML finding
    assert [d.path for d in collection.declarations] == [rel]
    # The next write in that directory removes what the dead process left.
    atomic_write_text(project / "other.txt", "x")
    assert not left.exists()
    assert sorted(p.name for p in project.iterdir()) == ["other.txt", Path(rel).name]


def test_a_live_writers_temp_file_is_kept(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        fd, mine = make_temp(tmp_path, "a.toml")
        os.close(fd)
        theirs = tmp_path / f".b.toml.{sleeper.pid}-abc.wheelset-tmp"
        theirs.touch()
        (tmp_path / "sub").mkdir()
        atomic_write_text(tmp_path / "sub" / "c.toml", "x")  # another directory: no sweep here
        remove_stale_temps(tmp_path)
        assert mine.exists() and theirs.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    remove_stale_temps(tmp_path)
    assert mine.exists() and not theirs.exists()


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "x.toml"
    (target / "inside").mkdir(parents=True)  # a file cannot replace a non-empty directory
    with pytest.raises(OSError):
        atomic_write_text(target, "x")
    assert [p.name for p in tmp_path.iterdir()] == ["x.toml"]
