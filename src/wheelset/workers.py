"""Sharing CPU-bound work with forked worker processes (loading and checking collections).

A large collection takes minutes of CPU on one core; its files can be read and parsed,
and independent checks run, in other processes. Workers are forked (Linux only, where fork
is cheap and safe), so they share the modules and data already loaded without pickling
them; what comes back is kept small (marshal records, a list of findings). Elsewhere
everything runs in the calling process. A worker ignores Ctrl-C: the parent stops it.
Entry points: can_fork(), usable_cores(), worker_signals(), run_in_child().
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable

TYPE_CHECKING = False  # an incremental build forks its stat sweep before typing or pickle load
if TYPE_CHECKING:
    from typing import TypeVar

    _T = TypeVar("_T")

__all__ = ["can_fork", "run_in_child", "usable_cores", "worker_signals"]
_PR_SET_PDEATHSIG = 1  # prctl(2)


def can_fork() -> bool:
    return sys.platform == "linux"


def usable_cores() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def worker_signals() -> None:
    """In a worker: Ctrl-C goes to the whole process group, and the parent handles it;
    SIGTERM (the parent stopping it) ends it at once, without the parent's handler (which
    unwinds with a traceback); the parent's death ends it too."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # A parent killed outright (kill -9) takes its workers with it: they would work on
    # for nobody, then fail to send their result with a traceback.
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def run_in_child(function: Callable[..., _T], *args: object) -> Callable[[], _T]:
    """Start ``function(*args)`` in a forked child; calling the result waits for its
    return value (pickled back) or raises its exception.

    A bare fork and a pipe: multiprocessing would cost more to import than a short task
    takes (an incremental build's stat sweep)."""
    receiver, sender = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child(receiver, sender, function, args)  # never returns
    os.close(sender)

    def result() -> _T:
        try:
            with open(receiver, "rb") as pipe:
                data = pipe.read()
        except BaseException:
            # Ctrl-C or SIGTERM in the parent: the child ignores them, and its result is
            # no longer wanted; waiting for it would delay the exit by the rest of its work.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        _, status = os.waitpid(pid, 0)
        if not data:
            code = os.waitstatus_to_exitcode(status)
            raise RuntimeError(f"worker process ended (exit status {code})")
        import pickle

        ok, value = pickle.loads(data)
        if not ok:
            raise value
        return value

    return result


def _child(
    receiver: int, sender: int, function: Callable[..., object], args: tuple[object, ...]
) -> None:
    """The forked child: run, send the outcome, and end without returning to the
    caller's code (nor running its exit handlers or flushing its buffers)."""
    code = 1
    try:
        os.close(receiver)
        worker_signals()
        try:
            outcome: tuple[bool, object] = (True, function(*args))
        except Exception as e:  # the parent raises it
            outcome = (False, e)
        import pickle

        data = pickle.dumps(outcome)
        with contextlib.suppress(OSError), open(sender, "wb") as pipe:
            pipe.write(data)  # an OSError: the parent stopped waiting (it was interrupted)
        code = 0
    finally:
        os._exit(code)
