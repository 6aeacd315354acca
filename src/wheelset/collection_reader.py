"""Read a collection directory: its platforms.toml table and every declaration under it.

Layout per DESIGN §1–3: ``<dir>/platforms.toml`` plus ``<dir>/<prefix>/<project>/<stem>.toml``.
This is the minimal reader the build stages need; it validates each file (first error
raises) but runs none of the collection-wide checks (layout, uniqueness, closure are
`wheelset check`'s job). Hidden files and directories (``.git``…) are ignored.
Entry point: read_collection().
"""

from __future__ import annotations

from pathlib import Path

from wheelset.declarations import Declaration, load_declaration
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


def _iter_declaration_files(directory: Path) -> list[Path]:
    files = []
    for path in directory.rglob("*.toml"):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if relative.as_posix() != PLATFORMS_FILE and path.is_file():
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(directory).as_posix())


def read_collection(directory: Path) -> tuple[dict[str, object], list[Declaration]]:
    """The platforms table (verbatim) and every declaration, sorted by path.

    Raises:
        CollectionError: the directory or its platforms.toml is missing or malformed.
        DeclarationError: the first declaration that does not load (names the file).
    """
    if not directory.is_dir():
        raise CollectionError("not a directory", path=directory, code="COLLECTION")
    platforms = _read_platforms(directory)
    return platforms, [load_declaration(f, directory) for f in _iter_declaration_files(directory)]
