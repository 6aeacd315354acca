"""Unsigned LEB128 varints, as used by multiformats, protobuf and CAR framing."""

from __future__ import annotations

__all__ = ["InvalidVarint", "decode_varint", "encode_varint"]

from wheelset.errors import InvalidVarint

_MAX_VARINT_BYTES = 9  # multiformats caps varints at 63 bits = 9 bytes
_ONE_BYTE = [bytes((value,)) for value in range(0x80)]


def encode_varint(value: int) -> bytes:
    """Encode a non-negative integer.

    >>> encode_varint(300).hex()
    'ac02'
    """
    if value < 0x80:
        if value < 0:
            raise ValueError("varints are unsigned")
        return _ONE_BYTE[value]
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(data: bytes | memoryview, offset: int = 0) -> tuple[int, int]:
    """Decode the varint at ``offset``; return (value, offset after it).

    Raises:
        InvalidVarint: truncated, over-long or non-minimal encoding.
    """
    value = 0
    shift = 0
    for i in range(_MAX_VARINT_BYTES):
        pos = offset + i
        if pos >= len(data):
            raise InvalidVarint("truncated varint", code="VARINT")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and i > 0:
                raise InvalidVarint("non-minimal varint", code="VARINT")
            return value, pos + 1
        shift += 7
    raise InvalidVarint("varint longer than 9 bytes", code="VARINT")
