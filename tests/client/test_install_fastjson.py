"""The warm path's JSON (wheelset.client.fastjson) reads and writes exactly what json does."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from wheelset.client import fastjson

VALUES = [
    "plain",
    "",
    0,
    -17,
    2**70,
    2.5,
    1e300,
    float("inf"),
    None,
    True,
    False,
    [],
    {},
    ['quote " backslash \\ newline \n tab \t nul \0 bell \x07', "é", "\U0001f600", "\udcff"],
    {"creates": ["/venv/lib/python3.12/site-packages/a b/c,d.py"], "dirs": [], "removes": []},
    {"nested": {"deep": [[1, [2, {"3": None}]]]}, "k": "v"},
    [[("tuple", "as", "list")]],
]


@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_dumps_and_loads_agree_with_json(value: object, compact: bool) -> None:
    separators = (",", ":") if compact else None
    text = fastjson.dumps(value, compact=compact)
    assert text == json.dumps(value, separators=separators)
    assert repr(fastjson.loads(text)) == repr(json.loads(text))
    assert repr(fastjson.loads(text.encode())) == repr(json.loads(text))
    assert repr(fastjson.loads(f" \n{text}\t\r ")) == repr(json.loads(text))


@pytest.mark.parametrize(
    "text",
    ["", "  ", "[1,]", "{} x", "[1] [2]", "nul", "[1", '"\x01"', "\ufeff{}", '{"a" 1}', "01"],
)
def test_what_json_refuses_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        fastjson.loads(text)


def test_undecodable_bytes_and_unencodable_values_are_refused() -> None:
    with pytest.raises(ValueError):
        fastjson.loads(b'["\xff"]')
    with pytest.raises(TypeError):
        fastjson.dumps({"a": object()})
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError):
        fastjson.dumps(loop)
    # An error leaves nothing behind: the next document encodes.
    assert fastjson.dumps([loop[:0]]) == "[[]]"


def test_it_loads_neither_json_nor_re() -> None:
    program = (
        "import sys\n"
        "from wheelset.client import fastjson\n"
        "text = fastjson.dumps({'a': [1, 'b']}, compact=True)\n"
        "assert fastjson.loads(text) == {'a': [1, 'b']}\n"
        "print(sorted({'json', 're', 'enum'} & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert done.stdout == "[]\n"


@pytest.mark.parametrize("text", ["{", "[1", '{"a" 1}', "[" * 100_000])
def test_a_malformed_document_is_a_value_error_before_json_is_loaded(text: str) -> None:
    program = (
        "import sys\n"
        "from wheelset.client import fastjson\n"
        "try:\n"
        "    fastjson.loads(sys.argv[1])\n"
        "except ValueError:\n"
        "    print('ValueError')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, text], capture_output=True, text=True, check=True
    )
    assert done.stdout == "ValueError\n"
