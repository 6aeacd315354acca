"""Wiring: the library objects a command needs, built from its options in one place.

open_root() opens a ROOT of any form with the one opener (cache, node, gateways), a name
(IPNS, DNSLink) resolved first by the node;
wheel_fetching() gives the wheel fetcher of declare, bump and check --integrity (HTTP
client, index, the one cache, progress bar). Commands get what they need here instead of
each assembling it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from wheelset.cli.progress import ProgressBar
from wheelset.fetch.http import http_client

if TYPE_CHECKING:
    import httpx

    from wheelset.client.root import Root
    from wheelset.fetch.cache import Cache
    from wheelset.fetch.wheels import WheelFetcher
    from wheelset.ipfs.gateway import GatewayFetcher

__all__ = ["open_root", "resolve_root_name", "wheel_fetching"]


def resolve_root_name(root: str, http: httpx.Client, api: str | None, timeout: float) -> str | None:
    """When ROOT is a name (IPNS, DNSLink), the /ipfs/<cid> the node at ``api`` resolves it
    to, said on stderr; else None."""
    from wheelset.client.root import name_of, resolve_name

    if name_of(root) is None:
        return None  # a CID, build directory or CAR: no node, no httpx needed
    from wheelset.ipfs.rpc import KuboRpc

    rpc = KuboRpc(api, http=http, timeout=timeout) if api else None
    resolved = resolve_name(root, rpc)
    if resolved is not None:
        print(f"{root} resolves to {resolved} (verified as that CID)", file=sys.stderr, flush=True)
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
    # ``gateways`` holds --gateway and WHEELSET_GATEWAY.
    return open_any_root(ref, resolver, named_gateways=bool(gateways)), fetcher, cache


@contextlib.contextmanager
def wheel_fetching(
    timeout: float, index_url: str | None, *, cache_dir: Path | None, use_cache: bool
) -> Iterator[WheelFetcher]:
    """A wheel fetcher with a progress bar: the index (looked up when an ``index:`` source
    or a release needs it), the one cache (``cache_dir``, else the default) with
    ``use_cache``."""
    from wheelset.fetch.wheels import wheel_fetcher

    with http_client(timeout, index_url=index_url) as http, ProgressBar("Fetching") as progress:
        yield wheel_fetcher(
            http, cache_dir=cache_dir, use_cache=use_cache, index_url=index_url, progress=progress
        )
