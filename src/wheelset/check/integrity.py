"""Integrity check: re-fetch each declaration's source and compare every field.

The fetched bytes give the CID (Kubo defaults), sha256 and size; the wheel's METADATA
gives name, version, requires-python and dependencies (which must equal the declaration
exactly, in order) and the extras (the declaration lists all of them, or a subset: extras
a curator leaves out are extras the collection does not support, see README); WHEEL tags
and RECORD hashes are checked on the way.
Network access happens only through the Fetcher passed in; the check never builds one.
Entry points: Fetcher, check_integrity(), integrity_scope().
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Protocol

from wheelset.errors import WheelsetError, mask_credentials
from wheelset.fetch import FetchError, NotAWheelError
from wheelset.fetch.wheels import InspectedWheel
from wheelset.model.collection import CollectionError, changed_paths
from wheelset.model.declarations import Declaration
from wheelset.model.findings import Finding
from wheelset.workers import thread_map

__all__ = ["Fetcher", "check_integrity", "compare", "integrity_scope"]


class Fetcher(Protocol):
    def inspect(self, decl: Declaration) -> InspectedWheel:
        """Fetch the declaration's source afresh and read it.

        Raises FetchError or NotAWheelError (and, for bad names, WheelsetError)."""
        ...


def integrity_scope(directory: Path, changed_since: str | None) -> set[PurePosixPath]:
    """The declarations the integrity check covers by default: those changed since Git
    ``changed_since`` (``None``: HEAD, i.e. uncommitted and untracked ones).

    Raises:
        CollectionError: not a Git work tree, or an unknown ref (the message says how to
            check every declaration instead).
    """
    try:
        return changed_paths(directory, changed_since or "HEAD")
    except CollectionError as e:
        raise CollectionError(
            f"{e} (use --all to check every declaration)", path=e.path, code=e.code
        ) from e


def compare(decl: Declaration, fetched: InspectedWheel) -> Iterator[Finding]:
    """Findings for each field of ``decl`` that differs from the fetched wheel."""
    path = decl.path
    digest, meta = fetched.digest, fetched.metadata
    if digest.content_id != decl.content_id:
        yield Finding(
            path,
            "CID-MISMATCH",
            f"content-id {decl.content_id} but the source gives {digest.content_id}",
        )
    if decl.sha256 is not None and decl.sha256 != digest.sha256:
        yield Finding(
            path, "SHA256-MISMATCH", f"sha256 {decl.sha256} but the source gives {digest.sha256}"
        )
    if decl.size is not None and decl.size != digest.size:
        yield Finding(path, "SIZE-MISMATCH", f"size {decl.size} but the source has {digest.size}")
    differences = []
    if meta.requires_python != decl.requires_python:
        differences.append(f"requires-python {meta.requires_python or '(none)'}")
    unknown = [e for e in decl.extras if e not in meta.extras]
    if unknown:
        differences.append(f"no extra {', '.join(map(repr, unknown))} (it has {list(meta.extras)})")
    if meta.dependencies != decl.dependencies:
        differences.append(f"dependencies {list(meta.dependencies)}")
    if decl.license is not None and meta.license != decl.license:
        differences.append(f"license {meta.license or '(unknown)'}")
    if differences:
        yield Finding(path, "METADATA-MISMATCH", "METADATA has " + "; ".join(differences))


def _inspect(fetcher: Fetcher, decl: Declaration) -> InspectedWheel | WheelsetError:
    try:
        return fetcher.inspect(decl)
    except (FetchError, NotAWheelError) as e:
        return e
    except WheelsetError as e:
        return FetchError(str(e))


def check_integrity(
    declarations: Iterable[Declaration], fetcher: Fetcher, *, jobs: int = 1
) -> Iterator[Finding]:
    """Findings FETCH, NOT-WHEEL, RECORD, CID-/SHA256-/SIZE-/METADATA-MISMATCH."""
    decls = list(declarations)
    if jobs > 1 and len(decls) > 1:
        outcomes = thread_map(lambda d: _inspect(fetcher, d), decls, jobs)
    else:
        outcomes = [_inspect(fetcher, d) for d in decls]
    for decl, outcome in zip(decls, outcomes, strict=True):
        if isinstance(outcome, WheelsetError):
            yield Finding(decl.path, outcome.code, mask_credentials(str(outcome)))
        else:
            yield from compare(decl, outcome)
