"""The body of `wheelset build`, without typer: the typer command (cli/build.py) and the
fast path (cli/fast.py, which runs a plain ``build DIR --out OUT`` before the app loads)
both call it. The library is imported when it runs (an incremental build's own work is
smaller than loading the app). Output: the summary on stderr, the root CID alone as the
last line on stdout.
Entry points: run_build(); wheel_fetcher(), metadata_provider() (publish's too).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from wheelset.cli.run import DEFAULT_TIMEOUT
from wheelset.errors import UsageError

__all__ = ["metadata_provider", "run_build", "wheel_fetcher"]


def wheel_fetcher(
    http,
    index_url: str | None,
    gateways: list[str],
    cache_dir: Path | None,
    out: Path | None = None,
):
    """The wheel fetcher of build and publish: the cache, a previous build in OUT (its
    tree may hold the wheels already), the gateways by CID, then each wheel's source."""
    from wheelset.fetch.wheels import wheel_fetcher as fetcher

    trees = [out / "tree"] if out is not None else []
    return fetcher(http, cache_dir=cache_dir, index_url=index_url, gateways=gateways, trees=trees)


def metadata_provider(fetcher, counter: list[tuple[int, int]]):
    """METADATA for the declarations of a batch of projects; ``counter`` gets, per batch,
    (files fetched, files asked for)."""
    from wheelset.fetch.metadata_cache import collect_metadata

    def provide(decls):
        found, fetched = collect_metadata(decls, cache=fetcher.cache, fetcher=fetcher)
        counter.append((fetched, len(decls)))
        return found

    return provide


def _wheel_writer(fetcher):
    def write(decl, directory: Path) -> None:
        fetcher.fetch(decl, directory)

    return write


def run_build(
    directory: Path,
    *,
    out: Path | None = None,
    car: Path | None = None,
    with_metadata: bool = False,
    with_wheels: bool = False,
    index_url: str | None = None,
    gateway: list[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    cache_dir: Path | None = None,
) -> None:
    """Build the collection (see build_command's help); print the summary and the root."""
    if with_wheels and out is None:
        raise UsageError("--with-wheels needs --out")
    offline = not (with_metadata or with_wheels)
    if out is not None and offline:
        # An incremental build's stat sweep runs while the build modules load.
        from wheelset.build.sweep import start

        start(str(directory), out.absolute())
    from wheelset.build.stage import build_collection

    if offline:
        http = contextlib.nullcontext()
    else:
        from wheelset.fetch.http import http_client

        http = http_client(timeout)
    with http as client:
        fetcher = (
            None if offline else wheel_fetcher(client, index_url, gateway or [], cache_dir, out)
        )
        counts: list[tuple[int, int]] = []
        provider = metadata_provider(fetcher, counts) if with_metadata else None
        writer = _wheel_writer(fetcher) if with_wheels else None
        result = build_collection(
            directory, out=out, car=car, metadata=provider, wheels=writer, keep=True
        )
    summary = f"{result.wheels} wheels, {result.projects} projects"
    if result.blocks is not None:
        summary += f", {result.blocks} blocks"
    if with_metadata:
        fetched = sum(f for f, _ in counts)
        summary += f"; METADATA: {fetched} fetched, {sum(n for _, n in counts) - fetched} cached"
    if out is not None:
        summary += f"; wrote {out} ({result.rebuilt} of {result.projects} projects rebuilt)"
    if car is not None:
        summary += f"; CAR {car} ({result.car_size} bytes)"
    sys.stderr.write(summary + "\n")
    sys.stderr.flush()
    sys.stdout.write(f"{result.root}\n")
    sys.stdout.flush()
