"""The one progress convention of every long operation (downloads, installs, publishing).

A stage that takes time is given a Progress and reports through it: ``start`` once with
the total (bytes or items, None when unknown), ``advance`` as work is done (thread-safe;
negative when an abandoned attempt is discounted), ``item`` when one item (a wheel) reaches
a state (``cache``, a gateway URL, ``added``, ``installing``…), and ``warn`` for something
the user should know that does not stop the operation. Where only a byte counter is
needed (the ipfs and cache layers, which know nothing of this protocol) the caller passes
``progress.advance``. Stages never print: the CLI renders a Progress; NO_PROGRESS ignores it.
Entry points: Progress, NoProgress, NO_PROGRESS, human_size().
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NO_PROGRESS", "NoProgress", "Progress", "human_size"]


def human_size(n: int) -> str:
    """``n`` bytes as people read sizes: ``512 B``, ``1.2 MB``."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


class Progress(Protocol):
    """What a long operation reports; every method may be called from worker threads."""

    def start(self, total: int | None, *, unit: str) -> None:
        """The operation begins: ``total`` units (``bytes`` or ``wheels``), None if unknown."""

    def advance(self, amount: int) -> None:
        """``amount`` more units are done (negative: an abandoned attempt is discounted)."""

    def item(self, name: str, state: str) -> None:
        """Item ``name`` (a wheel file name) reached ``state``."""

    def warn(self, message: str) -> None:
        """Something went wrong that the operation survives (a gateway failed, another
        delivered)."""


class NoProgress:
    """A Progress that ignores everything: the default of every stage."""

    def start(self, total: int | None, *, unit: str) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def item(self, name: str, state: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass


NO_PROGRESS = NoProgress()
