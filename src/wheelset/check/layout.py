"""Layout check: every declaration sits at ``<prefix>/<project>/<wheel stem>.toml``.

Works on relative paths only (the path rule: docs/declarations.md): depth, prefix
directory, project directory (the canonical name from the file name), and stray files in
the prefix tree. Invalid
wheel file names (FILENAME) are reported when the collection loads, not here.
No I/O. Entry point: check_layout().
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import PurePosixPath

from wheelset.model.declarations import DeclarationError, parse_wheel_name, prefix_of
from wheelset.model.findings import Finding

__all__ = ["check_layout"]


def check_layout(
    files: Iterable[PurePosixPath], names: Mapping[str, str] | None = None
) -> Iterator[Finding]:
    """Findings LAYOUT, PREFIX, PROJECT and STRAY for the collection's files.

    ``names`` maps the paths (as text) of loaded declarations (each ending in .toml) to
    their canonical project name, to avoid parsing those file names again.
    """
    known = names or {}
    prefixes: dict[str, str] = {}
    for path in files:
        # A path's text is kept once made (the loader made it), unlike its hash.
        text = str(path)
        name = known.get(text)
        # A loaded declaration's path ends in .toml (its loading checked that).
        if name is None and path.suffix != ".toml":
            yield Finding(path, "STRAY", "not a declaration (only .toml files belong here)")
            continue
        parts = text.split("/")  # relative and normalised: its parts
        if len(parts) != 3:
            yield Finding(path, "LAYOUT", "declarations live at <prefix>/<project>/<wheel>.toml")
            continue
        if name is None:
            try:
                name = parse_wheel_name(parts[2][: -len(".toml")] + ".whl", path)[0]
            except DeclarationError:
                continue
        if parts[1] != name:
            yield Finding(path, "PROJECT", f"project directory {parts[1]!r} should be {name!r}")
        expected = prefixes.get(name)
        if expected is None:
            expected = prefixes[name] = prefix_of(name)
        if parts[0] != expected:
            yield Finding(path, "PREFIX", f"prefix directory {parts[0]!r} should be {expected!r}")
