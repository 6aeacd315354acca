"""Open a ROOT (a CID, ``/ipfs/<cid>`` or a local build directory) as an authenticated manifest.

The manifest ``/wheelset.json`` is fetched from any gateway, untrusted; the root tree is a
pure function of it (`wheelset.build.tree.build_root`), so it is rebuilt offline and its CID
compared with the requested root: equal means authentic, anything else means the gateway
lied and the next one is tried. A build directory is the user's own disk: its manifest is
read as is and the root CID computed from it. Wheels are not fetched here.
Entry points: parse_root_ref(), open_root(), authenticate_manifest(), RootRef, OpenedRoot.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from wheelset.build.manifest import MANIFEST_NAME, InvalidManifest, Manifest, parse_manifest
from wheelset.build.tree import BuildError, build_root
from wheelset.errors import WheelsetError
from wheelset.fetch.cache import Cache
from wheelset.fsutil import atomic_write_bytes
from wheelset.ipfs.cid import CID, DAG_PB, InvalidCID, parse_cid
from wheelset.ipfs.gateway import FetchError, GatewayFetcher

__all__ = [
    "MAX_MANIFEST_SIZE",
    "InvalidRoot",
    "OpenedRoot",
    "RootError",
    "RootMismatch",
    "RootRef",
    "authenticate_manifest",
    "open_root",
    "parse_root_ref",
]

MAX_MANIFEST_SIZE = 64 * 1024 * 1024  # bytes; far above any real set, bounds a hostile gateway


class RootError(WheelsetError):
    """A root cannot be opened: no gateway served an authentic manifest."""

    def __init__(self, message: str, *, code: str = "ROOT"):
        super().__init__(message, code=code)


class InvalidRoot(RootError):
    """ROOT is neither a CID, ``/ipfs/<cid>``, ``ipfs://<cid>`` nor a build directory."""


class RootMismatch(RootError):
    """A manifest that does not rebuild into the requested root (forged or for another root)."""

    def __init__(self, message: str):
        super().__init__(message, code="MISMATCH")


@dataclass(frozen=True, slots=True)
class RootRef:
    """What the user named: a root CID, or a local build directory (then ``cid`` is None)."""

    text: str
    cid: CID | None = None
    directory: Path | None = None


@dataclass(frozen=True, slots=True)
class OpenedRoot:
    """An authenticated manifest and its root; ``source`` says where the manifest came from."""

    cid: CID
    manifest: Manifest
    source: str


def parse_root_ref(text: str) -> RootRef:
    """Parse ROOT: ``Qm…``/``bafy…``, ``/ipfs/<cid>``, ``ipfs://<cid>`` or a directory.

    Raises:
        InvalidRoot: neither an existing build directory nor a directory CID.
    """
    path = Path(text)
    if text and path.is_dir():
        if not (path / MANIFEST_NAME).is_file():
            raise InvalidRoot(f"{text} is a directory without {MANIFEST_NAME} (not a build)")
        return RootRef(text, directory=path)
    body = text.strip()
    if body.startswith("ipfs://"):
        body = body[len("ipfs://") :]
    elif body.startswith("/ipfs/"):
        body = body[len("/ipfs/") :]
    body = body.rstrip("/")
    if "/" in body:
        raise InvalidRoot(f"root {text!r} must be a bare CID, not a path below one")
    try:
        cid = parse_cid(body)
    except InvalidCID as e:
        raise InvalidRoot(
            f"root {text!r} is not a CID, /ipfs/<cid> or a build directory ({e})"
        ) from e
    if cid.codec != DAG_PB:
        raise InvalidRoot(f"root {text!r} is not a directory CID (dag-pb)")
    return RootRef(text, cid=cid)


def _same_content(a: CID, b: CID) -> bool:
    return a.to_v1() == b.to_v1()


def authenticate_manifest(root: CID, data: bytes) -> Manifest:
    """Parse manifest bytes and check that they rebuild into ``root``.

    Raises:
        InvalidManifest: not a manifest this wheelset reads.
        RootMismatch: a valid manifest, but of another root.
    """
    manifest = parse_manifest(data)
    try:
        built = build_root(manifest)
    except BuildError as e:
        raise RootMismatch(f"{MANIFEST_NAME} cannot be built into a root: {e}") from e
    if not _same_content(built.cid, root):
        raise RootMismatch(f"{MANIFEST_NAME} rebuilds into {built.cid}, not {root}")
    return manifest


def _open_directory(directory: Path) -> OpenedRoot:
    file = directory / MANIFEST_NAME
    try:
        data = file.read_bytes()
    except OSError as e:
        raise RootError(f"cannot read {file}: {e}") from e
    try:
        manifest = parse_manifest(data)
        built = build_root(manifest)
    except (InvalidManifest, BuildError) as e:
        raise RootError(f"{file}: {e}", code=e.code) from e
    return OpenedRoot(built.cid, manifest, str(directory))


def _from_cache(root: CID, cache: Cache) -> Manifest | None:
    path = cache.manifest_path(root)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        return authenticate_manifest(root, data)
    except (InvalidManifest, RootMismatch):
        path.unlink(missing_ok=True)
        return None


def open_root(ref: RootRef, fetcher: GatewayFetcher, *, cache: Cache | None = None) -> OpenedRoot:
    """The authenticated manifest of ``ref`` (from the cache, a build directory or gateways).

    Raises:
        RootError: the build directory's manifest is unreadable or invalid; or no gateway
            served an authentic manifest (one line naming each gateway's failure).
    """
    if ref.directory is not None:
        return _open_directory(ref.directory)
    assert ref.cid is not None
    root = ref.cid
    if cache is not None and (manifest := _from_cache(root, cache)) is not None:
        return OpenedRoot(root, manifest, "cache")
    fetched: dict[str, bytes] = {}

    def accept(data: bytes) -> Manifest:
        manifest = authenticate_manifest(root, data)
        fetched["data"] = data
        return manifest

    try:
        manifest, gateway = fetcher.fetch_path(
            root, MANIFEST_NAME, accept=accept, max_size=MAX_MANIFEST_SIZE
        )
    except FetchError as e:
        raise RootError(_explain(root, e)) from e
    if cache is not None:
        # A cache that cannot be written only costs a refetch next time.
        with contextlib.suppress(OSError):
            atomic_write_bytes(cache.manifest_path(root), fetched["data"])
    return OpenedRoot(root, manifest, gateway)


def _explain(root: CID, error: FetchError) -> str:
    failures = error.failures
    reasons = {f.reason for f in failures}
    if failures and all(f.kind == "rejected" for f in failures) and len(reasons) == 1:
        return f"root {root}: {reasons.pop()} (from every gateway)"
    if failures and all(f.kind == "not-found" for f in failures):
        return f"root {root} has no /{MANIFEST_NAME} on any gateway (not a wheelset root?)"
    details = "; ".join(str(f) for f in failures)
    return f"cannot read /{MANIFEST_NAME} of root {root}: {details}"
