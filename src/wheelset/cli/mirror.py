"""`wheelset mirror`: make a node hold a whole root (once, or following a name)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import IndexAccess, RootSources, TimeoutOption, with_option_groups
from wheelset.cli.progress import ProgressBar, echo_outcome
from wheelset.cli.wiring import open_root, resolve_root_name
from wheelset.errors import UsageError
from wheelset.fetch.http import http_client

__all__ = ["mirror_command", "parse_duration"]

MIRROR_TIMEOUT = 300.0  # seconds: adding a large wheel to a busy node takes a while
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in ``30``, ``30s``, ``10m``, ``1.5h``, ``7d``.

    Raises:
        UsageError: anything else.
    """
    match = _DURATION.match(text)
    if match is None:
        raise UsageError(f"--grace {text!r}: want a duration like 30s, 10m, 1h or 7d")
    return float(match.group(1)) * _UNITS[match.group(2)]


@handles_errors
@with_option_groups
def mirror_command(
    root: Annotated[
        str | None,
        typer.Argument(
            metavar="ROOT",
            help="The root to mirror: a CID, /ipfs/<cid>, /ipns/<name>, a DNSLink domain, a "
            "build directory or a CAR file (not with --follow).",
        ),
    ] = None,
    api: Annotated[
        str | None,
        typer.Option(
            "--api",
            metavar="URL",
            envvar="WHEELSET_API",
            help="The node's RPC API: the node to hold the root (default "
            "http://127.0.0.1:5001); it also resolves names.",
        ),
    ] = None,
    follow: Annotated[
        str | None,
        typer.Option(
            "--follow",
            metavar="NAME",
            help="Keep following this IPNS name or DNSLink domain: mirror each new root it "
            "points at (runs until interrupted).",
        ),
    ] = None,
    grace: Annotated[
        str,
        typer.Option(
            "--grace",
            metavar="DURATION",
            help="With --follow: release what only superseded roots need this long after "
            "they were superseded (e.g. 30s, 10m, 1h).",
        ),
    ] = "1h",
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            metavar="SECONDS",
            min=0.1,
            help="With --follow: resolve the name this often.",
        ),
    ] = 60.0,
    timeout: TimeoutOption = MIRROR_TIMEOUT,
    *,
    sources: RootSources,
    index: IndexAccess,
) -> None:
    """Make the node at --api hold a whole root: its blocks and every wheel, pinned.

    Wheels the node lacks are fetched from the gateways, then from their declared sources,
    each verified against its content-id; the root's own blocks are read from the gateways,
    each verified. Safe to re-run or to kill: a run does only what the node does not pin.
    The node defaults to the local one (http://127.0.0.1:5001).
    """
    from wheelset.build.publish import FAILED, node_api
    from wheelset.client.root import root_resolver
    from wheelset.distribute.follow import follow_name
    from wheelset.distribute.mirror import FETCHED, HELD, MirrorError, mirror_root
    from wheelset.distribute.pins import record_for
    from wheelset.fetch.wheels import wheel_fetcher
    from wheelset.ipfs.resolver import CarBlocks, PathResolver
    from wheelset.ipfs.rpc import KuboRpc

    if (root is None) == (follow is None):
        raise UsageError("give either ROOT or --follow NAME")
    grace_seconds = parse_duration(grace)
    jobs = index.jobs
    api = node_api(api, None)
    assert api is not None
    with http_client(timeout, connections=2 * jobs) as http:
        rpc = KuboRpc(api, http=http, timeout=timeout)
        rpc.version()

        def opened(text: str):
            # The target node is asked to resolve names, not for blocks: it lacks them.
            resolved = resolve_root_name(text, http, api, timeout)
            return open_root(resolved or text, sources.gateway, timeout, sources.cache_dir, http)

        first, fetcher, cache = opened(root or follow or "")
        record = record_for(rpc, cache.directory)
        wheels = wheel_fetcher(
            http,
            cache_dir=cache.directory,
            index_url=index.index_url,
            gateways=fetcher.gateways,
            timeout=timeout,
        )

        def mirror(target):
            typer.echo(f"mirroring root {target.cid} onto {api}", err=True)
            with ProgressBar("wheels") as progress:
                report = mirror_root(
                    target, resolver, rpc, record, wheels, workers=jobs, progress=progress
                )
            state = "held" if report.root_pinned else "NOT pinned (wheels missing)"
            echo_outcome(
                report.failures,
                f"root {report.root} {state} on {api}; wheels: {report.count(HELD)} held, "
                f"{report.count(FETCHED)} fetched, {report.count(FAILED)} failed; "
                f"{report.root_blocks} root blocks imported",
            )
            return report

        # The root's own blocks: from a local CAR (ROOT a build directory or CAR file), the
        # block cache, then the gateways — never the target node, which lacks them and
        # would wait for each until the timeout.
        resolver = root_resolver(fetcher, cache.directory, http=http, timeout=timeout)
        car = _local_car(root)
        if car is not None:
            resolver = PathResolver((CarBlocks(car), *resolver.sources), cache=resolver.cache)
        if follow is None:
            report = mirror(first)
            if report.failures:
                raise MirrorError(
                    f"{len(report.failures)} wheels failed; run mirror again to retry them "
                    "(done work is kept)"
                )
            typer.echo(str(report.root))
            return

        def on_event(event) -> None:
            if event.kind == "released" and event.gc is not None:
                typer.echo(
                    f"released {len(event.gc.unpinned)} pins only superseded roots needed",
                    err=True,
                )
            elif event.kind == "failed":
                typer.echo(f"follow {follow}: {event.error} (retrying)", err=True)
            elif event.kind == "mirrored":
                typer.echo(f"following {follow}: now at {event.root}", err=True)

        follow_name(
            lambda: opened(follow)[0],
            mirror,
            rpc,
            record,
            grace=grace_seconds,
            interval=interval,
            on_event=on_event,
        )


def _local_car(root: str | None) -> Path | None:
    """The CAR file holding ROOT's blocks when ROOT is a CAR file or a build directory."""
    if root is None:
        return None
    from wheelset.build.stage import CAR_FILE
    from wheelset.client.root import parse_root_ref
    from wheelset.errors import WheelsetError

    try:
        ref = parse_root_ref(root)
    except WheelsetError:
        return None  # a name: its root is read from the gateways
    if ref.car is not None:
        return ref.car
    if ref.directory is not None:
        return ref.directory / CAR_FILE
    return None
