"""Wiring for commands that read a published root: gateways, cache and the root opener."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from wheelset.client.root import OpenedRoot
    from wheelset.fetch.cache import Cache
    from wheelset.ipfs.gateway import GatewayFetcher

__all__ = ["open_root"]


def open_root(
    root: str, gateways: list[str], timeout: float, cache_dir: Path | None, http: httpx.Client
) -> tuple[OpenedRoot, GatewayFetcher, Cache]:
    """Open ROOT through the gateways (and the cache), with the fetcher and cache used."""
    from wheelset.client.root import open_root as open_verified_root
    from wheelset.client.root import parse_root_ref
    from wheelset.fetch.cache import Cache, default_cache_dir
    from wheelset.ipfs.gateway import GatewayFetcher, gateway_urls

    ref = parse_root_ref(root)
    fetcher = GatewayFetcher(gateway_urls(gateways, http=http), http=http, timeout=timeout)
    cache = Cache(cache_dir or default_cache_dir())
    return open_verified_root(ref, fetcher, cache=cache), fetcher, cache
