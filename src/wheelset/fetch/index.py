"""Package indexes: which index to use, and the files a project offers there.

The index URL comes from, in order: an explicit ``--index-url``, ``WHEELSET_INDEX_URL``,
pip's own configuration (``PIP_INDEX_URL``, then ``index-url`` in the ``download``,
``install`` or ``global`` section of pip's config files, as ``pip config list`` reports
them), and finally pip's built-in default, as ``pip download --help`` states it (no index
host is written in wheelset). pip is asked only through its command line. A project
page is read as PEP 691 JSON when the index offers it, else as PEP 503 HTML; relative
links are resolved against the page URL and ``#sha256=`` fragments are kept.
Entry points: configured_index_url(), IndexClient, IndexFile, parse_html_page(),
parse_json_page().
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit
from urllib.request import url2pathname

import httpx
from packaging.utils import canonicalize_name

from wheelset.errors import IndexLookupError, WheelsetError
from wheelset.fetch import FetchError
from wheelset.httpbody import describe_http_error

__all__ = [
    "IndexClient",
    "IndexFile",
    "IndexLookupError",
    "configured_index_url",
    "parse_html_page",
    "parse_json_page",
]

_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.1"
)
_JSON_TYPE = "application/vnd.pypi.simple.v1+json"


_PIP_TIMEOUT = 60  # seconds allowed for `python -m pip ...` to answer
# pip reads a command's own section before [global]; wheelset downloads, as `pip download`.
_PIP_KEYS = ("download.index-url", "install.index-url", "global.index-url")


def _run_pip(*args: str) -> str | None:
    """stdout of ``python -m pip ARGS`` (pip of this interpreter), None if pip cannot run."""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pip", *args],
            capture_output=True,
            text=True,
            timeout=_PIP_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def _from_pip_config() -> str | None:
    """index-url from pip's configuration files, as `pip config list` merges them
    (lines ``section.key='value'``; PIP_CONFIG_FILE and the file order are pip's)."""
    output = _run_pip("config", "list")
    if output is None:
        return None
    values: dict[str, str] = {}
    for line in output.splitlines():
        key, sep, quoted = line.partition("=")
        if not sep or key not in _PIP_KEYS:
            continue
        try:
            value = ast.literal_eval(quoted)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, str) and value.strip():
            values[key] = value.strip()
    return next((values[key] for key in _PIP_KEYS if key in values), None)


@functools.cache
def _pip_default() -> str | None:
    """pip's built-in default index, as `pip download --help` states it (fixed per pip)."""
    output = _run_pip("download", "--help")
    m = re.search(r"--index-url.*?\(default\s+(\S+?)\)", output or "", re.S)
    return m.group(1) if m else None


def configured_index_url(
    explicit: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """The index to use (see module docstring for the order).

    Raises:
        WheelsetError: nothing configured and pip cannot be asked (code INDEX).
    """
    env = os.environ if environ is None else environ
    for candidate in (explicit, env.get("WHEELSET_INDEX_URL"), env.get("PIP_INDEX_URL")):
        if candidate and candidate.strip():
            return candidate.strip()
    found = _from_pip_config() or _pip_default()
    if not found:
        raise WheelsetError(
            "no package index configured: pass --index-url or set WHEELSET_INDEX_URL",
            code="INDEX",
        )
    return found


@dataclass(frozen=True, slots=True)
class IndexFile:
    """One file on a project page."""

    filename: str
    url: str  # absolute, without the #fragment
    sha256: str | None = None
    requires_python: str | None = None
    yanked: bool = False
    # PEP 658/714: the index serves the wheel's METADATA at url + ".metadata"; its sha256
    # when the index gives one ("" when it gives none).
    core_metadata: str | None = None


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[tuple[dict[str, str | None], list[str]]] = []
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self._text = []
            self.links.append((dict(attrs), self._text))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def _split_hash(url: str) -> tuple[str, str | None]:
    bare, fragment = urldefrag(url)
    sha256 = None
    if fragment.startswith("sha256="):
        value = fragment[len("sha256=") :]
        sha256 = value.lower() if _SHA256.fullmatch(value) else None
    return bare, sha256


def _metadata_hash(value: object) -> str | None:
    """A PEP 658/714 attribute (``sha256=…``, ``true``) or PEP 691 value (a hash table or
    true): the sha256 when given, "" when metadata is offered without one, None if not."""
    if isinstance(value, dict):
        sha256 = value.get("sha256")
        return sha256.lower() if isinstance(sha256, str) and _SHA256.fullmatch(sha256) else ""
    if value is True:
        return ""
    if not isinstance(value, str) or value.lower() == "false":
        return None
    algorithm, _, digest = value.partition("=")
    return digest.lower() if algorithm == "sha256" and _SHA256.fullmatch(digest) else ""


def parse_html_page(text: str, page_url: str) -> list[IndexFile]:
    """The files a PEP 503 project page links, URLs made absolute against ``page_url``."""
    parser = _LinkParser()
    parser.feed(text)
    base = urljoin(page_url, parser.base) if parser.base else page_url
    files = []
    for attrs, parts in parser.links:
        href = attrs.get("href")
        if not href:
            continue
        url, sha256 = _split_hash(urljoin(base, href))
        name = "".join(parts).strip() or unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        files.append(
            IndexFile(
                filename=name,
                url=url,
                sha256=sha256,
                requires_python=attrs.get("data-requires-python") or None,
                yanked="data-yanked" in attrs,
                core_metadata=_metadata_hash(
                    attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
                ),
            )
        )
    return files


def parse_json_page(data: object, page_url: str) -> list[IndexFile]:
    """The files of a PEP 691 JSON project page.

    Raises:
        ValueError: not a PEP 691 project document.
    """
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise ValueError("no files array")
    files = []
    for item in data["files"]:
        if not isinstance(item, dict):
            raise ValueError("a file entry is not an object")
        filename, url = item.get("filename"), item.get("url")
        if not isinstance(filename, str) or not isinstance(url, str):
            raise ValueError("a file entry lacks filename or url")
        hashes = item.get("hashes")
        url, fragment_hash = _split_hash(urljoin(page_url, url))
        sha256 = hashes.get("sha256") if isinstance(hashes, dict) else None
        requires_python = item.get("requires-python")
        files.append(
            IndexFile(
                filename=filename,
                url=url,
                sha256=sha256.lower() if isinstance(sha256, str) else fragment_hash,
                requires_python=requires_python if isinstance(requires_python, str) else None,
                yanked=bool(item.get("yanked", False)),
                core_metadata=_metadata_hash(
                    item.get("core-metadata", item.get("dist-info-metadata"))
                ),
            )
        )
    return files


class IndexClient:
    """Reads project pages of one PEP 503/691 index through an injected httpx client.

    Pages are cached for the client's lifetime (declaring many wheels of one project
    reads its page once).
    """

    def __init__(self, base_url: str, *, http: httpx.Client):
        self.base_url = base_url.rstrip("/") + "/"
        self._http = http
        self._pages: dict[str, list[IndexFile]] = {}

    def page_url(self, project: str) -> str:
        return f"{self.base_url}{canonicalize_name(project)}/"

    def project_files(self, project: str) -> list[IndexFile]:
        """Every file the index lists for ``project``.

        Raises:
            IndexLookupError: no such project, or a page that cannot be parsed.
            FetchError: HTTP error, timeout, connection failure.
        """
        name = canonicalize_name(project)
        cached = self._pages.get(name)
        if cached is not None:
            return cached
        url = self.page_url(name)
        if urlsplit(url).scheme == "file":
            files = self._read_local_page(url, name)
            self._pages[name] = files
            return files
        try:
            response = self._http.get(url, headers={"Accept": _ACCEPT}, follow_redirects=True)
        except httpx.HTTPError as e:
            raise FetchError(f"{url}: {describe_http_error(e)}") from e
        if response.status_code == 404:
            raise IndexLookupError(f"project {name!r} not found on the index {self.base_url}")
        if response.status_code != 200:
            raise FetchError(f"{url}: HTTP {response.status_code} {response.reason_phrase}")
        page = str(response.url)
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        try:
            if content_type == _JSON_TYPE:
                files = parse_json_page(json.loads(response.text), page)
            else:
                files = parse_html_page(response.text, page)
        except ValueError as e:
            raise IndexLookupError(f"{url}: not a valid simple-index page ({e})") from e
        self._pages[name] = files
        return files

    def _read_local_page(self, url: str, name: str) -> list[IndexFile]:
        """A file:// index, as pip reads one: ``<dir>/<project>/index.html``."""
        page = url + "index.html"
        try:
            text = Path(url2pathname(urlsplit(page).path)).read_text("utf-8")  # decodes %XX once
        except FileNotFoundError as e:
            raise IndexLookupError(
                f"project {name!r} not found on the index {self.base_url}"
            ) from e
        except (OSError, UnicodeDecodeError) as e:
            raise FetchError(f"{page}: cannot read ({e})") from e
        return parse_html_page(text, page)

    def find_file(self, filename: str, project: str) -> IndexFile:
        """The link for ``filename`` on ``project``'s page (what ``index:<filename>`` means).

        Raises:
            IndexLookupError: the page does not list the file.
            FetchError: as project_files().
        """
        for item in self.project_files(project):
            if item.filename == filename:
                return item
        raise IndexLookupError(f"{filename} is not listed on {self.page_url(project)}")
