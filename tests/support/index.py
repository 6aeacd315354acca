"""A real PEP 503 (and PEP 691 JSON) index of local wheels, served over HTTP on 127.0.0.1."""

from __future__ import annotations

import functools
import hashlib
import html
import json
import shutil
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def write_index(root: Path, wheels: Iterable[Path]) -> Path:
    """Copy wheels under ``root/files`` and write ``root/simple/<project>/index.html``.

    Returns the ``simple`` directory. Links carry ``#sha256=`` like a real index; a
    ``index.json`` beside each page holds the PEP 691 form.
    """
    files = root / "files"
    simple = root / "simple"
    files.mkdir(parents=True, exist_ok=True)
    by_project: dict[str, list[Path]] = {}
    for wheel in wheels:
        target = files / wheel.name
        if wheel.resolve() != target.resolve():
            shutil.copyfile(wheel, target)
        name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        by_project.setdefault(name, []).append(target)
    for project, paths in sorted(by_project.items()):
        page = simple / project
        page.mkdir(parents=True, exist_ok=True)
        anchors = []
        entries = []
        for p in sorted(paths):
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
            href = f"../../files/{p.name}#sha256={digest}"
            anchors.append(f'<a href="{html.escape(href)}">{html.escape(p.name)}</a><br/>')
            entries.append(
                {"filename": p.name, "url": f"../../files/{p.name}", "hashes": {"sha256": digest}}
            )
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
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port); yield the base URL without a trailing slash."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
