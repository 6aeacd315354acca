"""Find a wheel's download URL on a package index (PEP 503 HTML or PEP 691 JSON pages).

Resolves the ``index:<wheel filename>`` source form (DESIGN §2). The index is the one
given (``--index-url``), else ``WHEELSET_INDEX_URL``, else pip's own: its configured
index-url (``pip config list``, which includes PIP_INDEX_URL) or, failing that, pip's
built-in default, read from the installed pip at run time — no index host is written here.
This is the minimal resolver the build stages need; it does not use pip's credentials.
Entry points: index_url_from(), find_wheel_url(), IndexLookupError.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit
from urllib.request import url2pathname

import httpx
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from wheelset.errors import WheelsetError

__all__ = ["INDEX_URL_ENV", "IndexLookupError", "find_wheel_url", "index_url_from"]

INDEX_URL_ENV = "WHEELSET_INDEX_URL"
_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.1"
)
# pip config keys that name the index, most specific first.
_PIP_INDEX_KEYS = (":env:.index-url", "download.index-url", "install.index-url", "global.index-url")


class IndexLookupError(WheelsetError):
    """The index cannot be reached, has no page for the project, or lacks the file."""

    def __init__(self, message: str):
        super().__init__(message, code="INDEX")


def index_url_from(explicit: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The index to use: ``explicit``, else WHEELSET_INDEX_URL, else pip's index.

    Raises:
        IndexLookupError: none given and pip cannot tell its own.
    """
    environ = os.environ if environ is None else environ
    return explicit or environ.get(INDEX_URL_ENV) or _pip_index_url()


def _pip_index_url() -> str:
    try:
        listing = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        listing = ""
    configured = dict(
        line.split("=", 1) for line in listing.splitlines() if "=" in line and "." in line
    )
    for key in _PIP_INDEX_KEYS:
        if key in configured:
            return configured[key].strip().strip("'\"")
    try:
        from pip._internal.models.index import PyPI  # pip's built-in default index
    except ImportError as e:
        raise IndexLookupError(
            f"no index given and pip is not importable to tell its default; pass --index-url "
            f"or set {INDEX_URL_ENV}"
        ) from e
    return str(PyPI.simple_url)


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (href, text)
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def _file_name_of(href: str) -> str:
    return unquote(urlsplit(href).path.rsplit("/", 1)[-1])


def _find_in_page(body: bytes, content_type: str, filename: str) -> str | None:
    if "json" in content_type:
        try:
            doc = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise IndexLookupError(f"project page is not JSON: {e}") from e
        for item in doc.get("files", []) if isinstance(doc, dict) else []:
            if isinstance(item, dict) and item.get("filename") == filename:
                return str(item.get("url", ""))
        return None
    parser = _Anchors()
    parser.feed(body.decode("utf-8", errors="replace"))
    for href, text in parser.links:
        if text == filename or _file_name_of(href) == filename:
            return href
    return None


def _read_page(page_url: str, http: httpx.Client) -> tuple[bytes, str, str]:
    """(body, content type, base URL) of a project page over http(s) or from a file: index."""
    if page_url.startswith("file:"):
        directory = Path(url2pathname(urlsplit(page_url).path))
        for name, kind in (("index.json", "json"), ("index.html", "text/html")):
            if (directory / name).is_file():
                return (directory / name).read_bytes(), kind, (directory / name).as_uri()
        raise IndexLookupError(f"no project page at {page_url}")
    try:
        response = http.get(page_url, headers={"Accept": _ACCEPT}, follow_redirects=True)
    except httpx.HTTPError as e:
        raise IndexLookupError(f"cannot read {page_url}: {e}") from e
    if response.status_code == 404:
        raise IndexLookupError(f"{page_url}: HTTP 404 (the index has no such project)")
    if response.status_code != 200:
        raise IndexLookupError(f"{page_url}: HTTP {response.status_code}")
    return response.content, response.headers.get("content-type", ""), str(response.url)


def find_wheel_url(index_url: str, filename: str, *, http: httpx.Client) -> str:
    """The absolute URL of ``filename`` on the index's page for its project.

    Raises:
        IndexLookupError: unreadable index page, or no link to that file on it.
    """
    try:
        project = canonicalize_name(parse_wheel_filename(filename)[0])
    except InvalidWheelFilename as e:
        raise IndexLookupError(f"not a wheel file name: {filename!r}") from e
    page_url = f"{index_url.rstrip('/')}/{project}/"
    body, content_type, base = _read_page(page_url, http)
    href = _find_in_page(body, content_type, filename)
    if not href:
        raise IndexLookupError(f"{filename} is not listed on {page_url}")
    return urldefrag(urljoin(base, href)).url
