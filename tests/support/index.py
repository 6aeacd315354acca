"""A real PEP 503 (and PEP 691 JSON) index of local wheels, served over HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import json
import shutil
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps test output free of access-log lines."""

    def log_message(self, format: str, *args: object) -> None:
        pass


class JsonHandler(QuietHandler):
    """Answers with JSON documents, as the stand-ins for HTTP JSON APIs do."""

    def send_json(self, status: int, doc: object) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _QuietHandler(QuietHandler, SimpleHTTPRequestHandler):
    pass


_JSON = "application/vnd.pypi.simple.v1+json"


class _NegotiatingHandler(_QuietHandler):
    """Serves a directory's ``index.json`` (PEP 691) when the client asks for JSON."""

    def send_head(self):  # type: ignore[no-untyped-def]
        if _JSON in self.headers.get("Accept", "") and self.path.endswith("/"):
            local = Path(self.translate_path(self.path)) / "index.json"
            if local.is_file():
                data = local.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", _JSON)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                return io.BytesIO(data)
        return super().send_head()


class _StallingHandler(QuietHandler):
    """Accepts the request, sends headers, then never sends the body."""

    stall = 5.0  # seconds; longer than any client timeout used in tests

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        time.sleep(self.stall)


def _requires_python(wheel: Path) -> str | None:
    """Requires-Python from a wheel's METADATA, as an index publishes it (None for sdists)."""
    if wheel.suffix != ".whl":
        return None
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        for line in zf.read(name).decode().splitlines():
            if line.startswith("Requires-Python:"):
                return line.split(":", 1)[1].strip()
    return None


def _write_core_metadata(wheel: Path) -> str:
    """Write ``<wheel>.metadata`` (the wheel's METADATA); return its sha256."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        data = zf.read(name)
    wheel.with_name(wheel.name + ".metadata").write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def write_index(root: Path, wheels: Iterable[Path], *, metadata: bool = False) -> Path:
    """Copy wheels (and sdists) under ``root/files``; write ``root/simple/<project>/index.html``.

    Returns the ``simple`` directory. Links carry ``#sha256=`` like a real index; a
    ``index.json`` beside each page holds the PEP 691 form. With ``metadata``, each wheel's
    METADATA is served beside it as ``<wheel>.metadata`` (PEP 658/714, with its sha256).
    """
    files = root / "files"
    simple = root / "simple"
    files.mkdir(parents=True, exist_ok=True)
    by_project: dict[str, list[Path]] = {}
    for wheel in wheels:
        target = files / wheel.name
        if wheel.resolve() != target.resolve():
            shutil.copyfile(wheel, target)
        name = canonicalize_name(
            parse_wheel_filename(wheel.name)[0]
            if wheel.suffix == ".whl"
            else parse_sdist_filename(wheel.name)[0]
        )
        by_project.setdefault(name, []).append(target)
    for project, paths in sorted(by_project.items()):
        page = simple / project
        page.mkdir(parents=True, exist_ok=True)
        anchors = []
        entries = []
        for p in sorted(paths):
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
            href = f"../../files/{p.name}#sha256={digest}"
            requires_python = _requires_python(p)
            attribute = (
                f' data-requires-python="{html.escape(requires_python)}"' if requires_python else ""
            )
            core = _write_core_metadata(p) if metadata and p.suffix == ".whl" else None
            if core:
                attribute += f' data-core-metadata="sha256={core}"'
            anchors.append(
                f'<a href="{html.escape(href)}"{attribute}>{html.escape(p.name)}</a><br/>'
            )
            entry: dict[str, object] = {
                "filename": p.name,
                "url": f"../../files/{p.name}",
                "hashes": {"sha256": digest},
            }
            if requires_python:
                entry["requires-python"] = requires_python
            if core:
                entry["core-metadata"] = {"sha256": core}
            entries.append(entry)
        (page / "index.html").write_text(
            "<!DOCTYPE html><html><body>\n" + "\n".join(anchors) + "\n</body></html>\n"
        )
        (page / "index.json").write_text(
            json.dumps({"meta": {"api-version": "1.0"}, "name": project, "files": entries})
        )
    links = "\n".join(f'<a href="{p}/">{p}</a><br/>' for p in sorted(by_project))
    simple.mkdir(parents=True, exist_ok=True)
    (simple / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}\n</body></html>\n")
    return simple


@contextmanager
def serve_directory(root: Path, *, negotiate: bool = False) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port); yield the base URL without a trailing slash.

    With ``negotiate``, project pages are served as PEP 691 JSON to clients that ask.
    """
    handler_class = _NegotiatingHandler if negotiate else _QuietHandler
    handler = functools.partial(handler_class, directory=str(root))
    with serve_handler(handler) as url:
        yield url


class _ProtectedHandler(_QuietHandler):
    """Serves files only to requests carrying the expected basic-auth header."""

    def __init__(self, *args: object, expected: str, **kwargs: object):
        self.expected = expected
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="private"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()


@contextmanager
def serve_protected(root: Path, user: str, password: str) -> Iterator[str]:
    """Like serve_directory(), but every request needs HTTP basic auth ``user:password``."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    handler = functools.partial(_ProtectedHandler, directory=str(root), expected=f"Basic {token}")
    with serve_handler(handler) as url:
        yield url


@contextmanager
def serve_stalling() -> Iterator[str]:
    """A server on 127.0.0.1 that answers every GET with headers and then stalls."""
    with serve_handler(_StallingHandler) as url:
        yield url


@contextmanager
def serve_handler(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve with ``handler`` on 127.0.0.1 (a free port) in a thread; yield the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    # A short poll interval: shutdown() waits up to one interval, once per test.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
