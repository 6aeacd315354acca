"""`wheelset mirror`: make a node hold a whole root — its own blocks and every wheel. The node
is asked what it pins (one `pin/ls`); a pinned root means everything is held. Otherwise each
wheel it does not pin is fetched by the one wheel fetcher — the cache, the gateways, then
its declared source — verified against its content-id on the way in (wheelset.fetch.wheels),
and added pinned; the node must compute the declared CID. Once every wheel is there, the
root's own blocks (directories, index pages, project files, METADATA files: everything but
the wheels) are read block by block from the root CID down, each checked against the CID its
parent links to (wheelset.ipfs.resolver), written to a CAR and imported with the root
pinned. Each pin is written to the pin record after the node confirms it, so a killed run
loses nothing: the next one skips what the node pins. A wheel that cannot be fetched is
reported and the root is left unpinned until a run gets them all.
Entry points: mirror_root(), root_wheels(), root_blocks(), MirrorReport.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from wheelset.build.publish import ADDED, FAILED, PublishError, WheelOutcome, add_wheel_file
from wheelset.client.root import Root
from wheelset.distribute.pins import PinRecord
from wheelset.errors import MirrorError
from wheelset.fetch import FetchError
from wheelset.fetch.wheels import WheelFetcher
from wheelset.ipfs.car import write_car
from wheelset.ipfs.cid import CID, DAG_PB
from wheelset.ipfs.dagpb import DIRECTORY, HAMT_SHARD, InvalidNode, decode_node, decode_unixfs
from wheelset.ipfs.resolver import PathResolver
from wheelset.ipfs.rpc import KuboRpc
from wheelset.model.declarations import Declaration
from wheelset.progress import NO_PROGRESS, Progress
from wheelset.workers import signals_to_main_thread, thread_map

__all__ = [
    "FETCHED",
    "HELD",
    "MirrorReport",
    "mirror_root",
    "root_blocks",
    "root_wheels",
    "same_cid",
]

HELD, FETCHED = "held", "fetched"
DEFAULT_WORKERS = 4
_BLOCK_READS = 8  # root blocks read at once (each a round trip to a gateway)


@dataclass(frozen=True, slots=True)
class MirrorReport:
    root: CID
    root_held: bool  # pinned before this run
    root_pinned: bool  # pinned after it
    wheels: int
    outcomes: tuple[WheelOutcome, ...]  # only the wheels this run looked at
    root_blocks: int = 0  # imported by this run
    fetched_bytes: int = 0

    def count(self, status: str) -> int:
        if status == HELD and self.root_held:
            return self.wheels
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failures(self) -> tuple[WheelOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == FAILED)


def same_cid(a: CID) -> CID:
    """The form pins are compared in (nodes list dag-pb pins as v0 or v1)."""
    return a.to_v1()


def root_wheels(root: Root) -> dict[CID, Declaration]:
    """Every wheel of ``root`` by content-id (each project file read once, verified)."""
    wheels: dict[CID, Declaration] = {}
    for _, entries in root.iter_projects():
        for entry in entries:
            wheels.setdefault(entry.declaration.content_id, entry.declaration)
    return wheels


def root_blocks(
    resolver: PathResolver, root: CID, wheels: Mapping[CID, object] | set[CID]
) -> Iterator[tuple[CID, bytes]]:
    """Every block below ``root`` except the wheels' (links to a CID in ``wheels``),
    root first, each verified against the link that led to it. Reads a level at a time,
    several blocks at once.

    Raises:
        PathError: a block could not be read from any source.
        MirrorError: a block is not dag-pb UnixFS where the root needs it to be.
    """
    skip = {same_cid(c) for c in wheels}
    seen: set[CID] = set()
    level = [root]
    with ThreadPoolExecutor(max_workers=_BLOCK_READS, initializer=signals_to_main_thread) as pool:
        while level:
            following: list[CID] = []
            for cid, block in zip(level, pool.map(resolver.block, level), strict=True):
                yield cid, block
                if cid.codec != DAG_PB:
                    continue
                try:
                    node = decode_node(block)
                    kind = decode_unixfs(node.data or b"").type
                except InvalidNode as e:
                    raise MirrorError(f"root {root}: block {cid} is not UnixFS: {e}") from e
                for link in node.links:
                    key = same_cid(link.cid)
                    if kind in (DIRECTORY, HAMT_SHARD) and key in skip:
                        continue
                    if key not in seen:
                        seen.add(key)
                        following.append(link.cid)
            level = following


def _fetch_and_add(decl: Declaration, rpc: KuboRpc, fetcher: WheelFetcher) -> WheelOutcome:
    try:
        wheel = fetcher.fetch(decl)
    except FetchError as e:
        return WheelOutcome(decl.filename, decl.content_id, FAILED, detail=e.one_line())
    outcome = add_wheel_file(rpc, decl, wheel.path)
    if outcome.status == ADDED:
        return WheelOutcome(decl.filename, decl.content_id, FETCHED, source=wheel.source)
    return WheelOutcome(decl.filename, decl.content_id, FAILED, detail=outcome.detail)


def mirror_root(
    root: Root,
    resolver: PathResolver,
    rpc: KuboRpc,
    record: PinRecord,
    fetcher: WheelFetcher,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: Progress = NO_PROGRESS,
) -> MirrorReport:
    """Make the node behind ``rpc`` hold and pin ``root`` and all its wheels.

    ``fetcher`` gets each missing wheel, verified (its cache, gateways, declared source);
    ``progress`` counts the wheels fetched and sees each one's status.
    Raises:
        RpcError: the node cannot be reached or refuses to add or pin.
        RootError, PathError, MirrorError: the root cannot be read and verified.
        PublishError: the node reports another root than the one imported.
    """
    pinned = {same_cid(c) for c in rpc.pin_ls()}
    if same_cid(root.cid) in pinned:
        return MirrorReport(root.cid, True, True, root.header.wheels, ())
    wheels = root_wheels(root)
    missing = [d for cid, d in wheels.items() if same_cid(cid) not in pinned]
    held = tuple(
        WheelOutcome(d.filename, cid, HELD) for cid, d in wheels.items() if same_cid(cid) in pinned
    )
    progress.start(len(missing), unit="wheels")
    why = f"mirror {root.cid}"
    stop = threading.Event()

    def provide(decl: Declaration) -> WheelOutcome:
        if stop.is_set():
            return WheelOutcome(decl.filename, decl.content_id, FAILED, detail="stopped")
        try:
            outcome = _fetch_and_add(decl, rpc, fetcher)
        except BaseException:
            stop.set()
            raise
        if outcome.status == FETCHED:
            record.add([decl.content_id], why)
        progress.advance(1)
        progress.item(outcome.filename, outcome.status)
        return outcome

    outcomes = held + tuple(thread_map(provide, missing, workers))
    if any(o.status == FAILED for o in outcomes):
        return MirrorReport(root.cid, False, False, len(wheels), outcomes)
    with tempfile.TemporaryFile(prefix="wheelset-mirror-", suffix=".car") as car:
        count = 0

        def counted() -> Iterator[tuple[CID, bytes]]:
            nonlocal count
            for item in root_blocks(resolver, root.cid, wheels):
                count += 1
                yield item

        write_car(car, [root.cid], counted())
        car.seek(0)
        imported = rpc.dag_import(car, pin_roots=True)
    reported = {same_cid(r.cid): r.pin_error for r in imported}
    if same_cid(root.cid) not in reported:
        raise PublishError(f"the node imported root {root.cid} but reports another root")
    if reported[same_cid(root.cid)]:
        raise PublishError(f"the node could not pin {root.cid}: {reported[same_cid(root.cid)]}")
    record.add([root.cid], why)
    return MirrorReport(root.cid, False, True, len(wheels), outcomes, count, resolver.fetched_bytes)
