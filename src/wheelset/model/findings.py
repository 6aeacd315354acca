"""Findings: what a check reports (a file, a code, a message, a severity).

A Finding names a file (relative to the collection directory), a stable upper-case code,
a one-line message and a severity. Its code comes from wheelset.codes.CODES, the one table
of every code (re-exported here), which also gives the check family. No I/O, no
formatting (see check.report).
Entry points: Finding, Severity, CODES, FAMILIES, family_of().
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import PurePosixPath

from wheelset.codes import CODES

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
    platforms: tuple[str, ...] = ()  # ids of the platforms it occurs on (closure findings)

    def sort_key(self) -> tuple[str, str, str]:
        return (str(self.path), self.code, self.message)


FAMILIES = ("layout", "schema", "uniqueness", "closure", "trust", "integrity")


def family_of(code: str) -> str:
    """The check family a code belongs to (codes not in the table count as schema)."""
    return CODES.get(code, ("schema", ""))[0]
