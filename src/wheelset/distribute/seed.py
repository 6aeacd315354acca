"""`wheelset install --seed`: after a verified install, serve what was installed.

The wheel files the install verified (by content-id, in the wheel cache) are added to a
local node, pinned, and written to the pin record, so that the user's node serves them
to others and `wheelset gc` can release them later. A wheel not in the wheel cache is one
the install read from the node, which holds its blocks: it is pinned by content-id, which
needs no bytes from here (a pin of a CID is of exactly that content); only when the node
cannot pin it is the wheel fetched and added. A wheel the node already pins is left as it
is (and not recorded: that pin is not wheelset's). The node must compute the declared
content-id of an added wheel, or the wheel is reported failed.
Entry points: seed_wheels(), SeedReport.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from wheelset.build.publish import ADDED, PINNED, PRESENT, WheelOutcome, add_wheel_file
from wheelset.distribute.mirror import same_cid
from wheelset.distribute.pins import PinRecord
from wheelset.errors import RpcError
from wheelset.ipfs.rpc import KuboRpc
from wheelset.model.declarations import Declaration

__all__ = ["SeedReport", "seed_wheels"]


@dataclass(frozen=True, slots=True)
class SeedReport:
    outcomes: tuple[WheelOutcome, ...]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def seed_wheels(
    rpc: KuboRpc,
    record: PinRecord,
    wheels: Iterable[Declaration],
    *,
    cached_file: Callable[[Declaration], Path | None],
    fetched_file: Callable[[Declaration], Path],
    why: str,
    pin_timeout: float | None = None,
) -> SeedReport:
    """Pin each wheel on the node: ``cached_file(decl)`` (the verified file in the wheel
    cache, or None) is added; without one the node is asked to pin the content-id
    (``pin_timeout`` seconds), and if it cannot, ``fetched_file(decl)`` is added.

    Raises:
        RpcError: the node cannot be reached or refuses to add (pins made before are
            recorded).
        FetchError: (from ``fetched_file``) the wheel cannot be fetched.
    """
    pinned = {same_cid(c) for c in rpc.pin_ls()}
    outcomes = []
    for decl in wheels:
        if same_cid(decl.content_id) in pinned:
            outcomes.append(WheelOutcome(decl.filename, decl.content_id, PRESENT))
            continue
        path = cached_file(decl)
        outcome = None
        if path is None:
            try:
                rpc.pin_add(decl.content_id, timeout=pin_timeout)
                outcome = WheelOutcome(decl.filename, decl.content_id, PINNED)
            except RpcError:
                path = fetched_file(decl)
        if outcome is None:
            assert path is not None
            outcome = add_wheel_file(rpc, decl, path)
        if outcome.status in (ADDED, PINNED):
            record.add([decl.content_id], why)
        outcomes.append(outcome)
    return SeedReport(tuple(outcomes))
