"""Publish a real wheelset root on the test IPFS node, from wheels built on the fly.

Declarations are derived from each wheel's METADATA (as `wheelset declare` would), the
root is built offline with `build_root`, its generated blocks go to the node as one CAR
(`dag/import`) and the wheels and METADATA files are added (pinned) with `add`. The node's
gateway then serves `/ipfs/<root>/…` and `/ipfs/<wheel content-id>`.
Entry points: declare_wheel(), publish_test_root(), PublishedRoot.
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

from wheelset.build.manifest import MANIFEST_NAME, Manifest, MetadataFile, manifest_of
from wheelset.build.tree import BuiltRoot, build_root
from wheelset.ipfs.blockstore import MemoryBlockStore
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


@dataclass(frozen=True, slots=True)
class PublishedRoot:
    cid: CID
    manifest: Manifest
    built: BuiltRoot
    declarations: dict[str, Declaration]  # wheel file name -> declaration
    wheels: dict[str, Path]  # wheel file name -> local file

    def write_build_dir(self, directory: Path) -> Path:
        """Write the root's generated files (as `wheelset build --out` would) into ``directory``."""
        for path, data in self.built.generated.items():
            target = directory / PurePosixPath(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return directory


def _add(api_url: str, name: str, data: bytes, client: httpx.Client) -> str:
    response = client.post(
        f"{api_url}/api/v0/add",
        params={"pin": "true", "cid-version": "0"},
        files=[("file", (name, data, "application/octet-stream"))],
    )
    response.raise_for_status()
    return response.json()["Hash"]


def publish_test_root(
    api_url: str,
    wheels: Sequence[Path],
    *,
    platforms: Mapping[str, object] = DEFAULT_PLATFORMS,
    with_metadata: bool = True,
    manifest_bytes: bytes | None = None,
) -> PublishedRoot:
    """Build a root over ``wheels`` and put it on the node at ``api_url`` (its RPC base URL).

    ``manifest_bytes`` replaces /wheelset.json in the published tree (to plant a manifest that
    does not rebuild to the root); the returned CID is then the tampered tree's.
    """
    declared = [declare_wheel(w) for w in wheels]
    metadata = {d.filename: m for d, m, _ in declared} if with_metadata else {}
    manifest = manifest_of(platforms, [d for d, _, _ in declared], metadata)
    store = MemoryBlockStore()
    built = build_root(manifest, store=store)
    root = built.cid
    if manifest_bytes is not None:
        root = _planted_root(manifest, manifest_bytes, store)
    with httpx.Client(timeout=60) as client:
        for wheel, (decl, meta, meta_bytes) in zip(wheels, declared, strict=True):
            assert _add(api_url, wheel.name, wheel.read_bytes(), client) == str(decl.content_id)
            if with_metadata:
                assert _add(api_url, "METADATA", meta_bytes, client) == str(meta.content_id)
        car = io.BytesIO()
        write_car(car, [root], store.items())
        response = client.post(
            f"{api_url}/api/v0/dag/import",
            params={"pin-roots": "true"},
            files=[("file", ("root.car", car.getvalue(), "application/vnd.ipld.car"))],
        )
        response.raise_for_status()
    return PublishedRoot(
        root,
        manifest,
        built,
        {d.filename: d for d, _, _ in declared},
        {w.name: w for w in wheels},
    )


def _planted_root(manifest: Manifest, manifest_bytes: bytes, store: MemoryBlockStore) -> CID:
    """The CID of the root tree with /wheelset.json swapped for ``manifest_bytes``."""
    built = build_root(manifest)
    tree: dict = {}
    for path, data in built.generated.items():
        content = manifest_bytes if path == MANIFEST_NAME else data
        _place(tree, path, import_bytes(content, store=store))
    for path, link in built.links.items():
        _place(tree, path, link)
    return build_tree(tree, store=store).cid


def _place(tree: dict, path: str, item: object) -> None:
    *folders, name = path.split("/")
    for folder in folders:
        tree = tree.setdefault(folder, {})
    tree[name] = item
