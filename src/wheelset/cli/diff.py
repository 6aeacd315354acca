"""`wheelset diff`: what changed between two roots."""

from __future__ import annotations

from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    CacheDirOption,
    GatewayOption,
    NodeApiOption,
    RootArg,
    TimeoutOption,
)
from wheelset.cli.roots import open_root
from wheelset.fetch.http import http_client

__all__ = ["diff_command"]


@handles_errors
def diff_command(
    root_a: RootArg,
    root_b: Annotated[str, typer.Argument(help="Another root, in any of the same forms.")],
    output_format: Annotated[
        str, typer.Option("--format", help="text or json.", case_sensitive=False)
    ] = "text",
    gateway: GatewayOption = [],  # noqa: B006 - typer needs a literal default
    timeout: TimeoutOption = 30.0,
    cache_dir: CacheDirOption = None,
    api: NodeApiOption = None,
) -> None:
    """Show what changed between two roots: projects, versions, wheels per platform."""
    from wheelset.client.diff import FORMATTERS, diff_roots

    formatter = FORMATTERS.get(output_format.lower())
    if formatter is None:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATTERS)}")
    with http_client() as http:
        a, _, _ = open_root(root_a, gateway, timeout, cache_dir, http, api)
        b, _, _ = open_root(root_b, gateway, timeout, cache_dir, http, api)
        typer.echo(formatter(diff_roots(a, b)), nl=False)
