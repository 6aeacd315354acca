"""CARv1 archives: a header naming the roots, then (CID, block) sections.

Spec: https://ipld.io/specs/transport/car/carv1/ . The header is the DAG-CBOR map
{"roots": [CID…], "version": 1}; each section is varint(len(cid)+len(block)) cid block.
Writing streams one block at a time. No network, no wheels.
Entry points: write_car(), encode_car_header().
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import BinaryIO

from wheelset.ipfs.cid import CID
from wheelset.ipfs.varint import encode_varint

__all__ = ["encode_car_header", "write_car"]

_CBOR_TAG_CID = b"\xd8\x2a"  # CBOR tag 42: an IPLD link


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
