"""Read a collection directory: its platforms.toml table and every declaration under it.

Layout per DESIGN §1–3: ``<dir>/platforms.toml`` plus ``<dir>/<prefix>/<project>/<stem>.toml``.
This is the minimal reader the build stages need; it validates each file (first error
raises) but runs none of the collection-wide checks (layout, uniqueness, closure are
`wheelset check`'s job). Hidden files and directories (``.git``…) are ignored;
symbolic links to directories are not followed.
Entry point: read_collection().
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from wheelset.declarations import Declaration, DeclarationError, parse_declaration
from wheelset.errors import WheelsetError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["PLATFORMS_FILE", "CollectionError", "read_collection"]

PLATFORMS_FILE = "platforms.toml"


class CollectionError(WheelsetError):
    """The collection directory is missing, or its platforms.toml is missing or malformed."""


def _read_platforms(directory: Path) -> dict[str, object]:
    path = directory / PLATFORMS_FILE
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise CollectionError(
            f"no {PLATFORMS_FILE}: not a collection directory", path=path, code="PLATFORMS"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise CollectionError(f"malformed TOML: {e}", path=path, code="PLATFORMS") from e
    except (OSError, UnicodeDecodeError) as e:
        raise CollectionError(f"cannot read: {e}", path=path, code="PLATFORMS") from e


def _iter_declaration_files(top: str, relative: str = "") -> Iterator[tuple[str, str]]:
    """(file path, posix path relative to the collection) of each declaration file."""
    with os.scandir(top) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = f"{relative}/{entry.name}" if relative else entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from _iter_declaration_files(entry.path, rel)
            elif entry.name.endswith(".toml") and rel != PLATFORMS_FILE:
                yield entry.path, rel


def _load(file: str, relative: str) -> Declaration:
    """load_declaration() without its pathlib work: 10,000 files add up."""
    rel = PurePosixPath(relative)
    try:
        with open(file, "rb") as f:
            table = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise DeclarationError(f"malformed TOML: {e}", path=rel, code="TOML") from e
    except (OSError, UnicodeDecodeError) as e:
        raise DeclarationError(f"cannot read: {e}", path=rel, code="IO") from e
    return parse_declaration(table, rel)


def read_collection(directory: Path) -> tuple[dict[str, object], list[Declaration]]:
    """The platforms table (verbatim) and every declaration, sorted by path.

    Raises:
        CollectionError: the directory or its platforms.toml is missing or malformed.
        DeclarationError: the first declaration that does not load (names the file).
    """
    if not directory.is_dir():
        raise CollectionError("not a directory", path=directory, code="COLLECTION")
    platforms = _read_platforms(directory)
    files = sorted(_iter_declaration_files(str(directory)), key=lambda item: item[1])
    return platforms, [_load(file, relative) for file, relative in files]
