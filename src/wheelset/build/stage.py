"""The `wheelset build` stage: collection directory → manifest → root tree, CAR, build directory.

Wraps the pure build_root() with I/O: reads the declarations, optionally adds each
wheel's METADATA (PEP 658) through an injected provider, keeps every block the build
creates (pages, manifest, directories, `.metadata` files — never wheels) for a CAR in
depth-first order from the root, and materialises a build directory atomically:

    OUT/ROOT       the root CID and a newline
    OUT/root.car   CARv1 of every generated block, the root as its only root
    OUT/tree/      the generated files (index pages, wheelset.json, *.metadata); with
                   wheels included (--with-wheels), `ipfs add -r OUT/tree` gives ROOT

Entry points: build_collection(), build_from_manifest(), BuildResult, write_car_file(),
write_build_dir(), load_build_dir(), is_build_dir().
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wheelset.build.manifest import (
    MANIFEST_NAME,
    InvalidManifest,
    Manifest,
    MetadataFile,
    manifest_of,
    parse_manifest,
)
from wheelset.build.tree import METADATA_SUFFIX, BuildError, build_root
from wheelset.fsutil import atomic_write_bytes, current_umask
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import write_car
from wheelset.ipfs.cid import CID, InvalidCID, decode_cid_bytes, parse_cid
from wheelset.ipfs.importer import digest_stream, import_bytes
from wheelset.ipfs.varint import decode_varint
from wheelset.model.collection_reader import read_collection
from wheelset.model.declarations import Declaration

__all__ = [
    "CAR_FILE",
    "ROOT_FILE",
    "TREE_DIR",
    "BuildResult",
    "MetadataProvider",
    "build_collection",
    "build_from_manifest",
    "is_build_dir",
    "load_build_dir",
    "write_build_dir",
    "write_car_file",
]

ROOT_FILE = "ROOT"
CAR_FILE = "root.car"
TREE_DIR = "tree"

_LINK_TAG, _HASH_TAG = 0x12, 0x0A  # dag-pb PBNode.Links (field 2), PBLink.Hash (field 1)

# Given the declarations, return each wheel's METADATA bytes by wheel file name.
MetadataProvider = Callable[[Sequence[Declaration]], Mapping[str, bytes]]
# Put the verified wheel of a declaration into a directory (for --with-wheels).
WheelWriter = Callable[[Declaration, Path], None]


@dataclass(frozen=True, slots=True)
class BuildResult:
    """A built root: its manifest, CID, generated files (path -> bytes) and blocks."""

    manifest: Manifest
    root: CID
    tsize: int
    files: dict[str, bytes]
    blocks: MemoryBlockStore

    def iter_car_blocks(self) -> Iterator[tuple[CID, bytes]]:
        """Every block, each once, depth-first from the root in link order (as gateways send)."""
        seen: set[CID] = set()
        stack = [self.root]
        while stack:
            cid = stack.pop()
            if cid in seen or cid not in self.blocks:
                continue  # a wheel (linked, not part of the build) or a repeat
            seen.add(cid)
            block = self.blocks.get(cid)
            yield cid, block
            stack.extend(reversed(_linked_cids(block)))
        if len(seen) != len(self.blocks):
            raise BuildError("internal: a generated block is not reachable from the root")

    def car_bytes(self) -> bytes:
        """The CAR file's bytes (small: the wheels are not in it)."""
        out = io.BytesIO()
        write_car(out, [self.root], self.iter_car_blocks())
        return out.getvalue()


def _linked_cids(block: bytes) -> list[CID]:
    """The CIDs a block links to, in link order.

    Only for blocks this build encoded (canonical dag-pb: every link, field 2, comes
    first and starts with its hash, field 1), which spares decoding names and sizes.
    """
    cids = []
    pos = 0
    while pos < len(block) and block[pos] == _LINK_TAG:
        length, start = decode_varint(block, pos + 1)
        if block[start] != _HASH_TAG:
            raise BuildError("internal: a link without a leading hash", code="BUILD")
        cids.append(decode_cid_bytes(block, decode_varint(block, start + 1)[1])[0])
        pos = start + length
    return cids


def _metadata_files(
    decls: Sequence[Declaration], provider: MetadataProvider | None
) -> tuple[dict[str, MetadataFile], dict[str, bytes]]:
    if provider is None:
        return {}, {}
    contents = provider(decls)
    digests = {filename: digest_stream(io.BytesIO(data)) for filename, data in contents.items()}
    described = {
        filename: MetadataFile(d.content_id, d.sha256, d.size) for filename, d in digests.items()
    }
    return described, dict(contents)


def build_from_manifest(
    manifest: Manifest, metadata: Mapping[str, bytes] | None = None
) -> BuildResult:
    """Build a manifest's root, keeping every block; ``metadata`` = METADATA by wheel name.

    Raises:
        BuildError: build_root()'s errors, or METADATA bytes that do not match the manifest.
    """
    store = MemoryBlockStore()
    built = build_root(manifest, store=store)
    files = dict(built.generated)
    metadata = metadata or {}
    for entry in manifest.entries:
        if entry.metadata is None:
            continue
        decl = entry.declaration
        data = metadata.get(decl.filename)
        if data is None or import_bytes(data, store=store).cid != entry.metadata.content_id:
            raise BuildError(
                "METADATA bytes missing or not matching the manifest", path=decl.path, code="BUILD"
            )
        files[f"{decl.name}/{decl.filename}{METADATA_SUFFIX}"] = data
    return BuildResult(manifest, built.cid, built.tsize, files, store)


@contextlib.contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Pause Python's cyclic GC: a build allocates ~100 long-lived objects per declaration
    and no garbage cycles, so collections only rescan them (≈15% of a 10,000-wheel build)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_collection(directory: Path, *, metadata: MetadataProvider | None = None) -> BuildResult:
    """Read a collection and build its root (offline unless ``metadata`` fetches).

    Raises:
        CollectionError, DeclarationError: the collection does not load.
        BuildError: a declaration cannot be linked (e.g. no `size`).
    """
    with _cycle_collection_paused():
        platforms, decls = read_collection(directory)
        described, contents = _metadata_files(decls, metadata)
        return build_from_manifest(manifest_of(platforms, decls, described), contents)


def write_car_file(result: BuildResult, target: Path) -> int:
    """Write the build's CAR to ``target`` atomically; return its size in bytes."""
    data = result.car_bytes()
    atomic_write_bytes(target, data)
    return len(data)


def is_build_dir(path: Path) -> bool:
    """Whether ``path`` looks like a directory written by write_build_dir()."""
    return (path / ROOT_FILE).is_file() and (path / TREE_DIR / MANIFEST_NAME).is_file()


def _replace_dir(staged: Path, target: Path) -> None:
    if target.exists():
        if not target.is_dir() or (any(target.iterdir()) and not is_build_dir(target)):
            raise BuildError(
                "exists and is not a wheelset build directory; not replacing it",
                path=target,
                code="OUT",
            )
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.replace(target, old / "previous")
        os.replace(staged, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, target)


def write_build_dir(result: BuildResult, out: Path, *, wheels: WheelWriter | None = None) -> None:
    """Materialise the build at ``out`` (layout in the module docstring), all or nothing.

    ``wheels`` (optional) writes each verified wheel into its project directory.
    Raises:
        BuildError: ``out`` exists and is something else than a build directory.
    """
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    try:
        staged.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700; give what mkdir() gives
        tree = staged / TREE_DIR
        for path, data in result.files.items():
            target = tree / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if wheels is not None:
            for decl in result.manifest.declarations:
                wheels(decl, tree / decl.name)
        (staged / CAR_FILE).write_bytes(result.car_bytes())
        (staged / ROOT_FILE).write_text(f"{result.root}\n")
        _replace_dir(staged, out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def load_build_dir(path: Path) -> tuple[CID, Manifest]:
    """The root CID and manifest of a build directory, checked against each other.

    The manifest is rebuilt into a root and compared with ROOT, so an edited or
    half-copied directory is refused.
    Raises:
        BuildError: not a build directory, or ROOT and the manifest disagree.
        InvalidManifest: wheelset.json is malformed.
    """
    if not is_build_dir(path):
        raise BuildError(
            f"not a build directory (want {ROOT_FILE} and {TREE_DIR}/{MANIFEST_NAME})",
            path=path,
            code="OUT",
        )
    try:
        root = parse_cid((path / ROOT_FILE).read_text().strip())
        data = (path / TREE_DIR / MANIFEST_NAME).read_bytes()
    except (OSError, UnicodeDecodeError, InvalidCID) as e:
        raise BuildError(f"unreadable build directory: {e}", path=path, code="OUT") from e
    try:
        manifest = parse_manifest(data)
    except InvalidManifest as e:
        raise InvalidManifest(f"{path / TREE_DIR / MANIFEST_NAME}: {e}") from e
    rebuilt = build_root(manifest).cid
    if rebuilt != root:
        raise BuildError(
            f"{ROOT_FILE} says {root} but {MANIFEST_NAME} builds {rebuilt}",
            path=path,
            code="OUT",
        )
    return root, manifest
