"""The root of wheelset's exception tree.

Every error a user can cause is a WheelsetError: it knows its exit code and how to print
itself as one line (``path: CODE message``). Library code raises these; only the CLI
prints them. Foreign exceptions are re-raised as ours at module boundaries.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["UsageError", "WheelsetError", "mask_credentials"]

# Everything between "scheme://" and the last "@" before the path: a password holding a raw
# "@" is hidden whole, not cut at its first "@".
_USERINFO = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s]*@")


def mask_credentials(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it replaced by ``***@``.

    >>> mask_credentials("GET https://me:p@ss@host.invalid/simple/ failed")
    'GET https://***@host.invalid/simple/ failed'
    """
    return _USERINFO.sub(r"\1***@", text)


class WheelsetError(Exception):
    """An error with a stable code (wheelset.codes), an optional location, and exit code 1.

    A subclass names its code once, as the class attribute ``code``; ``code=`` at the
    raise site overrides it for that error.
    """

    exit_code = 1
    code = "ERROR"

    def __init__(self, message: str, *, path: Path | str | None = None, code: str | None = None):
        super().__init__(message)
        self.path = path
        if code is not None:
            self.code = code

    def one_line(self) -> str:
        """The error as a single line, ``path: CODE message`` (newlines folded, any
        ``user:password@`` in URLs hidden)."""
        text = mask_credentials(" ".join(str(self).split("\n")))
        return (
            f"{self.path}: {self.code} {text}" if self.path is not None else f"{self.code} {text}"
        )


class UsageError(WheelsetError):
    """The command line asks for something that cannot be meant (exit code 2, as click's)."""

    exit_code = 2
    code = "USAGE"
