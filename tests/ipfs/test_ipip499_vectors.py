"""IPIP-499 profile fixtures, rebuilt from Kubo's deterministic ChaCha20 test data.

Expected CIDs: kubo test/cli/cid_profiles_test.go (unixfs-v0-2015 and the file part of
unixfs-v1-2025), as listed in the IPIP-499 spec and reference/ipfs.md. They pin the
chunk and link-count edges and the HAMT threshold edge (estimate == 262144 stays basic,
262145 shards) with Kubo's own file names.
"""

from __future__ import annotations

import pytest

from tests.ipfs.deterministic import (
    DeterministicStream,
    chacha20_keystream,
    deterministic_bytes,
    deterministic_filenames,
)
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.dagpb import DIRECTORY, HAMT_SHARD, decode_node, decode_unixfs
from wheelset.ipfs.directory import build_directory, estimated_directory_size
from wheelset.ipfs.importer import ImportParams, import_bytes, import_file

CHUNK = 262_144
V1_2025 = ImportParams(cid_version=1, chunk_size=1 << 20, max_links=1024)


def test_chacha20_matches_rfc8439() -> None:
    # RFC 8439 appendix A.1, test vector #1 (all-zero key and nonce, counter 0), and #2.
    stream = chacha20_keystream(bytes(32), 2)
    assert stream[:32].hex() == ("76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7")
    assert stream[64:80].hex() == "9f07e7be5551387a98ba977c732d080d"


@pytest.mark.parametrize(
    ("size", "seed", "expected"),
    [
        (CHUNK, "chunk-v0-seed", "QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE"),
        (CHUNK + 1, "chunk-v0-seed", "QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ"),
        (174 * CHUNK, "v0-seed", "QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2"),
        (174 * CHUNK + 1, "v0-seed", "QmV81WL765sC8DXsRhE5fJv2rwhS4icHRaf3J9Zk5FdRnW"),
        (175 * CHUNK, "v0-seed", "QmepeWtdmS1hHXx1oZXsPUv6bMrfRRKfZcoPPU4eEfjnbf"),
    ],
)
def test_unixfs_v0_2015_files(size: int, seed: str, expected: str) -> None:
    assert str(import_file(DeterministicStream(size, seed)).cid) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (1 << 20, "bafkreiacndfy443ter6qr2tmbbdhadvxxheowwf75s6zehscklu6ezxmta"),
        ((1 << 20) + 1, "bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64"),
    ],
)
def test_unixfs_v1_2025_files(size: int, expected: str) -> None:
    data = deterministic_bytes(size, "chunk-v1-seed")
    assert str(import_bytes(data, V1_2025).cid) == expected


@pytest.mark.parametrize(
    ("count", "name_len", "kind", "expected"),
    [
        (4096, 30, DIRECTORY, "QmX5GtRk3TSSEHtdrykgqm4eqMEn3n2XhfkFAis5fjyZmN"),
        (4033, 31, HAMT_SHARD, "QmeMiJzmhpJAUgynAcxTQYek5PPKgdv3qEvFsdV3XpVnvP"),
    ],
    ids=["estimate-262144-stays-basic", "estimate-262145-shards"],
)
def test_unixfs_v0_2015_hamt_threshold(count: int, name_len: int, kind: int, expected: str) -> None:
    names = deterministic_filenames(count, name_len, name_len, "hamt-unixfs-v0-2015")
    x = import_bytes(b"x")
    entries = [(name, x) for name in names]
    assert estimated_directory_size((n.encode(), c) for n, c in entries) == count * (name_len + 34)
    store = MemoryBlockStore()
    root = build_directory(entries, store=store)
    assert decode_unixfs(decode_node(store.get(root.cid)).data or b"").type == kind
    assert str(root.cid) == expected
