"""Replication through an IPFS Cluster: pin a root on several peers, updating the last one.

The cluster pins the root recursively on ``replication-min``..``replication-max`` peers;
when this cache remembers a root pinned earlier through the same cluster, the new pin is
sent as an update of it (``pin-update``), so peers fetch only the blocks that changed.
Success (every allocated peer pinned) is remembered in ``cluster/<hash of the URL>``.
Entry points: replicate_root().
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

from wheelset.fsutil import atomic_write_text
from wheelset.ipfs.cid import CID, InvalidCID, parse_cid
from wheelset.ipfs.cluster import ClusterClient, PeerStatus

__all__ = ["replicate_root"]


def _memo(cache_directory: Path, url: str) -> Path:
    return cache_directory / "cluster" / hashlib.sha256(url.encode()).hexdigest()[:32]


def replicate_root(
    client: ClusterClient,
    root: CID,
    cache_directory: Path,
    *,
    name: str,
    replication_min: int | None,
    replication_max: int | None,
    timeout: float,
    interval: float = 2.0,
) -> tuple[list[PeerStatus], CID | None]:
    """Pin ``root`` through the cluster and wait; return the peers' statuses and the root
    it was an update of (None when none).

    Raises:
        ClusterError: refused, a peer failed, or not done within ``timeout``.
    """
    memo = _memo(cache_directory, client.base_url)
    previous = None
    with contextlib.suppress(OSError, InvalidCID):
        previous = parse_cid(memo.read_text().strip())
    if previous == root:
        previous = None
    client.pin(
        root,
        name=name,
        replication_min=replication_min,
        replication_max=replication_max,
        update_from=previous,
    )
    peers = client.wait(root, timeout=timeout, interval=interval)
    # A memo that cannot be written only costs the next pin its update.
    with contextlib.suppress(OSError):
        atomic_write_text(memo, f"{root}\n")
    return peers, previous
