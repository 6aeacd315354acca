"""The HTTP client of a command: one httpx.Client, built on first use, with index credentials.

Every network access in wheelset goes through the client made here: private-index
credentials are attached as pip finds them (wheelset.fetch.credentials.IndexAuth), redirects
are followed, and the User-Agent names wheelset. The client is lazy so that a command served
entirely from the cache never pays for importing httpx. Entry point: http_client().
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wheelset import __version__
from wheelset.errors import WheelsetError

if TYPE_CHECKING:
    import httpx

__all__ = ["LazyHttpClient", "http_client"]

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
            import httpx

            from wheelset.fetch.credentials import IndexAuth
            from wheelset.fetch.index import configured_index_url

            try:
                indexes = [configured_index_url(self._index_url)]
            except WheelsetError:
                indexes = []
            n = self._connections
            self._client = httpx.Client(
                auth=IndexAuth(indexes),
                follow_redirects=True,
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
                headers={"User-Agent": f"wheelset/{__version__}"},
                **({} if self._timeout is None else {"timeout": httpx.Timeout(self._timeout)}),
            )
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
