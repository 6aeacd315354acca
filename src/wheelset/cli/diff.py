"""`wheelset diff`: what changed between two roots."""

from __future__ import annotations

from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    DEFAULT_TIMEOUT,
    FormatOption,
    GatewayOption,
    TimeoutOption,
)
from wheelset.fetch.http import http_client

__all__ = ["diff_command"]


@handles_errors
def diff_command(
    root_a: Annotated[
        str,
        typer.Argument(
            metavar="ROOT_A",
            help="A root: CID (Qm…, b…), /ipfs/<cid>, ipfs://<cid>, or a build directory.",
        ),
    ],
    root_b: Annotated[str, typer.Argument(metavar="ROOT_B", help="Another root.")],
    output_format: Annotated[str, FormatOption("text or json")] = "text",
    gateway: GatewayOption = [],  # noqa: B006 - typer needs a literal default
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Show what changed between two roots: projects, versions, wheels per platform."""
    from wheelset.client.diff import diff_manifests, load_root
    from wheelset.formats import get_formatter

    formatter = get_formatter("diff", output_format)
    first = gateway[0] if gateway else None
    with http_client(timeout) as http:
        a_root, a = load_root(root_a, http=http, gateway=first)
        b_root, b = load_root(root_b, http=http, gateway=first)
    typer.echo(formatter(diff_manifests(a_root, a, b_root, b)), nl=False)
