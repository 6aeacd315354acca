"""A new, empty collection (`wheelset init DIR`): the files every collection starts with.

The template lives in the package (``wheelset/data/collection``): a commented
``platforms.toml`` (CPython 3.11-3.14 on manylinux_2_28 x86_64/aarch64, macOS 12 arm64 and
win_amd64), a ``policy.toml`` (names allow-list, the licence allow-list commented out), a
README, and the GitHub workflows (check and publish; the weekly outdated report), which run
on the collection at the repository's top. A new directory is filled in a temporary sibling
that is renamed at the end, so a failure leaves nothing behind.
Entry points: new_collection(), staged_directory(), TEMPLATE_FILES.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from wheelset.errors import ForkError

__all__ = ["TEMPLATE_FILES", "new_collection", "staged_directory"]

# (path in the template package, path in the new collection)
TEMPLATE_FILES = (
    ("platforms.toml", "platforms.toml"),
    ("policy.toml", "policy.toml"),
    ("README.md", "README.md"),
    ("workflows/collection.yml", ".github/workflows/collection.yml"),
    ("workflows/outdated.yml", ".github/workflows/outdated.yml"),
)


@contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """A temporary sibling of the new directory ``target``, renamed to it when the block
    ends without error (removed otherwise).

    Raises:
        ForkError: ``target`` exists and is not empty.
    """
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ForkError("target directory is not empty", path=target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.wheelset-init"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir()
        yield staging
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def new_collection(target: Path) -> list[Path]:
    """Write the template into the new (or empty) directory ``target``; return the files.

    Raises:
        WheelsetError: ``target`` is not empty, or cannot be written.
    """
    template = resources.files("wheelset.data").joinpath("collection")
    try:
        with staged_directory(target) as staging:
            for name, dest in TEMPLATE_FILES:
                path = staging / dest
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(template.joinpath(name).read_bytes())
    except OSError as e:
        raise ForkError(f"cannot create the collection: {e}", path=target, code="IO") from e
    return [target / dest for _, dest in TEMPLATE_FILES]
