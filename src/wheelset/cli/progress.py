"""Progress on stderr, drawn with rich only when stderr is a terminal.

The library reports progress through callbacks; these renderers draw them. Nothing is
drawn (and rich is not imported) when stderr is not a terminal.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress

    from wheelset.ipfs.gateway import GatewayFailure
    from wheelset.model.declarations import Declaration

__all__ = ["InstallProgress", "download_progress", "human_size", "wheel_progress"]


def human_size(n: int) -> str:
    """``n`` bytes as people read sizes: ``512 B``, ``1.2 MB``."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def wheel_progress(label: str):
    """A rich progress bar on stderr (a terminal only), driven by start(total), advance(outcome)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        return contextlib.nullcontext(), None, None
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    )
    task = progress.add_task("", total=None)

    def start(total: int) -> None:
        progress.update(task, total=total)

    def advance(outcome) -> None:
        progress.update(task, advance=1, description=f"{outcome.status} {outcome.filename}")

    return progress, start, advance


@contextlib.contextmanager
def download_progress() -> Iterator[Callable[[str, int, int | None], None] | None]:
    """A rich progress display on stderr (only on a terminal); yields the callback."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    tasks: dict[str, object] = {}
    lock = threading.Lock()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:

        def update(label: str, done: int, total: int | None) -> None:
            with lock:
                task = tasks.get(label)
                if task is None:
                    task = tasks[label] = progress.add_task(label, total=total)
            progress.update(task, completed=done, total=total)  # type: ignore[arg-type]

        yield update


class InstallProgress:
    """Install's callbacks: records sources and warnings; a rich progress bar on stderr when
    it is a terminal (rich is not even imported otherwise)."""

    def __init__(self, count: int):
        self.sources: dict[str, str] = {}
        self.warnings: list[str] = []
        self._ready = 0
        self._count = count
        self._progress: Progress | None = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._progress.add_task(f"Fetching {count} wheels", total=None)

    def __enter__(self) -> InstallProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _update(self, **fields: object) -> None:
        if self._progress is not None:
            self._progress.update(self._task, **fields)  # type: ignore[arg-type]

    def fetch_started(self, count: int, total_bytes: int) -> None:
        self._update(total=total_bytes or None)

    def advanced(self, delta: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, delta)

    def wheel_ready(self, decl: Declaration, source: str) -> None:
        self.sources[decl.filename] = source
        self._ready += 1
        self._update(description=f"Verified {self._ready}/{self._count} wheels")

    def gateway_failed(self, decl: Declaration, failure: GatewayFailure) -> None:
        self.warnings.append(f"warning: {decl.filename}: {failure}")

    def installing(self, decl: Declaration) -> None:
        self._update(description=f"Installing {decl.name} {decl.version}")
