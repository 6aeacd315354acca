"""Layout check: every declaration sits at ``<prefix>/<project>/<wheel stem>.toml``.

Works on relative paths only (DESIGN §4.1): depth, prefix directory, project directory
(the canonical name from the file name), and stray files in the prefix tree. Invalid
wheel file names (FILENAME) are reported when the collection loads, not here.
No I/O. Entry point: check_layout().
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath

from wheelset.declarations import DeclarationError, parse_wheel_name, prefix_of
from wheelset.findings import Finding

__all__ = ["check_layout"]


def check_layout(files: Iterable[PurePosixPath]) -> Iterator[Finding]:
    """Findings LAYOUT, PREFIX, PROJECT and STRAY for the collection's files."""
    for path in files:
        if path.suffix != ".toml":
            yield Finding(path, "STRAY", "not a declaration (only .toml files belong here)")
            continue
        if len(path.parts) != 3:
            yield Finding(path, "LAYOUT", "declarations live at <prefix>/<project>/<wheel>.toml")
            continue
        try:
            name = parse_wheel_name(path.name[: -len(".toml")] + ".whl", path)[0]
        except DeclarationError:
            continue
        prefix, project = path.parts[0], path.parts[1]
        if project != name:
            yield Finding(path, "PROJECT", f"project directory {project!r} should be {name!r}")
        expected = prefix_of(name)
        if prefix != expected:
            yield Finding(path, "PREFIX", f"prefix directory {prefix!r} should be {expected!r}")
