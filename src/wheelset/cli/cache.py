"""`wheelset cache dir|info|clean`: where the one cache is, what it holds, and emptying it."""

from __future__ import annotations

from typing import Annotated

import typer

from wheelset.cli.command import WheelsetCommand, WheelsetGroup
from wheelset.cli.errors import handles_errors
from wheelset.cli.options import CacheDirOption
from wheelset.cli.progress import human_size
from wheelset.errors import UsageError

__all__ = ["cache_app"]

cache_app = typer.Typer(
    cls=WheelsetGroup,
    help="The cache every command shares (--cache-dir, else $WHEELSET_CACHE_DIR, else "
    "$XDG_CACHE_HOME/wheelset).",
    no_args_is_help=True,
)


def _cache(cache_dir):
    from wheelset.fetch.cache import Cache, default_cache_dir

    return Cache(cache_dir or default_cache_dir())


@cache_app.command("dir", cls=WheelsetCommand)
@handles_errors
def dir_command(cache_dir: CacheDirOption = None) -> None:
    """Print the cache directory."""
    typer.echo(str(_cache(cache_dir).directory))


@cache_app.command("info", cls=WheelsetCommand)
@handles_errors
def info_command(cache_dir: CacheDirOption = None) -> None:
    """Print each bucket's file count and size (files, sha256, metadata, blocks, unpacked)."""
    cache = _cache(cache_dir)
    buckets = cache.info()
    typer.echo(f"cache: {cache.directory}")
    for bucket in buckets:
        typer.echo(f"{bucket.name:<9} {bucket.files:>7} files {human_size(bucket.size):>10}")
    typer.echo(
        f"{'total':<9} {sum(b.files for b in buckets):>7} files "
        f"{human_size(sum(b.size for b in buckets)):>10}"
    )


@cache_app.command("clean", cls=WheelsetCommand)
@handles_errors
def clean_command(
    buckets: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="BUCKET", help="files, sha256, metadata, blocks or unpacked (default: all)."
        ),
    ] = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Remove the cache's buckets (all by default); print what was freed."""
    from wheelset.fetch.cache import BUCKETS

    chosen = buckets or list(BUCKETS)
    unknown = [b for b in chosen if b not in BUCKETS]
    if unknown:
        raise UsageError(f"unknown cache bucket {unknown[0]!r} (known: {', '.join(BUCKETS)})")
    cache = _cache(cache_dir)
    freed = cache.clean(chosen)
    typer.echo(f"removed {', '.join(chosen)} from {cache.directory}: {human_size(freed)} freed")
