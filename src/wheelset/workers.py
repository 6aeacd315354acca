"""Sharing CPU-bound work with forked worker processes (loading and checking collections).

A large collection takes minutes of CPU on one core; its files can be read and parsed,
and independent checks run, in other processes. Workers are forked (Linux only, where fork
is cheap and safe), so they share the modules and data already loaded without pickling
them; what comes back is kept small (marshal records, a list of findings). Elsewhere
everything runs in the calling process. A worker ignores Ctrl-C: the parent stops it.
Entry points: can_fork(), usable_cores(), worker_signals(), signals_to_main_thread() and
thread_map() (for threads), run_in_child(), share_parts().
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import signal
import struct
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable

TYPE_CHECKING = False  # an incremental build forks its stat sweep before typing or pickle load
if TYPE_CHECKING:
    from typing import TypeVar

    _T = TypeVar("_T")
    _A = TypeVar("_A")

__all__ = [
    "can_fork",
    "run_in_child",
    "share_parts",
    "signals_to_main_thread",
    "thread_map",
    "usable_cores",
    "worker_signals",
]
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


def signals_to_main_thread() -> None:
    """In a worker thread (a pool's initializer): hold SIGINT and SIGTERM, so that the
    kernel hands them to the main thread. One handed to a worker only sets a flag, which the
    main thread sees when its blocking call returns: a wait for a fetch, a long sleep."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


def thread_map(function: Callable[[_A], _T], items: Iterable[_A], workers: int) -> list[_T]:
    """``function`` of each of ``items``, in order, on up to ``workers`` threads that hold
    SIGINT and SIGTERM (signals_to_main_thread); the first exception raised is raised here."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, workers), initializer=signals_to_main_thread) as pool:
        return list(pool.map(function, items))


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


# share_parts(): the shared pair (next part from the front, end of the parts not taken
# from the back), and each message a worker sends: (part, length) then that many bytes;
# part -1: the bytes are its exception, pickled.
_ENDS = struct.Struct("<qq")
_HEADER = struct.Struct("<qq")
_PIPE_SIZE = 1 << 20  # a part's records, so a worker rarely waits for this process to read


def share_parts(
    count: int,
    here: Callable[[int], _T],
    there: Callable[[int], bytes],
    back: Callable[[bytes], _T],
    workers: int,
) -> list[_T]:
    """The results of parts 0 … ``count``-1, each done once: this process takes them from
    the first on (``here(i)``), ``workers`` forked processes from the last back
    (``there(i)``, bytes that ``back()`` turns into the result here), until they meet.

    A thread per worker only reads what it sends, into memory, and this process makes the
    results between its own parts: a pool's result thread unpickles under the interpreter
    lock, a pipe's worth at a time, and its workers waited for it (a third of their time,
    measured); reading here only between parts made them wait for room in the pipe.

    Raises:
        whatever ``here``, ``there`` or ``back`` raised; RuntimeError: a worker ended
            before sending what it took.
    """
    results: list[_T | None] = [None] * count
    done = [False] * count
    ends = mmap.mmap(-1, _ENDS.size)
    _ENDS.pack_into(ends, 0, 0, count)
    token = os.pipe()  # one byte in it: the lock on ``ends``
    os.write(token[1], b".")
    # pid, read end, its reader thread, what it read, the bytes not yet used
    children: list[tuple[int, int, threading.Thread, deque[bytes], bytearray]] = []

    def receive(chunks: deque[bytes], pending: bytearray) -> None:
        """Turn what a reader thread read into results, up to the last whole message."""
        while chunks:
            pending += chunks.popleft()
        used = 0
        while len(pending) - used >= _HEADER.size:
            part, length = _HEADER.unpack_from(pending, used)
            start = used + _HEADER.size
            if len(pending) - start < length:
                break
            data = bytes(pending[start : start + length])
            used = start + length
            if part < 0:
                import pickle

                raise pickle.loads(data)
            results[part], done[part] = back(data), True
        del pending[:used]

    try:
        for _ in range(workers):
            receiver, sender = os.pipe()
            with contextlib.suppress(OSError, AttributeError):
                fcntl.fcntl(receiver, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)  # type: ignore[attr-defined]
            pid = os.fork()
            if pid == 0:
                os.close(receiver)
                _part_worker(there, ends, token, sender)  # never returns
            os.close(sender)
            chunks: deque[bytes] = deque()
            reader = threading.Thread(target=_read_all, args=(receiver, chunks), daemon=True)
            children.append((pid, receiver, reader, chunks, bytearray()))
        # Readers start once every worker is forked: a fork made while another thread runs
        # copies no thread but whatever lock it held (Python 3.12 warns of it).
        for _, _, reader, _, _ in children:
            reader.start()
        while (part := _claim(ends, token, front=True)) is not None:
            results[part], done[part] = here(part), True
            for _, _, _, chunks, pending in children:
                receive(chunks, pending)
        codes = []
        while children:
            pid, receiver, reader, chunks, pending = children[0]
            reader.join()
            receive(chunks, pending)
            _, status = os.waitpid(pid, 0)
            codes.append(os.waitstatus_to_exitcode(status))
            children.pop(0)
            os.close(receiver)
        if not all(done):
            code = next((code for code in codes if code), 0)
            raise RuntimeError(f"worker process ended (exit status {code})")
    finally:
        for pid, receiver, reader, _, _ in children:  # only after an error or an interrupt
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            if reader.ident is not None:  # started: the worker's end closed, it reads to the end
                reader.join()
            os.close(receiver)
        for fd in token:
            os.close(fd)
        ends.close()
    return results  # type: ignore[return-value]


def _read_all(fd: int, chunks: deque[bytes]) -> None:
    """A share_parts() reader thread: what a worker sends, as it comes, to its end. It
    holds the interpreter lock only to keep each chunk, so a worker never waits long for
    room in the pipe, while this process's own parts run."""
    with contextlib.suppress(OSError):
        while chunk := os.read(fd, _PIPE_SIZE):
            chunks.append(chunk)


def _claim(ends: mmap.mmap, token: tuple[int, int], *, front: bool) -> int | None:
    """The next part from the front (or the back), or None when none is left."""
    os.read(token[0], 1)
    try:
        first, stop = _ENDS.unpack_from(ends)
        if first >= stop:
            return None
        if front:
            _ENDS.pack_into(ends, 0, first + 1, stop)
            return first
        _ENDS.pack_into(ends, 0, first, stop - 1)
        return stop - 1
    finally:
        os.write(token[1], b".")


def _part_worker(
    there: Callable[[int], bytes], ends: mmap.mmap, token: tuple[int, int], sender: int
) -> None:
    """A share_parts() worker: parts from the back, each sent as it is done; then the end."""
    code = 1
    try:
        worker_signals()
        with contextlib.suppress(OSError), open(sender, "wb", buffering=0) as pipe:
            # An OSError: the parent stopped reading (it failed or was interrupted).
            try:
                while (part := _claim(ends, token, front=False)) is not None:
                    data = there(part)
                    pipe.write(_HEADER.pack(part, len(data)))
                    pipe.write(data)
            except Exception as e:  # the parent raises it
                import pickle

                data = pickle.dumps(e)
                pipe.write(_HEADER.pack(-1, len(data)) + data)
                raise
        code = 0
    finally:
        os._exit(code)
