"""`wheelset export`: a closure as a hashed requirements file or a pylock.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    FormatOption,
    RequirementsArg,
    RootArg,
    RootSources,
    with_option_groups,
)

__all__ = ["export_command"]


@handles_errors
@with_option_groups
def export_command(
    root: RootArg,
    names: RequirementsArg,
    output_format: Annotated[
        str, FormatOption("requirements (pip --require-hashes) or pylock")
    ] = "requirements",
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform",
            metavar="ID",
            help="A platform id of the root, e.g. cp311-manylinux_2_28_x86_64 "
            "(default: this interpreter).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here instead of stdout."),
    ] = None,
    *,
    sources: RootSources,
) -> None:
    """Export the closure of NAMEs as a hashed requirements file or a pylock.toml."""
    from wheelset.cli.run import run_export

    run_export(
        root,
        names,
        output_format=output_format,
        platform=platform,
        output=output,
        **sources.options(),
    )
