"""`wheelset declare`: fetch wheels, check them, write one declaration per wheel."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    DEFAULT_COLLECTION,
    CacheDirOption,
    ExtrasOption,
    IndexAccess,
    NoCacheOption,
    with_option_groups,
)
from wheelset.cli.wiring import wheel_fetching
from wheelset.errors import UsageError

__all__ = ["declare_command"]


@handles_errors
@with_option_groups
def declare_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            metavar="SOURCE...",
            help="A local .whl, an http(s)/file URL of a wheel, or NAME==VERSION.",
        ),
    ],
    into: Annotated[
        Path, typer.Option("--into", metavar="DIR", help="The collection directory.")
    ] = DEFAULT_COLLECTION,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            metavar="URL",
            help="For one local .whl: the URL to record (or 'index'), not its file:// URL.",
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Remove the projects' other declarations.")
    ] = False,
    extras: ExtrasOption = None,
    all_extras: Annotated[
        bool, typer.Option("--all-extras", help="Declare every extra the wheels provide.")
    ] = False,
    with_deps: Annotated[
        bool,
        typer.Option(
            "--with-deps",
            help="Also declare every dependency: for each, the newest release that fits "
            "every requirement in the collection and has wheels for every platform.",
        ),
    ] = False,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = None,
    *,
    index: IndexAccess,
) -> None:
    """Declare wheels: fetch, check, and write one TOML file per wheel under --into."""
    from wheelset.maintain.declare import declare_sources, parse_source, write_declarations
    from wheelset.model.platforms import PLATFORMS_FILE, PlatformError, load_platforms

    specs = [parse_source(s) for s in sources]
    releases = any(s.kind == "release" for s in specs)
    platforms = None
    if releases or with_deps:
        if not (into / PLATFORMS_FILE).is_file():
            raise PlatformError(
                f"not found: start a collection with `wheelset init {into}`",
                path=into / PLATFORMS_FILE,
            )
        platforms = load_platforms(into / PLATFORMS_FILE)[0]
    if all_extras and extras is not None:
        raise UsageError("--extras and --all-extras exclude each other")
    wanted = None if all_extras else extras or []
    with wheel_fetching(
        index.timeout, index.index_url, cache_dir=cache_dir, use_cache=not no_cache
    ) as fetcher:
        if with_deps:
            declared = _declare_with_deps(
                specs, into, platforms or [], wanted, replace, fetcher, index.jobs
            )
        else:
            declared = declare_sources(
                sources,
                fetcher=fetcher,
                platforms=platforms,
                source=source,
                extras=wanted,  # type: ignore[arg-type] - a list
                jobs=index.jobs,
            )
    for note in declared.notes:
        typer.echo(f"note: {note}", err=True)
    for status, path in write_declarations(declared.declarations, into, replace=replace):
        typer.echo(f"{status} {path}")


def _declare_with_deps(specs, into, platforms, wanted, replace, fetcher, jobs):  # type: ignore[no-untyped-def]
    from wheelset.maintain.closure_resolve import declare_closure, resolve_closure
    from wheelset.model.collection import load_collection

    if any(s.kind != "release" for s in specs):
        raise UsageError("--with-deps takes releases only (NAME[extras][==VERSION])")
    if wanted is None or wanted:
        raise UsageError("--with-deps takes extras as NAME[a,b], not --extras/--all-extras")
    collection = load_collection(into)
    plan = resolve_closure(
        specs,
        collection.declarations,
        platforms,
        index=fetcher.index,
        fetcher=fetcher,
        cache_dir=None if fetcher.cache is None else fetcher.cache.directory / "core-metadata",
        replace=replace,
        jobs=jobs,
    )
    return declare_closure(plan, fetcher=fetcher, jobs=jobs)
