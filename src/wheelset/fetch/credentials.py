"""Credentials for private indexes, found where pip finds them; never written anywhere.

For a request to host H, in pip's order: user and password embedded in a configured index
URL for H (`--index-url`, `WHEELSET_INDEX_URL`, pip's `index-url`/`extra-index-url`), then
the netrc file (`$NETRC` or `~/.netrc`), then the `keyring` package when it is installed
(`keyring.get_credential(url, username)`). They are attached as HTTP basic auth, only to
requests for that host. `strip_credentials()` removes userinfo from a URL before it is
recorded (a declaration's `source`, a message).
Entry points: IndexAuth, strip_credentials().
"""

from __future__ import annotations

import base64
import netrc
import os
from collections.abc import Generator, Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

__all__ = ["IndexAuth", "strip_credentials"]


def strip_credentials(url: str) -> str:
    """``url`` without ``user:password@``.

    >>> strip_credentials("https://me:secret@example.invalid/simple/")
    'https://example.invalid/simple/'
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _netrc_login(host: str) -> tuple[str, str] | None:
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None
    if entry is None:
        return None
    login, _account, password = entry
    return (login, password or "") if login else None


def _keyring_login(url: str, username: str | None) -> tuple[str, str] | None:
    try:
        import keyring  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        credential = keyring.get_credential(url, username)
    except Exception:
        return None
    if credential is None:
        return None
    return credential.username, credential.password


class IndexAuth(httpx.Auth):
    """Basic auth per host from embedded index credentials, netrc, then keyring."""

    def __init__(self, index_urls: Iterable[str] = ()):
        self._embedded: dict[str, tuple[str, str]] = {}
        self._prefixes: dict[str, str] = {}
        for url in index_urls:
            parts = urlsplit(url)
            host = parts.hostname or ""
            self._prefixes.setdefault(host, strip_credentials(url))
            if parts.username is not None:
                self._embedded[host] = (unquote(parts.username), unquote(parts.password or ""))
        self._found: dict[str, tuple[str, str] | None] = {}

    def _login(self, host: str) -> tuple[str, str] | None:
        if host not in self._found:
            login = self._embedded.get(host) or _netrc_login(host)
            if login is None:
                login = _keyring_login(self._prefixes.get(host, f"https://{host}/"), None)
            self._found[host] = login
        return self._found[host]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if "Authorization" not in request.headers and request.url.scheme in ("http", "https"):
            url = urlsplit(str(request.url))
            if url.username is not None:  # credentials in the URL itself win, as in pip
                login = (unquote(url.username), unquote(url.password or ""))
            else:
                login = self._login(request.url.host)
            if login is not None:
                token = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode("ascii")
                request.headers["Authorization"] = f"Basic {token}"
        yield request
