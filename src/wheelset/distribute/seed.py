"""`wheelset install --seed`: after a verified install, serve what was installed.

The wheel files the install verified (by content-id, in the wheel cache) are added to a
local node, pinned, and written to the pin record, so that the user's node serves them
to others and `wheelset gc` can release them later. A wheel not in the wheel cache is one
the install read from the node, which holds its blocks: it is pinned by content-id, which
needs no bytes from here (a pin of a CID is of exactly that content); only when the node
cannot pin it is the wheel fetched and added. A wheel the node already pins is left as it
is (and not recorded: that pin is not wheelset's). The node must compute the declared
content-id of an added wheel, or the wheel is reported failed.
Entry points: seed_installed(), seed_wheels(), SeedReport.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wheelset.build.publish import ADDED, PINNED, PRESENT, WheelOutcome, add_wheel_file, node_api
from wheelset.distribute.mirror import same_cid
from wheelset.distribute.pins import PinRecord, record_for
from wheelset.errors import RpcError
from wheelset.fetch.cache import Cache
from wheelset.fetch.http import http_client
from wheelset.fetch.wheels import wheel_fetcher
from wheelset.ipfs.cid import CID
from wheelset.ipfs.rpc import KuboRpc
from wheelset.model.declarations import Declaration

__all__ = ["SeedReport", "seed_installed", "seed_wheels"]


@dataclass(frozen=True, slots=True)
class SeedReport:
    outcomes: tuple[WheelOutcome, ...]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def seed_installed(
    api: str | None,
    timeout: float,
    cache: Cache,
    gateways: Sequence[str],
    root: CID,
    installed: Sequence[Declaration],
) -> tuple[str, SeedReport]:
    """Pin the installed wheels on the node at ``api`` (default: the local one), recorded as
    seeded from ``root``; the node's RPC address and what happened to each wheel. A wheel in
    the wheel cache (the install verified it there) is added; one the install read from the
    node is pinned by content-id; fetched again from ``gateways`` only if the node cannot.

    Raises:
        RpcError: the node cannot be reached or refuses to add.
        FetchError: a wheel the node cannot pin cannot be fetched either.
    """
    api = node_api(api, None)
    assert api is not None  # no pinning service given: the local node at least

    def cached_file(decl: Declaration) -> Path | None:
        if cache.cached(decl.content_id, decl.filename, size=decl.size, sha256=decl.sha256):
            return cache.file_path(decl.content_id, decl.filename)
        return None

    with http_client(timeout) as http:
        rpc = KuboRpc(api, http=http, timeout=timeout)
        fetcher = wheel_fetcher(http, cache_dir=cache.directory, gateways=gateways, timeout=timeout)
        report = seed_wheels(
            rpc,
            record_for(rpc, cache.directory),
            installed,
            cached_file=cached_file,
            fetched_file=lambda decl: fetcher.fetch(decl).path,
            why=f"seed {root}",
            pin_timeout=timeout,
        )
    return api, report


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
