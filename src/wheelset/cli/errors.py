"""How a command ends on an error: one line on stderr and an exit code.

A WheelsetError prints as ``error: path: CODE message`` and exits with its exit_code (1;
2 for usage errors); an OSError a library call let through prints the same way (code IO);
Ctrl-C exits 130 (143 for a SIGTERM raised as an interrupt). A traceback appears only
with --debug, and never shows local variables (the app is built with pretty exceptions off).
Entry points: handles_errors(), print_error(), set_debug().
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from wheelset.errors import WheelsetError

__all__ = ["handles_errors", "print_error", "set_debug"]

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
    typer.echo(f"error: {error.one_line()}", err=True)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn WheelsetError into one stderr line and its exit code (a traceback with --debug)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except WheelsetError as e:
            print_error(e)
            raise typer.Exit(e.exit_code) from None
        except OSError as e:
            # A file vanished or became unreadable under a library call that did not
            # expect it: still one line, never a traceback.
            print_error(WheelsetError(str(e), path=e.filename, code="IO"))
            raise typer.Exit(1) from None
        except KeyboardInterrupt as e:
            code = getattr(e, "exit_code", 130)  # 143 for a SIGTERM raised as an interrupt
            typer.echo("terminated" if code == 143 else "interrupted", err=True)
            raise typer.Exit(code) from None

    return wrapper
