"""Installing from a real trustless gateway (Helia, fixture ``trustless_gateway``) that serves
substituted blocks: every lie on the path is refused with one line naming the path, the
next gateway is used, and with no honest gateway nothing is installed.

Helia stores imported blocks as given (and keeps the first block stored under a CID), so
each case builds its own root (its own CIDs) and imports it with one block replaced.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.roots import PublishedRoot, build_test_root, declare_wheel
from tests.support.trustless import Blocks, path_blocks, trustless_server
from tests.support.wheels import make_wheel
from wheelset.build.manifest import manifest_of
from wheelset.build.tree import build_root
from wheelset.cli import app
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import write_car
from wheelset.ipfs.cid import CID, DAG_PB
from wheelset.ipfs.dagpb import HAMT_SHARD, decode_node, decode_unixfs
from wheelset.ipfs.importer import import_bytes
from wheelset.model.declarations import parse_declaration, relpath_for

FILLERS = 6000  # projects enough for a sharded (HAMT) root directory


def filler(name: str):
    filename = f"{name}-1.0-py3-none-any.whl"
    digest = hashlib.sha256(name.encode()).digest()
    table = {
        "source": f"index:{filename}",
        "content-id": str(CID(0, DAG_PB, digest)),
        "size": 1000,
        "extras": [],
        "dependencies": [],
    }
    return parse_declaration(table, relpath_for(filename))


def make_root(tmp: Path, salt: str, *, sharded: bool) -> tuple[PublishedRoot, MemoryBlockStore]:
    """A root holding alpha (needing beta) and beta, real wheels; with ``sharded``, thousands
    of filler projects too. Returns it and a store with its blocks and its wheels'."""
    wheels = [
        make_wheel(
            tmp / salt, "alpha", "1.0", requires_dist=["beta"], files={"alpha/s.py": salt.encode()}
        ),
        make_wheel(tmp / salt, "beta", "1.0", files={"beta/s.py": salt.encode()}),
    ]
    published = build_test_root(wheels)
    store = MemoryBlockStore()
    if sharded:
        decls = [declare_wheel(w)[0] for w in wheels]
        decls += [filler(f"filler_{salt.replace('-', '_')}_{i}") for i in range(FILLERS)]
        built = build_root(manifest_of(published.manifest.platforms, decls), store=store)
        published = PublishedRoot(
            built.cid, published.manifest, built, published.declarations, published.wheels, store
        )
    else:
        for cid, block in published.blocks.items():
            store.put(cid, block)
    for wheel in wheels:
        import_bytes(wheel.read_bytes(), store=store)
    return published, store


def car_of(root: CID, blocks: Blocks) -> bytes:
    out = io.BytesIO()
    write_car(out, [root], blocks)
    return out.getvalue()


def forge(block: bytes) -> bytes:
    return block[:-1] + bytes([block[-1] ^ 0x01])


def install(args: list[str], cache: Path):
    env = {"WHEELSET_LOCAL_GATEWAY": "off", "WHEELSET_GATEWAY": "", "WHEELSET_API": ""}
    return CliRunner().invoke(app, [*args, "--cache-dir", str(cache)], env=env)


# Where the substituted block sits on the path /alpha/index.json, and the path named.
CASES: dict[str, tuple[bool, Callable[[Blocks], int], str]] = {
    "root directory": (True, lambda path: 0, "/wheelset.json"),
    "HAMT shard": (True, lambda path: 1, "/"),
    "project directory": (False, lambda path: len(path) - 2, "/alpha/index.json"),
    "project file": (False, lambda path: len(path) - 1, "/alpha/index.json"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_substituted_block_is_refused_and_the_next_gateway_used(
    case: str, trustless_gateway, tmp_path: Path
) -> None:
    sharded, position, named = CASES[case]
    salt = case.replace(" ", "-")
    published, store = make_root(tmp_path, salt, sharded=sharded)
    on_path = path_blocks(store, published.cid, ["alpha", "index.json"])
    if sharded:
        assert decode_unixfs(decode_node(on_path[0][1]).data or b"").type == HAMT_SHARD
        assert len(on_path) >= 4  # the root shard, a sub-shard, the directory, the file
    target_cid, target_block = on_path[position(on_path)]
    # Helia keeps the first block stored under a CID: the forged one goes in first.
    trustless_gateway.import_car(car_of(published.cid, [(target_cid, forge(target_block))]))
    trustless_gateway.import_car(car_of(published.cid, list(store.items())))
    helia = f"{trustless_gateway.url}/trustless-only"

    lied = install(
        ["install", str(published.cid), "alpha", "--gateway", helia, "--target",
         str(tmp_path / "t1")],
        tmp_path / "c1",
    )  # fmt: skip
    assert lied.exit_code == 1, lied.output
    assert lied.stderr.count("\n") == 1 and named in lied.stderr and helia in lied.stderr
    assert not (tmp_path / "t1").exists() or not any((tmp_path / "t1").iterdir())

    with trustless_server(store) as honest:
        good = install(
            ["install", str(published.cid), "alpha", "--gateway", helia, "--gateway",
             honest.url, "--target", str(tmp_path / "t2")],
            tmp_path / "c2",
        )  # fmt: skip
    assert good.exit_code == 0, good.output
    assert (tmp_path / "t2" / "alpha" / "s.py").read_bytes() == salt.encode()
    assert (tmp_path / "t2" / "beta" / "s.py").read_bytes() == salt.encode()


def test_install_through_helia_alone(trustless_gateway, tmp_path: Path) -> None:
    published, store = make_root(tmp_path, "honest", sharded=True)
    trustless_gateway.import_car(car_of(published.cid, list(store.items())))
    helia = f"{trustless_gateway.url}/trustless-only"
    result = install(
        ["install", str(published.cid), "alpha", "--gateway", helia, "--target",
         str(tmp_path / "t")],
        tmp_path / "c",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t" / "alpha" / "s.py").read_bytes() == b"honest"
