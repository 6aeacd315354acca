"""Real wheels on a real PEP 503 index served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.index import serve_directory, write_index
from tests.support.wheels import make_wheel


@pytest.fixture
def wheels(tmp_path: Path) -> list[Path]:
    built = tmp_path / "built"
    return [
        make_wheel(built, "demo", "1.0", requires_python=">=3.9"),
        make_wheel(built, "demo", "1.0", tag="cp311-cp311-win_amd64"),
        make_wheel(built, "other", "2.0"),
    ]


@pytest.fixture
def index_root(tmp_path: Path, wheels: list[Path]) -> Path:
    root = tmp_path / "index"
    write_index(root, wheels)
    return root


@pytest.fixture
def served(index_root: Path) -> Iterator[str]:
    with serve_directory(index_root, negotiate=True) as url:
        yield url


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client
