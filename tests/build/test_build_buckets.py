"""A fresh build of a sharded root links the root's first-level buckets in its workers and
spools each bucket's subtree in CAR order; the CAR it writes is byte for byte the one the
parent lays out block by block, and holds exactly the root's blocks, depth-first."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.decls import write_decl, write_platforms
from wheelset.build import stage
from wheelset.build.manifest import manifest_of
from wheelset.build.tree import build_root
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import read_car
from wheelset.ipfs.cid import CID
from wheelset.ipfs.dagpb import HAMT_SHARD, decode_node, decode_unixfs
from wheelset.model.collection import read_collection

PADDING = "y" * 180  # long names: 1,300 projects pass the HAMT threshold of the root
POLICY = b'[names]\nallow = ["tomli-w"]\n'


def _collection(root: Path, count: int) -> Path:
    write_platforms(root)
    for i in range(count):
        name = f"q{i:05d}{PADDING}"
        write_decl(
            root,
            f"{name}-1.0-py3-none-any.whl",
            size=1000 + i,
            dependencies=[f"q{i // 3:05d}{PADDING}>=1"],
        )
    (root / "policy.toml").write_bytes(POLICY)  # one more of the root's own files
    return root


@pytest.mark.parametrize("jobs", [1, 2])
def test_buckets_linked_by_workers_give_the_same_car(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    collection = _collection(tmp_path / "declarations", 1300)
    # Small chunks: many tasks, each of whole buckets, spread over both workers.
    monkeypatch.setattr(stage, "_CHUNK", 16)
    linked: list[int] = []
    spool_bucket = stage._spool_bucket
    monkeypatch.setattr(
        stage, "_spool_bucket", lambda index, *a: linked.append(index) or spool_bucket(index, *a)
    )
    result = stage.build_collection(collection, car=tmp_path / "linked.car", jobs=jobs)
    if jobs == 1:  # in this process: the buckets but those of the root's files were linked
        own = {stage._bucket_of(n) for n in ("index.html", "wheelset.json", "policy.toml")}
        assert len(linked) == len(set(linked)) > 200 and not own & set(linked)

    monkeypatch.setattr(stage, "_buckets_to_link", lambda *a: (False, frozenset()))
    laid_out = stage.build_collection(collection, car=tmp_path / "parent.car", jobs=jobs)
    assert laid_out.root == result.root and laid_out.blocks == result.blocks
    data = (tmp_path / "linked.car").read_bytes()
    assert data == (tmp_path / "parent.car").read_bytes()
    assert result.car_size == len(data)

    car = read_car(data)  # verifies every block against its CID
    platforms, decls = read_collection(collection)
    store = MemoryBlockStore()
    assert build_root(manifest_of(platforms, decls), store=store, policy=POLICY).cid == result.root
    blocks = dict(car.blocks)
    root_data = decode_node(blocks[result.root]).data
    assert root_data is not None and decode_unixfs(root_data).type == HAMT_SHARD
    cids = [cid for cid, _ in car.blocks]
    assert len(set(cids)) == len(cids) == len(store) == result.blocks
    assert set(cids) == {cid for cid, _ in store.items()}
    order = _depth_first(result.root, blocks)
    assert cids == order


def _depth_first(root: CID, blocks: dict[CID, bytes]) -> list[CID]:
    """The CIDs of ``blocks`` under ``root`` depth-first in link order, each once."""
    out: list[CID] = []
    seen: set[CID] = set()
    stack = [root]
    while stack:
        cid = stack.pop()
        if cid in seen or cid not in blocks:
            continue
        seen.add(cid)
        out.append(cid)
        stack.extend(reversed([link.cid for link in decode_node(blocks[cid]).links]))
    return out


def test_a_car_on_another_file_system(tmp_path: Path) -> None:
    """The spool's ranges reach a CAR on another file system than the temporary
    directory's, where the kernel will not copy between files (EXDEV)."""
    import os
    import tempfile

    elsewhere = Path("/dev/shm")
    if not elsewhere.is_dir() or os.stat(elsewhere).st_dev == os.stat(tempfile.gettempdir()).st_dev:
        pytest.skip("needs /dev/shm on another file system than the temporary directory")
    collection = _collection(tmp_path / "declarations", 1300)
    here = stage.build_collection(collection, car=tmp_path / "here.car", jobs=1)
    target = Path(tempfile.mkdtemp(dir=elsewhere)) / "there.car"
    try:
        there = stage.build_collection(collection, car=target, jobs=1)
        assert there.root == here.root
        assert target.read_bytes() == (tmp_path / "here.car").read_bytes()
    finally:
        target.unlink(missing_ok=True)
        target.parent.rmdir()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_car_alone_and_a_build_directory_agree(tmp_path: Path, jobs: int) -> None:
    """A CAR alone does not place the projects of the buckets the workers link (nothing
    records them); a build directory does, for its state: both give one CAR and one
    count, and the build directory's next build, with one project changed, equals a
    fresh one."""
    collection = _collection(tmp_path / "declarations", 1300)
    alone = stage.build_collection(collection, car=tmp_path / "alone.car", jobs=jobs)
    out = tmp_path / "out"
    placed = stage.build_collection(collection, out=out, jobs=jobs)
    assert (alone.root, alone.projects, alone.wheels, alone.blocks, alone.car_size) == (
        placed.root,
        placed.projects,
        placed.wheels,
        placed.blocks,
        placed.car_size,
    )
    assert (out / "root.car").read_bytes() == (tmp_path / "alone.car").read_bytes()

    name = f"q00007{PADDING}"
    write_decl(collection, f"{name}-1.0-py3-none-any.whl", size=5, dependencies=[])
    again = stage.build_collection(collection, out=out, jobs=jobs)
    assert again.rebuilt < 10
    fresh = stage.build_collection(collection, car=tmp_path / "fresh.car", jobs=jobs)
    assert again.root == fresh.root != alone.root
    assert (out / "root.car").read_bytes() == (tmp_path / "fresh.car").read_bytes()
