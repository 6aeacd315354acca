"""JSON for the warm install and the no-op answer, without importing json.

The `json` package imports `re` (its decoder's regular expressions), and `re` imports
`enum`: together about a fifth of a warm install's instructions. The work itself is done by
CPython's C accelerator (`_json`), which needs neither: `loads` and `dumps` drive its scanner
and encoder directly, with the settings `json.loads` and `json.dumps` use, so the texts read
and written are the same as json's (the records, entries and journal keep their format).
Where the accelerator is missing or differs (another Python implementation), json itself
is used. Errors are ValueError, as json's (JSONDecodeError is one).
Entry points: loads(), dumps().
"""

from __future__ import annotations

__all__ = ["dumps", "loads"]

_WHITESPACE = " \t\n\r"  # JSON's whitespace, as json's decoder skips it
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Settings:
    """The attributes `_json.make_scanner` reads from a decoder: json.loads' defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


def _default(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _accelerated() -> tuple[object, object] | None:
    """(`_json`, its scanner with json.loads' settings), or None without the accelerator."""
    try:
        import _json

        return _json, _json.make_scanner(_Settings())
    except (ImportError, AttributeError, TypeError):
        return None


_C = _accelerated()


def loads(text: str | bytes) -> object:
    """The value of the JSON document ``text`` (bytes: UTF-8), as json.loads gives it.

    Raises:
        ValueError: not one JSON document.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # (UnicodeDecodeError is a ValueError)
    if _C is None:
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _C[1](text, start)  # type: ignore[operator]
    except StopIteration as e:
        raise ValueError(f"Expecting value at {e.value}") from None
    except Exception:
        # The accelerator raises json's own error, which it finds only once json is loaded
        # (else a SystemError): json says what is wrong.
        import json

        try:
            return json.loads(text)
        except RecursionError as e:
            raise ValueError(str(e)) from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"Extra data at {end}")
    return value


def dumps(value: object, *, compact: bool = False) -> str:
    """``json.dumps(value)`` (``compact``: with ``separators=(",", ":")``).

    Raises:
        TypeError: a value JSON cannot hold. ValueError: a circular reference.
    """
    encoder = None
    if _C is not None:
        accelerator = _C[0]
        # A new encoder each time: it keeps the containers it is inside of (json's circular
        # check) in its markers dict, which an error would leave behind.
        try:
            encoder = accelerator.make_encoder(  # type: ignore[attr-defined]
                {},
                _default,
                accelerator.encode_basestring_ascii,  # type: ignore[attr-defined]
                None,
                ":" if compact else ": ",
                "," if compact else ", ",
                False,  # sort_keys
                False,  # skipkeys
                True,  # allow_nan
            )
        except TypeError:  # another Python's accelerator, made otherwise
            encoder = None
    if encoder is None:
        import json

        return json.dumps(value, separators=(",", ":") if compact else None)
    return "".join(encoder(value, 0))
