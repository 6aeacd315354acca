"""Fixtures of the client tests."""

from __future__ import annotations

import signal

import pytest


@pytest.fixture(scope="session", autouse=True)
def _children_receive_sigint() -> None:
    """Every process a test starts gets SIGINT at its default action, as from a terminal.

    A script that starts the suite in the background (``pytest … &``) leaves SIGINT ignored,
    every child inherits that, and Python then keeps it ignored: the Ctrl-C these tests send
    to an install or a server would do nothing (an install paused for a signal then waits
    out its pause; an interrupted fetch ends in a fetch error). A handled signal is reset to
    its default in a child, so handling it here is enough.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
