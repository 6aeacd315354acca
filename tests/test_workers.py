"""Work in a forked child process: its result, or its exception, comes back."""

from __future__ import annotations

import os

import pytest

from wheelset.workers import can_fork, run_in_child


def _pid_and_sum(numbers: list[int]) -> tuple[int, int]:
    return os.getpid(), sum(numbers)


def _fails(message: str) -> None:
    raise ValueError(message)


@pytest.mark.skipif(not can_fork(), reason="workers are forked on Linux only")
def test_result_comes_back_from_another_process() -> None:
    pid, total = run_in_child(_pid_and_sum, list(range(100_000)))()
    assert pid != os.getpid() and total == 4_999_950_000


@pytest.mark.skipif(not can_fork(), reason="workers are forked on Linux only")
def test_exception_is_raised_in_the_caller() -> None:
    result = run_in_child(_fails, "no good")
    with pytest.raises(ValueError, match="no good"):
        result()


def _sleeps(seconds: float) -> None:
    import time

    time.sleep(seconds)


@pytest.mark.skipif(not can_fork(), reason="workers are forked on Linux only")
def test_an_interrupted_wait_stops_the_child_at_once() -> None:
    import signal
    import time

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    result = run_in_child(_sleeps, 60.0)
    start = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt):
            result()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - start < 10  # not the child's 60 s
