"""`wheelset diff`: projects and per-platform wheels between two roots (any ROOT form)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import httpx
import pytest
from packaging.tags import Tag
from typer.testing import CliRunner

from tests.support.collection import write_collection
from tests.support.trustless import trustless_server
from tests.support.wheels import make_wheel
from wheelset.build.stage import build_collection
from wheelset.cli import app
from wheelset.client.diff import DiffError, platform_tags
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import iter_car
from wheelset.ipfs.cid import CID, parse_cid
from wheelset.ipfs.dagpb import HAMT_SHARD, decode_node, decode_unixfs
from wheelset.ipfs.resolver import CarBlocks, PathResolver
from wheelset.ipfs.rpc import KuboRpc
from wheelset.model.declarations import (
    dump_declaration,
    load_declaration,
    parse_declaration,
    relpath_for,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from synth_collection import generate

runner = CliRunner(env={"WHEELSET_LOCAL_GATEWAY": "off", "WHEELSET_API": ""})
DEAD = "http://127.0.0.1:9"
LINUX, WIN, MAC = "manylinux_2_28_x86_64", "win_amd64", "macosx_11_0_arm64"


PURE = "py3-none-any"


def _build(tmp_path: Path, name: str, specs: list[tuple[str, str, str]], systems) -> Path:
    wheels = [
        make_wheel(tmp_path / f"{name}-wheels", project, version, tag=tag)
        for project, version, tag in specs
    ]
    platforms = {"python-versions": ["3.11"], "systems": systems}
    write_collection(tmp_path / f"{name}-decl", wheels, platforms=platforms)
    out = tmp_path / name
    build_collection(tmp_path / f"{name}-decl", out=out)
    return out


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    a = _build(
        tmp_path,
        "a",
        [
            ("alpha", "1.0", PURE),
            ("beta", "2.0", PURE),
            ("delta", "0.5", PURE),
            ("native", "0.3", "cp311-cp311-manylinux_2_17_x86_64"),
            ("native", "0.3", "cp311-cp311-win_amd64"),
        ],
        [LINUX, WIN],
    )
    b = _build(
        tmp_path,
        "b",
        [
            ("alpha", "1.1", PURE),
            ("beta", "1.9", PURE),
            ("gamma", "1.0", PURE),
            ("native", "0.3", "cp311-cp311-manylinux_2_17_x86_64"),
            ("native", "0.3", "cp311-cp311-macosx_11_0_arm64"),
        ],
        [LINUX, WIN, MAC],
    )
    return a, b


EXPECTED = {
    "projects": {
        "added": [{"name": "gamma", "version": "1.0"}],
        "removed": [{"name": "delta", "version": "0.5"}],
        "upgraded": [{"name": "alpha", "from": "1.0", "to": "1.1"}],
        "downgraded": [{"name": "beta", "from": "2.0", "to": "1.9"}],
    },
    "platforms": {
        "cp311-manylinux_2_28_x86_64": {
            "added": [
                "alpha-1.1-py3-none-any.whl",
                "beta-1.9-py3-none-any.whl",
                "gamma-1.0-py3-none-any.whl",
            ],
            "removed": [
                "alpha-1.0-py3-none-any.whl",
                "beta-2.0-py3-none-any.whl",
                "delta-0.5-py3-none-any.whl",
            ],
        },
        "cp311-win_amd64": {
            "added": [
                "alpha-1.1-py3-none-any.whl",
                "beta-1.9-py3-none-any.whl",
                "gamma-1.0-py3-none-any.whl",
            ],
            "removed": [
                "alpha-1.0-py3-none-any.whl",
                "beta-2.0-py3-none-any.whl",
                "delta-0.5-py3-none-any.whl",
                "native-0.3-cp311-cp311-win_amd64.whl",
            ],
        },
    },
    "platforms-added": ["cp311-macosx_11_0_arm64"],
    "platforms-removed": [],
    "replaced": [],
}


def test_json_between_build_dirs(roots: tuple[Path, Path]) -> None:
    a, b = roots
    result = runner.invoke(app, ["diff", str(a), str(b), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc.pop("a") == (a / "ROOT").read_text().strip()
    assert doc.pop("b") == (b / "ROOT").read_text().strip()
    assert doc == EXPECTED


def test_text_between_build_dirs(roots: tuple[Path, Path]) -> None:
    a, b = roots
    result = runner.invoke(app, ["diff", str(a), str(b)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2] == "projects: 1 added, 1 removed, 1 upgraded, 1 downgraded"
    assert lines[3:7] == [
        "  + gamma 1.0",
        "  - delta 0.5",
        "  ^ alpha 1.0 -> 1.1",
        "  v beta 2.0 -> 1.9",
    ]
    assert any(line.startswith("wheels: ") for line in lines)
    assert any(line.startswith("  - native-0.3-cp311-cp311-win_amd64.whl (on ") for line in lines)
    assert lines[-1] == "platforms added: cp311-macosx_11_0_arm64"
    same = runner.invoke(app, ["diff", str(a), str(a)])
    assert same.stdout.splitlines()[-1] == "no differences"


def test_cids_read_from_a_node_and_only_changed_projects(roots, ipfs_node, tmp_path) -> None:
    a, b = roots
    with httpx.Client() as http:
        for out in (a, b):
            KuboRpc(ipfs_node.api_url, http=http).dag_import(
                (out / "root.car").read_bytes(), pin_roots=False
            )
    cid_a, cid_b = ((out / "ROOT").read_text().strip() for out in (a, b))
    args = ["diff", f"/ipfs/{cid_a}", f"ipfs://{cid_b}", "--format", "json"]
    cache = ["--cache-dir", str(tmp_path / "cache")]
    result = runner.invoke(app, [*args, *cache, "--api", ipfs_node.api_url, "--gateway", DEAD])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["projects"] == EXPECTED["projects"]
    # A path-only gateway (the node's own) hands out no verifiable blocks.
    fresh = ["--cache-dir", str(tmp_path / "fresh")]
    refused = runner.invoke(app, [*args, *fresh, "--gateway", ipfs_node.gateway_url])
    assert refused.exit_code == 1 and "path-only" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1


def _blocks_of(*outs: Path) -> MemoryBlockStore:
    """Every block of the build directories' root.car files, for a gateway to serve."""
    store = MemoryBlockStore()
    for out in outs:
        with (out / "root.car").open("rb") as f:
            for cid, block in iter_car(f)[1]:
                store.put(cid, block)
    return store


def test_unchanged_projects_are_not_read(tmp_path: Path) -> None:
    specs = [(f"p{i}", "1.0", PURE) for i in range(40)]
    a = _build(tmp_path, "a", specs, [LINUX])
    b = _build(tmp_path, "b", [*specs[:-1], ("p39", "2.0", PURE)], [LINUX])
    store = _blocks_of(a, b)
    with trustless_server(store) as gateway:
        cids = [(out / "ROOT").read_text().strip() for out in (a, b)]
        result = runner.invoke(
            app, ["diff", *cids, "--gateway", gateway.url, "--cache-dir", str(tmp_path / "c")]
        )
    assert result.exit_code == 0, result.stderr
    assert "^ p39 1.0 -> 2.0" in result.stdout
    read = [r for r in gateway.requests if "index.json" in r]
    assert len(read) == 2  # p39 in each root; the 39 unchanged projects are not read


def test_two_build_dirs_compare_their_root_blocks(tmp_path: Path) -> None:
    specs = [(f"p{i}", "1.0", PURE) for i in range(40)]
    a = _build(tmp_path, "a", specs, [LINUX])
    b = _build(tmp_path, "b", [*specs[:-1], ("p39", "2.0", PURE)], [LINUX])
    for out in (a, b):  # project files that would fail if the diff read them
        for project in ("p3", "p17"):
            (out / "tree" / project / "index.json").write_text(f"not json {out.name}")
    result = runner.invoke(app, ["diff", str(a), str(b)])
    assert result.exit_code == 0, result.stderr
    assert "^ p39 1.0 -> 2.0" in result.stdout and "p3 " not in result.stdout

    # The blocks come from each build directory's own root.car, verified from its ROOT.
    (b / "root.car").write_bytes((a / "root.car").read_bytes())
    result = runner.invoke(app, ["diff", str(a), str(b)])
    assert result.exit_code == 1 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and str(b / "root.car") in result.stderr


def test_a_gateway_cannot_substitute_another_root(roots, tmp_path: Path) -> None:
    a, b = roots
    cid = (a / "ROOT").read_text().strip()
    store = MemoryBlockStore()
    with (b / "root.car").open("rb") as f:
        for block_cid, block in iter_car(f)[1]:
            store.put(block_cid, block)
    with trustless_server(store) as liar:  # holds only B's blocks
        result = runner.invoke(
            app, ["diff", cid, str(b), "--gateway", liar.url, "--cache-dir", str(tmp_path)]
        )
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and f"/wheelset.json of {cid}" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_malformed_header_in_a_build_dir(roots) -> None:
    a, b = roots
    (a / "tree" / "wheelset.json").write_text("{")
    result = runner.invoke(app, ["diff", str(a), str(b)])
    assert result.exit_code == 1 and result.stderr.startswith("error: ROOT ")
    assert "wheelset.json" in result.stderr and "not JSON" in result.stderr


@pytest.mark.parametrize("root", ["not-a-root", "QmNotReallyACid"])
def test_neither_dir_nor_cid(root: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["diff", root, root], catch_exceptions=False)
    assert result.exit_code == 1 and "is not a CID, /ipfs/<cid>" in result.stderr


def test_platform_tags_expand_like_pip() -> None:
    tags = platform_tags(
        {"python-versions": ["3.11"], "systems": [LINUX, "manylinux_2_28_aarch64", MAC, WIN]}
    )
    linux = tags["cp311-manylinux_2_28_x86_64"]
    for platform in ("manylinux_2_28_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"):
        assert Tag("cp311", "cp311", platform) in linux
    assert Tag("cp311", "abi3", "manylinux_2_17_x86_64") in linux
    assert Tag("py3", "none", "any") in linux
    assert Tag("cp312", "cp312", "manylinux_2_28_x86_64") not in linux
    assert Tag("cp311", "cp311", "manylinux_2_29_x86_64") not in linux
    arm = tags["cp311-manylinux_2_28_aarch64"]
    assert Tag("cp311", "cp311", "manylinux2014_aarch64") in arm
    assert not any(t.platform.startswith("manylinux1") for t in arm)
    assert Tag("cp311", "cp311", "macosx_11_0_universal2") in tags["cp311-macosx_11_0_arm64"]
    assert Tag("cp311", "cp311", "win_amd64") in tags["cp311-win_amd64"]


@pytest.mark.parametrize(
    "table",
    [{}, {"python-versions": "3.11", "systems": []}, {"python-versions": ["x"], "systems": []}],
)
def test_platform_table_errors(table: dict) -> None:
    with pytest.raises(DiffError):
        platform_tags(table)


SHARDED = 6000  # projects: past Kubo's threshold, so each root directory is a HAMT


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two built roots of 6,000 synthetic projects; in B one is upgraded, one removed and
    one added (and the pages of the projects they depend on change with them)."""
    base = tmp_path_factory.mktemp("sharded")
    generate(base / "decl", SHARDED)
    build_collection(base / "decl", out=base / "a")
    files = sorted(p for p in (base / "decl").rglob("*.toml") if p.name != "platforms.toml")
    upgraded = load_declaration(files[10], base / "decl")
    filename = upgraded.filename.replace(f"-{upgraded.version}-", f"-{upgraded.version}.post1-")
    table = {**upgraded.to_toml(), "source": f"index:{filename}"}
    files[10].unlink()
    dump_declaration(parse_declaration(table, relpath_for(filename)), base / "decl")
    files[20].unlink()
    template = load_declaration(files[30], base / "decl")
    table = {**template.to_toml(), "source": "index:brandnew-1.0-py3-none-any.whl"}
    dump_declaration(
        parse_declaration(table, relpath_for("brandnew-1.0-py3-none-any.whl")), base / "decl"
    )
    shutil.copytree(base / "a", base / "b")
    build_collection(base / "decl", out=base / "b")
    return base / "a", base / "b"


class _CountedCar(CarBlocks):
    """A build directory's root.car that counts the blocks asked of it."""

    def __init__(self, path: Path):
        super().__init__(path)
        self.asked: list[CID] = []

    def block(self, cid: CID) -> bytes:
        self.asked.append(cid)
        return super().block(cid)


def test_sharded_roots_read_only_the_shards_that_differ(sharded, tmp_path: Path) -> None:
    a, b = sharded
    cids = [parse_cid((out / "ROOT").read_text().strip()) for out in (a, b)]
    cars = [_CountedCar(out / "root.car") for out in (a, b)]
    top = decode_node(cars[0].block(cids[0]))
    assert decode_unixfs(top.data or b"").type == HAMT_SHARD
    # Every shard of a root directory: the top one, its inner shards (2-character links)…
    shards = 1 + sum(len(link.name) == 2 for link in top.links)
    cars[0].asked.clear()

    found = PathResolver([cars[0]]).differences(*cids, PathResolver([cars[1]]))
    changed = sorted(name for name in found if name != "index.html")
    assert "brandnew" in changed and 3 <= len(changed) <= 12, changed
    # …of which only the top shard and the one or two below it on the path to each change
    # are read, in each root.
    asked = [len(car.asked) for car in cars]
    assert all(n <= 1 + 2 * len(found) for n in asked), asked
    assert sum(asked) < shards / 4, (asked, shards)

    # Every ROOT form gives the same diff, a gateway too, which sends only those blocks.
    store = _blocks_of(a, b)
    with trustless_server(store) as gateway:
        forms = {
            "build directories": [str(a), str(b)],
            "CAR files": [str(a / "root.car"), str(b / "root.car")],
            "CIDs": [str(cid) for cid in cids],
        }
        reports = {}
        for form, args in forms.items():
            cache = ["--cache-dir", str(tmp_path / form)]
            before = len(gateway.requests)
            result = runner.invoke(
                app, ["diff", *args, "--format", "json", "--gateway", gateway.url, *cache]
            )
            assert result.exit_code == 0, (form, result.stderr)
            reports[form] = json.loads(result.stdout)
            if form == "CIDs":
                blocks = [r for r in gateway.requests[before:] if "format=raw" in r]
                assert len(blocks) <= sum(asked) + 2, gateway.requests[before:]
    assert reports["build directories"] == reports["CAR files"] == reports["CIDs"]
    projects = reports["CIDs"]["projects"]
    assert [p["name"] for p in projects["added"]] == ["brandnew"]
    assert len(projects["removed"]) == len(projects["upgraded"]) == 1


def test_a_wheel_with_other_bytes_under_the_same_name_is_reported(tmp_path: Path) -> None:
    # Same project, version and file name; other bytes: the roots differ, and a reviewer
    # must see which wheel was swapped (not "no differences").
    outs = []
    for name, payload in (("a", b"one = 1\n"), ("b", b"one = 2\n")):
        wheel = make_wheel(
            tmp_path / f"{name}-wheels", "swapped", "1.0", files={"swapped.py": payload}
        )
        platforms = {"python-versions": ["3.11"], "systems": [LINUX]}
        write_collection(tmp_path / f"{name}-decl", [wheel], platforms=platforms)
        build_collection(tmp_path / f"{name}-decl", out=tmp_path / name)
        outs.append(tmp_path / name)
    text = runner.invoke(app, ["diff", *map(str, outs)])
    assert text.exit_code == 0, text.stderr
    assert "no differences" not in text.stdout
    assert "wheels with other bytes under the same name: 1" in text.stdout
    assert "  ! swapped-1.0-py3-none-any.whl Qm" in text.stdout
    doc = json.loads(runner.invoke(app, ["diff", *map(str, outs), "--format", "json"]).stdout)
    [replaced] = doc["replaced"]
    assert replaced["filename"] == "swapped-1.0-py3-none-any.whl"
    assert replaced["from"] != replaced["to"]
    assert doc["projects"] == {"added": [], "removed": [], "upgraded": [], "downgraded": []}
