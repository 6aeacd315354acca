"""`wheelset diff`: what changed between two roots."""

from __future__ import annotations

from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import FormatOption, RootSources, with_option_groups

__all__ = ["diff_command"]


@handles_errors
@with_option_groups
def diff_command(
    root_a: Annotated[
        str,
        typer.Argument(
            metavar="ROOT_A",
            help="A root: CID (Qm…, b…), /ipfs/<cid>, ipfs://<cid>, a build directory (OUT "
            "or OUT/tree) or a CAR file.",
        ),
    ],
    root_b: Annotated[str, typer.Argument(metavar="ROOT_B", help="Another root.")],
    output_format: Annotated[
        str, FormatOption("text, json or markdown (for a pull request)")
    ] = "text",
    *,
    sources: RootSources,
) -> None:
    """Show what changed between two roots: projects, versions, wheels per platform.

    Only the projects whose directories differ are read.
    """
    from wheelset.cli.run import run_diff

    run_diff(root_a, root_b, output_format=output_format, **sources.options())
