"""How a command ends on an error: one line on stderr and an exit code.

A WheelsetError prints as ``error: path: CODE message`` and exits with its exit_code (1;
2 for usage errors); an OSError a library call let through prints the same way (code IO);
Ctrl-C exits 130 (143 for a SIGTERM raised as an interrupt); any other exception, a bug,
prints as ``error: INTERNAL …`` (exit 1). A traceback appears only with --debug, and never
shows local variables (the app is built with pretty exceptions off).
Typer is imported only when a command raises (the fast path of wheelset.cli.fast runs
without it and ends through failure_code()).
Entry points: handles_errors(), failure_code(), print_error(), set_debug().
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from wheelset.errors import WheelsetError

__all__ = ["failure_code", "handles_errors", "print_error", "set_debug"]

P = ParamSpec("P")
R = TypeVar("R")

_state = {"debug": False}


def set_debug(debug: bool) -> None:
    """--debug: let WheelsetErrors propagate as tracebacks."""
    _state["debug"] = debug


def print_error(error: WheelsetError) -> None:
    """Print ``error`` as one stderr line; with --debug, re-raise it instead."""
    if _state["debug"]:
        raise error
    print(f"error: {error.one_line()}", file=sys.stderr, flush=True)


def failure_code(error: BaseException) -> int | None:
    """Report an error a command raised as one stderr line; its exit code, or None for a
    BaseException that is no interrupt (SystemExit: it propagates)."""
    if isinstance(error, WheelsetError):
        print_error(error)
        return error.exit_code
    if isinstance(error, OSError):
        # A file vanished or became unreadable under a library call that did not
        # expect it: still one line, never a traceback.
        print_error(WheelsetError(str(error), path=error.filename, code="IO"))
        return 1
    if isinstance(error, KeyboardInterrupt):
        code = getattr(error, "exit_code", 130)  # 143 for a SIGTERM raised as an interrupt
        print("terminated" if code == 143 else "interrupted", file=sys.stderr, flush=True)
        return code
    if isinstance(error, Exception):
        # An exception no library call should let through is a bug: one line all the same,
        # saying so; the traceback, which a report needs, with --debug.
        if _state["debug"]:
            raise error
        print_error(
            WheelsetError(
                f"{type(error).__name__}: {error} (a bug in wheelset: run the command again "
                "with --debug for the traceback, and please report it)",
                code="INTERNAL",
            )
        )
        return 1
    return None


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn WheelsetError into one stderr line and its exit code (a traceback with --debug)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (WheelsetError, OSError, KeyboardInterrupt) as e:
            import typer

            code = failure_code(e)
            if code is None:
                raise
            raise typer.Exit(code) from None

    return wrapper
