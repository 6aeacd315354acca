"""The importer's threaded hashing keeps every observable order and works after fork."""

from __future__ import annotations

import hashlib
import io
import os
import random
from concurrent.futures import ThreadPoolExecutor

from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.cid import RAW
from wheelset.ipfs.dagpb import decode_node
from wheelset.ipfs.importer import ImportParams, import_bytes, import_file

DATA = random.Random(5).randbytes(40 * 262_144 + 123)


def test_on_chunk_sees_the_file_in_order() -> None:
    digest = hashlib.sha256()
    sizes = []

    def on_chunk(chunk: memoryview) -> None:
        digest.update(chunk)
        sizes.append(len(chunk))

    root = import_file(io.BytesIO(DATA), on_chunk=on_chunk)
    assert digest.digest() == hashlib.sha256(DATA).digest()
    assert sizes == [262_144] * 40 + [123]
    assert root.file_size == len(DATA)


def test_blocks_reach_the_store_in_file_order() -> None:
    store = MemoryBlockStore()
    root = import_bytes(DATA, ImportParams(cid_version=1), store=store)
    leaves = [block for cid, block in store.items() if cid.codec == RAW]
    assert b"".join(leaves) == DATA
    links = [link.cid for link in decode_node(store.get(root.cid)).links]
    assert links == [cid for cid, _ in store.items() if cid.codec == RAW]


def test_concurrent_imports_do_not_mix() -> None:
    inputs = [random.Random(seed).randbytes(9 * 262_144 + seed) for seed in range(6)]
    serial = [str(import_bytes(data).cid) for data in inputs]
    with ThreadPoolExecutor(6) as pool:
        parallel = list(pool.map(lambda data: str(import_bytes(data).cid), inputs))
    assert parallel == serial


def test_import_after_fork() -> None:
    expected = import_bytes(DATA).cid  # the parent's hashing threads exist now
    pid = os.fork()
    if pid == 0:
        ok = import_bytes(DATA).cid == expected
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
