"""`wheelset install --seed`: after a verified install, serve what was installed.

The wheel files the install verified (by content-id, in the wheel cache) are added to a
local node, pinned, and written to the pin record, so that the user's node serves them
to others and `wheelset gc` can release them later. A wheel the node already pins is left
as it is (and not recorded: that pin is not wheelset's). The node must compute the
declared content-id, or the wheel is reported failed.
Entry points: seed_wheels(), SeedReport.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wheelset.build.publish import ADDED, PRESENT, WheelOutcome, add_wheel_file
from wheelset.distribute.mirror import same_cid
from wheelset.distribute.pins import PinRecord
from wheelset.ipfs.rpc import KuboRpc
from wheelset.model.declarations import Declaration

__all__ = ["SeedReport", "seed_wheels"]


@dataclass(frozen=True, slots=True)
class SeedReport:
    outcomes: tuple[WheelOutcome, ...]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def seed_wheels(
    rpc: KuboRpc, record: PinRecord, wheels: Iterable[tuple[Declaration, Path]], *, why: str
) -> SeedReport:
    """Add and pin each verified wheel file on the node.

    Raises:
        RpcError: the node cannot be reached or refuses to add (pins made before are
            recorded).
    """
    pinned = {same_cid(c) for c in rpc.pin_ls()}
    outcomes = []
    for decl, path in wheels:
        if same_cid(decl.content_id) in pinned:
            outcomes.append(WheelOutcome(decl.filename, decl.content_id, PRESENT))
            continue
        outcome = add_wheel_file(rpc, decl, path)
        if outcome.status == ADDED:
            record.add([decl.content_id], why)
        outcomes.append(outcome)
    return SeedReport(tuple(outcomes))
