"""A small, sound collection on disk that each test then damages in one way."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.decls import write_decl, write_platforms

ABI3_PLATFORMS = (
    "manylinux_2_17_x86_64.manylinux2014_x86_64",
    "manylinux_2_17_aarch64.manylinux2014_aarch64",
    "macosx_11_0_arm64",
    "win_amd64",
)


@pytest.fixture
def sound(tmp_path: Path) -> Path:
    """app (pure) -> lib (abi3, four systems), colorama on Windows, click for app[cli]."""
    root = tmp_path / "declarations"
    write_platforms(root)
    (root / "README.md").write_text("The collection.\n")
    write_decl(
        root,
        "app-1.0-py3-none-any.whl",
        extras=["cli"],
        requires_python=">=3.10",
        dependencies=["lib>=2", 'colorama; sys_platform == "win32"', 'click>=8; extra == "cli"'],
    )
    for platform in ABI3_PLATFORMS:
        write_decl(root, f"lib-2.1-cp39-abi3-{platform}.whl", dependencies=["six>=1.10"])
    write_decl(root, "six-1.16.0-py2.py3-none-any.whl")
    write_decl(root, "colorama-0.4.6-py2.py3-none-any.whl")
    write_decl(root, "click-8.1.7-py3-none-any.whl", extras=["color"], dependencies=[])
    return root
