"""The HTTP client of a command: one httpx.Client, built on first use, with index credentials.

Every network access in wheelset goes through the client made here: private-index
credentials are attached as pip finds them, only to the origins they are for
(wheelset.fetch.credentials.IndexAuth); every response body is bounded before anyone reads
it — one content coding at most, decoded bytes limited, a minimum average rate
(wheelset.httpbody); redirects are followed, and the User-Agent names wheelset. The client
is lazy so that a command served entirely from the cache never pays for importing httpx.
Entry points: http_client(), new_client().
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wheelset import __version__
from wheelset.errors import WheelsetError

if TYPE_CHECKING:
    import httpx

__all__ = ["LazyHttpClient", "http_client", "new_client"]

DEFAULT_CONNECTIONS = 16  # concurrent connections when the command does not say

# httpx's package imports its command-line client (click, rich and pygments: about 0.15 s of
# CPU) whenever those are installed, as they are beside typer; wheelset never runs it. A
# None entry makes that one import fail, and httpx then defines a stub in its place. Set
# here, before any httpx import of a command (every command's client is made here).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


class LazyHttpClient:
    """An httpx.Client made on first attribute access; attribute access is forwarded to it.

    Used as a context manager: leaving it closes the client if one was made.
    """

    def __init__(
        self, timeout: float | None, connections: int, index_url: str | None, indexes: bool
    ):
        self._timeout = timeout
        self._connections = connections
        self._index_url = index_url
        self._indexes = indexes
        self._client: httpx.Client | None = None
        # Worker threads reach for the client at once: one of them makes it.
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> object:
        with self._lock:
            if self._client is None:
                self._client = new_client(self._timeout, self._connections, self._index_urls())
        return getattr(self._client, name)

    def _index_urls(self) -> list[str]:
        if not self._indexes:
            return []
        from wheelset.fetch.index import configured_index_url

        try:
            # Asking pip for its configured index runs pip (about a second of CPU).
            return [configured_index_url(self._index_url)]
        except WheelsetError:
            return []

    def __enter__(self) -> httpx.Client:
        return self  # type: ignore[return-value]

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()


def http_client(
    timeout: float | None = None,
    *,
    connections: int = DEFAULT_CONNECTIONS,
    index_url: str | None = None,
    indexes: bool = True,
) -> LazyHttpClient:
    """The command's HTTP client (``timeout`` in seconds; ``None``: httpx's default).

    ``index_url`` is the index given on the command line, whose credentials are used as
    well as those of pip's configured indexes. ``indexes=False``: a command that reads
    only IPFS gateways and nodes, which gets netrc's credentials per host but does not ask
    pip for its indexes.
    """
    return LazyHttpClient(timeout, connections, index_url, indexes)


def new_client(
    timeout: float | None = None,
    connections: int = DEFAULT_CONNECTIONS,
    index_urls: Sequence[str] = (),
) -> httpx.Client:
    """A client now (http_client() makes one lazily): credentials for ``index_urls``,
    bounded bodies, ``timeout`` seconds (``None``: httpx's default)."""
    import httpx

    from wheelset.fetch.credentials import IndexAuth
    from wheelset.fetch.tls import LazyTLSContext
    from wheelset.httpbody import ACCEPT_ENCODING, BodyLimits

    return httpx.Client(
        verify=LazyTLSContext(),  # CA certificates loaded only if a TLS connection is made
        auth=IndexAuth(index_urls),
        follow_redirects=True,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        headers={"User-Agent": f"wheelset/{__version__}", "Accept-Encoding": ACCEPT_ENCODING},
        event_hooks={"response": [BodyLimits()]},
        **({} if timeout is None else {"timeout": httpx.Timeout(timeout)}),
    )
