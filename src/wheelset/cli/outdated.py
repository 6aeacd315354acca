"""`wheelset outdated`: the newest release with wheels for each project's platforms."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wheelset.cli.errors import fail, handles_errors
from wheelset.cli.options import DEFAULT_COLLECTION, IndexUrlOption, TimeoutOption
from wheelset.fetch.http import http_client

__all__ = ["outdated_command"]


@handles_errors
def outdated_command(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="The collection directory.")
    ] = DEFAULT_COLLECTION,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    index_url: IndexUrlOption = None,
    timeout: TimeoutOption = 60.0,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Index pages read at a time.")] = 8,
) -> None:
    """For each project: the newest release on the index with wheels for its platforms.

    Also names newer releases that lack wheels for some of those platforms, and why. \
Informative: exits 0 whatever it finds (1 only when the index cannot be read).
    """
    from wheelset.fetch.index import IndexClient, configured_index_url
    from wheelset.maintain.outdated import FORMATTERS, check_outdated
    from wheelset.model.collection import load_collection

    if output_format not in FORMATTERS:
        raise fail(f"--format must be one of {', '.join(FORMATTERS)}", code=2)
    collection = load_collection(directory)
    with http_client(timeout, connections=jobs, index_url=index_url) as http:
        index = IndexClient(configured_index_url(index_url), http=http)
        statuses = check_outdated(collection, index, jobs=jobs)
    typer.echo(FORMATTERS[output_format](statuses), nl=False)
    outdated = sum(s.is_outdated for s in statuses)
    blocked = sum(bool(s.newer) for s in statuses)
    typer.echo(
        f"{len(statuses)} projects: {outdated} can be updated, "
        f"{blocked} have newer releases lacking wheels",
        err=True,
    )
