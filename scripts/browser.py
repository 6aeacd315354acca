"""Headless Chromium (the Debian package `chromium`) for looking at a root's pages: the DOM
a page renders to, or a screenshot of it.

    python scripts/browser.py dom URL
    python scripts/browser.py shot URL OUT.png [WIDTHxHEIGHT]

Every run gets a new empty profile and no background traffic (no sync, updates, QUIC or
first-run pages), so the only requests are the page's own.
Entry points: find_chromium(), dump_dom(), screenshot().
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["dump_dom", "find_chromium", "screenshot"]

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def find_chromium() -> str | None:
    """The chromium executable on PATH, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="wheelset-chromium-") as profile:
        done = subprocess.run(
            [chromium, *_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done


def dump_dom(url: str, *, timeout: float = 120) -> str:
    """The DOM ``url`` renders to, serialised as HTML."""
    return _run(["--dump-dom", url], timeout).stdout


def screenshot(
    url: str, out: Path, size: tuple[int, int] = (1280, 800), *, timeout: float = 120
) -> None:
    """A PNG of ``url`` in a window of ``size`` (width, height) pixels."""
    _run([f"--screenshot={out}", f"--window-size={size[0]},{size[1]}", url], timeout)
    if not out.is_file():
        raise RuntimeError(f"chromium wrote no screenshot to {out}")


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "dom":
        sys.stdout.write(dump_dom(argv[1]))
        return 0
    if len(argv) in (3, 4) and argv[0] == "shot":
        width, height = map(int, (argv[3] if len(argv) == 4 else "1280x800").split("x"))
        screenshot(argv[1], Path(argv[2]), (width, height))
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
