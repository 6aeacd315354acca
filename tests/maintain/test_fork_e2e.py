"""Forks end to end against the real test node and real indexes on 127.0.0.1.

upstream collection -> publish -> init --from -> same root -> prune to 3 projects -> a
private wheel from a password-protected index -> check, build, publish -> install from the
fork's root -> upstream upgrades -> sync brings them in, a local override is a conflict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import tomli_w
from typer.testing import CliRunner

from tests.support.index import serve_directory, serve_protected, write_index
from tests.support.wheels import make_wheel
from wheelset.cli import app

USER, PASSWORD = "ci", "pr1vate-pa55"
PLATFORMS = {"python-versions": ["3.11", "3.12"], "systems": ["manylinux_2_28_x86_64"]}


def _run(*args: str, env: dict[str, str] | None = None, code: int = 0):
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result


def _root_of(result) -> str:
    return result.stdout.strip().splitlines()[-1]


def _versions(collection: Path) -> dict[str, str]:
    found = {}
    for path in collection.glob("*/*/*.toml"):
        found[path.parent.name] = path.name.split("-")[1]
    return found


@pytest.fixture
def world(tmp_path: Path, ipfs_node, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("WHEELSET_LOCAL_GATEWAY", "off")
    # Root blocks from the node's RPC: its gateway is path-only (it serves the wheels).
    monkeypatch.setenv("WHEELSET_API", ipfs_node.api_url)
    wheels = tmp_path / "wheels"
    public = [
        make_wheel(wheels, "alpha", "1.0"),
        make_wheel(wheels, "alpha", "1.1"),
        make_wheel(wheels, "beta", "1.0", requires_dist=["alpha>=1.0"]),
        make_wheel(wheels, "gamma", "1.0", requires_dist=["beta"]),
        make_wheel(wheels, "gamma", "1.1", requires_dist=["beta"]),
        make_wheel(wheels, "gamma", "1.2", requires_dist=["beta"]),
        make_wheel(wheels, "delta", "1.0"),
        make_wheel(wheels, "epsilon", "1.0", requires_dist=["delta"]),
    ]
    write_index(tmp_path / "public", public)
    private_wheel = make_wheel(
        tmp_path / "private-wheels", "internal-tool", "0.1", requires_dist=["gamma"]
    )
    write_index(tmp_path / "private", [private_wheel])
    with (
        serve_directory(tmp_path / "public") as public_url,
        serve_protected(tmp_path / "private", USER, PASSWORD) as private_url,
    ):
        yield {
            "tmp": tmp_path,
            "node": ipfs_node,
            "index": f"{public_url}/simple",
            "private": private_url,
            "private_wheel": private_wheel.name,
        }


def _publish(collection: Path, w: dict, env: dict[str, str] | None = None) -> str:
    result = _run(
        "publish",
        str(collection),
        "--api",
        w["node"].api_url,
        "--from-sources",
        "--index-url",
        w["index"],
        env=env,
    )
    return _root_of(result)


def test_fork_workflow(world: dict) -> None:
    w, tmp = world, world["tmp"]
    gw = ["--gateway", w["node"].gateway_url]
    upstream = tmp / "upstream"
    upstream.mkdir()
    (upstream / "platforms.toml").write_text(tomli_w.dumps(PLATFORMS))
    _run(
        "declare",
        "alpha==1.0",
        "beta==1.0",
        "gamma==1.0",
        "delta==1.0",
        "epsilon==1.0",
        "--into",
        str(upstream),
        "--index-url",
        w["index"],
    )
    root_a = _publish(upstream, w)

    fork = tmp / "fork"
    _run("init", str(fork), "--from", root_a, *gw)
    assert (fork / "upstream.toml").read_text().count(root_a) == 1
    assert _root_of(_run("build", str(fork))) == root_a

    pruned = _run("prune", str(fork), "--keep", "gamma")
    assert "removed: delta 1.0" in pruned.stdout and "removed: epsilon 1.0" in pruned.stdout
    assert _versions(fork) == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0"}

    # A private wheel whose server wants basic auth: the credentials written in the URL go
    # with that download only (netrc entries reach only an index's port or the default
    # one), and the declaration records the URL without them. publish then finds the
    # verified wheel in the cache by its CID.
    authed = w["private"].replace("http://", f"http://{USER}:{PASSWORD}@")
    _run("declare", f"{authed}/files/{w['private_wheel']}", "--into", str(fork))
    assert PASSWORD not in "".join(p.read_text() for p in fork.rglob("*.toml"))
    _run("check", str(fork))
    root_b = _publish(fork, w)
    assert root_b != root_a

    target = tmp / "target"
    _run("install", root_b, "internal-tool", "--target", str(target), *gw)
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import internal_tool, gamma, beta, alpha; print(gamma.__version__)",
        ],
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
    )
    assert probe.returncode == 0 and probe.stdout.strip() == "1.0", probe.stderr

    # Upstream moves on: alpha 1.0 -> 1.1 and gamma 1.0 -> 1.1; the fork took gamma 1.2.
    _run(
        "declare",
        "alpha==1.1",
        "gamma==1.1",
        "--replace",
        "--into",
        str(upstream),
        "--index-url",
        w["index"],
    )
    root_c = _publish(upstream, w)
    _run("declare", "gamma==1.2", "--replace", "--into", str(fork), "--index-url", w["index"])
    synced = _run("sync", str(fork), "--from", root_c, *gw, code=1)
    assert "taken from upstream: alpha (1.0 -> 1.1)" in synced.stdout
    assert "conflict: gamma (fork has 1.2, upstream went 1.0 -> 1.1)" in synced.stderr
    assert _versions(fork) == {
        "alpha": "1.1",
        "beta": "1.0",
        "gamma": "1.2",
        "internal-tool": "0.1",
    }
    # The conflict is not forgotten: the record stays at the old root until it is resolved.
    record = (fork / "upstream.toml").read_text()
    assert root_a in record and root_c not in record and 'keep = [\n    "gamma",\n]' in record
    again = _run("sync", str(fork), "--from", root_c, *gw, code=1)
    assert "conflict: gamma (fork has 1.2, upstream went 1.0 -> 1.1)" in again.stderr
    _run("declare", "gamma==1.1", "--replace", "--into", str(fork), "--index-url", w["index"])
    resolved = _run("sync", str(fork), "--from", root_c, *gw)
    assert "conflict" not in resolved.stderr
    assert root_c in (fork / "upstream.toml").read_text()
    # upstream's delta and epsilon were pruned: they stay out, and are not reported.
    assert "delta" not in resolved.stdout + again.stdout
    assert _versions(fork)["gamma"] == "1.1" and "delta" not in _versions(fork)
    _run("check", str(fork))


def test_init_refuses_a_root_without_manifest(world: dict) -> None:
    w, tmp = world, world["tmp"]
    plain = httpx.post(
        f"{w['node'].api_url}/api/v0/add",
        params={"wrap-with-directory": "true"},
        files=[("file", ("hello.txt", b"hi\n"))],
        timeout=30,
    )
    root = json.loads(plain.text.splitlines()[-1])["Hash"]
    result = _run(
        "init", str(tmp / "f1"), "--from", root, "--gateway", w["node"].gateway_url, code=1
    )
    assert "wheelset.json" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp / "f1").exists()


def test_init_refuses_a_version_1_root(world: dict) -> None:
    w, tmp = world, world["tmp"]
    manifest = {"format": "wheelset-manifest", "version": 1, "platforms": {}, "declarations": []}
    added = httpx.post(
        f"{w['node'].api_url}/api/v0/add",
        params={"wrap-with-directory": "true"},
        files=[("file", ("wheelset.json", json.dumps(manifest).encode()))],
        timeout=30,
    )
    root = json.loads(added.text.splitlines()[-1])["Hash"]
    result = _run(
        "init", str(tmp / "f2"), "--from", root, "--gateway", w["node"].gateway_url, code=1
    )
    assert "version 1 root" in result.stderr and "wheelset build" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp / "f2").exists()


def test_prune_that_would_break_the_closure(world: dict) -> None:
    w, tmp = world, world["tmp"]
    collection = tmp / "c"
    collection.mkdir()
    (collection / "platforms.toml").write_text(tomli_w.dumps(PLATFORMS))
    _run(
        "declare", "gamma==1.0", "beta==1.0", "--into", str(collection), "--index-url", w["index"]
    )  # beta needs alpha, which is not declared
    before = sorted(p.name for p in collection.rglob("*.toml"))
    result = _run("prune", str(collection), "--keep", "gamma", code=1)
    assert "PRUNE" in result.stderr and "alpha" in result.stderr
    assert sorted(p.name for p in collection.rglob("*.toml")) == before
    unknown = _run("prune", str(collection), "--keep", "nosuch", code=1)
    assert "no such project" in unknown.stderr
