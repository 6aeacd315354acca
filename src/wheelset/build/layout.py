"""The layout of a build directory (`wheelset build --out OUT`), for its readers.

    OUT/ROOT         the root CID and a newline
    OUT/root.car     CARv1 of every generated block, the root as its only root
    OUT/tree/        the generated files
    OUT/.incomplete  present while a build updates OUT in place (readers refuse OUT then)

Kept apart from the build stage (wheelset.build.stage, which writes it) so that a command
reading a build directory does not load the builder.
Entry points: is_build_dir(), read_build_root(), ROOT_FILE, CAR_FILE, TREE_DIR,
INCOMPLETE_MARKER.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: the no-op install loads this module and not typing
if TYPE_CHECKING:
    from pathlib import Path  # (nor pathlib: callers pass their Path)

    from wheelset.ipfs.cid import CID

__all__ = [
    "CAR_FILE",
    "INCOMPLETE_MARKER",
    "ROOT_FILE",
    "TREE_DIR",
    "is_build_dir",
    "read_build_root",
]

ROOT_FILE = "ROOT"
CAR_FILE = "root.car"
TREE_DIR = "tree"
INCOMPLETE_MARKER = ".incomplete"


def is_build_dir(path: Path) -> bool:
    """Whether ``path`` is a complete build directory (not one an interrupted build left)."""
    return (
        (path / ROOT_FILE).is_file()
        and (path / TREE_DIR).is_dir()
        and not (path / INCOMPLETE_MARKER).exists()
    )


def read_build_root(path: Path) -> CID:
    """The root CID of a complete build directory.

    Raises:
        BuildError: not a build directory, an interrupted one, or an unreadable ROOT.
    """
    # Imported here: the no-op install reads this module's names and must stay cheap to load.
    from wheelset.errors import BuildError
    from wheelset.ipfs.cid import InvalidCID, parse_cid

    if (path / INCOMPLETE_MARKER).exists():
        raise BuildError(
            "an interrupted build left this directory; run `wheelset build` again",
            path=path,
            code="OUT",
        )
    if not is_build_dir(path):
        raise BuildError(
            f"not a build directory (want {ROOT_FILE} and {TREE_DIR}/)", path=path, code="OUT"
        )
    try:
        return parse_cid((path / ROOT_FILE).read_text().strip())
    except (OSError, UnicodeDecodeError, InvalidCID) as e:
        raise BuildError(f"unreadable {ROOT_FILE}: {e}", path=path, code="OUT") from e
