"""Findings: what a check reports, and the table of every finding code.

A Finding names a file (relative to the collection directory), a stable upper-case code,
a one-line message and a severity. CODES maps each code to its check family and a short
description (the README's table is written from it). No I/O, no formatting (see report).
Entry points: Finding, Severity, CODES, FAMILIES, family_of().
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = ["CODES", "FAMILIES", "Finding", "Severity", "family_of"]


class Severity(enum.Enum):
    """ERROR fails the check (exit 1); WARNING is reported only."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in one file. ``path`` is relative to the collection directory."""

    path: PurePosixPath
    code: str
    message: str
    severity: Severity = Severity.ERROR

    def sort_key(self) -> tuple[str, str, str]:
        return (str(self.path), self.code, self.message)


FAMILIES = ("layout", "schema", "uniqueness", "closure", "trust", "integrity")

# code -> (family, description). Stable: tools and CI annotations rely on these.
CODES: dict[str, tuple[str, str]] = {
    "FILENAME": ("layout", "file name is not `<valid PEP 427 wheel stem>.toml`"),
    "LAYOUT": ("layout", "declaration is not at `<prefix>/<project>/<file>.toml`"),
    "PREFIX": ("layout", "prefix directory is not the project's prefix"),
    "PROJECT": ("layout", "project directory is not the canonical name from the file name"),
    "STRAY": ("layout", "a file that is not a declaration inside the prefix tree"),
    "IO": ("schema", "the file cannot be read"),
    "TOML": ("schema", "malformed TOML (or not UTF-8)"),
    "PLATFORMS": ("schema", "platforms.toml is missing or invalid"),
    "MISSING-KEY": ("schema", "a required key is absent"),
    "UNKNOWN-KEY": ("schema", "a key that the format does not define (typo?)"),
    "TYPE": ("schema", "a value has the wrong TOML type"),
    "SOURCE": ("schema", "source is not an http(s)/file URL ending in the wheel name, or index:"),
    "CID": ("schema", "content-id is not a CIDv0"),
    "SPECIFIER": ("schema", "requires-python is not a valid specifier set"),
    "EXTRAS": ("schema", "extras are not normalised (PEP 685) or repeat"),
    "REQUIREMENT": ("schema", "a dependency is not a valid PEP 508 requirement"),
    "VALUE": ("schema", "sha256 is not 64 lower-case hex digits, or size is negative"),
    "LICENSE": ("schema", "license is not a canonical SPDX expression"),
    "VERSIONS": ("uniqueness", "the project has more than one version declared"),
    "OVERLAP": ("uniqueness", "two wheels of the project can be installed on one system"),
    "MISSING": ("closure", "a dependency has no declared wheel for a platform"),
    "UNSATISFIED": ("closure", "the declared version of a dependency is outside its specifier"),
    "EXTRA": ("closure", "a dependency does not provide a requested extra"),
    "PYTHON": ("closure", "a dependency's wheel excludes the platform's Python (requires-python)"),
    "MARKER": ("closure", "a marker cannot be evaluated in a platform's environment"),
    "UNUSED": ("closure", "warning: the wheel installs on none of the supported platforms"),
    "NAME-CONFUSABLE": (
        "trust",
        "the project name is confusable with another project's or a most-used name",
    ),
    "LICENSE-UNKNOWN": ("trust", "no machine-readable licence recorded for the wheel"),
    "LICENSE-DISALLOWED": ("trust", "the wheel's licence is not allowed by policy.toml"),
    "POLICY": ("trust", "policy.toml is malformed"),
    "FETCH": ("integrity", "the source cannot be fetched (HTTP error, timeout, not on the index)"),
    "NOT-WHEEL": ("integrity", "the fetched file is not a wheel, or has no valid METADATA"),
    "CID-MISMATCH": ("integrity", "content-id differs from the CID of the fetched bytes"),
    "SHA256-MISMATCH": ("integrity", "sha256 differs from the fetched bytes"),
    "SIZE-MISMATCH": ("integrity", "size differs from the fetched bytes"),
    "RECORD": ("integrity", "the wheel's RECORD misses a file or a hash or size differs"),
    "UNSAFE-PATH": ("integrity", "a wheel member has an absolute path, '..' or a backslash"),
    "UNSAFE-LINK": ("integrity", "a wheel member is a symbolic link"),
    "ZIP-BOMB": ("integrity", "member count, total size or compression ratio over the limits"),
    "TAGS-MISMATCH": ("integrity", "the WHEEL file's tags differ from the file name's"),
    "METADATA-MISMATCH": (
        "integrity",
        "name, version, tags, requires-python, extras or dependencies differ from the wheel",
    ),
}


def family_of(code: str) -> str:
    """The check family a code belongs to (unknown codes count as schema)."""
    return CODES.get(code, ("schema", ""))[0]
