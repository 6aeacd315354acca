"""CARv1 archives: a header naming the roots, then (CID, block) sections.

Spec: https://ipld.io/specs/transport/car/carv1/ . The header is the DAG-CBOR map
{"roots": [CID…], "version": 1}; each section is varint(len(cid)+len(block)) cid block.
Writing and reading stream one block at a time. The reader trusts nothing: it decodes the
header as strict DAG-CBOR, bounds every length before reading it, and hashes every block
against its CID, so whatever the bytes, the only error that escapes is InvalidCAR.
No network, no wheels, no CARv2. Entry points: write_car(), encode_car_header(),
iter_car(), read_car().
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from wheelset.errors import InvalidCAR
from wheelset.ipfs.cid import CID, InvalidCID, decode_cid_bytes
from wheelset.ipfs.varint import encode_varint

__all__ = [
    "MAX_BLOCK_SIZE",
    "MAX_HEADER_SIZE",
    "Car",
    "InvalidCAR",
    "encode_car_header",
    "iter_car",
    "read_car",
    "write_car",
]

_CBOR_TAG_CID = b"\xd8\x2a"  # CBOR tag 42: an IPLD link
MAX_HEADER_SIZE = 1 << 20  # bytes; a header only lists roots, ~40 bytes each
MAX_BLOCK_SIZE = 2 << 20  # bytes; the largest block Bitswap and Kubo's dag import accept
_MAX_CID_SIZE = 256  # bytes; sha2-256 CIDs are 34-36, identity CIDs a little longer
_MAX_CBOR_DEPTH = 16  # nesting levels; the header needs 3
_IDENTITY = 0x00  # multihash code: the digest is the block itself
_SHA2_256 = 0x12


@dataclass(frozen=True, slots=True)
class Car:
    """A whole CAR: its roots and every (CID, block) section in stream order."""

    roots: tuple[CID, ...]
    blocks: tuple[tuple[CID, bytes], ...]


def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([(major << 5) | value])
    for extra, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * width):
            return bytes([(major << 5) | extra]) + value.to_bytes(width, "big")
    raise ValueError("CBOR length too large")


def _cbor_text(text: str) -> bytes:
    raw = text.encode("utf-8")
    return _cbor_head(3, len(raw)) + raw


def encode_car_header(roots: Sequence[CID]) -> bytes:
    """DAG-CBOR header bytes; keys sorted length-first, so "roots" precedes "version"."""
    body = _cbor_head(5, 2) + _cbor_text("roots") + _cbor_head(4, len(roots))
    for root in roots:
        link = b"\x00" + root.to_bytes()  # DAG-CBOR links carry the identity multibase prefix
        body += _CBOR_TAG_CID + _cbor_head(2, len(link)) + link
    body += _cbor_text("version") + _cbor_head(0, 1)
    return body


def write_car(out: BinaryIO, roots: Sequence[CID], blocks: Iterable[tuple[CID, bytes]]) -> int:
    """Write a CARv1 stream; return the number of bytes written."""
    header = encode_car_header(roots)
    written = out.write(encode_varint(len(header)) + header)
    for cid, block in blocks:
        cid_bytes = cid.to_bytes()
        written += out.write(encode_varint(len(cid_bytes) + len(block)) + cid_bytes)
        written += out.write(block)
    return written


# int, bytes, str, bool, None, CID, list or dict of these
_CborValue = object


class _CborReader:
    """Strict DAG-CBOR subset: minimal lengths, sorted unique text keys, tag 42 only."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if n > len(self.data) - self.pos:
            raise InvalidCAR("header is truncated CBOR")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def _head(self) -> tuple[int, int]:
        initial = self._take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if info < 24:
            return major, info
        if info > 27:
            raise InvalidCAR("header uses indefinite-length or reserved CBOR items")
        if major == 7:
            raise InvalidCAR("header contains a CBOR float or extended simple value")
        width = 1 << (info - 24)
        value = int.from_bytes(self._take(width), "big")
        if value < (24 if width == 1 else 1 << (4 * width)):
            raise InvalidCAR("header has a non-minimal CBOR length")
        return major, value

    def item(self, depth: int = 0) -> _CborValue:
        if depth > _MAX_CBOR_DEPTH:
            raise InvalidCAR("header nests too deeply")
        major, arg = self._head()
        if major == 0:
            return arg
        if major == 1:
            return -1 - arg
        if major == 2:
            return self._take(arg)
        if major == 3:
            try:
                return self._take(arg).decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidCAR("header has a CBOR string that is not UTF-8") from None
        if major == 4:
            if arg > len(self.data) - self.pos:
                raise InvalidCAR("header is truncated CBOR")
            return [self.item(depth + 1) for _ in range(arg)]
        if major == 5:
            return self._map(arg, depth)
        if major == 6:
            return self._link(arg, depth)
        simple = {20: False, 21: True, 22: None}
        if arg not in simple:
            raise InvalidCAR(f"header has CBOR simple value {arg}, not allowed in DAG-CBOR")
        return simple[arg]

    def _map(self, count: int, depth: int) -> dict[str, _CborValue]:
        if count > len(self.data) - self.pos:
            raise InvalidCAR("header is truncated CBOR")
        out: dict[str, _CborValue] = {}
        previous: bytes | None = None
        for _ in range(count):
            key = self.item(depth + 1)
            if not isinstance(key, str):
                raise InvalidCAR("header has a map key that is not a string")
            raw = key.encode("utf-8")
            if previous is not None and (len(raw), raw) <= (len(previous), previous):
                raise InvalidCAR("header map keys are not in DAG-CBOR order or repeat")
            previous = raw
            out[key] = self.item(depth + 1)
        return out

    def _link(self, tag: int, depth: int) -> CID:
        if tag != 42:
            raise InvalidCAR(f"header has CBOR tag {tag}; DAG-CBOR allows only 42 (link)")
        payload = self.item(depth + 1)
        if not isinstance(payload, bytes) or payload[:1] != b"\x00":
            raise InvalidCAR("header link is not a byte string with the 0x00 prefix")
        try:
            cid, end = decode_cid_bytes(payload, 1)
        except InvalidCID as e:
            raise InvalidCAR(f"header root is not a CID: {e}") from e
        if end != len(payload):
            raise InvalidCAR("header root has trailing bytes after the CID")
        return cid


def _decode_header(data: bytes) -> tuple[CID, ...]:
    reader = _CborReader(data)
    header = reader.item()
    if reader.pos != len(data):
        raise InvalidCAR("header has trailing bytes")
    if not isinstance(header, dict):
        raise InvalidCAR("header is not a CBOR map")
    version = header.get("version")
    if version == 2 and set(header) == {"version"}:
        raise InvalidCAR("this is a CARv2 file; only CARv1 is supported")
    if set(header) != {"roots", "version"}:
        raise InvalidCAR(f"header keys are {sorted(header)}, expected roots and version")
    if version != 1 or isinstance(version, bool):
        raise InvalidCAR(f"unsupported CAR version {version!r}")
    roots = header["roots"]
    if not isinstance(roots, list) or not all(isinstance(r, CID) for r in roots):
        raise InvalidCAR("header roots is not a list of CIDs")
    if not roots:
        raise InvalidCAR("header has no roots")
    return tuple(roots)  # type: ignore[arg-type]


def _read_exact(stream: BinaryIO, n: int, what: str) -> bytes:
    data = stream.read(n)
    if data is None:
        data = b""
    while len(data) < n:
        more = stream.read(n - len(data))
        if not more:
            raise InvalidCAR(f"{what} is truncated: {len(data)} of {n} bytes")
        data += more
    return data


def _read_length(stream: BinaryIO, what: str) -> int | None:
    """A varint length prefix, or None at a clean end of stream."""
    value = 0
    for i in range(9):
        byte = stream.read(1)
        if not byte:
            if i == 0:
                return None
            raise InvalidCAR(f"{what} length is truncated")
        value |= (byte[0] & 0x7F) << (7 * i)
        if not byte[0] & 0x80:
            if byte[0] == 0 and i > 0:
                raise InvalidCAR(f"{what} length is a non-minimal varint")
            return value
    raise InvalidCAR(f"{what} length is longer than a 9-byte varint")


def _verify(cid: CID, block: bytes, where: str) -> None:
    if cid.hash_code == _SHA2_256:
        if hashlib.sha256(block).digest() != cid.digest:
            raise InvalidCAR(f"{where}: block does not match its CID {cid}")
    elif cid.hash_code == _IDENTITY:
        if block != cid.digest:
            raise InvalidCAR(f"{where}: block does not match its identity CID")
    else:
        raise InvalidCAR(
            f"{where}: CID {cid} uses hash function 0x{cid.hash_code:x}; "
            "only sha2-256 and identity are verified"
        )


def _iter_sections(stream: BinaryIO) -> Iterator[tuple[CID, bytes]]:
    number = 0
    while True:
        number += 1
        where = f"section {number}"
        length = _read_length(stream, where)
        if length is None:
            return
        if length == 0:
            raise InvalidCAR(f"{where} is empty")
        if length > MAX_BLOCK_SIZE + _MAX_CID_SIZE:
            raise InvalidCAR(f"{where} is {length} bytes; blocks are limited to {MAX_BLOCK_SIZE}")
        data = _read_exact(stream, length, where)
        try:
            cid, offset = decode_cid_bytes(data)
        except InvalidCID as e:
            raise InvalidCAR(f"{where}: {e}") from e
        if offset > _MAX_CID_SIZE:
            raise InvalidCAR(f"{where}: CID of {offset} bytes is too long")
        block = data[offset:]
        if len(block) > MAX_BLOCK_SIZE:
            raise InvalidCAR(f"{where}: block of {len(block)} bytes exceeds {MAX_BLOCK_SIZE}")
        _verify(cid, block, where)
        yield cid, block


def iter_car(stream: BinaryIO) -> tuple[tuple[CID, ...], Iterator[tuple[CID, bytes]]]:
    """Read a CARv1 header now; return its roots and a lazy iterator of verified sections.

    Each section is yielded only after its block has been hashed and matched to its CID.
    The iterator raises InvalidCAR at the first bad section (earlier ones were good).

    Raises:
        InvalidCAR: malformed or oversized header or section, unsupported hash function,
            or a block that does not match its CID.
    """
    length = _read_length(stream, "header")
    if length is None:
        raise InvalidCAR("empty input: not a CAR")
    if length == 0:
        raise InvalidCAR("header is empty")
    if length > MAX_HEADER_SIZE:
        raise InvalidCAR(f"header of {length} bytes exceeds {MAX_HEADER_SIZE}")
    roots = _decode_header(_read_exact(stream, length, "header"))
    return roots, _iter_sections(stream)


def read_car(source: bytes | BinaryIO) -> Car:
    """Read and verify a whole CAR (from bytes or a stream) into memory.

    Raises:
        InvalidCAR: as iter_car().
    """
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    roots, sections = iter_car(stream)  # type: ignore[arg-type]
    return Car(roots, tuple(sections))
