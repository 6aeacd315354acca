"""Directory and HAMT vectors: Kubo t0040, the UnixFS spec / gateway-conformance fixtures.

Sources (see reference/ipfs.md): kubo test/sharness/t0040-add-and-cat.sh (planets, moons,
hey/hello, `-w --stdin-name`), the UnixFS spec's well-known CIDs and test vectors (which
name the gateway-conformance fixtures and describe their content), IPIP-499.
"""

from __future__ import annotations

import hashlib

import pytest

from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.cid import CID, RAW, decode_cid_bytes
from wheelset.ipfs.dagpb import DIRECTORY, HAMT_SHARD, decode_node, decode_unixfs
from wheelset.ipfs.directory import (
    HAMT_THRESHOLD,
    InvalidEntryName,
    build_directory,
    build_tree,
    directory_block,
    directory_node,
    estimated_directory_size,
    hamt_hash,
)
from wheelset.ipfs.importer import DEFAULT_CHUNK_SIZE, ImportParams, import_bytes, one_block

V0 = ImportParams()
V1 = ImportParams(cid_version=1)
V0_RAW = ImportParams(raw_leaves=True)
V1_DAG_PB = ImportParams(cid_version=1, raw_leaves=False)
# The gateway-conformance fixtures were added with --cid-version 1 --chunker size-256.
FIXTURE = ImportParams(cid_version=1, chunk_size=256)

# 1026 bytes: multiblock.txt, and every file of the HAMT fixture (kubo 0.25 `ipfs cat`,
# quoted in helia's tests; its CID below proves the bytes).
LOREM = (
    b"Lorem ipsum dolor sit amet, consectetur adipiscing elit. Nunc non imperdiet nunc. "
    b"Proin ac quam ut nibh eleifend aliquet. Vestibulum ante ipsum primis in faucibus orci "
    b"luctus et ultrices posuere cubilia curae; Sed ligula dolor, imperdiet sagittis arcu et, "
    b"semper tincidunt urna. Donec et tempor augue, quis sollicitudin metus. Curabitur semper "
    b"ullamcorper aliquet. Mauris hendrerit sodales lectus eget fermentum. Proin sollicitudin "
    b"vestibulum commodo. Vivamus nec lectus eu augue aliquet dignissim nec condimentum justo. "
    b"In hac habitasse platea dictumst. Mauris vel sem neque.\n\nVivamus finibus, enim at "
    b"lacinia semper, arcu erat gravida lacus, sit amet gravida magna orci sit amet est. Sed "
    b"non leo lacus. Nullam viverra ipsum a tincidunt dapibus. Nulla pulvinar ligula sit amet "
    b"ante ultrices tempus. Proin purus urna, semper sed lobortis quis, gravida vitae ipsum. "
    b"Aliquam mi urna, pulvinar eu bibendum quis, convallis ac dolor. In gravida justo sed "
    b"risus ullamcorper, vitae luctus massa hendrerit. Pellentesque habitant amet."
)


def planets(params: ImportParams) -> dict:
    return {
        "mars.txt": import_bytes(b"Hello Mars!\n", params),
        "venus.txt": import_bytes(b"Hello Venus!\n", params),
    }


def test_empty_directory() -> None:
    assert str(build_directory([]).cid) == "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    assert (
        str(build_directory([], cid_version=1).cid)
        == "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
    )


@pytest.mark.parametrize(
    ("params", "mars", "venus", "root"),
    [
        (
            V0,
            "QmPrrHqJzto9m7SyiRzarwkqPcCSsKR2EB1AyqJfe8L8tN",
            "QmU5kp3BH3B8tnWUU2Pikdb2maksBNkb92FHRr56hyghh4",
            "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY",
        ),
        (
            V0_RAW,
            "bafkreibmlvvgdyihetgocpof6xk64kjjzdeq2e4c7hqs3krdheosk4tgj4",
            "bafkreihfsphazrk2ilejpekyltjeh5k4yvwgjuwg26ueafohqioeo3sdca",
            "QmfWfQfKCY5Ukv9peBbxM5vqWM9BzmqUSXvdCgjT2wsiBT",
        ),
        (
            V1,
            "bafkreibmlvvgdyihetgocpof6xk64kjjzdeq2e4c7hqs3krdheosk4tgj4",
            "bafkreihfsphazrk2ilejpekyltjeh5k4yvwgjuwg26ueafohqioeo3sdca",
            "bafybeih7e5dmkyk25up5vxug4q3hrg2fxbzf23dfrac2fns5h7z4aa7ioi",
        ),
        (
            V1_DAG_PB,
            "bafybeiawta2ntdmsy24aro35w3homzl4ak7svr3si7l7gesvq4erglyye4",
            "bafybeicvkvhs2fr75ynebtdjqpgm4g2fc63abqbmysupwpmcjl4gx7mzrm",
            "bafybeif5tuep5ap2d7zyhbktucey75aoacxufgt6i3v4gebmixyipnyp7y",
        ),
    ],
    ids=["default", "raw-leaves", "cid-version-1", "cid-version-1-no-raw-leaves"],
)
def test_t0040_planets(params: ImportParams, mars: str, venus: str, root: str) -> None:
    tree = planets(params)
    assert str(tree["mars.txt"].cid) == mars
    assert str(tree["venus.txt"].cid) == venus
    assert str(build_tree(tree, cid_version=params.cid_version).cid) == root


def test_t0040_planets_tsize() -> None:
    # `ipfs add` reports Size 146 for the planets directory (cumulative DAG size).
    assert build_tree(planets(V0)).tsize == 146


def test_t0040_hey_hello() -> None:
    tree = {"hey": import_bytes(b"Hey\n"), "hello": {"world": import_bytes(b"World\n")}}
    assert str(build_tree(tree).cid) == "QmZQWnfcqJ6hNkkPvrY9Q5X39GP3jUnUbAV4AbmbbR3Cb1"


def test_t0040_moons() -> None:
    # reference/ipfs.md gives QmbGoaQZm8… for the root; every stored version of t0040 says
    # QmVKvomp91… for this content (and agrees on jupiter, saturn and each file).
    tree = {
        "jupiter": {"europa.txt": import_bytes(b"Hello Europa!\n")},
        "saturn": {"titan.txt": import_bytes(b"Hello Titan!\n")},
        "mercury.txt": import_bytes(b"hey youre no moon!\n"),
    }
    assert str(tree["mercury.txt"].cid) == "QmUJjVtnN8YEeYcS8VmUeWffTWhnMQAkk5DzZdKnPhqUdK"
    assert str(build_tree(tree["jupiter"]).cid) == "QmS5mZddhFPLWFX3w6FzAy9QxyYkaxvUpsWCtZ3r7jub9J"
    assert str(build_tree(tree["saturn"]).cid) == "QmaMagZT4rTE7Nonw8KGSK4oe1bh533yhZrCo1HihSG8FK"
    assert str(build_tree(tree).cid) == "QmVKvomp91nMih5j6hYBA8KjbiaYvEetU2Q7KvtZkLe9nQ"


def test_t0040_wrap_with_directory() -> None:
    # echo IPFS | ipfs add -w --stdin-name file.txt
    wrapped = build_directory([("file.txt", import_bytes(b"IPFS\n"))])
    assert str(wrapped.cid) == "QmVcbNxL7X3Nhuasd12HHf6u7CKiMGQkULySx9JE5UXMGb"


def test_directory_node_from_binary_links() -> None:
    # Links given as binary CIDs, out of order: the planets' known root and size.
    tree = planets(V0)
    links = [(n.encode(), c.cid.to_bytes(), c.tsize) for n, c in reversed(tree.items())]
    raw, tsize = directory_node(links)
    assert str(decode_cid_bytes(raw)[0]) == "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY"
    assert tsize == 146
    # Past the threshold, the shard build_directory makes.
    leaf = import_bytes(b"x")
    names = names_with_estimate(HAMT_THRESHOLD + 1)
    sharded = build_directory([(n, leaf) for n in names])
    links = [(n.encode(), leaf.cid.to_bytes(), leaf.tsize) for n in names]
    assert directory_node(links) == (sharded.cid.to_bytes(), sharded.tsize)


def test_directory_block_is_the_basic_node_or_none_when_sharded() -> None:
    tree = planets(V0)
    links = [(n.encode(), c.cid.to_bytes(), c.tsize) for n, c in reversed(tree.items())]
    block, tsize = directory_block(list(links))  # type: ignore[misc]
    assert (b"\x12\x20" + hashlib.sha256(block).digest(), tsize) == directory_node(links)
    assert decode_unixfs(decode_node(block).data or b"").type == DIRECTORY
    leaf = import_bytes(b"x")
    at = [(n.encode(), leaf.cid.to_bytes(), 1) for n in names_with_estimate(HAMT_THRESHOLD)]
    assert directory_block(at) is not None  # equal to the threshold: still one block
    over = [(n.encode(), leaf.cid.to_bytes(), 1) for n in names_with_estimate(HAMT_THRESHOLD + 1)]
    assert directory_block(over) is None


def test_one_block_is_the_leaf_of_a_one_chunk_file() -> None:
    for data in (b"", b"page\n", bytes(DEFAULT_CHUNK_SIZE)):
        block = one_block(data)
        assert block is not None
        imported = import_bytes(data)
        assert CID(0, 0x70, hashlib.sha256(block).digest()) == imported.cid
        assert len(block) == imported.tsize
    assert one_block(bytes(DEFAULT_CHUNK_SIZE + 1)) is None


def test_links_sorted_by_name_bytes() -> None:
    store = MemoryBlockStore()
    leaf = import_bytes(b"x")
    names = ["b", "B", "é", "a", "z", "aa", "Ä"]
    root = build_directory([(n, leaf) for n in names], store=store)
    links = [link.name for link in decode_node(store.get(root.cid)).links]
    assert links == sorted(names, key=lambda n: n.encode("utf-8"))


def gateway_fixture_files() -> dict:
    ascii_txt = import_bytes(b"hello application/vnd.ipld.car\n", FIXTURE)
    assert str(ascii_txt.cid) == "bafkreifkam6ns4aoolg3wedr4uzrs3kvq66p4pecirz6y2vlrngla62mxm"
    multiblock = import_bytes(LOREM, FIXTURE)
    assert str(multiblock.cid) == "bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa"
    assert multiblock.tsize == 1271
    return {
        "ascii.txt": ascii_txt,
        "hello.txt": import_bytes(b"hello world\n", FIXTURE),
        "multiblock.txt": multiblock,
    }


def test_gateway_conformance_directories() -> None:
    files = gateway_fixture_files()
    v1 = {"cid_version": 1}
    store = MemoryBlockStore()
    with_files = build_tree({**files, "ascii-copy.txt": files["ascii.txt"]}, store=store, **v1)
    assert str(with_files.cid) == "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy"
    assert (len(store.get(with_files.cid)), with_files.tsize) == (227, 1572)
    two = {"subdir": {"ascii.txt": files["ascii.txt"], "hello.txt": files["hello.txt"]}}
    assert (
        str(build_tree(two, **v1).cid)
        == "bafybeietjm63oynimmv5yyqay33nui4y4wx6u3peezwetxgiwvfmelutzu"
    )
    assert (
        str(build_tree({"subdir": files}, **v1).cid)
        == "bafybeidh6k2vzukelqtrjsmd4p52cpmltd2ufqrdtdg6yigi73in672fwu"
    )
    dag_pb = {
        "foo": {"bar.txt": import_bytes(b"Hello, world!\n", V1)},
        "foo.txt": import_bytes(b"Hello, IPFS!\n", V1),
    }
    assert (
        str(build_tree(dag_pb, **v1).cid)
        == "bafybeiegxwlgmoh2cny7qlolykdf7aq7g6dlommarldrbm7c4hbckhfcke"
    )
    percent = {
        "Portugal%2C+España=Peninsula Ibérica.txt": import_bytes(
            b"hello from a percent encoded filename\n", V1
        )
    }
    assert (
        str(build_tree(percent, **v1).cid)
        == "bafybeig675grnxcmshiuzdaz2xalm6ef4thxxds6o6ypakpghm5kghpc34"
    )


def test_hamt_fixture_root() -> None:
    """gateway-conformance single-layer-hamt-with-multi-block-files: 1.txt … 1000.txt.

    The UnixFS spec describes it (1000 numbered files of Lorem ipsum, root block 12046
    bytes, bucket 00 a sub-shard with Tsize 2693 holding 470.txt and 742.txt, both
    bafybeigcisqd…). Kubo would not shard 1000 short names, so it was made with sharding
    forced: threshold 0 here.
    """
    lorem = import_bytes(LOREM, FIXTURE)
    store = MemoryBlockStore()
    entries = [(f"{i}.txt", lorem) for i in range(1, 1001)]
    root = build_directory(entries, cid_version=1, store=store, hamt_threshold=0)
    assert str(root.cid) == "bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i"
    block = store.get(root.cid)
    assert len(block) == 12046
    node = decode_node(block)
    meta = decode_unixfs(node.data or b"")
    assert (meta.type, meta.fanout, meta.hash_type) == (HAMT_SHARD, 256, 0x22)
    first = node.links[0]
    assert (first.name, first.tsize) == ("00", 2693)
    assert str(first.cid) == "bafybeiaebmuestgbpqhkkbrwl2qtjtvs3whkmp2trkbkimuod4yv7oygni"
    sub = decode_node(store.get(first.cid))
    assert [link.name for link in sub.links] == ["6E470.txt", "FF742.txt"]
    assert hamt_hash(b"470.txt")[:2] == bytes([0x00, 0x6E])


def names_with_estimate(total: int) -> list[str]:
    """2048 distinct names whose Kubo links-estimate with CIDv0 children is ``total``."""
    count, per_entry = 2048, 128  # 2048 × 128 = 262144
    base_len = per_entry - 34  # 34 bytes of CIDv0 per link
    names = [f"{i:04d}".ljust(base_len, "n") for i in range(count)]
    names[-1] += "+" * (total - count * per_entry)
    return names


@pytest.mark.parametrize(
    ("estimate", "kind"), [(HAMT_THRESHOLD, DIRECTORY), (HAMT_THRESHOLD + 1, HAMT_SHARD)]
)
def test_hamt_threshold_edge(estimate: int, kind: int) -> None:
    leaf = import_bytes(b"x")
    entries = [(name, leaf) for name in names_with_estimate(estimate)]
    assert estimated_directory_size((n.encode(), c) for n, c in entries) == estimate
    store = MemoryBlockStore()
    root = build_directory(entries, store=store)
    assert decode_unixfs(decode_node(store.get(root.cid)).data or b"").type == kind


def test_hamt_holds_every_entry_once() -> None:
    leaf = import_bytes(b"x")
    names = [f"{i:05d}".ljust(200, "-") for i in range(1400)]  # 1400 × 234 > 262144
    store = MemoryBlockStore()
    root = build_directory([(n, leaf) for n in names], store=store)
    found = []
    pending = [root.cid]
    while pending:
        node = decode_node(store.get(pending.pop()))
        for link in node.links:
            if len(link.name) == 2:
                pending.append(link.cid)
            else:
                found.append(link.name[2:])
    assert sorted(found) == names


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "nul\0"])
def test_invalid_entry_names(name: str) -> None:
    with pytest.raises(InvalidEntryName) as e:
        build_directory([(name, import_bytes(b"x"))])
    assert e.value.code == "NAME"


def test_duplicate_entry_names() -> None:
    leaf = import_bytes(b"x")
    with pytest.raises(InvalidEntryName):
        build_directory([("a", leaf), ("a", leaf)])


def test_child_cid_kinds_count_in_estimate() -> None:
    raw = import_bytes(b"x", V1)
    assert raw.cid == CID(1, RAW, hashlib.sha256(b"x").digest())
    assert estimated_directory_size([(b"ab", raw), (b"c", import_bytes(b"x"))]) == 38 + 35
