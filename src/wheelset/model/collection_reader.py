"""Read a collection for building: its platforms.toml table and every declaration under it.

A thin gate over wheelset.model.collection.load_collection(): a build needs a collection that
loads completely, so the first load finding (a missing or malformed platforms.toml, a
declaration that does not parse) becomes an error naming its file. Collection-wide checks
(layout, uniqueness, closure) stay `wheelset check`'s job. Entry point: read_collection().
"""

from __future__ import annotations

from pathlib import Path

from wheelset.model.collection import CollectionError, load_collection
from wheelset.model.declarations import Declaration

__all__ = ["CollectionError", "read_collection"]


def read_collection(directory: Path) -> tuple[dict[str, object], list[Declaration]]:
    """The platforms table (verbatim) and every declaration, sorted by path.

    Raises:
        CollectionError: the directory is missing, or a file of it does not load (the
            first one, with its path and finding code).
    """
    collection = load_collection(directory)
    if collection.findings:
        first = collection.findings[0]
        more = len(collection.findings) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''}; see `wheelset check`)"
        raise CollectionError(
            first.message + (suffix if more else ""), path=first.path, code=first.code
        )
    return collection.platforms_table, list(collection.declarations)
