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

from collections.abc import Sequence
from typing import TYPE_CHECKING

from wheelset import __version__
from wheelset.errors import WheelsetError

if TYPE_CHECKING:
    import httpx

__all__ = ["LazyHttpClient", "http_client", "new_client"]

DEFAULT_CONNECTIONS = 16  # concurrent connections when the command does not say


class LazyHttpClient:
    """An httpx.Client made on first attribute access; attribute access is forwarded to it.

    Used as a context manager: leaving it closes the client if one was made.
    """

    def __init__(self, timeout: float | None, connections: int, index_url: str | None):
        self._timeout = timeout
        self._connections = connections
        self._index_url = index_url
        self._client: httpx.Client | None = None

    def __getattr__(self, name: str) -> object:
        if self._client is None:
            from wheelset.fetch.index import configured_index_url

            try:
                indexes = [configured_index_url(self._index_url)]
            except WheelsetError:
                indexes = []
            self._client = new_client(self._timeout, self._connections, indexes)
        return getattr(self._client, name)

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
) -> LazyHttpClient:
    """The command's HTTP client (``timeout`` in seconds; ``None``: httpx's default).

    ``index_url`` is the index given on the command line, whose credentials are used as
    well as those of pip's configured indexes.
    """
    return LazyHttpClient(timeout, connections, index_url)


def new_client(
    timeout: float | None = None,
    connections: int = DEFAULT_CONNECTIONS,
    index_urls: Sequence[str] = (),
) -> httpx.Client:
    """A client now (http_client() makes one lazily): credentials for ``index_urls``,
    bounded bodies, ``timeout`` seconds (``None``: httpx's default)."""
    import httpx

    from wheelset.fetch.credentials import IndexAuth
    from wheelset.httpbody import ACCEPT_ENCODING, BodyLimits

    return httpx.Client(
        auth=IndexAuth(index_urls),
        follow_redirects=True,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        headers={"User-Agent": f"wheelset/{__version__}", "Accept-Encoding": ACCEPT_ENCODING},
        event_hooks={"response": [BodyLimits()]},
        **({} if timeout is None else {"timeout": httpx.Timeout(timeout)}),
    )
