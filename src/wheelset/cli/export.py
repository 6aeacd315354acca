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
from wheelset.cli.wiring import open_root
from wheelset.fetch.http import http_client

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
    import os

    from wheelset.client.export import choose_platform
    from wheelset.client.resolve import parse_requirements, resolve_lazily
    from wheelset.formats import get_formatter
    from wheelset.fsutil import atomic_write_text
    from wheelset.ipfs.gateway import configured_gateways

    formatter = get_formatter("export", output_format)
    requested = parse_requirements(names)
    with http_client() as http:
        opened, _, _ = open_root(root, gateway, timeout, cache_dir, http, api)
        target, described = choose_platform(opened.platforms, platform)
        resolution = resolve_lazily(
            opened.declarations, requested, target, target=described, all_names=opened.names
        )
    text = formatter(
        resolution.selected,
        root=opened.cid,
        gateway=configured_gateways(gateway, os.environ)[0],
        platform=target.id,
        env=target.environment,
    )
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_text(output, text)
