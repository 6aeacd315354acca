"""Wiring for commands that read a root: gateways, node, cache and the one ROOT opener."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from wheelset.client.root import Root
    from wheelset.fetch.cache import Cache
    from wheelset.ipfs.gateway import GatewayFetcher

__all__ = ["open_root"]


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

    ref = parse_root_ref(root)
    fetcher = GatewayFetcher(gateway_urls(gateways, http=http), http=http, timeout=timeout)
    cache = Cache(cache_dir or default_cache_dir())
    resolver = root_resolver(fetcher, cache.directory, api=api, http=http, timeout=timeout)
    return open_any_root(ref, resolver), fetcher, cache
