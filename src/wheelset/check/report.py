"""Formatting findings: text (`path: CODE message`), JSON, GitHub workflow annotations.

Each formatter takes the findings and the directory to show paths under (as the user
named it, so paths are clickable and repository-relative in CI) and returns text.
No printing here. Entry points: format_text(), format_json(), format_github().
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePath, PurePosixPath

from wheelset.model.findings import Finding, Severity, family_of

__all__ = ["format_github", "format_json", "format_text", "shown_path"]


def shown_path(base: PurePath | str | None, path: PurePosixPath) -> str:
    """``path`` (relative to a collection) as shown to the user: under ``base`` as given.

    >>> shown_path("declarations", PurePosixPath("25/tomli/tomli-2.0.1-py3-none-any.toml"))
    'declarations/25/tomli/tomli-2.0.1-py3-none-any.toml'
    """
    if base is None or str(base) in ("", "."):
        return str(path)
    return str(PurePosixPath(PurePath(base).as_posix(), path))


def format_text(findings: Sequence[Finding], base: PurePath | str | None = None) -> str:
    """One line per finding: ``path: CODE message`` (warnings add ``(warning)``)."""
    lines = []
    for f in findings:
        suffix = " (warning)" if f.severity is Severity.WARNING else ""
        lines.append(f"{shown_path(base, f.path)}: {f.code} {f.message}{suffix}")
    return "".join(line + "\n" for line in lines)


def format_json(findings: Sequence[Finding], base: PurePath | str | None = None) -> str:
    """A JSON document: ``{"findings": [{path, code, family, severity, message,
    platforms}], counts}`` (``platforms``: the ids a closure finding occurs on, else [])."""
    items = [
        {
            "path": shown_path(base, f.path),
            "code": f.code,
            "family": family_of(f.code),
            "severity": f.severity.value,
            "message": f.message,
            "platforms": list(f.platforms),
        }
        for f in findings
    ]
    errors = sum(f.severity is Severity.ERROR for f in findings)
    doc = {"findings": items, "errors": errors, "warnings": len(findings) - errors}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(findings: Sequence[Finding], base: PurePath | str | None = None) -> str:
    """GitHub Actions workflow commands: ``::error file=…,title=CODE::message``."""
    lines = []
    for f in findings:
        level = "error" if f.severity is Severity.ERROR else "warning"
        file = _escape_property(shown_path(base, f.path))
        title = _escape_property(f.code)
        lines.append(f"::{level} file={file},title={title}::{_escape_data(f.message)}")
    return "".join(line + "\n" for line in lines)
