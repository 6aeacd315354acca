"""`wheelset install --seed`: the step after a successful install (add, pin, record)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

from wheelset.fetch.http import http_client

if TYPE_CHECKING:
    from pathlib import Path

    from wheelset.fetch.cache import Cache
    from wheelset.ipfs.cid import CID
    from wheelset.model.declarations import Declaration

__all__ = ["seed_installed"]


def seed_installed(
    api: str | None,
    timeout: float,
    cache: Cache,
    gateways: Sequence[str],
    root: CID,
    installed: Sequence[Declaration],
) -> None:
    """Pin the installed wheels on the node at ``api`` (default: the local one), recorded;
    print what was done. A wheel in the wheel cache (the install verified it there) is added;
    one the install read from the node is pinned by content-id; fetched again from
    ``gateways`` only if the node cannot pin it.

    Raises:
        PublishError: the node computed another CID for a wheel.
        RpcError: the node cannot be reached or refuses to add.
    """
    from wheelset.build.publish import ADDED, FAILED, PINNED, PRESENT, PublishError, node_api
    from wheelset.distribute.pins import record_for
    from wheelset.distribute.seed import seed_wheels
    from wheelset.fetch.wheels import wheel_fetcher
    from wheelset.ipfs.rpc import KuboRpc

    api = node_api(api, None)
    assert api is not None
    with http_client(timeout) as http:
        rpc = KuboRpc(api, http=http, timeout=timeout)
        record = record_for(rpc, cache.directory)
        fetcher = wheel_fetcher(http, cache_dir=cache.directory, gateways=gateways, timeout=timeout)

        def cached_file(decl: Declaration) -> Path | None:
            if cache.cached(decl.content_id, decl.filename, size=decl.size, sha256=decl.sha256):
                return cache.file_path(decl.content_id, decl.filename)
            return None

        report = seed_wheels(
            rpc,
            record,
            installed,
            cached_file=cached_file,
            fetched_file=lambda decl: fetcher.fetch(decl).path,
            why=f"seed {root}",
            pin_timeout=timeout,
        )
    for outcome in report.outcomes:
        if outcome.status == FAILED:
            typer.echo(f"failed: {outcome.filename}: {outcome.detail}", err=True)
    typer.echo(
        f"Seeding on {api}: {report.count(ADDED)} added and pinned, "
        f"{report.count(PINNED)} pinned from the node's own blocks, "
        f"{report.count(PRESENT)} already pinned",
        err=True,
    )
    if report.count(FAILED):
        raise PublishError(f"{report.count(FAILED)} wheels could not be seeded")
