"""`wheelset diff`: what changed between two roots."""

from __future__ import annotations

from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.fetch.http import http_client

__all__ = ["diff_command"]


@handles_errors
def diff_command(
    root_a: Annotated[str, typer.Argument(help="A root CID (or /ipfs/<cid>) or build directory.")],
    root_b: Annotated[str, typer.Argument(help="Another one.")],
    output_format: Annotated[
        str, typer.Option("--format", help="text or json.", case_sensitive=False)
    ] = "text",
    gateway: Annotated[
        str | None,
        typer.Option("--gateway", envvar="WHEELSET_GATEWAY", help="Gateway to fetch CIDs from."),
    ] = None,
) -> None:
    """Show what changed between two roots: projects, versions, wheels per platform."""
    from wheelset.client.diff import FORMATTERS, diff_manifests, load_root

    formatter = FORMATTERS.get(output_format.lower())
    if formatter is None:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATTERS)}")
    with http_client(60.0) as http:
        a_root, a = load_root(root_a, http=http, gateway=gateway)
        b_root, b = load_root(root_b, http=http, gateway=gateway)
    typer.echo(formatter(diff_manifests(a_root, a, b_root, b)), nl=False)
