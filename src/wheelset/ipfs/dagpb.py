"""dag-pb nodes and UnixFS data: the byte formats Kubo writes, and strict readers.

Specs: https://ipld.io/specs/codecs/dag-pb/spec/ and https://specs.ipfs.tech/unixfs/ .
Writers emit the canonical form Kubo/boxo emit (links before data; every link carries
Hash, Name — even empty — and Tsize; UnixFS fields in field-number order, only when set).
Readers reject anything malformed with InvalidNode. No I/O, no wheels.
Entry points: PBLink, PBNode, encode_node(), decode_node(), UnixFSData, encode_unixfs(),
decode_unixfs().
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wheelset.errors import InvalidNode
from wheelset.ipfs.cid import CID, DAG_PB, RAW, InvalidCID, decode_cid_bytes
from wheelset.ipfs.varint import InvalidVarint, decode_varint, encode_varint

__all__ = [
    "DIRECTORY",
    "FILE",
    "HAMT_SHARD",
    "RAW_TYPE",
    "SYMLINK",
    "InvalidNode",
    "PBLink",
    "PBNode",
    "UnixFSData",
    "decode_node",
    "decode_unixfs",
    "encode_link",
    "encode_link_bytes",
    "encode_node",
    "encode_unixfs",
    "file_parts",
]

RAW_TYPE, DIRECTORY, FILE, METADATA, SYMLINK, HAMT_SHARD = range(6)

_VARINT, _LEN = 0, 2  # protobuf wire types used by dag-pb and UnixFS


@dataclass(frozen=True, slots=True)
class PBLink:
    cid: CID
    name: str
    tsize: int


@dataclass(frozen=True, slots=True)
class PBNode:
    links: tuple[PBLink, ...] = ()
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class UnixFSData:
    type: int
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: tuple[int, ...] = field(default=())
    hash_type: int | None = None
    fanout: int | None = None


def _field_bytes(number: int, payload: bytes) -> bytes:
    return encode_varint((number << 3) | _LEN) + encode_varint(len(payload)) + payload


def _field_varint(number: int, value: int) -> bytes:
    return encode_varint((number << 3) | _VARINT) + encode_varint(value)


def encode_link(link: PBLink) -> bytes:
    """One PBLink as it appears (length-prefixed, field 2) inside a PBNode."""
    return encode_link_bytes(link.cid.to_bytes(), link.name.encode("utf-8"), link.tsize)


def encode_link_bytes(cid: bytes, name: bytes, tsize: int) -> bytes:
    """encode_link() of a link given as its binary CID and UTF-8 name (directory builders
    encode millions of links: this spares making a PBLink for each)."""
    # Field keys spelt out (1 and 2 length-delimited, 3 varint).
    size = encode_varint(tsize)
    length = 5 + len(cid) + len(name) + len(size)
    if length < 0x80 and len(cid) < 0x80 and len(name) < 0x80:  # one-byte lengths: most
        head = b"\x12" + _BYTE[length] + b"\x0a" + _BYTE[len(cid)]
        return b"".join((head, cid, b"\x12", _BYTE[len(name)], name, b"\x18", size))
    body = b"".join(
        (
            b"\x0a",
            encode_varint(len(cid)),
            cid,
            b"\x12",
            encode_varint(len(name)),
            name,
            b"\x18",
            size,
        )
    )
    return b"\x12" + encode_varint(len(body)) + body


_BYTE = [bytes((value,)) for value in range(0x80)]


def encode_node(node: PBNode) -> bytes:
    """Serialise a node: links first, then data (the canonical dag-pb order)."""
    out = b"".join(encode_link(link) for link in node.links)
    if node.data is not None:
        out += _field_bytes(1, node.data)
    return out


def encode_unixfs(meta: UnixFSData) -> bytes:
    out = _field_varint(1, meta.type)
    if meta.data is not None:
        out += _field_bytes(2, meta.data)
    if meta.filesize is not None:
        out += _field_varint(3, meta.filesize)
    for size in meta.blocksizes:
        out += _field_varint(4, size)
    if meta.hash_type is not None:
        out += _field_varint(5, meta.hash_type)
    if meta.fanout is not None:
        out += _field_varint(6, meta.fanout)
    return out


def _iter_fields(buf: bytes | memoryview):
    """Yield (field number, wire type, value) where value is int or memoryview."""
    view = memoryview(buf)
    pos = 0
    try:
        while pos < len(view):
            key, pos = decode_varint(view, pos)
            number, wire = key >> 3, key & 7
            if wire == _VARINT:
                value, pos = decode_varint(view, pos)
                yield number, wire, value
            elif wire == _LEN:
                length, pos = decode_varint(view, pos)
                if pos + length > len(view):
                    raise InvalidNode("length-delimited field runs past the end")
                yield number, wire, view[pos : pos + length]
                pos += length
            else:
                raise InvalidNode(f"unsupported protobuf wire type {wire}")
    except InvalidVarint as e:
        raise InvalidNode(f"bad varint: {e}") from e


def _canonical_link(buf: memoryview) -> PBLink | None:
    """A link in the form Kubo and wheelset write it (Hash a CIDv0, a short Name, Tsize),
    read without the general field loop (a HAMT shard holds hundreds of links); None for
    any other form, which _decode_link() then reads or refuses."""
    if len(buf) < 40 or buf[:4] != b"\x0a\x22\x12\x20" or buf[36] != 0x12 or buf[37] >= 0x80:
        return None
    end = 38 + buf[37]
    if end >= len(buf) or buf[end] != 0x18:
        return None
    try:
        tsize, after = decode_varint(buf, end + 1)
        name = bytes(buf[38:end]).decode("utf-8")
    except (InvalidVarint, UnicodeDecodeError):
        return None
    if after != len(buf):
        return None
    return PBLink(CID(0, DAG_PB, bytes(buf[4:36])), name, tsize)


def _decode_link(buf: memoryview) -> PBLink:
    fast = _canonical_link(buf)
    if fast is not None:
        return fast
    cid: CID | None = None
    name = ""
    tsize = 0
    for number, wire, value in _iter_fields(buf):
        if number == 1 and wire == _LEN:
            try:
                cid, end = decode_cid_bytes(value)
            except InvalidCID as e:
                raise InvalidNode(f"link hash is not a CID: {e}") from e
            if end != len(value):
                raise InvalidNode("trailing bytes after link CID")
        elif number == 2 and wire == _LEN:
            try:
                name = bytes(value).decode("utf-8")
            except UnicodeDecodeError as e:
                raise InvalidNode("link name is not UTF-8") from e
        elif number == 3 and wire == _VARINT:
            tsize = value
        else:
            raise InvalidNode(f"unexpected field {number} in PBLink")
    if cid is None:
        raise InvalidNode("link without a hash")
    return PBLink(cid, name, tsize)


def decode_node(block: bytes | memoryview) -> PBNode:
    """Parse a dag-pb block. Raises InvalidNode on malformed input."""
    links: list[PBLink] = []
    data: bytes | None = None
    for number, wire, value in _iter_fields(block):
        if number == 2 and wire == _LEN:
            if data is not None:
                raise InvalidNode("links after data")
            links.append(_decode_link(value))
        elif number == 1 and wire == _LEN:
            if data is not None:
                raise InvalidNode("data field repeated")
            data = bytes(value)
        else:
            raise InvalidNode(f"unexpected field {number} in PBNode")
    return PBNode(tuple(links), data)


def decode_unixfs(buf: bytes | memoryview) -> UnixFSData:
    """Parse UnixFS Data. Raises InvalidNode on malformed input."""
    values: dict[int, int | bytes] = {}
    blocksizes: list[int] = []
    for number, wire, value in _iter_fields(buf):
        if number == 4 and wire == _VARINT:
            blocksizes.append(value)  # type: ignore[arg-type]
        elif number in (1, 3, 5, 6, 7) and wire == _VARINT:
            values[number] = value  # type: ignore[assignment]
        elif number in (2, 8) and wire == _LEN:
            values[number] = bytes(value)
        else:
            raise InvalidNode(f"unexpected field {number} in UnixFS data")
    if 1 not in values:
        raise InvalidNode("UnixFS data without a type")
    kind = values[1]
    if not isinstance(kind, int) or kind > HAMT_SHARD:
        raise InvalidNode(f"unknown UnixFS type {kind}")
    data = values.get(2)
    return UnixFSData(
        type=kind,
        data=data if isinstance(data, bytes) else None,
        filesize=values.get(3),  # type: ignore[arg-type]
        blocksizes=tuple(blocksizes),
        hash_type=values.get(5),  # type: ignore[arg-type]
        fanout=values.get(6),  # type: ignore[arg-type]
    )


def file_parts(cid: CID, block: bytes | memoryview) -> tuple[bytes, tuple[CID, ...]]:
    """A block of a UnixFS file: its own bytes and its children, in order (a raw leaf is all
    data). The caller has checked the block against ``cid``.

    Raises:
        InvalidNode: the block is neither raw nor a dag-pb File/Raw node.
    """
    if cid.codec == RAW:
        return bytes(block), ()
    if cid.codec != DAG_PB:
        raise InvalidNode(f"block {cid} is neither raw nor dag-pb")
    node = decode_node(block)
    meta = decode_unixfs(node.data or b"")
    if meta.type not in (FILE, RAW_TYPE):
        raise InvalidNode(f"block {cid} is not part of a file")
    return meta.data or b"", tuple(link.cid for link in node.links)
