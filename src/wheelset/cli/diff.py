"""`wheelset diff`: what changed between two roots."""

from __future__ import annotations

from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    DEFAULT_TIMEOUT,
    CacheDirOption,
    FormatOption,
    GatewayOption,
    NodeApiOption,
    TimeoutOption,
)
from wheelset.cli.wiring import open_root
from wheelset.fetch.http import http_client

__all__ = ["diff_command"]


@handles_errors
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
    output_format: Annotated[str, FormatOption("text or json")] = "text",
    gateway: GatewayOption = [],  # noqa: B006 - typer needs a literal default
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    cache_dir: CacheDirOption = None,
    api: NodeApiOption = None,
) -> None:
    """Show what changed between two roots: projects, versions, wheels per platform.

    Only the projects whose directories differ are read.
    """
    from wheelset.client.diff import diff_roots
    from wheelset.formats import get_formatter

    formatter = get_formatter("diff", output_format)
    with http_client(timeout, indexes=False) as http:
        a, _, _ = open_root(root_a, gateway, timeout, cache_dir, http, api)
        b, _, _ = open_root(root_b, gateway, timeout, cache_dir, http, api)
        typer.echo(formatter(diff_roots(a, b)), nl=False)
