"""`wheelset bump`: move projects to other releases if the collection stays sound."""

from __future__ import annotations

from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    AllowIndexSwapOption,
    CacheDirOption,
    CollectionArg,
    ExtrasOption,
    FormatOption,
    IndexAccess,
    NoCacheOption,
    with_option_groups,
)
from wheelset.cli.wiring import wheel_fetching

__all__ = ["bump_command"]


@handles_errors
@with_option_groups
def bump_command(
    directory: CollectionArg,
    releases: Annotated[
        list[str],
        typer.Argument(
            metavar="PROJECT[==VERSION]...",
            help="The projects, and the releases to move to (default: the newest release "
            "with wheels for every platform the project covers now), bumped together.",
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Write the bump even if it breaks the collection.")
    ] = False,
    output_format: Annotated[
        str, FormatOption("markdown (a pull-request description) or json")
    ] = "markdown",
    extras: ExtrasOption = None,
    allow_index_swap: AllowIndexSwapOption = False,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = None,
    *,
    index: IndexAccess,
) -> None:
    """Replace projects' declarations with other releases', if the collection stays sound.

    The release's wheels are fetched and verified, the checks run on the would-be \
collection, and what the bump breaks (compared with before) is reported: dependents \
whose specifiers exclude the new version, platforms left without a wheel, any other new \
finding. Nothing is written when it breaks something (exit 1) unless --force.
    """
    from wheelset.formats import get_formatter
    from wheelset.maintain.bump import apply_bump, parse_targets, plan_bump
    from wheelset.model.collection import load_collection

    formatter = get_formatter("bump", output_format)
    targets = parse_targets(releases)
    collection = load_collection(directory)
    with wheel_fetching(
        index.timeout, index.index_url, cache_dir=cache_dir, use_cache=not no_cache
    ) as fetcher:
        plan = plan_bump(
            collection,
            targets,
            fetcher=fetcher,
            extras=extras,  # type: ignore[arg-type] - parsed into a list by the option
            jobs=index.jobs,
            allow_index_swap=allow_index_swap,
        )
    applied = not plan.is_noop and (plan.is_sound or force)
    written = apply_bump(plan, directory) if applied else []
    typer.echo(formatter(plan, applied=applied, base=directory), nl=False)
    for status, path in written:
        typer.echo(f"{status} {path}", err=True)
    if plan.is_noop:
        typer.echo("up to date: nothing to bump", err=True)
    elif not plan.is_sound:
        what = "written anyway (--force)" if applied else "nothing written"
        typer.echo(f"the bump breaks {len(plan.breaks)} thing(s): {what}", err=True)
        if not applied:
            raise typer.Exit(1)
