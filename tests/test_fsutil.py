"""Temp files of atomic writes: recognised by loaders, cleaned by the next run after a kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.decls import write_decl, write_platforms
from tests.support.hostile import hostile_server
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


def test_sigterm_removes_the_temp_file_of_a_download(tmp_path: Path) -> None:
    wheel = "demo-1.0-py3-none-any.whl"
    (tmp_path / "declarations").mkdir()
    env = {**os.environ, "WHEELSET_CACHE_DIR": str(tmp_path / "cache")}
    into = ["--into", str(tmp_path / "declarations")]
    with hostile_server({f"/{wheel}": ("drip", bytes(10_000))}, drip_interval=0.2) as server:
        child = subprocess.Popen(
            [sys.executable, "-m", "wheelset.cli", "declare", f"{server.url}/{wheel}", *into],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        temps: list[Path] = []
        deadline = time.monotonic() + 60
        while not temps and time.monotonic() < deadline:
            time.sleep(0.1)
            temps = [p for p in tmp_path.rglob("*") if is_temp_name(p.name)]
        assert temps, "the download never started"
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=30)
    assert child.returncode == 130 and stderr == "interrupted\n"
    assert [p for p in tmp_path.rglob("*") if is_temp_name(p.name)] == []
