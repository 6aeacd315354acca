"""A local, verifying PEP 503 / PEP 691 index over one root, for pip and uv.

Routes: ``/simple/`` (all projects), ``/simple/<project>/`` (HTML, or JSON when the client
asks for ``application/vnd.pypi.simple.v1+json``; with PEP 658/714 metadata links and
``#sha256=`` fragments), ``/files/<cid>/<wheel filename>[.metadata]``. A project is read
from the root (verified) when a client first asks for it, the project list when a client
first asks for /simple/. Files are fetched through the gateways into the CID-keyed cache
and served only once their CID, size and sha256 are verified; only files of the root's
projects are served (no open proxy). A threading HTTP server (stdlib) on 127.0.0.1, with
a listen backlog for many clients at once, serves them concurrently. Never prints: events
go to a callback.
Spec: https://packaging.python.org/en/latest/specifications/simple-repository-api/ .
Entry points: IndexServer, negotiate(), render_project_html(), render_project_json().
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from wheelset.build.manifest import MetadataFile, WheelEntry
from wheelset.build.pages import ProjectRow, render_project_page, render_root_page
from wheelset.client.root import Root
from wheelset.errors import WheelsetError
from wheelset.fetch.cache import Cache
from wheelset.ipfs.cid import CID, InvalidCID, parse_cid
from wheelset.ipfs.gateway import GatewayFetcher

__all__ = [
    "HTML",
    "JSON",
    "IndexServer",
    "negotiate",
    "render_project_html",
    "render_project_json",
    "render_root_json",
]

JSON = "application/vnd.pypi.simple.v1+json"
HTML = "application/vnd.pypi.simple.v1+html"
_TEXT_HTML = "text/html"
_CHUNK = 65_536  # bytes per write


def negotiate(accept: str | None) -> str:
    """The PEP 691 content type to answer with for an Accept header (HTML by default).

    >>> negotiate("application/vnd.pypi.simple.v1+json, text/html;q=0.1")
    'application/vnd.pypi.simple.v1+json'
    """
    best, best_q = _TEXT_HTML, -1.0
    for position, part in enumerate((accept or "").split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media in (JSON, HTML, _TEXT_HTML, "*/*", "application/*", "text/*") and q > best_q:
            # Earlier entries win ties, as clients list their preference first.
            best = {"*/*": _TEXT_HTML, "application/*": JSON, "text/*": _TEXT_HTML}.get(
                media, media
            )
            best_q = q - position * 1e-9
    return best


def _file_url(entry: WheelEntry) -> str:
    decl = entry.declaration
    return f"/files/{decl.content_id}/{decl.filename}"


def render_project_html(project: str, entries: Sequence[WheelEntry]) -> bytes:
    """A PEP 503 project page linking each wheel under /files/ (with PEP 658/714 attributes)."""
    return render_project_page(project, entries, _file_url)


def render_project_json(project: str, entries: Sequence[WheelEntry]) -> bytes:
    """The PEP 691 (API 1.1) JSON form of a project page."""
    files = []
    for entry in sorted(entries, key=lambda e: e.declaration.filename):
        decl = entry.declaration
        item: dict[str, object] = {
            "filename": decl.filename,
            "url": _file_url(entry),
            "hashes": {"sha256": decl.sha256} if decl.sha256 else {},
        }
        if decl.requires_python is not None:
            item["requires-python"] = str(decl.requires_python)
        if decl.size is not None:
            item["size"] = decl.size
        metadata: object = False
        if entry.metadata is not None:
            metadata = {"sha256": entry.metadata.sha256}
        # Not the old "dist-info-metadata" key: pip 23.0/23.1 crash on a dict there (PEP 714).
        item["core-metadata"] = metadata
        files.append(item)
    versions = sorted({str(e.declaration.version) for e in entries})
    document = {
        "meta": {"api-version": "1.1"},
        "name": project,
        "files": files,
        "versions": versions,
    }
    return json.dumps(document, sort_keys=True).encode("utf-8")


def render_root_json(projects: Sequence[str]) -> bytes:
    """The PEP 691 JSON form of the root page."""
    document = {"meta": {"api-version": "1.1"}, "projects": [{"name": p} for p in projects]}
    return json.dumps(document, sort_keys=True).encode("utf-8")


@dataclass(frozen=True, slots=True)
class _Served:
    cid: CID
    size: int | None
    sha256: str | None
    label: str


class _Server(ThreadingHTTPServer):
    # The stdlib's backlog of 5 drops connections (1 s SYN retries) when dozens of clients
    # (uv, pip with many workers) connect at once.
    request_queue_size = 1024
    daemon_threads = True


class IndexServer:
    """The index of ``root`` on ``host:port`` (0: any free port); call serve_forever()."""

    def __init__(
        self,
        root: Root,
        cache: Cache,
        fetcher: GatewayFetcher,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        on_event: Callable[[str], None] | None = None,
    ):
        self.root = root.cid
        self._root = root
        self._cache = cache
        self._fetcher = fetcher
        self._on_event = on_event or (lambda message: None)
        self._pages: tuple[bytes, bytes] | None = None
        handler = type("Handler", (_Handler,), {"index": self})
        try:
            self._httpd = _Server((host, port), handler)
        except OSError as e:
            raise WheelsetError(f"cannot listen on {host}:{port}: {e}", code="SERVE") from e
        self._thread: threading.Thread | None = None

    def _root_pages(self) -> tuple[bytes, bytes]:
        """The root page as HTML and JSON (the project list is read once, when first asked)."""
        if self._pages is None:
            names = self._root.names()
            self._pages = (render_root_page(map(ProjectRow, names)), render_root_json(names))
        return self._pages

    def _entries(self, project: str) -> Sequence[WheelEntry] | None:
        return self._root.project(project)

    @property
    def url(self) -> str:
        """The index URL to give pip/uv (``--index-url``)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/simple/"

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def start(self) -> IndexServer:
        """Serve from a background thread (tests, embedding)."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving (when started with start()) and release the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _page(self, path: str, accept: str | None) -> tuple[int, str, bytes, str | None]:
        """(status, content type, body, redirect location) of an index page."""
        kind = negotiate(accept)
        if path in ("/", "/simple"):
            return HTTPStatus.MOVED_PERMANENTLY, "", b"", "/simple/"
        if path == "/simple/":
            html, json_body = self._root_pages()
            return HTTPStatus.OK, kind, json_body if kind == JSON else html, None
        parts = path.split("/")
        if len(parts) in (3, 4) and parts[1] == "simple" and parts[-1] in ("", parts[2]):
            name = parts[2]
            project = canonicalize_name(name)
            if project != name or len(parts) == 3:
                return HTTPStatus.MOVED_PERMANENTLY, "", b"", f"/simple/{project}/"
            entries = self._entries(project)
            if entries is None:
                return HTTPStatus.NOT_FOUND, "text/plain", f"no project {name}\n".encode(), None
            if kind == JSON:
                return HTTPStatus.OK, kind, render_project_json(project, entries), None
            return HTTPStatus.OK, kind, render_project_html(project, entries), None
        return HTTPStatus.NOT_FOUND, "text/plain", b"not found\n", None

    def _lookup(self, path: str) -> _Served | None:
        """The served file of ``/files/<cid>/<name>``, if the root's project has it."""
        parts = path.split("/")
        if len(parts) != 4 or parts[1] != "files":
            return None
        try:
            cid = parse_cid(parts[2])
            wheel = parts[3].removesuffix(".metadata")
            project = parse_wheel_filename(wheel)[0]
        except (InvalidCID, InvalidWheelFilename):
            return None
        for entry in self._entries(project) or ():
            decl = entry.declaration
            if decl.content_id != cid or decl.filename != wheel:
                continue
            if parts[3] == wheel:
                return _Served(decl.content_id, decl.size, decl.sha256, decl.filename)
            if entry.metadata is not None:
                meta: MetadataFile = entry.metadata
                return _Served(meta.content_id, meta.size, meta.sha256, parts[3])
        return None

    def _event(self, message: str) -> None:
        self._on_event(message)


class _Handler(BaseHTTPRequestHandler):
    index: IndexServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Access logs are not printed; errors go to the server's event callback."""

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, *, send_body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        try:
            if path.startswith("/files/"):
                self._send_file(path, send_body)
            else:
                status, kind, body, location = self.index._page(path, self.headers.get("Accept"))
                self._send(status, kind, body, send_body, location)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except WheelsetError as e:  # the root could not be read (no source verified it)
            self.index._event(f"error: {e.one_line()}")
            message = f"{e.one_line()}\n".encode()
            self._send(HTTPStatus.BAD_GATEWAY, "text/plain", message, send_body)

    def _send(
        self, status: int, kind: str, body: bytes, send_body: bool, location: str | None = None
    ) -> None:
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        if kind:
            self.send_header("Content-Type", kind)
            self.send_header("Vary", "Accept")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _send_file(self, path: str, send_body: bool) -> None:
        served = self.index._lookup(path)
        if served is None:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not a file of this root\n", send_body)
            return
        try:
            got = self.index._cache.obtain(
                served.cid,
                self.index._fetcher,
                served.label,
                size=served.size,
                sha256=served.sha256,
                label=served.label,
            )
        except WheelsetError as e:
            self.index._event(f"error: {e.one_line()}")
            message = f"{e.one_line()}\n".encode()
            self._send(HTTPStatus.BAD_GATEWAY, "text/plain", message, send_body)
            return
        for failure in got.failures:
            self.index._event(f"warning: {served.label}: {failure}")
        kind = "text/plain" if served.label.endswith(".metadata") else "application/octet-stream"
        with got.path.open("rb") as f:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(got.size))
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
            self.end_headers()
            if send_body:
                shutil.copyfileobj(f, self.wfile, _CHUNK)
