"""`wheelset build` and `wheelset publish`: a collection into one root, and onto a node."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from wheelset.cli.announce import IpnsKeyOption
from wheelset.cli.buildrun import metadata_provider, run_build, wheel_fetcher
from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    DEFAULT_COLLECTION,
    DEFAULT_TIMEOUT,
    CacheDirOption,
    CollectionArg,
    GatewayOption,
    IndexAccess,
    IndexUrlOption,
    RootSources,
    TimeoutOption,
    WithMetadataOption,
    with_option_groups,
)
from wheelset.cli.progress import ProgressBar, echo_outcome
from wheelset.cli.replicate import announce, cluster_pin, record_publish
from wheelset.errors import UsageError
from wheelset.fetch.http import http_client

__all__ = ["build_command", "publish_command"]

PUBLISH_TIMEOUT = 300.0  # seconds: a node may take minutes to find and pin content


@handles_errors
def build_command(
    directory: CollectionArg = DEFAULT_COLLECTION,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="DIR", help="Write a build directory (ROOT, root.car, tree/)."
        ),
    ] = None,
    car: Annotated[
        Path | None, typer.Option("--car", metavar="FILE", help="Write the CAR file here.")
    ] = None,
    with_metadata: WithMetadataOption = False,
    with_wheels: Annotated[
        bool, typer.Option("--with-wheels", help="Also put the verified wheels in OUT/tree.")
    ] = False,
    index_url: IndexUrlOption = None,
    gateway: GatewayOption = [],  # noqa: B006 - typer needs a literal default
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    cache_dir: CacheDirOption = None,
) -> None:
    """Build the collection into one root CID (offline unless METADATA or wheels are fetched).

    With --out, an existing build directory is updated: only projects whose declarations
    changed are rebuilt, and the result is the same as a fresh build's.
    Prints a summary on stderr and the root CID, alone, as the last line on stdout.
    """
    run_build(
        directory,
        out=out,
        car=car,
        with_metadata=with_metadata,
        with_wheels=with_wheels,
        index_url=index_url,
        gateway=gateway,
        timeout=timeout,
        cache_dir=cache_dir,
    )


@handles_errors
@with_option_groups
def publish_command(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR",
            help="The collection directory (built first), or a build directory OUT "
            "(published as it is).",
        ),
    ] = DEFAULT_COLLECTION,
    from_sources: Annotated[
        bool,
        typer.Option(
            "--from-sources",
            help="Download each wheel (verified) and add it, instead of pinning content-ids.",
        ),
    ] = False,
    pinning_service: Annotated[
        str | None,
        typer.Option(
            "--pinning-service", metavar="URL", help="Pinning Service API endpoint to pin the root."
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="TOKEN",
            envvar="WHEELSET_PINNING_TOKEN",
            help="Access token of the pinning service or the cluster.",
        ),
    ] = None,
    with_metadata: WithMetadataOption = False,
    timeout: TimeoutOption = PUBLISH_TIMEOUT,
    ipns: IpnsKeyOption = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            metavar="URL",
            help="IPFS Cluster REST API to pin the root on its peers (token: --token).",
        ),
    ] = None,
    replication_min: Annotated[
        int | None,
        typer.Option("--replication-min", metavar="N", min=1, help="Cluster peers at least."),
    ] = None,
    replication_max: Annotated[
        int | None,
        typer.Option("--replication-max", metavar="N", min=1, help="Cluster peers at most."),
    ] = None,
    *,
    sources: RootSources,
    index: IndexAccess,
) -> None:
    """Build, then import the root and its wheels into an IPFS node (pinned); print the root.

    Given a build directory (`wheelset build --out OUT`), its root is published as it is \
(OUT/root.car and the wheels it links; nothing rebuilt). The node is --api (default \
http://127.0.0.1:5001, unless only --pinning-service is given). Safe to re-run: wheels the \
node already pins are skipped. --timeout bounds each node call and pin (default 300 s). \
Pins are recorded so that `wheelset gc` can release them.
    """
    from wheelset.build.layout import TREE_DIR
    from wheelset.build.publish import (
        FAILED,
        failed_wheels_error,
        node_api,
        publish,
        read_build_directory,
        request_remote_pin,
    )
    from wheelset.build.stage import build_collection
    from wheelset.client.root import InvalidRoot, parse_root_ref
    from wheelset.ipfs.pinning import PinningService
    from wheelset.ipfs.rpc import KuboRpc
    from wheelset.model.collection import read_collection

    if pinning_service and not token:
        raise UsageError("--pinning-service needs --token (or WHEELSET_PINNING_TOKEN)")
    try:
        out = parse_root_ref(str(directory)).directory
    except InvalidRoot:
        out = None  # not a build directory: a collection, which build_collection checks
    if out is not None and with_metadata:
        raise UsageError(
            f"--with-metadata builds; {directory} is a build directory, published as it is"
        )
    if (replication_min or replication_max) and not cluster:
        raise UsageError("--replication-min/--replication-max need --cluster")
    if ipns and sources.api is None and pinning_service:
        raise UsageError("--ipns needs a node (--api) to sign the name")
    api, cache_dir = node_api(sources.api, pinning_service), sources.cache_dir
    with http_client(timeout) as http, tempfile.TemporaryDirectory(prefix="wheelset-") as tmp:
        wheels = wheel_fetcher(http, index.index_url, sources.gateway, cache_dir, out)
        if out is not None:
            root, car, declarations = read_build_directory(out)
        else:
            provider = metadata_provider(wheels, []) if with_metadata else None
            car_file = Path(tmp) / "root.car"
            root = build_collection(directory, car=car_file, metadata=provider).root
            car, declarations = car_file.read_bytes(), read_collection(directory)[1]
        origins: list[str] = []
        if api is not None:
            rpc = KuboRpc(api, http=http, timeout=timeout)
            fetcher = wheels if from_sources else None
            with ProgressBar("wheels") as progress:
                report = publish(
                    root,
                    car,
                    declarations,
                    rpc,
                    fetcher=fetcher,
                    workers=index.jobs,
                    pin_timeout=timeout,
                    progress=progress,
                )
            how = "pinned" if report.root_pinned else "imported, NOT pinned"
            echo_outcome(
                report.failures,
                f"root {report.root} {how} on {api} ({report.blocks} blocks, "
                f"{report.car_size} bytes); wheels: {report.count('added')} added, "
                f"{report.count('pinned')} pinned, {report.count('present')} already there, "
                f"{report.count(FAILED)} failed",
            )
            if report.failures:
                tree = out / TREE_DIR if out is not None else None
                raise failed_wheels_error(report, from_sources=from_sources, tree=tree)
            origins = [str(a) for a in rpc.id().get("Addresses") or []]
            record_publish(rpc, cache_dir, report)
        if cluster:
            cluster_pin(
                http,
                cluster,
                token,
                root,
                timeout,
                cache_dir,
                name=f"wheelset {directory.name}",
                replication=(replication_min, replication_max),
            )
        if ipns:
            announce(http, api, ipns, root, timeout)
        if pinning_service:
            service = PinningService(pinning_service, token or "", http=http)
            status = request_remote_pin(
                service,
                root,
                name=f"wheelset {directory.name}",
                origins=origins,
                timeout=timeout,
            )
            typer.echo(f"pinning service: {status.status} (request {status.requestid})", err=True)
    typer.echo(str(root))
