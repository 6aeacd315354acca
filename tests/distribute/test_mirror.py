"""`wheelset mirror`, `gc`, names and `--follow` against real js-ipfs nodes.

The published root lives on the session node; mirrors go onto a second node started empty
by the test. Root blocks come from a trustless gateway of ours over the root's blocks (the
js-ipfs gateway is path-only); wheels from the session node's gateway, through a proxy
that records each body it delivers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from tests.distribute.conftest import http_proxy, unique_wheel
from tests.support.gateways import flip_one_byte
from tests.support.roots import PublishedRoot, build_test_root, publish_test_root, read_metadata
from tests.support.trustless import Tamper, trustless_server
from wheelset.cli import app
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.cid import CID, parse_cid
from wheelset.ipfs.importer import import_bytes
from wheelset.ipfs.rpc import KuboRpc


def _env(cache: Path) -> dict[str, str]:
    return {"WHEELSET_CACHE_DIR": str(cache), "WHEELSET_GATEWAY": "", "WHEELSET_API": ""}


def _cli(args: list[str], cache: Path):
    return CliRunner().invoke(app, [str(a) for a in args], env=_env(cache))


def _pins(api: str) -> set[CID]:
    with httpx.Client() as http:
        return {c.to_v1() for c in KuboRpc(api, http=http).pin_ls()}


def _wheel_cids(published: PublishedRoot) -> set[CID]:
    return {d.content_id.to_v1() for d in published.declarations.values()}


def _store(*roots: PublishedRoot) -> MemoryBlockStore:
    """Every block of the roots but the wheels': the builder's blocks and the METADATA
    files' (which a published root holds, but the test builder only links to)."""
    store = MemoryBlockStore()
    for root in roots:
        for cid, block in root.blocks.items():
            store.put(cid, block)
        for wheel in root.wheels.values():
            import_bytes(read_metadata(wheel), store=store)
    return store


def _publish(node, directory: Path, names: list[str]) -> PublishedRoot:
    wheels = [unique_wheel(directory, n, "1.0") for n in names]
    return publish_test_root(node.api_url, wheels)


def _run_cli(args: list[str], cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, **_env(cache)}
    return subprocess.Popen(
        [sys.executable, "-m", "wheelset.cli", *[str(a) for a in args]],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.2)


def test_mirror_onto_an_empty_node_killed_halfway_then_completed(
    ipfs_node, empty_node, tmp_path: Path
) -> None:
    published = _publish(ipfs_node, tmp_path / "w", ["m-one", "m-two", "m-three", "m-four"])
    wheels = _wheel_cids(published)
    cache = tmp_path / "cache"
    with (
        trustless_server(_store(published)) as blocks,
        http_proxy(ipfs_node.gateway_url, delay=3.0) as wheel_gateway,
    ):
        args = ["mirror", published.cid, "--api", empty_node.api_url, "--jobs", "1"]
        args += ["--gateway", blocks.url, "--gateway", wheel_gateway.url]
        first = _run_cli(args, cache)
        _wait(lambda: len(_pins(empty_node.api_url) & wheels) >= 1)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        held_after_kill = _pins(empty_node.api_url) & wheels
        assert 1 <= len(held_after_kill) < len(wheels)
        assert published.cid.to_v1() not in _pins(empty_node.api_url)

        second = _cli(args, cache)
        assert second.exit_code == 0, second.stderr
        assert second.stdout.strip() == str(published.cid)
        assert (
            f"{len(held_after_kill)} held, {len(wheels) - len(held_after_kill)} fetched, 0 failed"
            in second.stderr
        )

        pins = _pins(empty_node.api_url)
        assert wheels <= pins and published.cid.to_v1() in pins
        fetched = [p for p in wheel_gateway.delivered if p.startswith("/ipfs/")]
        assert sorted(fetched) == sorted(set(fetched)), "a wheel was fetched twice"
        assert {p.removeprefix("/ipfs/") for p in fetched} == {
            str(d.content_id) for d in published.declarations.values()
        }

        third = _cli(args, cache)
    assert third.exit_code == 0, third.stderr
    assert f"{len(wheels)} held, 0 fetched, 0 failed" in third.stderr
    # The second node now serves the root by itself: its gateway lists the projects.
    page = httpx.get(f"{empty_node.gateway_url}/ipfs/{published.cid}/", timeout=60).text
    assert "m-one" in page and "m-four" in page


def test_gc_after_two_roots_removes_only_the_first_roots_own_pins(
    ipfs_node, empty_node, tmp_path: Path
) -> None:
    directory = tmp_path / "w"
    shared = unique_wheel(directory, "g-shared", "1.0")
    old_only = [unique_wheel(directory, "g-old", "1.0"), unique_wheel(directory, "g-gone", "1.0")]
    new_only = [unique_wheel(directory, "g-new", "1.0")]
    first = publish_test_root(ipfs_node.api_url, [shared, *old_only])
    second = publish_test_root(ipfs_node.api_url, [shared, *new_only])
    cache = tmp_path / "cache"
    with httpx.Client() as http:
        foreign = KuboRpc(empty_node.api_url, http=http).add(b"not wheelset's", "x", pin=True)
    foreign_cid = foreign[-1].cid.to_v1()
    store = _store(first, second)
    with trustless_server(store) as blocks:
        for root in (first, second):
            done = _cli(
                [
                    "mirror",
                    root.cid,
                    "--api",
                    empty_node.api_url,
                    "--gateway",
                    blocks.url,
                    "--gateway",
                    ipfs_node.gateway_url,
                ],
                cache,
            )
            assert done.exit_code == 0, done.stderr
        gc = ["gc", "--api", empty_node.api_url, "--keep", second.cid, "--gateway", blocks.url]
        listed = _cli([*gc, "--dry-run"], cache)
        assert listed.exit_code == 0, listed.stderr
        expected = {first.cid.to_v1()} | {
            first.declarations[w.name].content_id.to_v1() for w in old_only
        }
        planned = {parse_cid(line.split()[2]).to_v1() for line in listed.stdout.splitlines()}
        assert planned == expected
        assert expected <= _pins(empty_node.api_url)

        removed = _cli(gc, cache)
    assert removed.exit_code == 0, removed.stderr
    pins = _pins(empty_node.api_url)
    assert not (pins & expected)
    assert _wheel_cids(second) <= pins and second.cid.to_v1() in pins
    assert foreign_cid in pins  # never wheelset's
    again = _cli(gc, cache)
    assert again.exit_code == 0 and again.stdout == ""


def test_follow_mirrors_each_new_root_and_releases_the_old_one(
    ipfs_node, empty_node, tmp_path: Path
) -> None:
    directory = tmp_path / "w"
    shared = unique_wheel(directory, "f-shared", "1.0")
    old = unique_wheel(directory, "f-old", "1.0")
    new = unique_wheel(directory, "f-new", "1.0")
    first = publish_test_root(ipfs_node.api_url, [shared, old])
    second = publish_test_root(ipfs_node.api_url, [shared, new])
    store = _store(first, second)
    cache = tmp_path / "cache"
    cars = {}
    for label, root in (("first", first), ("second", second)):
        cars[label] = tmp_path / f"{label}.car"
        cars[label].write_bytes(root.car_bytes())
    with httpx.Client() as http:
        http.post(
            f"{empty_node.api_url}/api/v0/key/gen", params={"arg": "wheels", "type": "ed25519"}
        )
    announced = _cli(
        ["announce", cars["first"], "--ipns", "wheels", "--api", empty_node.api_url], cache
    )
    assert announced.exit_code == 0, announced.stderr
    name = announced.stdout.strip()
    assert name.startswith("/ipns/")

    with trustless_server(store) as blocks:
        args = ["mirror", "--follow", name, "--api", empty_node.api_url, "--interval", "0.5"]
        args += ["--grace", "0s", "--gateway", blocks.url, "--gateway", ipfs_node.gateway_url]
        follower = _run_cli(args, cache)
        try:
            _wait(lambda: first.cid.to_v1() in _pins(empty_node.api_url))
            again = _cli(
                ["announce", cars["second"], "--ipns", "wheels", "--api", empty_node.api_url], cache
            )
            assert again.exit_code == 0, again.stderr
            old_cid = first.declarations[old.name].content_id.to_v1()
            _wait(
                lambda: (
                    second.cid.to_v1() in _pins(empty_node.api_url)
                    and old_cid not in _pins(empty_node.api_url)
                )
            )
        finally:
            follower.send_signal(signal.SIGTERM)
            _, stderr = follower.communicate(timeout=60)
    pins = _pins(empty_node.api_url)
    assert _wheel_cids(second) <= pins
    assert first.cid.to_v1() not in pins
    assert f"following {name}: now at {second.cid}" in stderr


def test_a_name_pointing_at_a_forged_root_is_refused(ipfs_node, tmp_path: Path) -> None:
    published = build_test_root([unique_wheel(tmp_path / "w", "forged", "1.0")])
    car = tmp_path / "root.car"
    car.write_bytes(published.car_bytes())
    cache = tmp_path / "cache"
    with httpx.Client() as http:
        http.post(
            f"{ipfs_node.api_url}/api/v0/key/gen", params={"arg": "forged", "type": "ed25519"}
        )
    # Announced from the CAR with a cache of its own: the mirror finds nothing cached.
    announced = _cli(
        ["announce", car, "--ipns", "forged", "--api", ipfs_node.api_url], tmp_path / "other"
    )
    assert announced.exit_code == 0, announced.stderr
    name = announced.stdout.strip()
    before = _pins(ipfs_node.api_url)
    lie = Tamper(
        raw=lambda cid, block: flip_one_byte(block),
        blocks=lambda blocks: [(cid, flip_one_byte(block)) for cid, block in blocks],
    )
    with trustless_server(_store(published), lie) as liar:
        result = _cli(["mirror", name, "--api", ipfs_node.api_url, "--gateway", liar.url], cache)
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"{name} resolves to /ipfs/{published.cid} (verified as that CID)"
    assert len(lines) == 2 and lines[1].startswith("error: "), result.stderr
    assert "does not match its CID" in lines[1]
    assert _pins(ipfs_node.api_url) == before


def test_a_node_that_refuses_pins_is_one_line_and_loses_nothing(ipfs_node, tmp_path: Path) -> None:
    published = build_test_root([unique_wheel(tmp_path / "w", n, "1.0") for n in ("r-a", "r-b")])
    cache = tmp_path / "cache"

    def refuse(path: str) -> bool:
        return path.startswith(("/api/v0/add", "/api/v0/pin/add", "/api/v0/dag/import"))

    before = _pins(ipfs_node.api_url)
    with (
        trustless_server(_store(published)) as blocks,
        http_proxy(ipfs_node.api_url, refuse=refuse) as node,
    ):
        for wheel in published.wheels.values():
            with httpx.Client() as http:  # the wheels are on the node, unpinned
                KuboRpc(ipfs_node.api_url, http=http).add(wheel.read_bytes(), wheel.name, pin=False)
        result = _cli(
            [
                "mirror",
                published.cid,
                "--api",
                node.url,
                "--gateway",
                blocks.url,
                "--gateway",
                ipfs_node.gateway_url,
            ],
            cache,
        )
    assert result.exit_code == 1 and result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if not line.startswith("mirroring")]
    assert len(lines) == 1 and lines[0].startswith("error: RPC ")
    assert "pinning is disabled on this node" in lines[0]
    assert _pins(ipfs_node.api_url) == before
    records = list((cache / "pins").glob("*.log"))
    assert all(r.read_text() == "" for r in records)
