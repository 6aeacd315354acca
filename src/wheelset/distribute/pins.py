"""The pin record: which pins on a node wheelset made, so that gc never removes another's.

The js-ipfs node the tests run has no pin names (Kubo has `pin add --name`, js-ipfs only
a `metadata` object; the two do not meet), so the record is a local file per node, under
the cache directory: ``pins/<peer id>.log``, one line per event, ``pin <cid> <why>`` or
``unpin <cid>``, appended under an exclusive lock. Appending keeps a pin's cost constant
however many there are; a line torn by a kill is ignored (its pin is then simply not
wheelset's, the safe side). Pins are recorded after the node confirms them, for the same
reason. gc rewrites the file compacted. Entry points: PinRecord, record_for().
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from wheelset.errors import PinRecordError
from wheelset.fsutil import atomic_write_text
from wheelset.ipfs.cid import CID, InvalidCID, parse_cid
from wheelset.ipfs.rpc import KuboRpc

__all__ = ["PinRecord", "PinRecordError", "record_for"]

_SAFE_ID = re.compile(r"^[A-Za-z0-9]+$")


class PinRecord:
    """The pins wheelset made on one node (by its peer id)."""

    def __init__(self, path: Path):
        self.path = path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise PinRecordError(
                f"cannot open the pin record: {e.strerror or e}", path=self.path
            ) from e
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        finally:
            os.close(lock)

    def _read(self) -> dict[CID, str]:
        pins: dict[CID, str] = {}
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return pins
        except OSError as e:
            raise PinRecordError(
                f"cannot read the pin record: {e.strerror or e}", path=self.path
            ) from e
        for line in text.splitlines():
            op, _, rest = line.partition(" ")
            cid_text, _, why = rest.partition(" ")
            try:
                cid = parse_cid(cid_text)
            except InvalidCID:
                continue  # a line torn by a kill
            if op == "pin":
                pins[cid] = why
            elif op == "unpin":
                pins.pop(cid, None)
        return pins

    def pins(self) -> dict[CID, str]:
        """Every CID wheelset pinned and has not unpinned, with why it was pinned."""
        with self._locked():
            return self._read()

    def add(self, cids: Iterable[CID], why: str) -> None:
        lines = "".join(f"pin {cid} {why}\n" for cid in cids)
        if not lines:
            return
        with self._locked():
            try:
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(lines)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as e:
                raise PinRecordError(
                    f"cannot write the pin record: {e.strerror or e}", path=self.path
                ) from e

    def remove(self, cids: Iterable[CID]) -> None:
        """Forget ``cids`` and compact the file."""
        gone = set(cids)
        with self._locked():
            kept = {c: why for c, why in self._read().items() if c not in gone}
            try:
                atomic_write_text(self.path, "".join(f"pin {c} {w}\n" for c, w in kept.items()))
            except OSError as e:
                raise PinRecordError(
                    f"cannot write the pin record: {e.strerror or e}", path=self.path
                ) from e


def record_for(rpc: KuboRpc, cache_directory: Path) -> PinRecord:
    """The record of the node behind ``rpc`` (asks the node its peer id)."""
    peer = str(rpc.id().get("ID", ""))
    if not _SAFE_ID.match(peer):
        raise PinRecordError(f"the node at {rpc.api_url} reported no usable peer id ({peer!r})")
    return PinRecord(cache_directory / "pins" / f"{peer}.log")
