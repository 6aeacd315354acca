"""`publish --cluster/--ipns`, gc after two publishes, and `install --seed`, on the real node.

The Cluster is a loopback stand-in implementing the REST endpoints as documented, pinning
on the real test node behind it (no Cluster daemon is installable here).
"""

from __future__ import annotations

from pathlib import Path

import httpx
from typer.testing import CliRunner

from tests.distribute.conftest import unique_wheel
from tests.support.cluster import ClusterState, serve_cluster
from tests.support.collection import write_collection
from tests.support.index import serve_directory, write_index
from tests.support.roots import build_test_root
from wheelset.cli import app
from wheelset.ipfs.cid import CID, parse_cid
from wheelset.ipfs.rpc import KuboRpc
from wheelset.model.declarations import Declaration


def _cli(args: list[str], cache: Path):
    env = {"WHEELSET_CACHE_DIR": str(cache), "WHEELSET_GATEWAY": "", "WHEELSET_API": ""}
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def _pins(api: str) -> set[CID]:
    with httpx.Client() as http:
        return {c.to_v1() for c in KuboRpc(api, http=http).pin_ls()}


def test_publish_two_roots_through_a_cluster_and_a_name_then_gc(ipfs_node, tmp_path: Path) -> None:
    directory = tmp_path / "w"
    shared = unique_wheel(directory, "p-shared", "1.0")
    old = unique_wheel(directory, "p-old", "1.0")
    new = unique_wheel(directory, "p-new", "1.0")
    write_collection(tmp_path / "first", [shared, old])
    write_collection(tmp_path / "second", [shared, new])
    write_index(tmp_path / "site", [shared, old, new])
    cache = tmp_path / "cache"
    httpx.post(f"{ipfs_node.api_url}/api/v0/key/gen", params={"arg": "pub", "type": "ed25519"})
    state = ClusterState(token="sesame", node_api=ipfs_node.api_url)
    roots = []
    with serve_directory(tmp_path / "site") as base, serve_cluster(state) as cluster:
        for collection in ("first", "second"):
            result = _cli(
                [
                    "publish",
                    tmp_path / collection,
                    "--api",
                    ipfs_node.api_url,
                    "--from-sources",
                    "--index-url",
                    f"{base}/simple",
                    "--cluster",
                    cluster,
                    "--token",
                    "sesame",
                    "--replication-min",
                    "1",
                    "--replication-max",
                    "2",
                    "--ipns",
                    "pub",
                ],
                cache,
            )
            assert result.exit_code == 0, result.stderr
            assert "cluster: pinned on 1 peers" in result.stderr
            roots.append(parse_cid(result.stdout.strip()))
    posts = [(path, query) for method, path, query in state.requests if method == "POST"]
    assert [path for path, _ in posts] == [f"/pins/{roots[0]}", f"/pins/{roots[1]}"]
    assert posts[0][1]["replication-min"] == "1" and posts[0][1]["replication-max"] == "2"
    assert "pin-update" not in posts[0][1] and posts[1][1]["pin-update"] == str(roots[0])
    assert f"(an update of {roots[0]})" in result.stderr
    name = next(line.split()[0] for line in result.stderr.splitlines() if "/ipns/" in line)

    # gc keeps what the name points at now (the second root): the first root and its own
    # wheel go, the shared wheel stays.
    gc = _cli(["gc", "--api", ipfs_node.api_url, "--keep", name], cache)
    assert gc.exit_code == 0, gc.stderr
    assert f"{name} resolves to /ipfs/{roots[1]}" in gc.stderr
    unpinned = {parse_cid(line.split()[1]).to_v1() for line in gc.stdout.splitlines()}
    old_cid = next(c for c in _cids(tmp_path / "first") if c not in _cids(tmp_path / "second"))
    assert unpinned == {roots[0].to_v1(), old_cid}
    pins = _pins(ipfs_node.api_url)
    assert roots[1].to_v1() in pins and _cids(tmp_path / "second") <= pins
    assert not ({roots[0].to_v1(), old_cid} & pins)


def _cids(collection: Path) -> set[CID]:
    from wheelset.model.collection import read_collection

    return {d.content_id.to_v1() for d in read_collection(collection)[1]}


def test_a_cluster_peer_that_fails_is_one_line(ipfs_node, tmp_path: Path) -> None:
    wheel = unique_wheel(tmp_path / "w", "c-fail", "1.0")
    write_collection(tmp_path / "c", [wheel])
    cache = tmp_path / "cache"
    with httpx.Client(timeout=60) as http:  # on the node, so publish can pin it by CID
        KuboRpc(ipfs_node.api_url, http=http).add(wheel.read_bytes(), wheel.name, pin=False)
    built = _cli(["build", tmp_path / "c"], cache)
    assert built.exit_code == 0, built.stderr
    state = ClusterState(token="sesame", node_api=ipfs_node.api_url, fail={built.stdout.strip()})
    with serve_cluster(state) as cluster:
        wrong = _cli(
            [
                "publish",
                tmp_path / "c",
                "--cluster",
                cluster,
                "--token",
                "nope",
                "--api",
                ipfs_node.api_url,
            ],
            cache,
        )
        failed = _cli(
            [
                "publish",
                tmp_path / "c",
                "--cluster",
                cluster,
                "--token",
                "sesame",
                "--api",
                ipfs_node.api_url,
            ],
            cache,
        )
    assert wrong.exit_code == 1 and wrong.stdout == ""
    assert wrong.stderr.splitlines()[-1].startswith("error: CLUSTER the cluster refused POST")
    assert failed.exit_code == 1 and failed.stdout == ""
    last = failed.stderr.splitlines()[-1]
    assert last.startswith(f"error: CLUSTER the cluster could not pin {built.stdout.strip()}")
    assert "pin_error context deadline exceeded" in last


def test_install_seed_leaves_the_wheels_pinned(ipfs_node, tmp_path: Path) -> None:
    """A wheel in the wheel cache is added from there; one the install read from the node
    (not cached: the node holds it) is pinned by content-id, without being fetched again."""
    wheels = [unique_wheel(tmp_path / "w", n, "1.0") for n in ("s-one", "s-two")]
    published = build_test_root(wheels)
    with httpx.Client(timeout=60) as http:
        rpc = KuboRpc(ipfs_node.api_url, http=http)
        for wheel in wheels:  # on the node, but nobody pins them
            rpc.add(wheel.read_bytes(), wheel.name, pin=False)
        rpc.dag_import(published.car_bytes(), pin_roots=False)
    cids = {d.content_id.to_v1() for d in published.declarations.values()}
    assert not (cids & _pins(ipfs_node.api_url))
    cache = tmp_path / "cache"
    # s-one with the root from its CAR and the wheel through the gateway: the wheel file
    # lands in the wheel cache.
    car = tmp_path / "root.car"
    car.write_bytes(published.car_bytes())
    first = _cli(
        ["install", car, "s-one", "--target", tmp_path / "first", "--gateway",
         ipfs_node.gateway_url],
        cache,
    )  # fmt: skip
    assert first.exit_code == 0, first.stderr
    result = _cli(
        [
            "install",
            published.cid,
            "s-one",
            "s-two",
            "--target",
            tmp_path / "target",
            "--api",
            ipfs_node.api_url,
            "--seed",
        ],
        cache,
    )
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "target" / "s_one" / "__init__.py").is_file()
    assert (
        "1 added and pinned, 1 pinned from the node's own blocks, 0 already pinned" in result.stderr
    )
    assert cids <= _pins(ipfs_node.api_url)
    # Recorded as wheelset's: gc keeping nothing of them would release them.
    other = build_test_root([unique_wheel(tmp_path / "o", "s-other", "1.0")])
    other_car = tmp_path / "other.car"
    other_car.write_bytes(other.car_bytes())
    listed = _cli(["gc", "--api", ipfs_node.api_url, "--keep", other_car, "--dry-run"], cache)
    assert listed.exit_code == 0, listed.stderr
    assert {parse_cid(line.split()[2]).to_v1() for line in listed.stdout.splitlines()} == cids


def test_seed_adds_a_wheel_the_node_cannot_pin(ipfs_node, tmp_path: Path) -> None:
    """Neither in the wheel cache nor on the node: the pin by content-id fails (in time),
    and the wheel is fetched and added instead."""
    from wheelset.build.publish import ADDED
    from wheelset.distribute.pins import PinRecord
    from wheelset.distribute.seed import seed_wheels

    wheel = unique_wheel(tmp_path / "w", "s-absent", "1.0")
    decl = build_test_root([wheel]).declarations[wheel.name]
    fetched: list[str] = []

    def fetched_file(d: Declaration) -> Path:
        fetched.append(d.filename)
        return wheel

    record = PinRecord(tmp_path / "pins.log")
    with httpx.Client(timeout=60) as http:
        rpc = KuboRpc(ipfs_node.api_url, http=http)
        report = seed_wheels(
            rpc,
            record,
            [decl],
            cached_file=lambda d: None,
            fetched_file=fetched_file,
            why="test",
            pin_timeout=1,
        )
    assert [o.status for o in report.outcomes] == [ADDED]
    assert fetched == [wheel.name]
    assert decl.content_id.to_v1() in _pins(ipfs_node.api_url)
    assert record.pins() == {decl.content_id: "test"}
