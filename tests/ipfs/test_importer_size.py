"""dag_size_of_file (computed from a length) equals the Tsize of importing that many bytes."""

from __future__ import annotations

import io
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wheelset.ipfs.importer import (
    DEFAULT_CHUNK_SIZE,
    ImportParams,
    dag_size_of_file,
    import_bytes,
    import_file,
)

C = DEFAULT_CHUNK_SIZE


class _Zeros(io.RawIOBase):
    """``size`` zero bytes without holding them in memory."""

    def __init__(self, size: int):
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


@pytest.mark.parametrize(
    "size", [0, 1, 100, C - 1, C, C + 1, 2 * C, 173 * C + 7, 174 * C, 174 * C + 1, 175 * C]
)
def test_default_params_match_real_import(size: int) -> None:
    assert dag_size_of_file(size) == import_file(_Zeros(size)).tsize  # type: ignore[arg-type]


def test_known_vector() -> None:
    assert dag_size_of_file(1_048_576) == 1_048_832  # Kubo: `ipfs add` of 1 MiB of zeros


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(min_value=0, max_value=3000),
    chunk=st.sampled_from([1, 7, 16, 100]),
    links=st.sampled_from([2, 3, 5, 174]),
    cid_version=st.sampled_from([0, 1]),
    raw_leaves=st.sampled_from([None, False, True]),
)
def test_any_tree_shape_matches_real_import(size, chunk, links, cid_version, raw_leaves) -> None:
    params = ImportParams(cid_version, raw_leaves, chunk_size=chunk, max_links=links)
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert dag_size_of_file(size, params) == import_bytes(data, params).tsize


def test_huge_sizes_take_no_time() -> None:
    # A hostile manifest's size must not cost work that grows with its digits' value.
    started = time.monotonic()
    assert dag_size_of_file(10**100) > 10**100
    assert dag_size_of_file(10**4000) > 10**4000  # no recursion either
    assert time.monotonic() - started < 2
