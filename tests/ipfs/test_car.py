"""CARv1 writer and reader: round trips, strict header, verified blocks, InvalidCAR only."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ipfs.conftest import write_tree
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import (
    MAX_BLOCK_SIZE,
    InvalidCAR,
    encode_car_header,
    iter_car,
    read_car,
    write_car,
)
from wheelset.ipfs.cid import CID, RAW, cid_for_block, parse_cid
from wheelset.ipfs.filesystem import import_path
from wheelset.ipfs.importer import ImportParams, import_bytes
from wheelset.ipfs.varint import encode_varint

EMPTY_DIR = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn")
EMPTY_DIR_BLOCK = bytes.fromhex("0a020801")


def car_bytes(roots: list[CID], blocks: list[tuple[CID, bytes]]) -> bytes:
    out = io.BytesIO()
    written = write_car(out, roots, blocks)
    assert written == len(out.getvalue())
    return out.getvalue()


def section(cid: CID, block: bytes) -> bytes:
    raw = cid.to_bytes()
    return encode_varint(len(raw) + len(block)) + raw + block


def with_header(header: bytes, body: bytes = b"") -> bytes:
    return encode_varint(len(header)) + header + body


def tree_car(tmp_path: Path, params: ImportParams) -> tuple[bytes, CID, list]:
    root = write_tree(
        tmp_path / "tree",
        {"a.txt": b"A\n", "big": bytes(700_000), "sub": {"b": b"B", "empty": {}}},
    )
    store = MemoryBlockStore()
    result = import_path(root, params, store=store)
    blocks = list(store.items())
    return car_bytes([result.cid], blocks), result.cid, blocks


def test_header_bytes_for_one_root() -> None:
    header = encode_car_header([EMPTY_DIR])
    assert header == (
        bytes.fromhex("a265726f6f747381d82a582300")
        + EMPTY_DIR.to_bytes()
        + bytes.fromhex("6776657273696f6e01")
    )


@pytest.mark.parametrize("params", [ImportParams(), ImportParams(cid_version=1)])
def test_round_trip_of_a_tree(tmp_path: Path, params: ImportParams) -> None:
    data, root, blocks = tree_car(tmp_path, params)
    car = read_car(data)
    assert car.roots == (root,)
    assert list(car.blocks) == blocks
    roots, sections = iter_car(io.BytesIO(data))
    assert roots == (root,) and list(sections) == blocks


def test_several_roots_and_identity_blocks() -> None:
    identity = CID(1, RAW, b"inline", 0x00)
    data = car_bytes([EMPTY_DIR, identity], [(EMPTY_DIR, EMPTY_DIR_BLOCK), (identity, b"inline")])
    car = read_car(io.BytesIO(data))
    assert car.roots == (EMPTY_DIR, identity)
    assert car.blocks == ((EMPTY_DIR, EMPTY_DIR_BLOCK), (identity, b"inline"))


def test_sections_before_a_bad_one_are_yielded() -> None:
    good = section(EMPTY_DIR, EMPTY_DIR_BLOCK)
    bad = section(EMPTY_DIR, b"tampered")
    roots, sections = iter_car(io.BytesIO(with_header(encode_car_header([EMPTY_DIR]), good + bad)))
    assert roots == (EMPTY_DIR,)
    assert next(sections) == (EMPTY_DIR, EMPTY_DIR_BLOCK)
    with pytest.raises(InvalidCAR, match="does not match"):
        next(sections)


def test_largest_block_is_accepted() -> None:
    block = bytes(MAX_BLOCK_SIZE)
    cid = cid_for_block(block, version=1, codec=RAW)
    assert read_car(car_bytes([cid], [(cid, block)])).blocks == ((cid, block),)


HEADER = encode_car_header([EMPTY_DIR])
GOOD_SECTION = section(EMPTY_DIR, EMPTY_DIR_BLOCK)
ROOT_LINK = bytes.fromhex("d82a582300") + EMPTY_DIR.to_bytes()
SHA512_CID = CID(1, RAW, hashlib.sha512(b"x").digest(), 0x13)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty input"),
        (b"\x00", "header is empty"),
        (encode_varint(2 << 20), "exceeds"),
        (b"\x80", "truncated"),
        (b"\xff" * 10, "9-byte varint"),
        (with_header(HEADER)[:-1], "truncated"),
        (with_header(b"\x01"), "not a CBOR map"),
        (with_header(HEADER + b"\x00"), "trailing bytes"),
        (with_header(bytes.fromhex("a16776657273696f6e02")), "CARv2"),
        (with_header(bytes.fromhex("a16776657273696f6e01")), "expected roots and version"),
        (with_header(HEADER.replace(b"version\x01", b"version\x02")), "unsupported CAR version"),
        (with_header(HEADER.replace(b"version\x01", b"version\xf5")), "unsupported CAR version"),
        (with_header(bytes.fromhex("a265726f6f7473806776657273696f6e01")), "no roots"),
        (with_header(bytes.fromhex("a265726f6f7473816161") + b"gversion\x01"), "list of CIDs"),
        (
            with_header(bytes.fromhex("a26776657273696f6e0165726f6f747381") + ROOT_LINK),
            "DAG-CBOR order",
        ),
        (with_header(HEADER.replace(b"\x65roots", b"\x78\x05roots")), "non-minimal"),
        (with_header(HEADER.replace(b"\xd8\x2a", b"\xd8\x2b")), "tag 43"),
        (with_header(HEADER.replace(b"\x58\x23\x00", b"\x58\x23\x01")), "0x00 prefix"),
        (with_header(HEADER.replace(b"\x81\xd8", b"\x9f\xd8")), "indefinite"),
        (with_header(HEADER.replace(b"\x67version\x01", b"\x67version\xfb")), "float"),
        (with_header(HEADER, GOOD_SECTION[:-1]), "section 1 is truncated"),
        (with_header(HEADER, b"\x00"), "section 1 is empty"),
        (with_header(HEADER, GOOD_SECTION + b"\x85"), "section 2 length is truncated"),
        (with_header(HEADER, b"\x80\x00"), "non-minimal"),
        (with_header(HEADER, encode_varint(MAX_BLOCK_SIZE + 257)), "limited to"),
        (with_header(HEADER, section(EMPTY_DIR, b"\x0a\x02\x08\x02")), "does not match"),
        (with_header(HEADER, section(SHA512_CID, b"x")), "hash function 0x13"),
        (with_header(HEADER, section(CID(1, RAW, b"ab", 0), b"ba")), "identity"),
        (with_header(HEADER, b"\x05\x02\x70\x12\x20\x00"), "unsupported CID version"),
    ],
)
def test_malformed_car(data: bytes, why: str) -> None:
    with pytest.raises(InvalidCAR, match=why) as e:
        read_car(data)
    assert e.value.code == "CAR"


def _read_or_invalid(data: bytes) -> None:
    try:
        car = read_car(data)
    except InvalidCAR as e:
        assert e.code == "CAR" and "\n" not in str(e)
        return
    for cid, block in car.blocks:  # whatever survived really is what its CID names
        if cid.hash_code == 0x12:
            assert hashlib.sha256(block).digest() == cid.digest


@settings(max_examples=3000)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_invalid_car(data: bytes) -> None:
    _read_or_invalid(data)


@settings(max_examples=3000)
@given(st.binary(max_size=120))
def test_arbitrary_bytes_after_a_valid_header(body: bytes) -> None:
    _read_or_invalid(with_header(HEADER, body))


def _valid_car() -> bytes:
    files = [import_bytes(b"x" * n, ImportParams(chunk_size=64)) for n in (0, 5, 200)]
    store = MemoryBlockStore()
    for n in (0, 5, 200):
        import_bytes(b"x" * n, ImportParams(chunk_size=64), store=store)
    return car_bytes([f.cid for f in files], list(store.items()))


VALID_CAR = _valid_car()


@settings(max_examples=4000, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(VALID_CAR) - 1),
            st.sampled_from(["flip", "set", "delete", "insert", "truncate"]),
            st.integers(0, 255),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_car_raises_only_invalid_car(edits: list[tuple[int, str, int]]) -> None:
    data = bytearray(VALID_CAR)
    for position, kind, value in edits:
        position %= max(len(data), 1)
        if kind == "flip" and data:
            data[position] ^= 1 << (value % 8)
        elif kind == "set" and data:
            data[position] = value
        elif kind == "delete":
            del data[position : position + 1 + value % 4]
        elif kind == "insert":
            data[position:position] = bytes([value]) * (1 + value % 3)
        else:
            del data[position:]
    _read_or_invalid(bytes(data))
