"""The download progress display of `declare` and `check --integrity` (terminal only)."""

from __future__ import annotations

import io
import sys

import pytest

from wheelset.cli.progress import download_progress as _progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with _progress() as update:
        assert update is not None
        update("demo-1.0-py3-none-any.whl", 0, 2048)
        update("demo-1.0-py3-none-any.whl", 2048, 2048)
        update("other-1.0-py3-none-any.whl", 10, None)
    assert "demo-1.0-py3-none-any.whl" in terminal.getvalue()


def test_no_progress_bar_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with _progress() as update:
        assert update is None
