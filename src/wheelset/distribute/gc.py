"""`wheelset gc`: unpin what wheelset pinned on a node and no kept root references.

A kept root references its own CID (whose recursive pin holds its directories and pages)
and every wheel's content-id (read from its verified project files). The candidates are
the pins in the pin record that the node still has, minus those; a pin the record does
not hold was not made by wheelset and is never touched. Pins the record holds but the node
no longer has are forgotten (someone else removed them; a later pin of the same CID would
not be wheelset's). The node's own garbage collection frees the blocks later.
Entry points: collect_garbage(), kept_cids(), GcReport.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wheelset.client.root import Root
from wheelset.distribute.mirror import root_wheels, same_cid
from wheelset.distribute.pins import PinRecord
from wheelset.ipfs.cid import CID
from wheelset.ipfs.rpc import KuboRpc

__all__ = ["GcReport", "collect_garbage", "kept_cids"]


@dataclass(frozen=True, slots=True)
class GcReport:
    unpinned: tuple[tuple[CID, str], ...]  # (cid, why it was pinned); planned when dry_run
    kept: int  # wheelset's pins that a kept root references
    dry_run: bool


def kept_cids(roots: Iterable[Root]) -> set[CID]:
    """Every CID the roots reference (their own CIDs and their wheels), in comparable form."""
    kept: set[CID] = set()
    for root in roots:
        kept.add(same_cid(root.cid))
        kept.update(same_cid(c) for c in root_wheels(root))
    return kept


def collect_garbage(
    rpc: KuboRpc,
    record: PinRecord,
    keep: Iterable[Root],
    *,
    only: set[CID] | None = None,
    dry_run: bool = False,
) -> GcReport:
    """Unpin wheelset's pins that no root in ``keep`` references (only list them when
    ``dry_run``); with ``only`` (comparable CIDs, as kept_cids() gives), just those among them.

    Raises:
        RpcError: the node cannot be reached or refuses to unpin (the record then still
            holds every pin not yet removed).
    """
    kept = kept_cids(keep)
    on_node = {same_cid(c) for c in rpc.pin_ls()}
    ours = record.pins()
    gone = [cid for cid in ours if same_cid(cid) not in on_node]
    candidates = [
        (cid, why)
        for cid, why in ours.items()
        if same_cid(cid) in on_node
        and same_cid(cid) not in kept
        and (only is None or same_cid(cid) in only)
    ]
    if dry_run:
        return GcReport(tuple(candidates), len(ours) - len(gone) - len(candidates), True)
    done: list[CID] = []
    try:
        for cid, _ in candidates:
            rpc.pin_rm(cid)
            done.append(cid)
    finally:
        record.remove([*gone, *done])
    return GcReport(tuple(candidates), len(ours) - len(gone) - len(candidates), False)
