"""scripts/ipfs_test_node.py run by hand: --help prints usage and starts no node (the suite
starts its nodes through IpfsTestNode, not through this command line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "ipfs_test_node.py"


def test_help_prints_usage_and_starts_no_node() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ipfs_test_node.py [-h]")
    assert "http://127.0.0.1" not in done.stdout and done.stderr == ""  # no node URLs
    wrong = subprocess.run(
        [sys.executable, str(SCRIPT), "--port", "1"], capture_output=True, text=True, timeout=30
    )
    assert wrong.returncode == 2 and "unrecognized arguments: --port 1" in wrong.stderr
