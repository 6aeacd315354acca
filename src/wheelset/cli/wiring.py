"""Wiring: the library objects a command needs, built from its options in one place.

open_root() opens a ROOT of any form with the one opener (cache, node, gateways), a name
(IPNS, DNSLink) resolved first by the node;
wheel_fetching() gives the wheel fetcher of declare, bump and check --integrity (HTTP
client, index, wheel cache, progress bar). Commands get what they need here instead of
each assembling it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from wheelset.cli.progress import ProgressBar
from wheelset.fetch.http import http_client

if TYPE_CHECKING:
    import httpx

    from wheelset.client.root import Root
    from wheelset.fetch.cache import Cache
    from wheelset.fetch.download import WheelFetcher
    from wheelset.ipfs.gateway import GatewayFetcher

__all__ = ["open_root", "resolve_root_name", "wheel_fetching"]


def resolve_root_name(root: str, http: httpx.Client, api: str | None, timeout: float) -> str | None:
    """When ROOT is a name (IPNS, DNSLink), the /ipfs/<cid> the node at ``api`` resolves it
    to, said on stderr; else None."""
    import typer

    from wheelset.client.root import resolve_name
    from wheelset.ipfs.rpc import KuboRpc

    rpc = KuboRpc(api, http=http, timeout=timeout) if api else None
    resolved = resolve_name(root, rpc)
    if resolved is not None:
        typer.echo(f"{root} resolves to {resolved} (verified as that CID)", err=True)
    return resolved


def open_root(
    root: str,
    gateways: list[str],
    timeout: float,
    cache_dir: Path | None,
    http: httpx.Client,
    api: str | None = None,
) -> tuple[Root, GatewayFetcher, Cache]:
    """Open ROOT (any form) with the block cache, the node ``api`` and the gateways as
    sources; with the fetcher and cache the command fetches wheels through."""
    from wheelset.client.root import open_root as open_any_root
    from wheelset.client.root import parse_root_ref, root_resolver
    from wheelset.fetch.cache import Cache, default_cache_dir
    from wheelset.ipfs.gateway import GatewayFetcher, gateway_urls

    resolved = resolve_root_name(root, http, api, timeout)
    ref = parse_root_ref(resolved or root)
    fetcher = GatewayFetcher(gateway_urls(gateways, http=http), http=http, timeout=timeout)
    cache = Cache(cache_dir or default_cache_dir())
    resolver = root_resolver(fetcher, cache.directory, api=api, http=http, timeout=timeout)
    return open_any_root(ref, resolver), fetcher, cache


@contextlib.contextmanager
def wheel_fetching(
    timeout: float, index_url: str | None, *, needs_index: bool, use_cache: bool
) -> Iterator[WheelFetcher]:
    """A wheel fetcher with a progress bar; the index only when ``needs_index`` (then it
    must be configured), the sha256-keyed wheel cache only with ``use_cache``."""
    from wheelset.fetch.download import WheelCache, WheelFetcher, default_cache_dir
    from wheelset.fetch.index import IndexClient, configured_index_url

    with http_client(timeout, index_url=index_url) as http, ProgressBar("Fetching") as progress:
        index = IndexClient(configured_index_url(index_url), http=http) if needs_index else None
        cache = WheelCache(default_cache_dir()) if use_cache else None
        yield WheelFetcher(http=http, index=index, cache=cache, progress=progress)
