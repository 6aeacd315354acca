"""`wheelset announce`: point an IPNS name at a root (after verifying the root)."""

from __future__ import annotations

from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import RootArg, RootSources, with_option_groups
from wheelset.cli.wiring import open_root
from wheelset.fetch.http import http_client

__all__ = ["IpnsKeyOption", "announce_command"]

IpnsKeyOption = Annotated[
    str | None,
    typer.Option(
        "--ipns",
        metavar="KEY",
        help="Point the IPNS name of this node key (`ipfs key list`; `self` is the node's "
        "own) at the root.",
    ),
]


@handles_errors
@with_option_groups
def announce_command(
    root: RootArg,
    ipns: IpnsKeyOption = None,
    *,
    sources: RootSources,
) -> None:
    """Point an IPNS name at ROOT (read and verified first); print the name.

    The node at --api (default the local one) signs the record with key --ipns (default
    `self`), also when it has no peers yet.
    """
    from wheelset.build.publish import node_api
    from wheelset.ipfs.rpc import KuboRpc

    api, timeout = node_api(sources.api, None), sources.timeout
    with http_client(timeout) as http:
        opened, _, _ = open_root(root, sources.gateway, timeout, sources.cache_dir, http, api)
        name = KuboRpc(api or "", http=http, timeout=timeout).name_publish(
            opened.cid, key=ipns or "self"
        )
    typer.echo(f"/ipns/{name} -> /ipfs/{opened.cid}", err=True)
    typer.echo(f"/ipns/{name}")
