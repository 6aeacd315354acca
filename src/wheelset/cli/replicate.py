"""The steps `wheelset publish` takes after the node has the root: record its pins, pin it
through an IPFS Cluster, point an IPNS name at it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    import httpx

    from wheelset.build.publish import PublishReport
    from wheelset.ipfs.cid import CID
    from wheelset.ipfs.rpc import KuboRpc

__all__ = ["announce", "cluster_pin", "record_publish"]


def record_publish(rpc: KuboRpc, cache_dir: Path | None, report: PublishReport) -> None:
    """Write the pins publish made to the pin record (for `wheelset gc`)."""
    from wheelset.build.publish import ADDED, PINNED
    from wheelset.distribute.pins import record_for
    from wheelset.fetch.cache import default_cache_dir

    record = record_for(rpc, cache_dir or default_cache_dir())
    why = f"publish {report.root}"
    record.add((w.content_id for w in report.wheels if w.status in (ADDED, PINNED)), why)
    if report.root_pinned:
        record.add([report.root], why)


def cluster_pin(
    http: httpx.Client,
    url: str,
    token: str | None,
    root: CID,
    timeout: float,
    cache_dir: Path | None,
    *,
    name: str,
    replication: tuple[int | None, int | None],
) -> None:
    """Pin ``root`` on the cluster (as an update of the root last pinned there) and wait
    until every allocated peer has it."""
    from wheelset.distribute.replicate import replicate_root
    from wheelset.fetch.cache import default_cache_dir
    from wheelset.ipfs.cluster import ClusterClient

    client = ClusterClient(url, token, http=http, timeout=timeout)
    peers, previous = replicate_root(
        client,
        root,
        cache_dir or default_cache_dir(),
        name=name,
        replication_min=replication[0],
        replication_max=replication[1],
        timeout=timeout,
    )
    update = f" (an update of {previous})" if previous else ""
    typer.echo(f"cluster: pinned on {len(peers)} peers{update}", err=True)


def announce(http: httpx.Client, api: str | None, key: str, root: CID, timeout: float) -> None:
    """Point the IPNS name of ``key`` at ``root``."""
    from wheelset.ipfs.rpc import KuboRpc

    name = KuboRpc(api or "", http=http, timeout=timeout).name_publish(root, key=key)
    typer.echo(f"/ipns/{name} -> /ipfs/{root}", err=True)
