"""Hostile input to every parser: only the documented error type escapes.

Cases per parser: tests/fuzz/profiles.py (fast by default; WHEELSET_FUZZ=deep: 10,000).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import PurePosixPath

from hypothesis import given
from hypothesis import strategies as st

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from tests.fuzz.profiles import FUZZ
from wheelset.build.manifest import WheelEntry
from wheelset.build.rootfiles import format_project_file
from wheelset.client.root import RootError, parse_header, parse_project_file
from wheelset.ipfs.cid import InvalidCID, parse_cid
from wheelset.ipfs.dagpb import InvalidNode, decode_node, decode_unixfs, encode_node
from wheelset.ipfs.directory import build_tree
from wheelset.ipfs.importer import import_bytes
from wheelset.model.declarations import DeclarationError, parse_declaration, relpath_for

GOOD_CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
GOOD_TABLE = {
    "source": "index:demo-1.0-py3-none-any.whl",
    "content-id": GOOD_CID,
    "sha256": "0" * 64,
    "size": 12,
    "requires-python": ">=3.10",
    "extras": ["socks"],
    "dependencies": ["pysocks>=1; extra == 'socks'"],
}
GOOD_PATH = PurePosixPath("2d/demo/demo-1.0-py3-none-any.toml")

toml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=8,
)


def _mutate(data: bytes, positions: list[int], values: list[int]) -> bytes:
    buf = bytearray(data)
    for p, v in zip(positions, values, strict=False):
        if buf:
            buf[p % len(buf)] = v
    return bytes(buf)


@FUZZ
@given(st.text(max_size=80))
def test_cid_text(text: str) -> None:
    try:
        cid = parse_cid(text)
    except InvalidCID:
        return
    assert parse_cid(str(cid)) == cid


@FUZZ
@given(st.binary(max_size=300))
def test_dag_pb_random_bytes(data: bytes) -> None:
    for decode in (decode_node, decode_unixfs):
        with contextlib.suppress(InvalidNode):
            decode(data)


_DIRECTORY_BLOCK = None


def _directory_block() -> bytes:
    global _DIRECTORY_BLOCK
    if _DIRECTORY_BLOCK is None:
        from wheelset.ipfs.blockstore import MemoryBlockStore

        store = MemoryBlockStore()
        root = build_tree({"a": import_bytes(b"x" * 300_000), "é": import_bytes(b"y")}, store=store)
        _DIRECTORY_BLOCK = store.get(root.cid)
    return _DIRECTORY_BLOCK


@FUZZ
@given(
    st.lists(st.integers(min_value=0), max_size=6),
    st.lists(st.integers(0, 255), max_size=6),
    st.integers(min_value=0, max_value=200),
)
def test_dag_pb_mutations(positions: list[int], values: list[int], cut: int) -> None:
    block = _mutate(_directory_block(), positions, values)[: len(_directory_block()) - cut]
    try:
        node = decode_node(block)
    except InvalidNode:
        return
    if node.data is not None:
        with contextlib.suppress(InvalidNode):
            decode_unixfs(node.data)
    assert decode_node(encode_node(node)) == node


@FUZZ
@given(
    st.dictionaries(st.sampled_from([*GOOD_TABLE, "extra-key", "name"]), toml_values, max_size=9)
)
def test_declaration_tables(table: dict) -> None:
    with contextlib.suppress(DeclarationError):
        parse_declaration(table, GOOD_PATH)


@FUZZ
@given(st.sampled_from(sorted(GOOD_TABLE)), toml_values)
def test_declaration_one_bad_field(key: str, value: object) -> None:
    table = dict(GOOD_TABLE, **{key: value})
    with contextlib.suppress(DeclarationError):
        parse_declaration(table, GOOD_PATH)


@FUZZ
@given(st.text(max_size=60))
def test_wheel_file_names(name: str) -> None:
    for candidate in (name, name + ".whl"):
        with contextlib.suppress(DeclarationError):
            relpath_for(candidate)
        with contextlib.suppress(DeclarationError):
            parse_declaration(GOOD_TABLE, PurePosixPath(candidate + ".toml"))


def _good_project_file() -> bytes:
    decl = parse_declaration(GOOD_TABLE, GOOD_PATH)
    return format_project_file(decl.name, [WheelEntry(decl)])


def _parse_project_file(data: bytes) -> None:
    decl = parse_declaration(GOOD_TABLE, GOOD_PATH)
    with contextlib.suppress(RootError):
        parse_project_file(data, decl.name)


@FUZZ
@given(st.binary(max_size=200))
def test_root_files_random_bytes(data: bytes) -> None:
    with contextlib.suppress(RootError):
        parse_header(data)
    _parse_project_file(data)


@FUZZ
@given(st.lists(st.integers(min_value=0), max_size=4), st.lists(st.integers(0, 255), max_size=4))
def test_project_file_byte_mutations(positions: list[int], values: list[int]) -> None:
    _parse_project_file(_mutate(_good_project_file(), positions, values))


@FUZZ
@given(
    st.sampled_from(["meta", "name", "versions", "files", "filename", "wheelset", *GOOD_TABLE]),
    toml_values,
)
def test_project_file_structural_mutations(key: str, value: object) -> None:
    doc = json.loads(_good_project_file())
    if key in ("meta", "name", "versions", "files"):
        doc[key] = value
    elif key in ("filename", "wheelset"):
        doc["files"][0][key] = value
    else:
        doc["files"][0]["wheelset"][key] = value
    _parse_project_file(json.dumps(doc, default=str).encode())


@FUZZ
@given(st.text(max_size=300))
def test_declaration_toml_text(text: str) -> None:
    from wheelset.model import canonical_toml
    from wheelset.model.declarations import validate_declaration

    try:
        table = canonical_toml.loads(text)
    except tomllib.TOMLDecodeError:
        return
    decl, problems = validate_declaration(table, GOOD_PATH)
    assert (decl is None) == bool(problems)
    assert all(isinstance(p, DeclarationError) for p in problems)


_CAR: bytes | None = None


def _valid_car() -> bytes:
    global _CAR
    if _CAR is None:
        import io

        from wheelset.ipfs.blockstore import MemoryBlockStore
        from wheelset.ipfs.car import write_car

        store = MemoryBlockStore()
        root = build_tree({"a": import_bytes(b"x" * 300_000), "b": import_bytes(b"y")}, store=store)
        out = io.BytesIO()
        write_car(out, [root.cid], store.items())
        _CAR = out.getvalue()
    return _CAR


@FUZZ
@given(
    st.lists(st.integers(min_value=0), max_size=6),
    st.lists(st.integers(0, 255), max_size=6),
    st.integers(min_value=0, max_value=400_000),
)
def test_car_mutations(positions: list[int], values: list[int], cut: int) -> None:
    from wheelset.ipfs.car import InvalidCAR, read_car

    data = _mutate(_valid_car(), positions, values)[: max(0, len(_valid_car()) - cut)]
    with contextlib.suppress(InvalidCAR):
        car = read_car(data)
        assert car.roots


_METADATA_LINE = st.one_of(
    st.sampled_from(
        [
            "Metadata-Version: 2.1",
            "Name: demo",
            "Version: 1.0",
            "Version: 1.0.0",
            "Requires-Python: >=3.8",
            "Provides-Extra: cli",
            "License-Expression: MIT",
            "Classifier: License :: OSI Approved :: MIT License",
            "",
            "\t continued",
        ]
    ),
    st.tuples(
        st.sampled_from(
            [
                "Name",
                "Version",
                "Requires-Python",
                "Requires-Dist",
                "Provides-Extra",
                "License-Expression",
                "License",
                "Classifier",
                "Metadata-Version",
            ]
        ),
        st.text(max_size=30),
    ).map(lambda kv: f"{kv[0]}: {kv[1]}"),
)


@FUZZ
@given(st.lists(_METADATA_LINE, max_size=12), st.binary(max_size=20))
def test_wheel_metadata(lines: list[str], tail: bytes) -> None:
    import tempfile
    from pathlib import Path

    from tests.support.wheels import make_wheel
    from wheelset.fetch import NotAWheelError
    from wheelset.model.wheelfile import read_wheel

    text = "\n".join(lines) + "\n\n"
    with tempfile.TemporaryDirectory() as tmp:
        wheel = make_wheel(Path(tmp), "demo", "1.0", metadata=text)
        if tail:
            wheel.write_bytes(wheel.read_bytes() + tail)
        try:
            meta = read_wheel(wheel, wheel.name)
        except NotAWheelError:
            return
        assert meta.name == "demo"
