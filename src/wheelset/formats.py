"""Output formats of wheelset's reports: one table from report kind and format name to the
function that renders it.

A report kind is what a command produces (check findings, a root diff, outdated
projects, a bump plan, an exported closure); each format of it is a function in the
module that defines the report, returning text (the CLI prints it, nothing here prints).
Adding a format is one line here plus the function. Formatters are imported on first
use, so choosing a format costs no import of the other stages.
Entry points: FORMATS, format_names(), get_formatter().
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from wheelset.errors import UsageError

__all__ = ["FORMATS", "format_names", "get_formatter"]

# kind -> format name -> "module:function". The first format of a kind is its default.
FORMATS: dict[str, dict[str, str]] = {
    "check": {
        "text": "wheelset.check.report:format_text",
        "json": "wheelset.check.report:format_json",
        "github": "wheelset.check.report:format_github",
    },
    "diff": {
        "text": "wheelset.client.diff:format_text",
        "json": "wheelset.client.diff:format_json",
        "markdown": "wheelset.client.diff:format_markdown",
    },
    "outdated": {
        "text": "wheelset.maintain.outdated:format_table",
        "json": "wheelset.maintain.outdated:format_json",
    },
    "bump": {
        "markdown": "wheelset.maintain.bump:format_markdown",
        "json": "wheelset.maintain.bump:format_json",
    },
    "export": {
        "requirements": "wheelset.client.export:format_requirements",
        "pylock": "wheelset.client.export:format_pylock",
    },
}


def format_names(kind: str) -> tuple[str, ...]:
    """The formats of report ``kind``, the default first."""
    return tuple(FORMATS[kind])


def get_formatter(kind: str, name: str) -> Callable[..., str]:
    """The function rendering report ``kind`` as ``name`` (case-insensitive).

    Raises:
        UsageError: ``kind`` has no format ``name`` (the message lists those it has).
    """
    target = FORMATS[kind].get(name.lower())
    if target is None:
        raise UsageError(f"--format must be one of {', '.join(FORMATS[kind])}, not {name!r}")
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)
