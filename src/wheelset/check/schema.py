"""Schema check: what loading the collection found (TOML syntax, keys, types, values).

The collection loader validates every file completely (declarations.validate_declaration
and platforms.parse_platforms), so this family is the loader's findings, minus those
belonging to the layout family (FILENAME). No I/O. Entry point: check_schema().
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from wheelset.model.findings import Finding, family_of

__all__ = ["check_schema"]


def check_schema(load_findings: Iterable[Finding]) -> Iterator[Finding]:
    """The load findings of the schema family (TOML, IO, PLATFORMS, keys, values)."""
    return (f for f in load_findings if family_of(f.code) == "schema")
