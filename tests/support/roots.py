"""Publish a real wheelset root (format version 2) on the test IPFS node, from wheels built
on the fly.

Declarations are derived from each wheel's METADATA (as `wheelset declare` would), the
root is built offline by `build_root` (docs/root-format.md), its generated blocks go to
the node as one CAR (`dag/import`) and the wheels and METADATA files are added (pinned)
with `add`. The node's RPC then serves the root's blocks, its gateway the wheels.
Entry points: declare_wheel(), build_v2_root(), publish_test_root(), PublishedRoot.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.parser import BytesParser
from pathlib import Path, PurePosixPath

import httpx
from packaging.utils import canonicalize_name

from wheelset.build.manifest import Manifest, MetadataFile, manifest_of
from wheelset.build.tree import BuiltRoot, build_root
from wheelset.ipfs.blockstore import BlockStore, MemoryBlockStore
from wheelset.ipfs.car import write_car
from wheelset.ipfs.cid import CID
from wheelset.ipfs.directory import build_tree
from wheelset.ipfs.importer import import_bytes
from wheelset.model.declarations import Declaration, parse_declaration, relpath_for

DEFAULT_PLATFORMS: Mapping[str, object] = {
    "python-versions": ["3.10", "3.11", "3.12", "3.13"],
    "systems": ["manylinux_2_28_x86_64", "macosx_11_0_arm64", "win_amd64"],
}


def read_metadata(wheel: Path) -> bytes:
    """The METADATA bytes of a wheel."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return zf.read(name)


def declare_wheel(wheel: Path) -> tuple[Declaration, MetadataFile, bytes]:
    """A declaration for a local wheel (source ``index:<filename>``), its METADATA file entry
    and the METADATA bytes."""
    data = wheel.read_bytes()
    metadata = read_metadata(wheel)
    message = BytesParser().parse(io.BytesIO(metadata), headersonly=True)
    table: dict[str, object] = {
        "source": f"index:{wheel.name}",
        "content-id": str(import_bytes(data).cid),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "extras": [canonicalize_name(e) for e in message.get_all("Provides-Extra", [])],
        "dependencies": list(message.get_all("Requires-Dist", [])),
    }
    if message["Requires-Python"]:
        table["requires-python"] = message["Requires-Python"]
    decl = parse_declaration(table, relpath_for(wheel.name))
    meta = MetadataFile(
        import_bytes(metadata).cid, hashlib.sha256(metadata).hexdigest(), len(metadata)
    )
    return decl, meta, metadata


def build_v2_root(
    manifest: Manifest,
    *,
    store: BlockStore | None = None,
    replace: Mapping[str, bytes] | None = None,
) -> BuiltRoot:
    """The root of ``manifest`` (wheelset.build.tree.build_root); ``replace`` swaps generated
    files' bytes by path, giving a forged tree under a root CID of its own."""
    built = build_root(manifest, store=store)
    if not replace:
        return built
    tree: dict = {}
    files = {**built.generated, **replace}
    for path, item in [*((p, import_bytes(d, store=store)) for p, d in files.items()),
                       *built.links.items()]:  # fmt: skip
        *folders, name = path.split("/")
        where = tree
        for folder in folders:
            where = where.setdefault(folder, {})
        where[name] = item
    root = build_tree(tree, store=store)
    return BuiltRoot(root.cid, root.tsize, files, built.links)


@dataclass(frozen=True, slots=True)
class PublishedRoot:
    cid: CID
    manifest: Manifest
    built: BuiltRoot
    declarations: dict[str, Declaration]  # wheel file name -> declaration
    wheels: dict[str, Path]  # wheel file name -> local file
    blocks: MemoryBlockStore

    def write_build_dir(self, directory: Path) -> Path:
        """Write a build directory (ROOT, root.car, tree/) as `wheelset build --out` would;
        return it."""
        tree = directory / "tree"
        for path, data in self.built.generated.items():
            target = tree / PurePosixPath(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (directory / "ROOT").write_text(f"{self.cid}\n")
        (directory / "root.car").write_bytes(self.car_bytes())
        return directory

    def car_bytes(self) -> bytes:
        car = io.BytesIO()
        write_car(car, [self.cid], self.blocks.items())
        return car.getvalue()


def _add(api_url: str, name: str, data: bytes, client: httpx.Client) -> str:
    response = client.post(
        f"{api_url}/api/v0/add",
        params={"pin": "true", "cid-version": "0"},
        files=[("file", (name, data, "application/octet-stream"))],
    )
    response.raise_for_status()
    return response.json()["Hash"]


def build_test_root(
    wheels: Sequence[Path],
    *,
    platforms: Mapping[str, object] = DEFAULT_PLATFORMS,
    with_metadata: bool = True,
    replace: Mapping[str, bytes] | None = None,
) -> PublishedRoot:
    """Build (offline) the root over ``wheels``; ``replace`` as build_v2_root()."""
    declared = [declare_wheel(w) for w in wheels]
    metadata = {d.filename: m for d, m, _ in declared} if with_metadata else {}
    manifest = manifest_of(platforms, [d for d, _, _ in declared], metadata)
    store = MemoryBlockStore()
    built = build_v2_root(manifest, store=store, replace=replace)
    return PublishedRoot(
        built.cid,
        manifest,
        built,
        {d.filename: d for d, _, _ in declared},
        {w.name: w for w in wheels},
        store,
    )


def publish_test_root(
    api_url: str,
    wheels: Sequence[Path],
    *,
    platforms: Mapping[str, object] = DEFAULT_PLATFORMS,
    with_metadata: bool = True,
    replace: Mapping[str, bytes] | None = None,
) -> PublishedRoot:
    """Build a root over ``wheels`` and put it on the node at ``api_url`` (its RPC base URL)."""
    published = build_test_root(
        wheels, platforms=platforms, with_metadata=with_metadata, replace=replace
    )
    with httpx.Client(timeout=60) as client:
        for wheel in wheels:
            decl = published.declarations[wheel.name]
            assert _add(api_url, wheel.name, wheel.read_bytes(), client) == str(decl.content_id)
            if with_metadata:
                meta = read_metadata(wheel)
                assert _add(api_url, "METADATA", meta, client) == str(import_bytes(meta).cid)
        response = client.post(
            f"{api_url}/api/v0/dag/import",
            params={"pin-roots": "true"},
            files=[("file", ("root.car", published.car_bytes(), "application/vnd.ipld.car"))],
        )
        response.raise_for_status()
    return published
