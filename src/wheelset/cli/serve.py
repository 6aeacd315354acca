"""`wheelset serve`: a local PEP 503/691 index of a root for pip and uv."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    DEFAULT_TIMEOUT,
    CacheDirOption,
    GatewayOption,
    NodeApiOption,
    RootArg,
    TimeoutOption,
)
from wheelset.cli.wiring import open_root
from wheelset.fetch.http import http_client

__all__ = ["serve_command"]


@handles_errors
def serve_command(
    root: RootArg,
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", help="Port on 127.0.0.1 (0: any free).")
    ] = 8000,
    gateway: GatewayOption = [],  # noqa: B006 - typer needs a literal default
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    cache_dir: CacheDirOption = None,
    api: NodeApiOption = None,
) -> None:
    """Serve a local PEP 503/691 index of ROOT for pip and uv; every file verified by CID."""
    from wheelset.client.serve import IndexServer

    with http_client() as http:
        opened, fetcher, cache = open_root(root, gateway, timeout, cache_dir, http, api)
        server = IndexServer(
            opened, cache, fetcher, port=port, on_event=lambda line: typer.echo(line, err=True)
        )
        typer.echo(f"Serving root {opened.cid} at {server.url} (Ctrl-C stops)", err=True)
        typer.echo(server.url)
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            typer.echo("stopped", err=True)
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.close()


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops `serve` as cleanly as Ctrl-C does."""
    raise KeyboardInterrupt
