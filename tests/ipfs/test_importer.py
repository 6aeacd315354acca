"""The importer: more Kubo/spec file vectors; threaded hashing keeps every order, survives fork."""

from __future__ import annotations

import hashlib
import io
import os
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.cid import RAW
from wheelset.ipfs.dagpb import decode_node
from wheelset.ipfs.importer import ImportParams, import_bytes, import_file

V0 = ImportParams()
V1_DAG_PB = ImportParams(cid_version=1, raw_leaves=False)
DATA = random.Random(5).randbytes(40 * 262_144 + 123)


CHUNK = 262_144
SIZES = [0, 1, CHUNK, CHUNK + 1, 9 * CHUNK, 9 * CHUNK + 5, len(DATA)]  # 8 chunks per task


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("importer") / "data"
    path.write_bytes(DATA)
    return path


def import_both_ways(data: bytes, path: Path, params: ImportParams = V0, **kwargs):
    """(stream import, threaded regular-file import) of the same bytes."""
    path.write_bytes(data)
    serial = import_file(io.BytesIO(data), params, **kwargs)
    with path.open("rb", buffering=0) as f:
        threaded = import_file(f, params, **kwargs)
        assert f.tell() == len(data)
    return serial, threaded


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("params", [V0, ImportParams(cid_version=1)], ids=["v0", "v1"])
def test_threaded_file_import_equals_stream_import(
    tmp_path: Path, size: int, params: ImportParams
) -> None:
    serial, threaded = import_both_ways(DATA[:size], tmp_path / "f", params)
    assert threaded == serial


@pytest.mark.parametrize("threaded", [False, True])
def test_on_chunk_sees_the_file_in_order(data_file: Path, threaded: bool) -> None:
    digest = hashlib.sha256()
    sizes = []

    def on_chunk(chunk: memoryview) -> None:
        digest.update(chunk)
        sizes.append(len(chunk))

    with data_file.open("rb") as f:
        root = import_file(f if threaded else io.BytesIO(f.read()), on_chunk=on_chunk)
    assert digest.digest() == hashlib.sha256(DATA).digest()
    assert sizes == [CHUNK] * 40 + [123]
    assert root.file_size == len(DATA)


@pytest.mark.parametrize("threaded", [False, True])
def test_blocks_reach_the_store_in_file_order(data_file: Path, threaded: bool) -> None:
    store = MemoryBlockStore()
    with data_file.open("rb") as f:
        source = f if threaded else io.BytesIO(f.read())
        root = import_file(source, ImportParams(cid_version=1), store=store)
    leaves = [block for cid, block in store.items() if cid.codec == RAW]
    assert b"".join(leaves) == DATA
    links = [link.cid for link in decode_node(store.get(root.cid)).links]
    assert links == [cid for cid, _ in store.items() if cid.codec == RAW]


def test_import_starts_at_the_stream_position(data_file: Path) -> None:
    with data_file.open("rb") as f:
        f.read(1000)  # a buffered reader has read ahead; its logical position counts
        root = import_file(f)
        assert f.tell() == len(DATA)
    assert root == import_bytes(DATA[1000:])


def test_concurrent_imports_do_not_mix(tmp_path: Path) -> None:
    inputs = [random.Random(seed).randbytes(9 * CHUNK + seed) for seed in range(6)]
    for i, data in enumerate(inputs):
        (tmp_path / str(i)).write_bytes(data)
    serial = [import_bytes(data).cid for data in inputs]

    def import_path_i(i: int):  # type: ignore[no-untyped-def]
        with (tmp_path / str(i)).open("rb") as f:
            return import_file(f).cid

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(import_path_i, range(6))) == serial


def test_import_after_fork(data_file: Path) -> None:
    with data_file.open("rb") as f:
        expected = import_file(f).cid  # the parent's hashing threads exist now
    pid = os.fork()
    if pid == 0:
        with data_file.open("rb") as f:
            ok = import_file(f).cid == expected
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


def test_the_hash_threads_leave_signals_to_the_main_thread(data_file: Path) -> None:
    """The hashing pool outlives an import: its threads hold SIGINT and SIGTERM, so that the
    kernel hands them to the main thread (an install paused in its transaction would
    otherwise see a Ctrl-C only when its blocking call returns)."""
    import signal
    import threading

    with data_file.open("rb", buffering=0) as f:
        import_file(f, V0)
    hashing = [t.native_id for t in threading.enumerate() if t.name.startswith("wheelset-hash")]
    assert hashing
    held = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
    for native_id in hashing:
        status = Path(f"/proc/self/task/{native_id}/status").read_text().splitlines()
        mask = int(next(x for x in status if x.startswith("SigBlk:"))[7:], 16)
        assert mask & held == held, native_id
