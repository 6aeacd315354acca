"""Pausing Python's cyclic garbage collector around bulk loads.

Loading a collection (and building or checking it) allocates hundreds of thousands of
long-lived objects and almost no garbage cycles, so each collection would only rescan
them: a quarter of `check`'s time at 10,000 declarations. Reference counting still frees
everything that is not a cycle; what is alive when the pause ends is frozen (gc.freeze),
so later collections do not rescan it either. A command that ends with a large heap can
leave it to the exit (keep_until_exit()). Entry points: cycle_collection_paused(),
keep_until_exit().
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["cycle_collection_paused", "keep_until_exit"]


@contextlib.contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Pause the cyclic GC for the block (nests: the outermost block re-enables it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # What is alive now (the loaded collection above all) would be rescanned by
            # the next collections, young and old alike: about a second per 100,000
            # declarations. It is set aside for good instead; reference counting still
            # frees it (only a cycle among these objects would now wait for the exit).
            gc.freeze()
            gc.enable()


def keep_until_exit(value: object) -> None:
    """Never free ``value`` in this process: the exit returns its memory at once, whereas
    releasing it object by object costs about 2 seconds for a 500,000-declaration
    collection. A reference cycle holds it, set aside with gc.freeze(): the interpreter's
    last collection at exit does not look at frozen objects. Only for what a command
    holds at its end, once (each call keeps its value for good)."""
    holder: list[object] = [value]
    holder.append(holder)
    gc.freeze()
