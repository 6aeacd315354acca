"""The scripts that start test servers, run by hand: --help prints usage and starts nothing
(the suite starts its servers through the classes they define, not this command line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.mark.parametrize("script", ["ipfs_test_node.py", "trustless_gateway.py"])
def test_help_prints_usage_and_starts_nothing(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / script), "--help"], capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {script} [-h]")
    assert "http://127.0.0.1" not in done.stdout and done.stderr == ""  # no server's URL
    wrong = subprocess.run(
        [sys.executable, str(SCRIPTS / script), "--port", "1"], capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert wrong.returncode == 2 and "unrecognized arguments: --port 1" in wrong.stderr
