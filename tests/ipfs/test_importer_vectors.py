"""Golden file CIDs from reference/ipfs.md (Kubo t0040, IPIP-499, third-party suites)."""

from __future__ import annotations

import pytest

from wheelset.ipfs.importer import ImportParams, dag_size_of_file, import_bytes

V1 = ImportParams(cid_version=1)


@pytest.mark.parametrize(
    ("data", "params", "expected"),
    [
        (b"", ImportParams(), "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
        (b"", V1, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
        (b"hello world\n", ImportParams(), "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
        (b"hello world", ImportParams(), "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"),
        (b"Hello Worlds!\n", ImportParams(), "QmVr26fY1tKyspEJBniVhqxQeEjhF78XerGiqWAwraVLQH"),
        (b"IPFS\n", ImportParams(), "QmdFyxZXsFiP4csgfM5uPu99AvFiKH62CSPDw5TP92nr7w"),
        (b"1234", ImportParams(), "QmTPqcLhVnCtjoYuCZwPzfXcFrUviiPComTepHfEEaGf7g"),
        (b"hello world\n", V1, "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"),
        (b"hello world", V1, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"),
        (bytes(1 << 20), ImportParams(), "QmVkbauSDEaMP4Tkq6Epm9uW75mWm136n81YH8fGtfwdHU"),
        (bytes(1 << 20), V1, "bafybeiggzq4ryi7hscq5hzvzcnk4urnxt3asp37dhgvnjilf7exskximla"),
        (bytes(10 << 20), ImportParams(), "QmaJ6kN9fW3TKpVkpf1NuW7cjhHjNp5Jwr3cQuHzsoZWkJ"),
        (bytes(262145), ImportParams(), "QmbVuw4C4vcmVKqxoWtgDVobvcHrSn51qsmQmyxjk4sB2Q"),
        (bytes(174 * 262144), ImportParams(), "QmY4HSz1oVGdUzb8poVYPLsoqBZjH6LZrtgnme9wWn2Qko"),
        (bytes(174 * 262144 + 1), ImportParams(), "QmehMASWcBsX7VcEQqs6rpR5AHoBfKyBVEgmkJHjpPg8jq"),
    ],
)
def test_file_vectors(data: bytes, params: ImportParams, expected: str) -> None:
    assert str(import_bytes(data, params).cid) == expected


def test_depth_two_tree_and_tsize() -> None:
    root = import_bytes(bytes(100 << 20))
    assert str(root.cid) == "Qmca3PNFKuZnYkiVv1FpcV1AfDUm4qCSHoYjPTBqDAsyk8"
    assert root.tsize == 104882589


@pytest.mark.parametrize(
    "size", [0, 1, 262143, 262144, 262145, 1 << 20, 174 * 262144, 174 * 262144 + 1, 100 << 20]
)
def test_dag_size_from_length_matches_import(size: int) -> None:
    assert dag_size_of_file(size) == import_bytes(bytes(size)).tsize
