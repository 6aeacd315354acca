"""Read a requirements file for `wheelset install -r`: names, extras, specifiers, markers.

One requirement a line; ``#`` comments, blank lines and ``\\`` continuations as pip reads
them; ``-r``/``--requirement`` includes another file (relative to this one). Everything else
pip accepts there — URLs, paths, index or hash options — has no meaning against one root of
single versions and is refused, naming the file and line.
Entry points: read_requirements(), RequirementsFileError.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from wheelset.errors import RequirementsFileError

__all__ = ["RequirementsFileError", "read_requirements"]

_COMMENT = re.compile(r"(^|\s+)#.*$")
_MAX_DEPTH = 16
_MAX_BYTES = 16 << 20


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        lines.append((start, pending + raw))
        pending = ""
    if pending:
        lines.append((start, pending))
    return lines


def read_requirements(path: Path, _depth: int = 0) -> list[Requirement]:
    """The requirements of ``path`` (and the files it includes), in order.

    Raises:
        RequirementsFileError: unreadable file, include loop or depth, or a line that is not
            NAME[extras][specifier][; marker].
    """
    if _depth > _MAX_DEPTH:
        raise RequirementsFileError(f"includes nested more than {_MAX_DEPTH} deep", path=path)
    try:
        if not path.is_file():
            raise RequirementsFileError("not a regular file", path=path)
        if path.stat().st_size > _MAX_BYTES:
            raise RequirementsFileError(f"larger than {_MAX_BYTES} bytes", path=path)
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RequirementsFileError(f"cannot read: {e}", path=path) from e
    found: list[Requirement] = []
    for number, line in _logical_lines(text):
        line = _COMMENT.sub("", line).strip()
        if not line:
            continue
        where = f"{path}:{number}"
        if line.startswith("-"):
            option, _, value = line.partition(" ")
            if "=" in option:
                option, _, value = option.partition("=")
            if option in ("-r", "--requirement") and value.strip():
                found += read_requirements(path.parent / value.strip(), _depth + 1)
                continue
            raise RequirementsFileError(
                f"option {option} is not supported (names and specifiers only)", path=where
            )
        try:
            req = Requirement(line)
        except InvalidRequirement as e:
            raise RequirementsFileError(
                f"{line!r} is not NAME[extras][specifier]: {e}", path=where
            ) from e
        if req.url:
            raise RequirementsFileError(
                f"{req.name} @ {req.url}: URLs are not supported; wheels come from the root",
                path=where,
            )
        found.append(req)
    return found
