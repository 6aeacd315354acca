"""`wheelset install OUT …` and `wheelset serve OUT` where OUT was built `--with-wheels`: the
wheels come from OUT's tree, verified, with no node and no gateway reachable; a damaged copy
falls back to the gateways."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.support.collection import write_collection
from tests.support.node import add_directory
from tests.support.sample_set import APP_FAST, make_sample_set
from tests.support.serving import running
from tests.support.venvs import installed, make_venv
from tests.support.wheels import make_wheel
from wheelset.cli import app
from wheelset.client import install
from wheelset.ipfs.importer import import_bytes
from wheelset.ipfs.rpc import KuboRpc
from wheelset.serve.app import IndexApp
from wheelset.serve.config import RootSpec, Settings

DEAD = "http://127.0.0.1:9"  # nothing listens there: every gateway request is refused
LIB_A = "lib_a-1.2-py3-none-any.whl"


def _env(cache: Path) -> dict[str, str]:
    """No node (WHEELSET_API unset), no local gateway probe, no configured gateway: only
    --gateway."""
    env = {k: v for k, v in os.environ.items() if k != "WHEELSET_API"}
    env.update(WHEELSET_LOCAL_GATEWAY="off", WHEELSET_CACHE_DIR=str(cache), WHEELSET_GATEWAY="")
    return env


def wheelset(args: list[object], cache: Path):
    env: dict[str, str | None] = {**_env(cache), "WHEELSET_API": None}
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("wheels")
    make_sample_set(directory)
    return directory


@pytest.fixture(scope="module")
def out(wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`wheelset build DECLARATIONS --out OUT --with-wheels --with-metadata` of the sample set
    (sources are file: URLs), with a cache of its own."""
    base = tmp_path_factory.mktemp("build")
    write_collection(base / "declarations", sorted(wheels.iterdir()), source_of=Path.as_uri)
    built = wheelset(
        ["build", base / "declarations", "--out", base / "out", "--with-wheels", "--with-metadata"],
        base / "build-cache",
    )
    assert built.exit_code == 0, built.stderr
    assert (base / "out" / "tree" / "lib-a" / LIB_A).is_file()
    return base / "out"


def _cache_files(cache: Path) -> list[Path]:
    return [p for p in (cache / "files").rglob("*") if p.is_file()]


@pytest.mark.parametrize("form", ["out", "out/tree"])
def test_install_from_a_build_directory_needs_no_gateway(
    out: Path, tmp_path: Path, form: str
) -> None:
    root = out if form == "out" else out / "tree"
    python = make_venv(tmp_path / "venv")
    cache = tmp_path / "cache"
    done = wheelset(["install", root, "app[fast]", "--gateway", DEAD, "--python", python], cache)
    assert done.exit_code == 0, done.stderr
    assert installed(tmp_path / "venv") == APP_FAST
    assert "0 fetched, 0 from cache, 5 from the build directory" in done.stdout
    assert done.stderr == ""  # no warning: every copy verified
    # Read from the user's own disk: kept only unpacked, as a node's wheels.
    assert _cache_files(cache) == []
    assert len(list((cache / "unpacked").iterdir())) == 5
    imported = subprocess.run(
        [python, "-c", "import app, speedup; print(app.__version__, speedup.NATIVE)"],
        capture_output=True,
        text=True,
    )
    assert imported.stdout == "1.0 True\n", imported.stderr


def test_the_command_line_install_loads_no_http_client(out: Path, tmp_path: Path) -> None:
    """The real command (its fast path): nothing of the network is loaded when the build
    directory holds every wheel."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "wheelset.cli", "install", str(out),
         "app[fast]", "--gateway", DEAD, "--python", str(make_venv(tmp_path / "venv"))],
        capture_output=True, text=True, env=_env(tmp_path / "cache"),
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert installed(tmp_path / "venv") == APP_FAST
    assert "5 from the build directory" in done.stdout
    loaded = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
    assert "wheelset.client.install" in loaded
    assert [m for m in loaded if m.split(".")[0] in ("httpx", "httpcore", "h11")] == []


def test_a_large_wheel_is_verified_into_the_cache(
    out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above IN_MEMORY_WHEEL a copy is verified on its way into the cache, and unpacked from
    there: what is unpacked is what was verified."""
    monkeypatch.setattr(install, "IN_MEMORY_WHEEL", 0)
    cache = tmp_path / "cache"
    done = wheelset(
        ["install", out, "lib-a", "--gateway", DEAD, "--python", make_venv(tmp_path / "venv")],
        cache,
    )
    assert done.exit_code == 0, done.stderr
    assert installed(tmp_path / "venv") == {"lib-a": "1.2", "lib-c": "3.0"}
    kept = {p.name: p.read_bytes() for p in _cache_files(cache)}
    assert kept[LIB_A] == (out / "tree" / "lib-a" / LIB_A).read_bytes()
    assert len(kept) == 2


def _damaged_copy(out: Path, into: Path) -> Path:
    """A copy of OUT whose lib-a wheel had one byte changed (same size)."""
    shutil.copytree(out, into)
    wheel = into / "tree" / "lib-a" / LIB_A
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wheel.write_bytes(bytes(data))
    return into


def test_a_damaged_copy_with_no_gateway_installs_nothing(
    out: Path, wheels: Path, tmp_path: Path
) -> None:
    damaged = _damaged_copy(out, tmp_path / "out")
    python = make_venv(tmp_path / "venv")
    cache = tmp_path / "cache"
    done = wheelset(["install", damaged, "app[fast]", "--gateway", DEAD, "--python", python], cache)
    assert done.exit_code != 0
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: ") and LIB_A in line and "nothing was installed" in line
    assert f"{damaged / 'tree' / 'lib-a' / LIB_A}: content-id is " in line
    assert installed(tmp_path / "venv") == {}
    assert not (cache / "unpacked" / str(import_bytes((wheels / LIB_A).read_bytes()).cid)).exists()


def test_a_damaged_or_missing_copy_comes_from_a_gateway(
    out: Path, wheels: Path, ipfs_node, tmp_path: Path
) -> None:
    """The next source is used for what the tree cannot give: a damaged copy (with a
    warning) and a missing one; the rest still comes from the tree."""
    add_directory(ipfs_node.api_url, wheels)  # the node's gateway then serves every wheel
    damaged = _damaged_copy(out, tmp_path / "out")
    (damaged / "tree" / "lib-b" / "lib_b-0.5-py3-none-any.whl").unlink()
    python = make_venv(tmp_path / "venv")
    done = wheelset(
        ["install", damaged / "tree", "app[fast]", "--gateway", DEAD, "--gateway",
         ipfs_node.gateway_url, "--python", python],
        tmp_path / "cache",
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert installed(tmp_path / "venv") == APP_FAST
    assert "2 fetched, 0 from cache, 3 from the build directory" in done.stdout
    (warning,) = [w for w in done.stderr.splitlines() if "tree" in w]
    assert warning.startswith(f"warning: {LIB_A}: {damaged / 'tree' / 'lib-a' / LIB_A}: ")
    good = (wheels / LIB_A).read_bytes()
    assert {p.name: p.read_bytes() for p in _cache_files(tmp_path / "cache")}[LIB_A] == good


def test_seed_adds_the_build_directory_wheels(ipfs_node, tmp_path: Path) -> None:
    """install --seed from a build directory adds its wheels to the node from the cache: the
    node does not hold them, and their declared source is gone (air-gapped)."""
    # Bytes of this run only: the session's node holds no copy of them.
    unique = {"seeded/__init__.py": f"RUN = {os.urandom(8).hex()!r}\n".encode()}
    wheel = make_wheel(tmp_path / "w", "seeded", "1.0", files=unique)
    write_collection(tmp_path / "declarations", [wheel], source_of=Path.as_uri)
    build = ["build", tmp_path / "declarations", "--out", tmp_path / "out", "--with-wheels"]
    assert wheelset(build, tmp_path / "build-cache").exit_code == 0
    wheel.unlink()
    done = wheelset(
        ["install", tmp_path / "out", "seeded", "--target", tmp_path / "t", "--gateway", DEAD,
         "--api", ipfs_node.api_url, "--seed", "--timeout", "2"],
        tmp_path / "cache",
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert (tmp_path / "t" / "seeded" / "__init__.py").is_file()
    assert "1 added and pinned, 0 pinned from the node's own blocks" in done.stderr
    with httpx.Client() as http:
        pins = {c.to_v1() for c in KuboRpc(ipfs_node.api_url, http=http).pin_ls()}
    built = (tmp_path / "out" / "tree" / "seeded" / wheel.name).read_bytes()
    assert import_bytes(built).cid.to_v1() in pins


def _serving(root: Path, cache: Path) -> IndexApp:
    return IndexApp(Settings(roots=(RootSpec("", str(root)),), gateways=(DEAD,), cache_dir=cache))


def test_serve_sends_the_build_directory_files_with_no_gateway(
    out: Path, wheels: Path, tmp_path: Path
) -> None:
    with running(_serving(out, tmp_path / "cache")) as origin, httpx.Client() as http:
        wheel = http.get(f"{origin}/simple/lib-a/{LIB_A}")
        metadata = http.get(f"{origin}/simple/lib-a/{LIB_A}.metadata")
    assert wheel.status_code == 200, wheel.text
    assert wheel.content == (wheels / LIB_A).read_bytes()
    assert metadata.status_code == 200, metadata.text
    assert metadata.content == (out / "tree" / "lib-a" / f"{LIB_A}.metadata").read_bytes()
    assert b"Name: lib-a" in metadata.content


def test_serve_never_sends_a_damaged_copy(out: Path, tmp_path: Path) -> None:
    damaged = _damaged_copy(out, tmp_path / "out")
    with running(_serving(damaged, tmp_path / "cache")) as origin, httpx.Client() as http:
        wheel = http.get(f"{origin}/simple/lib-a/{LIB_A}")
        metrics = http.get(f"{origin}/metrics").text
    assert wheel.status_code == 502
    assert LIB_A in wheel.text and "127.0.0.1:9" in wheel.text
    assert "wheelset_serve_verification_failures_total 1" in metrics
    assert _cache_files(tmp_path / "cache") == []
