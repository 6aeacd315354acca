"""The pages `serve` renders: PEP 691 JSON (the HTML pages are the root's own), and HTML
only for a root without pages of its own.

A project page links each wheel as ``../../files/<cid>/<filename>`` (relative, so a root
served under any prefix, or behind a proxy that adds one, links its own verifying URLs),
with ``#sha256=`` fragments and PEP 658/714 metadata attributes.
Spec: https://packaging.python.org/en/latest/specifications/simple-repository-api/ .
Entry points: negotiate(), render_project_html(), render_project_json(), render_root_json().
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from wheelset.build.manifest import WheelEntry
from wheelset.build.pages import render_project_page

__all__ = [
    "HTML",
    "JSON",
    "negotiate",
    "render_project_html",
    "render_project_json",
    "render_root_json",
]

JSON = "application/vnd.pypi.simple.v1+json"
HTML = "application/vnd.pypi.simple.v1+html"
_TEXT_HTML = "text/html"


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
    return f"../../files/{decl.content_id}/{decl.filename}"


def render_project_html(project: str, entries: Sequence[WheelEntry]) -> bytes:
    """A PEP 503 project page linking each wheel under files/ (with PEP 658/714 attributes)."""
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
