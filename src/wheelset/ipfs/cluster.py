"""A client for the IPFS Cluster REST API: pin a CID across a cluster's peers, and wait.

Reference: https://ipfscluster.io/documentation/reference/api/ . ``POST /pins/{cid}`` with
query options (``name``, ``mode``, ``replication-min``, ``replication-max``, and
``pin-update`` naming an already pinned CID the new pin shares most blocks with, so peers
fetch only the difference) adds the pin; ``GET /pins/{cid}`` reports it per peer in a
``peer_map``: ``pinned``, ``pinning``, ``pin_queued``, ``remote`` (allocated elsewhere),
or an error status (``pin_error``, ``cluster_error``…). Authentication is a Bearer token
(the API's JWT or basic-auth setups accept it in front of a proxy), as for the pinning
service. HTTP client injected; no wheels. Entry points: ClusterClient, ClusterError,
PeerStatus.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from wheelset.errors import ClusterError
from wheelset.ipfs.cid import CID
from wheelset.ipfs.jsonapi import JsonApi

__all__ = ["ClusterClient", "ClusterError", "PeerStatus"]

_PENDING = frozenset({"pinning", "pin_queued", "queued"})
_NOT_HERE = frozenset({"remote", "sharded"})  # allocated to other peers


@dataclass(frozen=True, slots=True)
class PeerStatus:
    peer: str
    status: str
    error: str = ""


class ClusterClient(JsonApi):
    """One cluster peer's REST API, e.g. ``ClusterClient(url, token, http=client, timeout=t)``."""

    service = "the cluster"
    error = ClusterError

    def _refusal(self, method: str, path: str, status: int, doc: object, text: str) -> str:
        message = doc.get("message") if isinstance(doc, dict) else None
        text = message or " ".join(text.split())[:200]
        return f"the cluster refused {method} {path} (HTTP {status}): {text}"

    def pin(
        self,
        cid: CID,
        *,
        name: str = "",
        replication_min: int | None = None,
        replication_max: int | None = None,
        update_from: CID | None = None,
    ) -> None:
        """Ask the cluster to pin ``cid`` recursively."""
        params = {"mode": "recursive"}
        if name:
            params["name"] = name
        if replication_min is not None:
            params["replication-min"] = str(replication_min)
        if replication_max is not None:
            params["replication-max"] = str(replication_max)
        if update_from is not None:
            params["pin-update"] = str(update_from)
        self._request("POST", f"/pins/{cid}", params=params)

    def status(self, cid: CID) -> list[PeerStatus]:
        """Each peer's status for ``cid``."""
        doc = self._request("GET", f"/pins/{cid}")
        peers = doc.get("peer_map") if isinstance(doc, dict) else None
        if not isinstance(peers, dict):
            raise ClusterError(f"GET /pins/{cid}: the answer has no peer_map")
        return [
            PeerStatus(str(peer), str(info.get("status", "")), str(info.get("error") or ""))
            for peer, info in peers.items()
            if isinstance(info, dict)
        ]

    def wait(
        self,
        cid: CID,
        *,
        timeout: float,
        interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> list[PeerStatus]:
        """Poll until every allocated peer reports ``pinned``; return their statuses.

        Raises:
            ClusterError: a peer reports an error status, or some are still pinning after
                ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            peers = [p for p in self.status(cid) if p.status not in _NOT_HERE]
            failed = [p for p in peers if p.status not in _PENDING and p.status != "pinned"]
            if failed:
                what = "; ".join(f"{p.peer}: {p.status} {p.error}".strip() for p in failed)
                raise ClusterError(f"the cluster could not pin {cid}: {what}")
            if peers and all(p.status == "pinned" for p in peers):
                return peers
            if time.monotonic() >= deadline:
                raise ClusterError(
                    f"{cid} is not pinned on every allocated cluster peer after {timeout:g}s; "
                    "it may finish later"
                )
            sleep(interval)
