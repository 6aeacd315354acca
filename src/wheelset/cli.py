"""The `wheelset` command line: parse arguments, call library functions, print results.

Every command body is wrapped so that a WheelsetError becomes one line on stderr and its
exit code; a traceback appears only with --debug. Nothing below this module prints.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import typer

from wheelset import __version__
from wheelset.errors import WheelsetError

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="wheelset",
    help="Curated single-version Python wheel repositories on IPFS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

_state = {"debug": False}


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error line and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn WheelsetError into one stderr line and its exit code (a traceback with --debug)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except WheelsetError as e:
            if _state["debug"]:
                raise
            typer.echo(f"error: {e.one_line()}", err=True)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wheelset {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    _state["debug"] = debug


@app.command("cid")
@handles_errors
def cid_command(
    paths: Annotated[
        list[str], typer.Argument(metavar="PATH", help="Files, directories or symlinks.")
    ],
    cid_version: Annotated[
        int,
        typer.Option(
            "--cid-version",
            min=0,
            max=1,
            help="0 (default): base58 Qm… CIDs. 1: base32 b… CIDs with raw leaves, as Kubo.",
        ),
    ] = 0,
    hidden: Annotated[
        bool,
        typer.Option("--hidden", "-H", help="Include files and directories starting with '.'."),
    ] = False,
    dereference_symlinks: Annotated[
        bool,
        typer.Option(
            "--dereference-symlinks",
            help="Follow symlinks and add what they point to (symlink loops are errors).",
        ),
    ] = False,
) -> None:
    """Print the CID of each path exactly as `ipfs add -Q -r --only-hash PATH` (Kubo) would.

    Same defaults as Kubo: 256 KiB chunks, balanced DAG of 174 links, directories sharded \
into HAMTs past 256 KiB of links, names starting with '.' skipped inside directories \
(not when given as PATH), empty directories kept, symlinks stored as links.

    Output: one CID per line, in the order the paths were given. A path that cannot be \
added (missing, unreadable, FIFO/socket/device, non-UTF-8 name, symlink loop) prints \
`error: PATH: CODE message` on stderr instead; the other paths are still processed and \
the exit code is 1. Check the exit code before pairing output lines with paths.
    """
    from wheelset.ipfs.filesystem import import_path
    from wheelset.ipfs.importer import ImportParams

    params = ImportParams(cid_version=cid_version)
    failed = False
    for path in paths:
        try:
            root = import_path(
                path, params, include_hidden=hidden, dereference_symlinks=dereference_symlinks
            )
        except WheelsetError as e:
            if _state["debug"]:
                raise
            typer.echo(f"error: {e.one_line()}", err=True)
            failed = True
            continue
        typer.echo(str(root.cid))
    if failed:
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="wheelset")


if __name__ == "__main__":
    sys.exit(main())
