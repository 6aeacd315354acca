"""A bug (an exception no library call should let through) still ends in one line, exit 1,
on both ways into a command: the fast path and the typer app; --debug shows the traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.decls import write_decl, write_platforms

# The real console entry point, with the build stage broken as a bug would break it.
_RUN = """
import sys
import wheelset.build.stage as stage

def broken(*args, **kwargs):
    raise TypeError("'NoneType' object is not subscriptable")

stage.build_collection = broken
from wheelset.cli import main

sys.argv = ["wheelset", *sys.argv[1:]]
main()
"""


def _wheelset(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _RUN, *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("extra", [[], ["--with-metadata"]], ids=["fast path", "typer app"])
def test_a_bug_is_one_line_and_exit_1(tmp_path: Path, extra: list[str]) -> None:
    write_platforms(tmp_path)
    write_decl(tmp_path, "demo-1.0-py3-none-any.whl")
    done = _wheelset("build", str(tmp_path), "--car", str(tmp_path / "root.car"), *extra)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: INTERNAL TypeError: 'NoneType' object is not subscriptable (a bug in wheelset: "
        "run the command again with --debug for the traceback, and please report it)"
    ]
    assert not (tmp_path / "root.car").exists()


def test_debug_shows_the_bugs_traceback(tmp_path: Path) -> None:
    write_platforms(tmp_path)
    done = _wheelset("--debug", "build", str(tmp_path), "--car", str(tmp_path / "root.car"))
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.rstrip().endswith("TypeError: 'NoneType' object is not subscriptable")
