"""Kubo's deterministic test data (test/cli/testutils/random_deterministic.go), in Python.

The IPIP-499 fixtures are built from the ChaCha20 (RFC 8439) keystream with key
sha256(seed), a zero nonce and block counter 0; file names map keystream bytes onto a
39-character alphabet. ChaCha20 runs here on many blocks at once: word i of every block
lives in one big integer with a 64-bit lane per block, so each of the ~1000 arithmetic
steps of the cipher is a single big-integer operation over a whole megabyte.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

_CONSTANTS = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)  # "expand 32-byte k"
_BLOCK = 64  # bytes of keystream per ChaCha20 block
_BATCH = 16384  # blocks computed together (1 MiB)
ALPHABET_EASY = "abcdefghijklmnopqrstuvwxyz01234567890-_"


def chacha20_keystream(key: bytes, blocks: int, counter: int = 0) -> bytes:
    """``blocks`` × 64 bytes of ChaCha20-IETF keystream (zero nonce) from ``counter`` on."""
    ones = int.from_bytes((b"\x01" + bytes(7)) * blocks, "little")
    mask = 0xFFFFFFFF * ones
    key_words = [int.from_bytes(key[i : i + 4], "little") for i in range(0, 32, 4)]
    counters = int.from_bytes(
        b"".join((counter + j).to_bytes(8, "little") for j in range(blocks)), "little"
    )
    initial = [c * ones for c in _CONSTANTS] + [k * ones for k in key_words]
    initial += [counters, 0, 0, 0]
    x = list(initial)

    def quarter(a: int, b: int, c: int, d: int) -> None:
        for p, q, r, shift in ((a, b, d, 16), (c, d, b, 12), (a, b, d, 8), (c, d, b, 7)):
            x[p] = (x[p] + x[q]) & mask
            v = x[r] ^ x[p]
            x[r] = ((v << shift) & mask) | ((v >> (32 - shift)) & mask)

    for _ in range(10):
        quarter(0, 4, 8, 12)
        quarter(1, 5, 9, 13)
        quarter(2, 6, 10, 14)
        quarter(3, 7, 11, 15)
        quarter(0, 5, 10, 15)
        quarter(1, 6, 11, 12)
        quarter(2, 7, 8, 13)
        quarter(3, 4, 9, 14)
    out = bytearray(_BLOCK * blocks)
    for w in range(16):
        lanes = ((x[w] + initial[w]) & mask).to_bytes(8 * blocks, "little")
        for k in range(4):
            out[4 * w + k :: _BLOCK] = lanes[k::8]
    return bytes(out)


def iter_deterministic(size: int, seed: str) -> Iterator[bytes]:
    """Kubo's DeterministicRandomReader(size, seed), one megabyte at a time."""
    key = hashlib.sha256(seed.encode("utf-8")).digest()
    counter = 0
    while size > 0:
        blocks = min(_BATCH, -(-size // _BLOCK))
        chunk = chacha20_keystream(key, blocks, counter)[:size]
        counter += blocks
        size -= len(chunk)
        yield chunk


def deterministic_bytes(size: int, seed: str) -> bytes:
    return b"".join(iter_deterministic(size, seed))


class DeterministicStream(io.RawIOBase):
    """A readable stream of deterministic bytes, so files need not be held in memory."""

    def __init__(self, size: int, seed: str):
        self._chunks = iter_deterministic(size, seed)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if not self._pending:
            self._pending = memoryview(next(self._chunks, b""))
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def deterministic_filenames(count: int, name_len: int, last_len: int, seed: str) -> list[str]:
    """Kubo's createDeterministicFiles names: the last one has ``last_len`` characters."""
    stream = deterministic_bytes(1 << 20, seed)
    names = []
    offset = 0
    for i in range(count):
        length = last_len if i == count - 1 else name_len
        raw = stream[offset : offset + length]
        names.append("".join(ALPHABET_EASY[b % len(ALPHABET_EASY)] for b in raw))
        offset += length
    return names
