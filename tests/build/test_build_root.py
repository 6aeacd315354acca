"""The built root equals what a real IPFS node computes for the same tree on disk."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath

import httpx

from tests.support.wheels import make_wheel
from wheelset.build.manifest import MetadataFile, manifest_of
from wheelset.build.tree import build_root
from wheelset.ipfs.importer import import_bytes
from wheelset.model.declarations import parse_declaration, relpath_for

PLATFORMS = {"python-versions": ["3.11"], "systems": ["manylinux_2_28_x86_64"]}


def _declare(wheel: Path, deps: list[str] | None = None):
    data = wheel.read_bytes()
    table = {
        "source": f"index:{wheel.name}",
        "content-id": str(import_bytes(data).cid),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "requires-python": ">=3.10",
        "extras": [],
        "dependencies": deps or [],
    }
    return parse_declaration(table, PurePosixPath(str(relpath_for(wheel.name))))


def test_root_matches_node_add(tmp_path: Path, ipfs_node) -> None:
    wheels = [
        make_wheel(tmp_path / "w", "alpha", "1.0"),
        make_wheel(tmp_path / "w", "beta-pkg", "2.0", requires_dist=["alpha>=1"]),
    ]
    decls = [_declare(w) for w in wheels]
    metadata_bytes = b"Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\n\n"
    meta = MetadataFile(
        import_bytes(metadata_bytes).cid,
        hashlib.sha256(metadata_bytes).hexdigest(),
        len(metadata_bytes),
    )
    manifest = manifest_of(PLATFORMS, decls, {wheels[0].name: meta})
    built = build_root(manifest)

    files: dict[str, bytes] = dict(built.generated)
    for wheel, decl in zip(wheels, decls, strict=True):
        files[f"{decl.name}/{wheel.name}"] = wheel.read_bytes()
    files[f"alpha/{wheels[0].name}.metadata"] = metadata_bytes
    parts = [
        ("file", (f"root/{path}", data, "application/octet-stream"))
        for path, data in sorted(files.items())
    ]
    response = httpx.post(
        f"{ipfs_node.api_url}/api/v0/add", params={"pin": "false"}, files=parts, timeout=60
    )
    response.raise_for_status()
    results = {r["Name"]: r["Hash"] for r in map(json.loads, response.text.splitlines())}
    assert results["root"] == str(built.cid)
    page = built.generated["alpha/index.html"].decode()
    assert f'href="{wheels[0].name}#sha256={decls[0].sha256}"' in page
    assert 'data-requires-python="&gt;=3.10"' in page
    assert f'data-core-metadata="sha256={meta.sha256}"' in page


def test_sharded_root_matches_node_add(tmp_path: Path, ipfs_node) -> None:
    """Enough projects with long names that the root directory passes Kubo's HAMT threshold."""
    from tests.support.node import add_files
    from wheelset.ipfs.blockstore import MemoryBlockStore
    from wheelset.ipfs.dagpb import HAMT_SHARD, decode_node, decode_unixfs
    from wheelset.ipfs.directory import HAMT_THRESHOLD

    padding = "x" * 190
    wheels = [make_wheel(tmp_path / "w", f"p{i:04d}-{padding}", "1.0") for i in range(1250)]
    decls = [_declare(w) for w in wheels]
    assert sum(len(d.name) + 34 for d in decls) > HAMT_THRESHOLD
    store = MemoryBlockStore()
    built = build_root(manifest_of(PLATFORMS, decls), store=store)
    root_node = decode_node(store.get(built.cid))
    assert root_node.data is not None and decode_unixfs(root_node.data).type == HAMT_SHARD

    files = dict(built.generated)
    for wheel, decl in zip(wheels, decls, strict=True):
        files[f"{decl.name}/{wheel.name}"] = wheel.read_bytes()
    # js-ipfs shards by entry count (Kubo by size): more than 1000 entries shards here too,
    # while the two-entry project directories stay basic in both.
    assert add_files(ipfs_node.api_url, files, **{"shard-split-threshold": "1000"}) == str(
        built.cid
    )
