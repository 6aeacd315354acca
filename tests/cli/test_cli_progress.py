"""The CLI's one progress renderer: a bar on a terminal only; states and warnings always."""

from __future__ import annotations

import io
import sys
import threading

import pytest

from wheelset.cli.progress import ProgressBar
from wheelset.progress import NO_PROGRESS, Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _exercise(progress: Progress) -> None:
    progress.start(4096, unit="bytes")
    workers = [threading.Thread(target=progress.advance, args=(1024,)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    progress.item("demo-1.0-py3-none-any.whl", "cache")
    progress.item("other-1.0-py3-none-any.whl", "http://127.0.0.1:1")
    progress.warn("other-1.0-py3-none-any.whl: gateway timed out")


def test_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with ProgressBar("Fetching") as bar:
        _exercise(bar)
    assert "Fetching" in terminal.getvalue()
    assert bar.states["demo-1.0-py3-none-any.whl"] == "cache"


def test_nothing_drawn_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with ProgressBar("Fetching") as bar:
        _exercise(bar)
    assert stream.getvalue() == ""
    assert bar.states == {
        "demo-1.0-py3-none-any.whl": "cache",
        "other-1.0-py3-none-any.whl": "http://127.0.0.1:1",
    }
    assert bar.warnings == ["other-1.0-py3-none-any.whl: gateway timed out"]


def test_the_library_default_ignores_progress() -> None:
    _exercise(NO_PROGRESS)  # no error, no output: stages report unconditionally
