"""A fast reader for the TOML that format_declaration() writes, falling back to tomllib.

Declarations written by `wheelset declare` (tomli-w) use a tiny, fixed subset of TOML:
``key = "string"``, ``key = 123``, ``key = []`` and arrays of strings with one element
per line. Reading that subset line by line is several times faster than the general
parser, which matters when `check` loads tens of thousands of files. Anything outside
the subset — comments, blank lines, other escapes, literal strings, dotted keys,
duplicate keys, CRLF — returns None and the caller uses tomllib, so errors are always
tomllib's. The tests hold this reader to tomllib's results with Hypothesis.
read_toml() is the one way a collection's TOML files (declarations, platforms.toml,
policy.toml) are decoded, so each says alike why a file is not TOML.
Entry points: parse_canonical(), loads(), read_toml(), NotToml.
"""

from __future__ import annotations

import re

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["CHARS", "NotToml", "loads", "parse_canonical", "read_toml", "unescape"]

# A basic string whose only escapes are \" and \\ (TOML forbids raw control characters
# other than tab), written unrolled so the regex engine scans runs of plain characters.
_PLAIN = r'[^"\\\x00-\x08\x0a-\x1f\x7f]*'
CHARS = rf'{_PLAIN}(?:\\["\\]{_PLAIN})*'
# One top-level entry: a string, an integer, an empty array, or an array of strings with
# one element per line (tomli-w's layout), always ending in a newline.
_ENTRY = re.compile(
    rf'([A-Za-z0-9_-]+) = (?:"({CHARS})"|(0|[1-9][0-9]*)|(\[\])|\[\n((?:    "{CHARS}",\n)*)\])\n'
)
_ITEM = re.compile(rf'    "({CHARS})",\n')


def unescape(text: str) -> str:
    """Undo the two escapes the subset allows: after splitting on escaped backslashes,
    every backslash left starts an escaped quote."""
    if "\\" not in text:
        return text
    return "\\".join(part.replace('\\"', '"') for part in text.split("\\\\"))


def parse_canonical(text: str) -> dict[str, object] | None:
    """The table, if ``text`` is in the canonical subset; else None (use tomllib)."""
    table: dict[str, object] = {}
    pos, end = 0, len(text)
    match = _ENTRY.match
    while pos < end:
        m = match(text, pos)
        if m is None:
            return None
        key, string, integer, empty, items = m.groups()
        if key in table:
            return None
        if string is not None:
            table[key] = unescape(string)
        elif integer is not None:
            table[key] = int(integer)
        elif empty is not None:
            table[key] = []
        else:
            table[key] = [unescape(s) for s in _ITEM.findall(items)]
        pos = m.end()
    return table


def loads(text: str) -> dict[str, object]:
    """parse_canonical(), else tomllib.loads() (which raises TOMLDecodeError)."""
    table = parse_canonical(text)
    return tomllib.loads(text) if table is None else table


class NotToml(ValueError):
    """A file's bytes are not a TOML document; the message says why, on one line."""


def read_toml(data: bytes) -> dict[str, object]:
    """The table in a TOML file's bytes.

    Raises:
        NotToml: a byte-order mark (which editors on Windows add and tomllib refuses at
            "line 1, column 1"), bytes that are not UTF-8, or malformed TOML.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        raise NotToml("starts with a byte-order mark (BOM): save it as UTF-8 without BOM")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NotToml(f"not UTF-8: {e}") from None
    try:
        return loads(text)
    except tomllib.TOMLDecodeError as e:
        raise NotToml(f"malformed TOML: {e}") from None
