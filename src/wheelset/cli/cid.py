"""`wheelset cid`: the CID of files and directories, as Kubo's `ipfs add --only-hash`."""

from __future__ import annotations

from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors, print_error
from wheelset.errors import WheelsetError

__all__ = ["cid_command"]


@handles_errors
def cid_command(
    paths: Annotated[
        list[str], typer.Argument(metavar="PATH...", help="Files, directories or symlinks.")
    ],
    cid_version: Annotated[
        int,
        typer.Option(
            "--cid-version",
            metavar="N",
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
            print_error(e)
            failed = True
            continue
        typer.echo(str(root.cid))
    if failed:
        raise typer.Exit(1)
