"""`wheelset mirror --follow NAME`: keep a node holding the root a mutable name points at.

Every ``interval`` the name is resolved; a new root is mirrored (and verified: the name
is only a pointer) and becomes the current one, the one before it is superseded. A
superseded root's pins are released ``grace`` seconds after it was superseded — only those
no kept root (the current one, or one still in its grace period) references, and only pins
wheelset made. A failed round (name unresolvable, a wheel unavailable) is reported and
retried at the next one; the current root stays held meanwhile.
Entry points: follow_name(), FollowEvent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from wheelset.client.root import Root
from wheelset.distribute.gc import GcReport, collect_garbage, kept_cids
from wheelset.distribute.mirror import MirrorReport
from wheelset.distribute.pins import PinRecord
from wheelset.errors import WheelsetError
from wheelset.ipfs.cid import CID
from wheelset.ipfs.rpc import KuboRpc

__all__ = ["FollowEvent", "follow_name"]


@dataclass(frozen=True, slots=True)
class FollowEvent:
    """What one round did: mirrored a root, released superseded ones, or failed."""

    kind: str  # "mirrored" | "released" | "failed"
    root: CID | None = None
    mirror: MirrorReport | None = None
    gc: GcReport | None = None
    error: str = ""


def follow_name(
    resolve: Callable[[], Root],
    mirror: Callable[[Root], MirrorReport],
    rpc: KuboRpc,
    record: PinRecord,
    *,
    grace: float,
    interval: float,
    on_event: Callable[[FollowEvent], None],
    rounds: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Follow the name until interrupted (or for ``rounds`` rounds).

    ``resolve`` opens the root the name points at now; ``mirror`` makes the node hold it.
    """
    current: Root | None = None
    superseded: list[tuple[Root, float]] = []  # (root, when it was superseded)
    done = 0
    while rounds is None or done < rounds:
        done += 1
        try:
            root = resolve()
            if current is None or root.cid != current.cid:
                report = mirror(root)
                if report.root_pinned:
                    if current is not None:
                        superseded.append((current, clock()))
                    current = root
                    on_event(FollowEvent("mirrored", root.cid, mirror=report))
                else:
                    on_event(FollowEvent("failed", root.cid, mirror=report, error="incomplete"))
            expired = [r for r, since in superseded if clock() - since >= grace]
            if expired and current is not None:
                keep = [current, *(r for r, since in superseded if clock() - since < grace)]
                report = collect_garbage(rpc, record, keep, only=kept_cids(expired))
                superseded = [(r, s) for r, s in superseded if r not in expired]
                on_event(FollowEvent("released", current.cid, gc=report))
        except WheelsetError as e:
            on_event(FollowEvent("failed", error=e.one_line()))
        if rounds is None or done < rounds:
            sleep(interval)
