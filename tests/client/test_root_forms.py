"""Every ROOT form gives the same result in every command that takes a ROOT (issue 12).

Forms: a CID, /ipfs/<cid>, ipfs://<cid>, a build directory OUT, its OUT/tree, a CAR file.
Commands: init, install --dry-run, export, serve, diff, sync. The CID forms are read from
a trustless gateway on 127.0.0.1 (blocks only), each run with a fresh cache, so no form
borrows another's blocks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.support.roots import PublishedRoot, build_test_root
from tests.support.trustless import RunningTrustless, trustless_server
from tests.support.venvs import isolated_env
from tests.support.wheels import make_wheel
from wheelset.cli import app
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.gateway import DEFAULT_GATEWAYS
from wheelset.ipfs.importer import import_bytes

FORMS = ("cid", "/ipfs/cid", "ipfs://cid", "OUT", "OUT/tree", "CAR")
PLATFORM = "cp311-manylinux_2_28_x86_64"


@dataclass
class World:
    a: PublishedRoot
    b: PublishedRoot
    gateway: RunningTrustless
    base: Path

    def form(self, root: PublishedRoot, form: str) -> str:
        name = "a" if root is self.a else "b"
        if form == "cid":
            return str(root.cid)
        if form == "/ipfs/cid":
            return f"/ipfs/{root.cid}"
        if form == "ipfs://cid":
            return f"ipfs://{root.cid}"
        if form == "OUT":
            return str(self.base / f"out-{name}")
        if form == "OUT/tree":
            return str(self.base / f"out-{name}" / "tree")
        return str(self.base / f"{name}.car")

    def fresh(self) -> Path:
        """A fresh, empty directory (a cache, a target)."""
        self.base.joinpath("fresh").mkdir(exist_ok=True)
        count = len(list(self.base.joinpath("fresh").iterdir()))
        path = self.base / "fresh" / str(count)
        path.mkdir()
        return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("forms")
    wheels = base / "wheels"
    a = build_test_root(
        [
            make_wheel(wheels, "alpha", "1.0", requires_dist=["beta>=2"]),
            make_wheel(wheels, "beta", "2.0"),
            make_wheel(wheels, "gamma", "0.1"),
        ]
    )
    b = build_test_root(
        [
            make_wheel(wheels, "alpha", "1.1", requires_dist=["beta>=2"]),
            make_wheel(wheels, "beta", "2.0"),
            make_wheel(wheels, "delta", "1.0"),
        ]
    )
    store = MemoryBlockStore()
    for root, name in ((a, "a"), (b, "b")):
        for cid, block in root.blocks.items():
            store.put(cid, block)
        for wheel in root.wheels.values():
            import_bytes(wheel.read_bytes(), store=store)
        root.write_build_dir(base / f"out-{name}")
        (base / f"{name}.car").write_bytes(root.car_bytes())
    with trustless_server(store) as gateway:
        yield World(a, b, gateway, base)


def wheelset(world: World, *args: str) -> str:
    env = {"WHEELSET_LOCAL_GATEWAY": "off", "WHEELSET_GATEWAY": "", "WHEELSET_API": ""}
    cache = ["--cache-dir", str(world.fresh()), "--gateway", world.gateway.url]
    result = CliRunner().invoke(app, [*args, *cache], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def same_for_every_form(run) -> None:
    results = {form: run(form) for form in FORMS}
    first = results[FORMS[0]]
    assert first  # something was produced
    for form, result in results.items():
        assert result == first, form


def test_install_dry_run(world: World) -> None:
    def run(form: str) -> str:
        target = world.fresh()
        out = wheelset(world, "install", world.form(world.a, form), "alpha", "--dry-run",
                       "--target", str(target))  # fmt: skip
        return out.replace(str(target), "TARGET")

    same_for_every_form(run)
    assert "beta 2.0" in run("cid") and "gamma" not in run("cid")


def test_export(world: World) -> None:
    same_for_every_form(
        lambda form: wheelset(
            world, "export", world.form(world.a, form), "alpha", "--platform", PLATFORM
        )
    )


def test_diff(world: World) -> None:
    def run(form: str) -> str:
        return wheelset(world, "diff", world.form(world.a, form), world.form(world.b, form))

    same_for_every_form(run)
    out = run("CAR")
    assert "^ alpha 1.0 -> 1.1" in out and "- gamma 0.1" in out and "+ delta 1.0" in out


def test_init(world: World) -> None:
    def run(form: str) -> dict[str, bytes]:
        target = world.fresh() / "fork"
        wheelset(world, "init", str(target), "--from", world.form(world.a, form))
        return tree(target)

    same_for_every_form(run)
    assert any(name.endswith("gamma-0.1-py3-none-any.toml") for name in run("OUT"))


def test_sync(world: World) -> None:
    origin = world.fresh() / "fork"
    wheelset(world, "init", str(origin), "--from", str(world.a.cid))

    def run(form: str) -> dict[str, bytes]:
        fork = world.fresh() / "fork"
        shutil.copytree(origin, fork)
        env = {"WHEELSET_LOCAL_GATEWAY": "off", "WHEELSET_GATEWAY": "", "WHEELSET_API": ""}
        args = ["sync", str(fork), "--from", world.form(world.b, form)]
        args += ["--cache-dir", str(world.fresh()), "--gateway", world.gateway.url]
        result = CliRunner().invoke(app, args, env=env)
        assert "synced to" in result.stdout, result.output
        return tree(fork)

    same_for_every_form(run)
    names = run("ipfs://cid")
    assert any("delta-1.0" in n for n in names) and not any("gamma" in n for n in names)


def test_serve(world: World) -> None:
    def run(form: str) -> tuple[str, str, str]:
        env = {
            **isolated_env(),
            "WHEELSET_LOCAL_GATEWAY": "off",
            "WHEELSET_CACHE_DIR": str(world.fresh()),
        }
        env.pop("WHEELSET_API", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "wheelset.cli", "serve", world.form(world.a, form),
             "--port", "0", "--gateway", world.gateway.url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:"), process.stderr and process.stderr.read()
            pages = (
                httpx.get(url, timeout=10).text,
                httpx.get(url + "alpha/", timeout=10).text,
                httpx.get(
                    url + "beta/",
                    headers={"Accept": "application/vnd.pypi.simple.v1+json"},
                    timeout=10,
                ).text,
            )
        finally:
            os.kill(process.pid, 2)
            process.communicate(timeout=20)
        return pages

    same_for_every_form(run)
    assert 'href="gamma/"' in run("OUT/tree")[0]


@pytest.mark.parametrize("command", ["export", "serve"])
def test_a_truncated_car_is_not_completed_from_public_gateways(world: World, command: str) -> None:
    """A CAR is the air-gapped form: with no gateway configured, a block the file lacks is
    an error naming the file; the default public gateways are not asked."""
    car = world.fresh() / "cut.car"
    car.write_bytes(world.a.car_bytes()[:200])
    env = {**isolated_env(), "WHEELSET_LOCAL_GATEWAY": "off", "WHEELSET_GATEWAY": ""}
    env.pop("WHEELSET_API", None)
    args = [
        sys.executable,
        "-m",
        "wheelset.cli",
        command,
        str(car),
        "--cache-dir",
        str(world.fresh()),
    ]
    args += ["alpha"] if command == "export" else ["--port", "0"]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    message = result.stderr.strip()
    assert message.count("\n") == 0 and str(car) in message
    assert not any(host in message for host in DEFAULT_GATEWAYS)
    if command == "export":  # a gateway the user names still serves what the file lacks
        result = subprocess.run(
            [*args, "--gateway", world.gateway.url], env=env, capture_output=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
