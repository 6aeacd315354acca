"""The importer: more Kubo/spec file vectors; threaded hashing keeps every order, survives fork."""

from __future__ import annotations

import hashlib
import io
import os
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.cid import RAW
from wheelset.ipfs.dagpb import decode_node
from wheelset.ipfs.importer import ImportParams, import_bytes, import_file

V0 = ImportParams()
V1_DAG_PB = ImportParams(cid_version=1, raw_leaves=False)
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


@pytest.mark.parametrize(
    ("data", "params", "expected"),
    [
        # t0040: `ipfs add --cid-base=base32` prints the CIDv0 DAG's root as CIDv1.
        (b"base32 test\n", None, "bafybeibyosqxljd2eptb4ebbtvk7pb4aoxzqa6ttdsflty6rsslz5y6i34"),
        (b"Helloo Worlds!\n", V0, "Qmf35k66MZNW2GijohUmXQEWKZU4cCGTCwK6idfnt152wJ"),
        (b"Hello Jupiter!\n", V0, "QmUnvPcBctVTAcJpigv6KMqDvmDewksPWrNVoy1E1WP5fh"),
        (b"Hello Neptune!\nHello Pluton!", V0, "QmZDhWpi8NvKrekaYYhxKCdNVGWsFFe1CREnAjP1QbPaB3"),
        # UnixFS spec well-known CIDs: the empty file and a one-block file as CIDv1 dag-pb.
        (b"", V1_DAG_PB, "bafybeif7ztnhq65lumvvtr4ekcwd2ifwgm3awq4zfr3srh462rwyinlb4y"),
        (
            b"Hello from IPFS Gateway Checker\n",
            V1_DAG_PB,
            "bafybeifx7yeb55armcsxwwitkymga5xf53dxiarykms3ygqic223w5sk3m",
        ),
    ],
)
def test_more_file_vectors(data: bytes, params: ImportParams | None, expected: str) -> None:
    root = import_bytes(data, params or V0).cid
    assert str(root if params else root.to_v1()) == expected
