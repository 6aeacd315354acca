"""Content identifiers (CIDv0 and CIDv1) as values, with their binary and text forms.

Spec: https://github.com/multiformats/cid . v0 is a bare sha2-256 multihash printed in
base58btc (always ``Qm…``); v1 is ``varint(1) varint(codec) multihash`` printed in
multibase base32 (``b…``). Only sha2-256 multihashes are produced; parsing accepts any
multihash code and length so foreign CIDs can be carried. No network, no wheels.
Entry points: CID, parse_cid(), format_cid(), decode_cid_bytes().
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from wheelset.errors import InvalidCID
from wheelset.ipfs.varint import InvalidVarint, decode_varint, encode_varint

__all__ = [
    "CID",
    "DAG_PB",
    "RAW",
    "SHA2_256",
    "InvalidCID",
    "cid_bytes",
    "cid_for_block",
    "cid_text",
    "decode_cid_bytes",
    "format_cid",
    "parse_cid",
]

DAG_PB = 0x70
RAW = 0x55
DAG_CBOR = 0x71
SHA2_256 = 0x12
_SHA2_256_LENGTH = 32  # bytes
_SHA2_256_PREFIX = bytes((SHA2_256, _SHA2_256_LENGTH))

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}


@dataclass(frozen=True, slots=True)
class CID:
    """A CID: version, content codec, multihash function code and digest."""

    version: int
    codec: int
    digest: bytes
    hash_code: int = SHA2_256

    def __post_init__(self) -> None:
        if self.version == 0 and (self.codec != DAG_PB or self.hash_code != SHA2_256):
            raise InvalidCID("CIDv0 must be dag-pb with sha2-256")
        if self.version not in (0, 1):
            raise InvalidCID(f"unsupported CID version {self.version}")

    @property
    def multihash(self) -> bytes:
        if self.hash_code == SHA2_256 and len(self.digest) == _SHA2_256_LENGTH:
            return _SHA2_256_PREFIX + self.digest
        return encode_varint(self.hash_code) + encode_varint(len(self.digest)) + self.digest

    def to_bytes(self) -> bytes:
        """The binary form used in dag-pb links and CAR sections."""
        if self.version == 0:
            return self.multihash
        return b"\x01" + encode_varint(self.codec) + self.multihash

    def to_v1(self) -> CID:
        return CID(1, self.codec, self.digest, self.hash_code)

    def __str__(self) -> str:
        return format_cid(self)


def cid_for_block(block: bytes | memoryview, *, version: int = 0, codec: int = DAG_PB) -> CID:
    """The sha2-256 CID of a block."""
    return CID(version, codec, hashlib.sha256(block).digest())


# Two base58 digits at a time: half the big-integer divisions (a build formats one CID
# per wheel).
_B58_PAIRS = [a + b for a in _B58_ALPHABET for b in _B58_ALPHABET]


def _b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58 * 58)
        out.append(_B58_PAIRS[r])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out)).lstrip("1")


# Each byte's base58 digit, 0xFF for a byte that is none: a text's digits in one translate.
_B58_DIGITS = bytes(_B58_INDEX.get(chr(i), 0xFF) for i in range(256))


def _b58decode(text: str) -> bytes:
    try:
        digits = text.encode("ascii").translate(_B58_DIGITS)
    except UnicodeEncodeError:
        digits = b"\xff"
    if 0xFF in digits:
        raise InvalidCID(f"not base58btc: {text!r}")
    n = 0
    for digit in digits:
        n = n * 58 + digit
    pad = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * pad + body


def format_cid(cid: CID) -> str:
    """Text form: base58btc for v0, multibase base32 (lower case, no padding) for v1.

    >>> format_cid(parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").to_v1())
    'bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354'
    """
    if cid.version == 0:
        return _b58encode(cid.to_bytes())
    return "b" + base64.b32encode(cid.to_bytes()).decode("ascii").lower().rstrip("=")


def cid_text(fields: tuple[int, int, bytes, int]) -> str:
    """format_cid() of a CID given as its fields (version, codec, digest, hash code), as
    plain records keep it: a build formats one per wheel."""
    if fields[0] == 0:
        return _b58encode(_SHA2_256_PREFIX + fields[2])
    return format_cid(CID(*fields))


def cid_bytes(fields: tuple[int, int, bytes, int]) -> bytes:
    """CID.to_bytes() of a CID given as its fields (see cid_text())."""
    if fields[0] == 0:
        return _SHA2_256_PREFIX + fields[2]
    return CID(*fields).to_bytes()


def decode_cid_bytes(data: bytes | memoryview, offset: int = 0) -> tuple[CID, int]:
    """Decode a binary CID starting at ``offset``; return (cid, offset after it).

    Raises:
        InvalidCID: truncated or malformed bytes.
    """
    try:
        if len(data) - offset >= 2 and data[offset] == SHA2_256 and data[offset + 1] == 0x20:
            end = offset + 2 + _SHA2_256_LENGTH
            if end > len(data):
                raise InvalidCID("truncated CIDv0")
            return CID(0, DAG_PB, bytes(data[offset + 2 : end])), end
        version, pos = decode_varint(data, offset)
        if version != 1:
            raise InvalidCID(f"unsupported CID version {version}")
        codec, pos = decode_varint(data, pos)
        hash_code, pos = decode_varint(data, pos)
        length, pos = decode_varint(data, pos)
    except InvalidVarint as e:
        raise InvalidCID(f"malformed CID bytes: {e}") from e
    end = pos + length
    if end > len(data):
        raise InvalidCID("truncated CID digest")
    if hash_code == SHA2_256 and length != _SHA2_256_LENGTH:
        raise InvalidCID(f"sha2-256 digest of {length} bytes")
    return CID(1, codec, bytes(data[pos:end]), hash_code), end


def _decode_exact(data: bytes, text: str) -> CID:
    cid, end = decode_cid_bytes(data)
    if end != len(data):
        raise InvalidCID(f"trailing bytes after CID: {text!r}")
    return cid


def parse_cid(text: str) -> CID:
    """Parse a CID from text: ``Qm…`` (v0) or multibase base32 ``b…`` (v1).

    Also accepts a ``/ipfs/`` prefix. Raises:
        InvalidCID: anything else, with the offending text in the message.
    """
    if type(text) is str and len(text) == 46 and text[:2] == "Qm":  # a CIDv0 as written
        raw = _b58decode(text)
        if len(raw) == 34 and raw[:2] == _SHA2_256_PREFIX:
            return CID(0, DAG_PB, raw[2:])
    if not isinstance(text, str):
        raise InvalidCID(f"CID must be text, not {type(text).__name__}")
    body = text.strip()
    if body.startswith("/ipfs/"):
        body = body[len("/ipfs/") :].rstrip("/")
    if not body:
        raise InvalidCID("empty CID")
    if len(body) == 46 and body.startswith("Qm"):
        raw = _b58decode(body)
        if len(raw) != 34:
            raise InvalidCID(f"not a CIDv0: {text!r}")
        return _decode_exact(raw, text)
    if body[0] in "bB" and len(body) > 1:
        b32 = body[1:].upper()
        if any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in b32):
            raise InvalidCID(f"not base32: {text!r}")
        if body[1:] != body[1:].lower() and body[1:] != body[1:].upper():
            raise InvalidCID(f"mixed-case base32: {text!r}")
        try:
            raw = base64.b32decode(b32 + "=" * (-len(b32) % 8))
        except ValueError as e:
            raise InvalidCID(f"not base32: {text!r}") from e
        cid = _decode_exact(raw, text)
        if format_cid(cid)[1:] != body[1:].lower():
            raise InvalidCID(f"non-canonical base32: {text!r}")
        return cid
    if body.startswith("z") or body.startswith("Qm"):
        raise InvalidCID(f"not a CIDv0 (46 base58btc characters starting Qm): {text!r}")
    raise InvalidCID(f"unsupported CID text (want Qm… or b…): {text!r}")
