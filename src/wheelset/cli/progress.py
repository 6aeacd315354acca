"""The one progress renderer of the CLI: a wheelset.progress.Progress drawn on stderr.

A rich bar is drawn only when stderr is a terminal (rich is not even imported otherwise);
either way the renderer records each item's last state (install reports which wheels came
from the cache) and the warnings, which the command prints when the operation is over.
Entry point: ProgressBar.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

    from wheelset.build.publish import WheelOutcome

from wheelset.progress import human_size

__all__ = ["ProgressBar", "echo_outcome", "human_size"]


class ProgressBar:
    """A Progress for one command operation; use it as a context manager around the work."""

    def __init__(self, label: str):
        self.label = label
        self.states: dict[str, str] = {}
        self.warnings: list[str] = []
        self._lock = threading.Lock()
        self._terminal = sys.stderr.isatty()
        self._rich: RichProgress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.stop()

    def _bar(self, unit: str) -> RichProgress | None:
        """The rich display, made on first use (with columns for ``unit``)."""
        if not self._terminal:
            return None
        with self._lock:
            if self._rich is None:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    DownloadColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TransferSpeedColumn,
                )

                amount = (
                    [DownloadColumn(), TransferSpeedColumn()]
                    if unit == "bytes"
                    else [MofNCompleteColumn()]
                )
                self._rich = Progress(
                    TextColumn(self.label),
                    BarColumn(),
                    *amount,
                    TextColumn("{task.description}"),
                    console=Console(stderr=True),
                    transient=True,
                )
                self._task = self._rich.add_task("", total=None)
                self._rich.start()
            return self._rich

    def start(self, total: int | None, *, unit: str) -> None:
        bar = self._bar(unit)
        if bar is not None and self._task is not None:
            bar.update(self._task, total=total)

    def advance(self, amount: int) -> None:
        bar = self._bar("bytes")
        if bar is not None and self._task is not None:
            bar.advance(self._task, amount)

    def item(self, name: str, state: str) -> None:
        with self._lock:
            self.states[name] = state
        bar = self._bar("bytes")
        if bar is not None and self._task is not None:
            bar.update(self._task, description=f"{state} {name}")

    def warn(self, message: str) -> None:
        with self._lock:
            self.warnings.append(message)


def echo_outcome(failures: Iterable[WheelOutcome], summary: str) -> None:
    """The end of an operation over wheels on stderr: each failed wheel, then a summary."""
    for failure in failures:
        print(f"failed: {failure.filename}: {failure.detail}", file=sys.stderr)
    print(summary, file=sys.stderr)
