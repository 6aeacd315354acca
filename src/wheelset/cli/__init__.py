"""The `wheelset` command line: parse arguments, call library functions, print results.

One module per command or command group; options shared by several commands are defined
once in `options`, error handling in `errors`, progress display in `progress`, the typer
app in `application`. `main()` first offers the arguments to `fast` (the no-op install and
export, answered without loading typer), then runs the app.
Entry points: app (loaded on first use), main().
"""

from __future__ import annotations

import _signal  # signal's C module: signal itself imports enum (a warm install's cost)
import sys

TYPE_CHECKING = False  # typing is not loaded on the no-op and warm install paths
if TYPE_CHECKING:
    from typing import Any

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    if name == "app":
        from wheelset.cli.application import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so that temp files are removed and nothing is left
    # half-written (the default action would end the process on the spot).
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point."""
    _signal.signal(_signal.SIGTERM, _terminate)
    try:
        from wheelset.cli.fast import run_fast

        code = run_fast(sys.argv[1:])
        if code is None:
            from wheelset.cli.application import app

            app(prog_name="wheelset")
    except (Exception, KeyboardInterrupt) as e:
        # Ctrl-C while the command's modules load, before any command handles it, or a bug
        # a command let through: one line and an exit code as for any error, no traceback
        # (but with --debug).
        from wheelset.cli.errors import failure_code

        code = failure_code(e)
    sys.exit(code)
