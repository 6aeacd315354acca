"""Declarations and collections for tests, written without going through `declare`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

import tomli_w

from wheelset.model.declarations import Declaration, parse_declaration, relpath_for

# The CID of an empty directory: any valid CIDv0 text will do for offline checks.
SOME_CID = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
SYSTEMS = ("manylinux_2_28_x86_64", "manylinux_2_28_aarch64", "macosx_11_0_arm64", "win_amd64")


def decl_table(
    filename: str,
    *,
    dependencies: Iterable[str] = (),
    extras: Iterable[str] = (),
    requires_python: str | None = None,
    **overrides: object,
) -> dict[str, object]:
    table: dict[str, object] = {"source": f"index:{filename}", "content-id": SOME_CID}
    if requires_python is not None:
        table["requires-python"] = requires_python
    table["extras"] = list(extras)
    table["dependencies"] = list(dependencies)
    table.update(overrides)
    return table


def make_decl(filename: str, **kwargs: object) -> Declaration:
    return parse_declaration(decl_table(filename, **kwargs), relpath_for(filename))  # type: ignore[arg-type]


def write_decl(
    root: Path, filename: str, *, path: str | None = None, **kwargs: object
) -> PurePosixPath:
    """Write a declaration for ``filename`` (at its proper place unless ``path``)."""
    rel = PurePosixPath(path) if path is not None else relpath_for(filename)
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(tomli_w.dumps(decl_table(filename, **kwargs)))  # type: ignore[arg-type]
    return rel


def write_platforms(
    root: Path,
    pythons: Iterable[str] = ("3.11", "3.12"),
    systems: Iterable[str] = SYSTEMS,
    extra: Mapping[str, object] | None = None,
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    table: dict[str, object] = {"python-versions": list(pythons), "systems": list(systems)}
    table.update(extra or {})
    (root / "platforms.toml").write_text("# supported platforms\n" + tomli_w.dumps(table))
