"""Opening a root (format version 2): every ROOT form, read a project at a time, verified."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.roots import PublishedRoot, build_test_root
from tests.support.trustless import trustless_server
from tests.support.wheels import make_wheel
from wheelset.client.root import InvalidRoot, RootError, open_root, parse_root_ref
from wheelset.ipfs.gateway import GatewayFetcher
from wheelset.ipfs.resolver import BlockDir, GatewayBlocks, PathResolver

DEAD = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("wheels")
    return [
        make_wheel(directory, "alpha", "1.0", requires_dist=["beta"]),
        make_wheel(directory, "beta", "2.0"),
        make_wheel(directory, "gamma", "0.1"),
    ]


@pytest.fixture(scope="module")
def built(wheels: list[Path]) -> PublishedRoot:
    return build_test_root(wheels)


@pytest.fixture()
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def resolver(http: httpx.Client, *gateways: str, cache: Path | None = None) -> PathResolver:
    fetcher = GatewayFetcher(list(gateways), http=http, timeout=5)
    blocks = BlockDir(cache) if cache is not None else None
    return PathResolver([GatewayBlocks(fetcher, g) for g in gateways], cache=blocks)


@pytest.mark.parametrize(
    "text",
    [
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
        "/ipfs/QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn/",
        "ipfs://QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354",
    ],
)
def test_root_text_forms(text: str) -> None:
    ref = parse_root_ref(text)
    assert ref.cid is not None and ref.directory is None
    assert (
        ref.cid.to_v1()
        == parse_root_ref("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").cid.to_v1()
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not-a-cid",
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3N",
        "/ipfs/QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn/alpha",
        "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",  # raw codec: a file
    ],
)
def test_malformed_roots(text: str) -> None:
    with pytest.raises(InvalidRoot) as info:
        parse_root_ref(text)
    assert info.value.code == "ROOT"


def test_a_missing_path_is_named_as_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(InvalidRoot, match="no such build directory or CAR file") as info:
        parse_root_ref(str(missing))
    assert info.value.one_line().startswith(f"{missing}: ROOT no such build directory")


def test_a_directory_that_is_no_build_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidRoot, match="not a build directory") as info:
        parse_root_ref(str(tmp_path))
    assert info.value.one_line().startswith(f"{tmp_path}: ROOT a directory but not a build")
    assert "\n" not in info.value.one_line()


def test_every_form_opens_the_same_root(built: PublishedRoot, http, tmp_path: Path) -> None:
    out = built.write_build_dir(tmp_path / "out")
    car = tmp_path / "root.car"
    car.write_bytes(built.car_bytes())
    with trustless_server(built.blocks) as gateway:
        forms = [
            str(built.cid),
            f"/ipfs/{built.cid}",
            f"ipfs://{built.cid}",
            str(built.cid.to_v1()),
            str(out),
            str(out / "tree"),
            str(car),
        ]
        opened = [open_root(parse_root_ref(f), resolver(http, gateway.url)) for f in forms]
        assert {r.cid.to_v1() for r in opened} == {built.cid.to_v1()}
        for root in opened:
            assert root.names() == ["alpha", "beta", "gamma"]
            assert root.header.projects == 3 and root.header.wheels == 3
            entries = root.project("Alpha")
            assert entries is not None
            assert [e.declaration for e in entries] == [
                built.declarations["alpha-1.0-py3-none-any.whl"]
            ]
            assert root.project("nothing-here") is None


def test_a_project_is_read_only_when_asked(built: PublishedRoot, http, tmp_path: Path) -> None:
    with trustless_server(built.blocks) as gateway:
        root = open_root(parse_root_ref(str(built.cid)), resolver(http, gateway.url))
        assert len(gateway.requests) == 1 and "wheelset.json" in gateway.requests[0]
        root.project("beta")
        root.project("beta")
        assert len(gateway.requests) == 2 and "index.json" in gateway.requests[1]


def test_the_second_gateway_serves_when_the_first_lies(built, http, tmp_path: Path) -> None:
    from tests.support.trustless import Tamper

    liar = Tamper(blocks=lambda sent: sent[:-1])
    with trustless_server(built.blocks, liar) as bad, trustless_server(built.blocks) as good:
        root = open_root(
            parse_root_ref(str(built.cid)), resolver(http, DEAD, bad.url, good.url, cache=tmp_path)
        )
        assert root.project("gamma") is not None
    # Cached blocks: opens and reads again with no gateway reachable.
    again = open_root(parse_root_ref(str(built.cid)), resolver(http, DEAD, cache=tmp_path))
    assert again.project("gamma") == root.project("gamma")


def test_a_lie_everywhere_is_one_line_naming_the_path(built, http) -> None:
    from tests.support.trustless import Tamper

    liar = Tamper(blocks=lambda sent: sent[:-1], only="/gamma")
    with trustless_server(built.blocks, liar) as bad:
        root = open_root(parse_root_ref(str(built.cid)), resolver(http, bad.url))
        with pytest.raises(RootError) as info:
            root.project("gamma")
    line = info.value.one_line()
    assert "/gamma/index.json" in line and bad.url in line and "\n" not in line


def test_a_version_1_root_is_refused_with_how_to_rebuild(wheels, http, tmp_path: Path) -> None:
    v1 = json.dumps({"format": "wheelset-manifest", "version": 1, "declarations": []}).encode()
    old = build_test_root(wheels, replace={"wheelset.json": v1})
    with trustless_server(old.blocks) as gateway, pytest.raises(RootError) as info:
        open_root(parse_root_ref(str(old.cid)), resolver(http, gateway.url))
    assert info.value.code == "OLD-ROOT" and "wheelset build" in str(info.value)
    out = old.write_build_dir(tmp_path / "out")
    (out / "tree" / "wheelset.json").write_bytes(v1)
    with pytest.raises(RootError, match="version 1 root"):
        open_root(parse_root_ref(str(out)))


def test_a_newer_format_asks_for_an_upgrade(wheels, http) -> None:
    newer = json.dumps({"format": "wheelset-root", "version": 3}).encode()
    root = build_test_root(wheels, replace={"wheelset.json": newer})
    with (
        trustless_server(root.blocks) as gateway,
        pytest.raises(RootError, match="upgrade wheelset"),
    ):
        open_root(parse_root_ref(str(root.cid)), resolver(http, gateway.url))


def test_a_malformed_project_file_names_it(wheels, http) -> None:
    root = build_test_root(wheels, replace={"beta/index.json": b'{"name": "beta", "files": [1]}'})
    with trustless_server(root.blocks) as gateway:
        opened = open_root(parse_root_ref(str(root.cid)), resolver(http, gateway.url))
        with pytest.raises(RootError, match=r"/beta/index\.json"):
            opened.project("beta")


def test_not_a_wheelset_root_and_no_gateway(built, http) -> None:
    from wheelset.ipfs.blockstore import MemoryBlockStore
    from wheelset.ipfs.directory import build_tree
    from wheelset.ipfs.importer import import_bytes

    store = MemoryBlockStore()
    other = build_tree({"readme.txt": import_bytes(b"hello", store=store)}, store=store).cid
    with (
        trustless_server(store) as gateway,
        pytest.raises(RootError, match="not a wheelset root"),
    ):
        open_root(parse_root_ref(str(other)), resolver(http, gateway.url))
    with pytest.raises(RootError) as info:
        open_root(parse_root_ref(str(built.cid)), resolver(http, DEAD, DEAD + "1"))
    assert DEAD in str(info.value) and "\n" not in info.value.one_line()


def test_project_reads_hand_back_each_project_as_it_arrives(built: PublishedRoot, http) -> None:
    with trustless_server(built.blocks) as gateway:
        root = open_root(parse_root_ref(str(built.cid)), resolver(http, gateway.url))
        with root.reads() as reads:
            reads.ask(["alpha", "nothing-here"])
            reads.ask(["gamma"])
            assert reads.pending == 3
            found = []
            while reads.pending:
                found += reads.arrived()
        assert sorted(d.filename for d in found) == [
            "alpha-1.0-py3-none-any.whl",
            "gamma-0.1-py3-none-any.whl",
        ]
        assert not any("beta" in r for r in gateway.requests)  # never asked, never read


def test_a_project_read_that_fails_is_raised_by_arrived(built: PublishedRoot, http) -> None:
    from tests.support.trustless import Tamper

    liar = Tamper(blocks=lambda sent: sent[:-1], only="/gamma")
    with trustless_server(built.blocks, liar) as bad:
        root = open_root(parse_root_ref(str(built.cid)), resolver(http, bad.url))
        with root.reads() as reads, pytest.raises(RootError, match="gamma"):
            reads.ask(["gamma"])
            reads.arrived()


def test_the_root_block_verified_once_is_not_read_again(built, http, tmp_path: Path) -> None:
    with trustless_server(built.blocks) as gateway:
        root = open_root(
            parse_root_ref(str(built.cid)), resolver(http, gateway.url, cache=tmp_path / "b")
        )
        for block in (tmp_path / "b").iterdir():
            block.unlink()  # the disk's copy gone: the one verified in memory serves
        assert root.project("gamma") is not None
        assert str(built.cid) not in gateway.requests[-1]  # asked below the root directory
