"""Credentials for private indexes, found where pip finds them; never written anywhere.

Sources, in pip's order: user and password embedded in a configured index URL
(`--index-url`, `WHEELSET_INDEX_URL`, pip's `index-url`), then the netrc file (`$NETRC` or
`~/.netrc`), then the `keyring` package when it is installed
(`keyring.get_credential(url, username)`). They are attached as HTTP basic auth, and only
where they were configured for — a request's origin is its scheme, host and port:

- a configured index's origin gets its embedded credentials, else the netrc entry for its
  host (or netrc's ``default`` entry), else keyring's;
- any other origin gets only the netrc entry naming its host, and only on the scheme's
  default port (netrc has no ports: a gateway on another port of the index's host gets
  nothing); netrc's ``default`` entry and keyring are for the index alone;
- credentials written in a request's own URL go with that request only.

`strip_credentials()` removes userinfo from a URL before it is recorded (a declaration's
`source`); errors.mask_credentials() hides it in anything printed.
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

_DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]  # scheme, host (lower case), port
Login = tuple[str, str]


def strip_credentials(url: str) -> str:
    """``url`` without ``user:password@`` (all of it, even when the password holds an ``@``).

    >>> strip_credentials("https://me:secret@example.invalid/simple/")
    'https://example.invalid/simple/'
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _origin(url: str) -> Origin | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        return None
    return scheme, parts.hostname.lower(), port


def _userinfo(url: str) -> Login | None:
    netloc = urlsplit(url).netloc
    if "@" not in netloc:
        return None
    user, _, password = netloc.rsplit("@", 1)[0].partition(":")
    return unquote(user), unquote(password)


def _netrc_login(host: str, *, allow_default: bool) -> Login | None:
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    try:
        parsed = netrc.netrc(str(path))
    except (OSError, netrc.NetrcParseError):
        return None
    # netrc.authenticators() falls back to the "default" entry: look the host up first.
    entry = parsed.hosts.get(host) or (parsed.hosts.get("default") if allow_default else None)
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
    """Basic auth per origin: a configured index's own credentials, netrc's for a host."""

    def __init__(self, index_urls: Iterable[str] = ()):
        self._indexes: dict[Origin, tuple[str, Login | None]] = {}
        for url in index_urls:
            origin = _origin(url)
            if origin is not None and origin not in self._indexes:
                self._indexes[origin] = (strip_credentials(url), _userinfo(url))
        self._found: dict[Origin, Login | None] = {}

    def _login(self, origin: Origin) -> Login | None:
        if origin not in self._found:
            scheme, host, port = origin
            if origin in self._indexes:
                url, embedded = self._indexes[origin]
                login = embedded or _netrc_login(host, allow_default=True)
                if login is None:
                    login = _keyring_login(url, None)
            elif port == _DEFAULT_PORTS[scheme]:
                login = _netrc_login(host, allow_default=False)
            else:
                login = None
            self._found[origin] = login
        return self._found[origin]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url = str(request.url)
        origin = _origin(url)
        if "Authorization" not in request.headers and origin is not None:
            # Credentials in the URL itself win, as in pip, and go with this request only.
            login = _userinfo(url) or self._login(origin)
            if login is not None:
                token = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode("ascii")
                request.headers["Authorization"] = f"Basic {token}"
        yield request
