"""Work in a forked child process: its result, or its exception, comes back."""

from __future__ import annotations

import os

import pytest

from wheelset.workers import can_fork, run_in_child, share_parts


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


def _square_here(i: int) -> tuple[int, int]:
    import time

    time.sleep(0.002)  # as long as a worker's part: both take about half
    return i * i, os.getpid()


def _square_there(i: int) -> bytes:
    import marshal
    import time

    time.sleep(0.002)
    return marshal.dumps((i * i, os.getpid()))


def _back(data: bytes) -> tuple[int, int]:
    import marshal

    return marshal.loads(data)  # type: ignore[no-any-return]


@pytest.mark.skipif(not can_fork(), reason="workers are forked on Linux only")
@pytest.mark.parametrize("workers", [0, 1, 3])
def test_parts_are_shared_and_each_done_once(workers: int) -> None:
    results = share_parts(200, _square_here, _square_there, _back, workers)
    assert [square for square, _ in results] == [i * i for i in range(200)]
    pids = {pid for _, pid in results}
    assert os.getpid() in pids and len(pids) == workers + 1  # every process took parts
    # this process from the front, the workers from the back
    assert results[0][1] == os.getpid() and (workers == 0 or results[-1][1] != os.getpid())


def _there_fails(i: int) -> bytes:
    if i == 150:
        raise ValueError("part 150 is bad")
    return _square_there(i)


@pytest.mark.skipif(not can_fork(), reason="workers are forked on Linux only")
def test_a_workers_exception_is_raised_here() -> None:
    with pytest.raises(ValueError, match="part 150 is bad"):
        share_parts(200, _square_here, _there_fails, _back, 1)


def _there_dies(i: int) -> bytes:
    if i == 150:
        os._exit(3)
    return _square_there(i)


@pytest.mark.skipif(not can_fork(), reason="workers are forked on Linux only")
def test_a_worker_that_dies_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="exit status 3"):
        share_parts(200, _square_here, _there_dies, _back, 1)


@pytest.mark.skipif(not can_fork(), reason="workers are forked on Linux only")
def test_an_interrupt_here_stops_the_workers() -> None:
    import time

    def here(i: int) -> tuple[int, int]:
        if i == 3:
            raise KeyboardInterrupt
        return _square_here(i)

    def there(i: int) -> bytes:
        time.sleep(60)
        return b""

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        share_parts(10, here, there, _back, 2)
    assert time.monotonic() - start < 10  # not a worker's 60 s
