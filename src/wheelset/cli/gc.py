"""`wheelset gc`: unpin what wheelset pinned on a node that no kept root references."""

from __future__ import annotations

from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import DryRunOption, RootSources, with_option_groups
from wheelset.cli.wiring import open_root
from wheelset.errors import UsageError
from wheelset.fetch.http import http_client

__all__ = ["gc_command"]


@handles_errors
@with_option_groups
def gc_command(
    keep: Annotated[
        list[str],
        typer.Option(
            "--keep",
            metavar="ROOT",
            help="A root to keep (any ROOT form, names included; repeatable, at least one).",
        ),
    ] = [],  # noqa: B006 - typer needs a literal default
    dry_run: DryRunOption = False,
    *,
    sources: RootSources,
) -> None:
    """Unpin the wheels and roots wheelset pinned on the node (publish, mirror, install
    --seed) that no kept root references. Pins wheelset did not make are never touched.
    The node defaults to the local one (http://127.0.0.1:5001)."""
    from wheelset.build.publish import node_api
    from wheelset.distribute.gc import collect_garbage
    from wheelset.distribute.pins import record_for
    from wheelset.ipfs.rpc import KuboRpc

    if not keep:
        raise UsageError("give at least one --keep ROOT (the roots whose content stays pinned)")
    api, timeout = node_api(sources.api, None), sources.timeout
    with http_client(timeout) as http:
        rpc = KuboRpc(api or "", http=http, timeout=timeout)
        roots = []
        for text in keep:
            opened, _, cache = open_root(
                text, sources.gateway, timeout, sources.cache_dir, http, api
            )
            roots.append(opened)
        record = record_for(rpc, cache.directory)
        report = collect_garbage(rpc, record, roots, dry_run=dry_run)
    verb = "would unpin" if dry_run else "unpinned"
    for cid, why in report.unpinned:
        typer.echo(f"{verb} {cid} ({why})")
    typer.echo(
        f"{verb} {len(report.unpinned)} pins; {report.kept} of wheelset's pins are kept",
        err=True,
    )
