"""wheelset against a real IPFS node (js-ipfs, Kubo's RPC API) and Debian's ipfs_cid.

`wheelset cid` must print what the node's /api/v0/add reports for the same bytes and
tree, and a CAR written by wheelset must be accepted by /api/v0/dag/import, after which
the node's gateway serves every file byte for byte. Random data comes from seeded RNGs.
js-ipfs shards directories by entry count (shard-split-threshold), not by Kubo's size
rule, so each tree below passes the threshold that makes js-ipfs agree with Kubo.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.ipfs.conftest import write_tree
from wheelset.cli import app
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import write_car
from wheelset.ipfs.cid import parse_cid
from wheelset.ipfs.filesystem import import_path, is_hidden
from wheelset.ipfs.importer import ImportParams

CHUNK = 262_144
FILE_SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 174 * CHUNK, 174 * CHUNK + 1, 50_000_000]
IPFS_CID = shutil.which("ipfs_cid") or "/usr/bin/ipfs_cid"


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def wheelset_cid(*args: str | Path) -> str:
    result = CliRunner().invoke(app, ["cid", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def multipart_entries(root: Path, name: str) -> list[tuple[str, Path | None]]:
    """(path in the upload, file or None for a directory), parents before children.

    Hidden entries are left out, as Kubo's CLI leaves them out of what it sends.
    """
    entries: list[tuple[str, Path | None]] = [(name, None)]
    for child in sorted(root.iterdir()):
        if is_hidden(child.name):
            continue
        upload_name = f"{name}/{child.name}"
        if child.is_dir():
            entries += multipart_entries(child, upload_name)
        else:
            entries.append((upload_name, child))
    return entries


def iter_multipart(entries: list[tuple[str, Path | None]], boundary: str) -> Iterator[bytes]:
    for name, path in entries:
        kind = "application/x-directory" if path is None else "application/octet-stream"
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{urllib.parse.quote(name, safe="")}"\r\nContent-Type: {kind}\r\n\r\n'
        ).encode()
        if path is not None:
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    yield chunk
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def node_add(node, entries: list[tuple[str, Path | None]], **options: str) -> dict[str, str]:
    """POST /api/v0/add --only-hash; return {name: CID text} (v1 CIDs in base32)."""
    query = {"only-hash": "true", "pin": "false", **options}
    if options.get("cid-version") == "1":
        query["cid-base"] = "base32"
    boundary = uuid.uuid4().hex
    response = httpx.post(
        f"{node.api_url}/api/v0/add",
        params=query,
        content=iter_multipart(entries, boundary),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=600,
    )
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    assert all("Hash" in line for line in lines), response.text
    return {line["Name"]: line["Hash"] for line in lines}


def ipfs_cid(path: Path) -> dict[str, str]:
    out = subprocess.run([IPFS_CID, str(path)], capture_output=True, check=True, timeout=300)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def sized_files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    directory = tmp_path_factory.mktemp("sized")
    files = {}
    for seed, size in enumerate(FILE_SIZES):
        files[size] = directory / f"random-{size}"
        files[size].write_bytes(random_bytes(size, seed))
    return files


@pytest.mark.parametrize("size", FILE_SIZES)
def test_file_cids_match_the_node(ipfs_node, sized_files: dict[int, Path], size: int) -> None:
    path = sized_files[size]
    entries: list[tuple[str, Path | None]] = [("file", path)]
    v0 = wheelset_cid(path)
    v1 = wheelset_cid("--cid-version", "1", path)
    assert v0 == node_add(ipfs_node, entries)["file"]
    assert v1 == node_add(ipfs_node, entries, **{"cid-version": "1"})["file"]


@pytest.mark.parametrize("size", FILE_SIZES)
def test_file_cids_match_ipfs_cid(sized_files: dict[int, Path], size: int) -> None:
    if not os.path.exists(IPFS_CID):
        pytest.skip("Debian's ipfs-cid is not installed (.ci/run installs it)")
    path = sized_files[size]
    expected = ipfs_cid(path)
    v0 = import_path(path).cid
    assert str(v0) == expected["CIDv0"]
    # ipfs_cid's CIDv1 is the CIDv0 root relabelled (what `ipfs cid base32` prints), not a
    # --cid-version 1 import, whose links would be CIDv1 too.
    assert str(v0.to_v1()) == expected["CIDv1"]


UNICODE_TREE = {
    "docs": {
        "ünïcödé.txt": b"caf\xc3\xa9\n",
        "日本語": {"ファイル.bin": random_bytes(300_000, 7), "空": {}},
        "e\u0301-decomposed": b"NFD names are kept byte for byte\n",
        "100% + spaces & symbols (1).txt": b"url-hostile name\n",
    },
    "emoji-😀.txt": random_bytes(5_000, 8),
    "empty-dir": {},
    "empty-file": b"",
    "multi-chunk.bin": random_bytes(3 * CHUNK + 17, 9),
    ".hidden": b"not part of the tree\n",
    "sub": {".also-hidden": {"x": b"x"}, "z": b"z"},
}


@pytest.mark.parametrize("cid_version", ["0", "1"])
def test_unicode_tree_matches_the_node(ipfs_node, tmp_path: Path, cid_version: str) -> None:
    root = write_tree(tmp_path / "root", UNICODE_TREE)
    expected = node_add(ipfs_node, multipart_entries(root, "root"), **{"cid-version": cid_version})
    # js-ipfs reports every file and non-empty directory (empty ones only inside parents).
    assert len(expected) == 12
    paths = [tmp_path / name for name in expected]
    result = CliRunner().invoke(app, ["cid", "--cid-version", cid_version, *map(str, paths)])
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == list(expected.values())


def big_directory(root: Path, count: int, name_len: int) -> Path:
    root.mkdir()
    for i in range(count):
        name = f"{i:05d}-".ljust(name_len, "é" if i % 2 else "x")
        (root / name).write_bytes(name.encode() * (1 + i % 3))
    return root


@pytest.mark.parametrize("cid_version", ["0", "1"])
def test_sharded_directory_matches_the_node(ipfs_node, tmp_path: Path, cid_version: str) -> None:
    # 2000 × (100 + 34) = 268000 > 262144: Kubo shards it; tell js-ipfs to shard too.
    root = big_directory(tmp_path / "big", 2000, 100)
    expected = node_add(
        ipfs_node,
        multipart_entries(root, "big"),
        **{"cid-version": cid_version, "shard-split-threshold": "1"},
    )
    assert wheelset_cid("--cid-version", cid_version, root) == expected["big"]


def test_many_entries_below_the_threshold_stay_basic(ipfs_node, tmp_path: Path) -> None:
    # 1500 × (20 + 34) = 81000: Kubo keeps a basic directory although js-ipfs's default
    # (1000 entries) would shard, so js-ipfs is told not to.
    root = big_directory(tmp_path / "many", 1500, 20)
    expected = node_add(
        ipfs_node, multipart_entries(root, "many"), **{"shard-split-threshold": "100000"}
    )
    assert wheelset_cid(root) == expected["many"]


def dag_import(node, car: bytes) -> str:
    response = httpx.post(
        f"{node.api_url}/api/v0/dag/import",
        files={"file": ("tree.car", car, "application/vnd.ipld.car")},
        timeout=300,
    )
    assert response.status_code == 200, response.text
    return json.loads(response.text.splitlines()[0])["Root"]["Cid"]["/"]


def car_of(root: Path, params: ImportParams) -> tuple[str, bytes]:
    store = MemoryBlockStore()
    result = import_path(root, params, store=store)
    out = io.BytesIO()
    write_car(out, [result.cid], store.items())
    return str(result.cid), out.getvalue()


def files_under(root: Path) -> list[Path]:
    found = []
    for directory, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not is_hidden(d)]
        found += [Path(directory) / n for n in names if not is_hidden(n)]
    return sorted(found)


@pytest.mark.parametrize("params", [ImportParams(), ImportParams(cid_version=1)], ids=["v0", "v1"])
def test_car_import_then_gateway_serves_every_file(
    ipfs_node, tmp_path: Path, params: ImportParams
) -> None:
    root = write_tree(tmp_path / "root", UNICODE_TREE)
    root_cid, car = car_of(root, params)
    assert parse_cid(dag_import(ipfs_node, car)) == parse_cid(root_cid)
    with httpx.Client(base_url=ipfs_node.gateway_url, timeout=60) as gateway:
        for path in files_under(root):
            relative = path.relative_to(root).as_posix()
            response = gateway.get(f"/ipfs/{root_cid}/{urllib.parse.quote(relative)}")
            assert response.status_code == 200, relative
            assert response.content == path.read_bytes(), relative
        empty = gateway.get(f"/ipfs/{root_cid}/empty-dir/")
        assert empty.status_code == 200


def test_car_of_a_sharded_directory_is_served(ipfs_node, tmp_path: Path) -> None:
    root = big_directory(tmp_path / "big", 2000, 100)
    root_cid, car = car_of(root, ImportParams())
    assert dag_import(ipfs_node, car) == root_cid
    with httpx.Client(base_url=ipfs_node.gateway_url, timeout=60) as gateway:
        for path in files_under(root)[::40]:
            response = gateway.get(f"/ipfs/{root_cid}/{urllib.parse.quote(path.name)}")
            assert response.status_code == 200, path.name
            assert response.content == path.read_bytes()
