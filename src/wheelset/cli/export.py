"""`wheelset export`: a closure as a hashed requirements file or a pylock.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    DEFAULT_TIMEOUT,
    CacheDirOption,
    FormatOption,
    GatewayOption,
    NodeApiOption,
    RequirementsArg,
    RootArg,
    TimeoutOption,
)

__all__ = ["export_command"]


@handles_errors
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
    gateway: GatewayOption = [],  # noqa: B006 - typer needs a literal default
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    cache_dir: CacheDirOption = None,
    api: NodeApiOption = None,
) -> None:
    """Export the closure of NAMEs as a hashed requirements file or a pylock.toml."""
    from wheelset.cli.run import run_export

    run_export(
        root,
        names,
        output_format=output_format,
        platform=platform,
        output=output,
        gateway=gateway,
        timeout=timeout,
        cache_dir=cache_dir,
        api=api,
    )
