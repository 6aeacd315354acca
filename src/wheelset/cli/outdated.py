"""`wheelset outdated`: the newest release with wheels for each project's platforms."""

from __future__ import annotations

from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    DEFAULT_COLLECTION,
    AllowIndexSwapOption,
    CollectionArg,
    FormatOption,
    IndexAccess,
    with_option_groups,
)
from wheelset.fetch.http import http_client

__all__ = ["outdated_command"]


@handles_errors
@with_option_groups
def outdated_command(
    directory: CollectionArg = DEFAULT_COLLECTION,
    output_format: Annotated[str, FormatOption("text (a table) or json")] = "text",
    allow_index_swap: AllowIndexSwapOption = False,
    *,
    index: IndexAccess,
) -> None:
    """For each project: the newest release on the index with wheels for its platforms.

    Also names newer releases that lack wheels for some of those platforms, and why. \
Informative: exits 0 whatever it finds (1 only when the index cannot be read).
    """
    from wheelset.fetch.index import IndexClient, configured_index_url
    from wheelset.formats import get_formatter
    from wheelset.maintain.outdated import check_outdated
    from wheelset.model.collection import load_collection

    formatter = get_formatter("outdated", output_format)
    collection = load_collection(directory)
    with http_client(index.timeout, connections=index.jobs, index_url=index.index_url) as http:
        client = IndexClient(configured_index_url(index.index_url), http=http)
        statuses = check_outdated(
            collection, client, jobs=index.jobs, allow_index_swap=allow_index_swap
        )
    typer.echo(formatter(statuses), nl=False)
    outdated = sum(s.is_outdated for s in statuses)
    blocked = sum(bool(s.newer) for s in statuses)
    typer.echo(
        f"{len(statuses)} projects: {outdated} can be updated, "
        f"{blocked} have newer releases lacking wheels",
        err=True,
    )
