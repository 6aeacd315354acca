"""The `wheelset publish` stage: put a built root, and every wheel it links, on an IPFS node.

A node pins a root recursively, which needs every block below it — the wheels' too — so
the wheels go first: with a WheelFetcher each wheel is downloaded (verified against its
content-id) and added with a pin, and the CID the node computes must equal the declared
one; without, each content-id is pinned and the node must find it on the network. Then
the build's CAR is imported with its root pinned, and the node must report that root.
If a wheel fails, the CAR is still imported (unpinned) and the failures are reported;
running publish again retries only what is missing, since pinned wheels are skipped.
read_build_directory() gives what publishing an existing build directory needs, nothing
rebuilt. request_remote_pin() asks a Pinning Service API endpoint to pin the root as well.
failed_wheels_error() is the error a publish with failed wheels ends with, saying what would
get them onto the node.
Entry points: node_api(), publish(), add_wheel_file(), read_build_directory(),
failed_wheels_error(), PublishReport, WheelOutcome, request_remote_pin().
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wheelset.build.stage import CAR_FILE
from wheelset.client.root import RootRef, open_root
from wheelset.errors import PublishError, WheelsetError
from wheelset.fetch.wheels import WheelFetcher
from wheelset.ipfs.car import InvalidCAR, iter_car
from wheelset.ipfs.cid import CID
from wheelset.ipfs.pinning import PinningService, PinningServiceError, PinStatus
from wheelset.ipfs.rpc import KuboRpc
from wheelset.model.declarations import Declaration, parse_wheel_name
from wheelset.progress import NO_PROGRESS, Progress
from wheelset.workers import thread_map

__all__ = [
    "ADDED",
    "FAILED",
    "PINNED",
    "PRESENT",
    "PublishError",
    "PublishReport",
    "WheelOutcome",
    "add_wheel_file",
    "failed_wheels_error",
    "node_api",
    "publish",
    "read_build_directory",
    "request_remote_pin",
]

ADDED, PINNED, PRESENT, FAILED = "added", "pinned", "present", "failed"
DEFAULT_WORKERS = 4  # wheels fetched and added at once
DEFAULT_API = "http://127.0.0.1:5001"  # Kubo's default RPC address


@dataclass(frozen=True, slots=True)
class WheelOutcome:
    """What happened to one wheel on a node: added (from its source), pinned, present,
    held or fetched (mirror), or failed; ``source`` says where fetched bytes came from."""

    filename: str
    content_id: CID
    status: str
    detail: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class PublishReport:
    root: CID
    blocks: int
    car_size: int  # bytes
    root_pinned: bool
    wheels: tuple[WheelOutcome, ...]

    def count(self, status: str) -> int:
        return sum(1 for w in self.wheels if w.status == status)

    @property
    def failures(self) -> tuple[WheelOutcome, ...]:
        return tuple(w for w in self.wheels if w.status == FAILED)


def node_api(api: str | None, pinning_service: str | None) -> str | None:
    """The node to publish to: ``api`` if given, else the local node's default address,
    unless only a pinning service was named (then no node: the service alone pins)."""
    if api is None and not pinning_service:
        return DEFAULT_API
    return api


def _provide(
    decl: Declaration,
    rpc: KuboRpc,
    fetcher: WheelFetcher | None,
    pin_timeout: float | None,
) -> WheelOutcome:
    try:
        if fetcher is None:
            rpc.pin_add(decl.content_id, timeout=pin_timeout)
            return WheelOutcome(decl.filename, decl.content_id, PINNED)
        with tempfile.TemporaryDirectory(prefix="wheelset-publish-") as tmp:
            return add_wheel_file(rpc, decl, fetcher.fetch(decl, Path(tmp)).path)
    except WheelsetError as e:
        return WheelOutcome(decl.filename, decl.content_id, FAILED, e.one_line())


def read_build_directory(out: Path) -> tuple[CID, bytes, list[Declaration]]:
    """The root of the build directory ``out`` (its ROOT), its CAR, and the declarations of
    every wheel the root links, read from the CAR by verified path resolution (OUT/tree is
    the user's copy, not what the CAR holds).

    Raises:
        RootError: ``out`` is not a whole build directory, or its CAR cannot be read.
        PublishError: the CAR is not of ROOT.
    """
    root = open_root(RootRef(str(out), directory=out)).cid
    car = out / CAR_FILE
    linked = open_root(RootRef(str(car), car=car))
    if linked.cid != root:
        raise PublishError(f"{car} is the CAR of {linked.cid}, but {out}/ROOT says {root}")
    declarations = [e.declaration for _, entries in linked.iter_projects() for e in entries]
    try:
        data = car.read_bytes()
    except OSError as e:
        raise PublishError(f"cannot read: {e.strerror or e}", path=car) from e
    return root, data, declarations


def _count_blocks(root: CID, car: bytes) -> int:
    try:
        roots, sections = iter_car(io.BytesIO(car))
        blocks = sum(1 for _ in sections)
    except InvalidCAR as e:
        raise PublishError(f"the CAR of {root} is not valid: {e}") from e
    if roots != (root,):
        listed = ", ".join(map(str, roots)) or "none"
        raise PublishError(f"the CAR's root is {listed}, not {root}")
    return blocks


def add_wheel_file(rpc: KuboRpc, decl: Declaration, path: Path) -> WheelOutcome:
    """Add a verified wheel file to the node, pinned; ADDED, or FAILED when the node
    computes another CID than the declared one (its import settings differ).

    Raises:
        RpcError: the node cannot be reached or refuses the file.
    """
    with path.open("rb") as stream:
        entries = rpc.add(stream, decl.filename, pin=True)
    if not entries or entries[-1].cid != decl.content_id:
        got = entries[-1].cid if entries else "nothing"
        return WheelOutcome(
            decl.filename,
            decl.content_id,
            FAILED,
            f"the node computed {got}, the declaration says {decl.content_id}",
        )
    return WheelOutcome(decl.filename, decl.content_id, ADDED)


def publish(
    root: CID,
    car: bytes,
    declarations: Sequence[Declaration],
    rpc: KuboRpc,
    *,
    fetcher: WheelFetcher | None = None,
    workers: int = DEFAULT_WORKERS,
    pin_timeout: float | None = None,
    progress: Progress = NO_PROGRESS,
) -> PublishReport:
    """Make ``root`` (its CAR is ``car``) and all its wheels (``declarations``) available,
    and pinned, on the node.

    ``fetcher`` given: add wheels from their sources; else pin them by content-id.
    ``progress`` counts the wheels and sees each one's status (added, pinned, present,
    failed).
    Raises:
        RpcError: the node cannot be reached or refuses the CAR.
        PublishError: the CAR is not valid or not of ``root``; the node reports another
            root, or cannot pin it.
    """
    blocks = _count_blocks(root, car)
    rpc.version()
    pinned = rpc.pin_ls()
    decls = declarations
    progress.start(len(decls), unit="wheels")

    def provide(decl: Declaration) -> WheelOutcome:
        if root in pinned or decl.content_id in pinned:
            outcome = WheelOutcome(decl.filename, decl.content_id, PRESENT)
        else:
            outcome = _provide(decl, rpc, fetcher, pin_timeout)
        progress.advance(1)
        progress.item(outcome.filename, outcome.status)
        return outcome

    outcomes = tuple(thread_map(provide, decls, workers))
    complete = all(o.status != FAILED for o in outcomes)
    roots = rpc.dag_import(car, pin_roots=complete)
    if complete:
        reported = {r.cid: r.pin_error for r in roots}
        if root not in reported:
            listed = ", ".join(str(c) for c in reported) or "none"
            raise PublishError(f"the node imported the CAR but reports root {listed}")
        if reported[root]:
            raise PublishError(f"the node could not pin {root}: {reported[root]}")
    return PublishReport(root, blocks, len(car), complete, outcomes)


def failed_wheels_error(
    report: PublishReport, *, from_sources: bool, tree: Path | None = None
) -> PublishError:
    """The error ending a publish some of whose wheels failed (``report.failures``).

    Added with ``from_sources``, they failed for the reasons in their details. Pinned by
    content-id, the node had to hold or find each; the error says what --from-sources does
    instead: add the wheels found in ``tree`` (a build directory's OUT/tree, which the
    fetcher tries before any download) and fetch the others from their declared sources.
    """
    failed = report.failures
    head = f"{len(failed)} of {len(report.wheels)} wheels failed"
    again = "run publish again (done work is kept)"
    if from_sources:
        return PublishError(f"{head}; fix them and {again}")
    in_tree = sum(
        1
        for w in failed
        if tree is not None and (tree / parse_wheel_name(w.filename)[0] / w.filename).is_file()
    )
    if in_tree == len(failed):
        how = f"adds them from {tree}"
    elif in_tree:
        how = (
            f"adds the {in_tree} in {tree} from there and fetches the other "
            f"{len(failed) - in_tree} from their declared sources"
        )
    else:
        how = "fetches them from their declared sources and adds them"
    return PublishError(
        f"{head}: pinning by content-id needs each wheel on the node or found by it in time; "
        f"--from-sources {how} (verified against their content-ids); {again}"
    )


def request_remote_pin(
    service: PinningService,
    root: CID,
    *,
    name: str = "",
    origins: Sequence[str] = (),
    timeout: float = 600.0,
    interval: float = 2.0,
) -> PinStatus:
    """Ask a pinning service to pin ``root`` and wait until it is pinned.

    Raises:
        PinningServiceError: refused, failed, or not done within ``timeout`` seconds.
    """
    status = service.wait(
        service.add(root, name=name, origins=origins), timeout=timeout, interval=interval
    )
    if status.status != "pinned":
        raise PinningServiceError(f"the service could not pin {root} (request {status.requestid})")
    return status
