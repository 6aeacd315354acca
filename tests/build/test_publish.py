"""`wheelset publish` to the real test node, then real pip installing through its gateway."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.support.collection import write_collection
from tests.support.index import serve_directory, write_index
from tests.support.pinning_service import PinningServiceState, serve_pinning_service
from tests.support.wheels import make_wheel
from wheelset.cli import app
from wheelset.ipfs.cid import parse_cid
from wheelset.ipfs.rpc import KuboRpc

runner = CliRunner()


def _wheel(directory: Path, name: str, version: str, **kwargs) -> Path:
    """A real wheel whose bytes are unique to this test run (the node is shared)."""
    module = name.replace("-", "_")
    files = {
        f"{module}/__init__.py": f'__version__ = "{version}"\nRUN = "{uuid.uuid4()}"\n'.encode()
    }
    return make_wheel(directory, name, version, files=files, **kwargs)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def wheels(tmp_path: Path) -> list[Path]:
    out = tmp_path / "wheels"
    return [
        _wheel(out, "alpha", "1.0"),
        _wheel(out, "beta", "2.0", requires_dist=["alpha>=1"]),
        _wheel(out, "gamma", "0.1", requires_python=">=3.8"),
    ]


@pytest.fixture
def collection(tmp_path: Path, wheels: list[Path]) -> Path:
    write_collection(tmp_path / "declarations", wheels)
    return tmp_path / "declarations"


@contextmanager
def serve_index(root: Path, wheels: list[Path]) -> Iterator[str]:
    write_index(root, wheels)
    with serve_directory(root) as base:
        yield f"{base}/simple"


@contextmanager
def logging_proxy(upstream: str) -> Iterator[tuple[str, list[str]]]:
    """An HTTP proxy to ``upstream`` on 127.0.0.1 that records every path asked for."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.path)
            response = httpx.get(upstream + self.path, follow_redirects=True, timeout=60)
            self.send_response(response.status_code)
            kind = response.headers.get("content-type", "application/octet-stream")
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _pip(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Real pip in ``venv`` with only the given index: no config, env or cache leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    return subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "--isolated", "--no-cache-dir", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _publish(*args: str):
    return runner.invoke(app, ["publish", *args])


def test_publish_from_sources_then_pip_installs_through_the_gateway(
    collection: Path, wheels: list[Path], tmp_path: Path, ipfs_node
) -> None:
    with serve_index(tmp_path / "site", wheels) as index:
        args = [str(collection), "--api", ipfs_node.api_url, "--from-sources"]
        args += ["--index-url", index, "--with-metadata"]
        result = _publish(*args)
        assert result.exit_code == 0, result.stderr
        root = result.stdout.strip()
        assert (
            "pinned on" in result.stderr and "3 added, 0 pinned, 0 already there" in result.stderr
        )

        again = _publish(*args)
        assert again.exit_code == 0, again.stderr
        assert again.stdout.strip() == root
        assert "0 added, 0 pinned, 3 already there, 0 failed" in again.stderr

    with httpx.Client() as http:
        rpc = KuboRpc(ipfs_node.api_url, http=http)
        pinned = rpc.pin_ls()
        assert parse_cid(root) in pinned
        page = http.get(f"{ipfs_node.gateway_url}/ipfs/{root}/beta/").text
        assert "beta-2.0-py3-none-any.whl#sha256=" in page and "data-core-metadata" in page
        metadata = http.get(f"{ipfs_node.gateway_url}/ipfs/{root}/beta/{wheels[1].name}.metadata")
        assert metadata.status_code == 200 and b"Requires-Dist: alpha>=1" in metadata.content

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    gateway_index = f"{ipfs_node.gateway_url}/ipfs/{root}/"
    installed = _pip(venv, "install", "--index-url", gateway_index, "beta")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "Successfully installed alpha-1.0 beta-2.0" in installed.stdout
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import alpha, beta; print(beta.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout == "2.0\n"

    # uv reads the same gateway URL as an index (its config and cache kept out).
    uv = Path(sys.executable).parent / "uv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    uv_venv = tmp_path / "uv-venv"
    subprocess.run([str(uv), "venv", "--no-config", str(uv_venv)], env=env, check=True)
    uv_args = ["pip", "install", "--no-config", "--no-cache", "--python", str(uv_venv)]
    uv_install = subprocess.run(
        [str(uv), *uv_args, "--index-url", gateway_index, "beta"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert uv_install.returncode == 0, uv_install.stderr
    assert "+ alpha==1.0" in uv_install.stderr and "+ beta==2.0" in uv_install.stderr

    # With PEP 658 metadata pip resolves from the .metadata files: it fetches both of them
    # before any wheel (pip 23.2 still downloads the chosen wheels afterwards, even here).
    with logging_proxy(ipfs_node.gateway_url) as (proxy, seen):
        report = _pip(
            venv,
            "install",
            "--dry-run",
            "--ignore-installed",
            "--report",
            str(tmp_path / "report.json"),
            "--index-url",
            f"{proxy}/ipfs/{root}/",
            "beta",
        )
    assert report.returncode == 0, report.stderr
    to_install = json.loads((tmp_path / "report.json").read_text())["install"]
    assert {item["metadata"]["name"] for item in to_install} == {"alpha", "beta"}
    fetched = [path.rsplit("/", 1)[-1] for path in seen if ".whl" in path]
    assert sorted(fetched[:2]) == sorted(f"{w.name}.metadata" for w in wheels[:2]), seen


def test_publish_pins_content_ids_the_node_can_find(
    collection: Path, wheels: list[Path], ipfs_node
) -> None:
    with httpx.Client() as http:
        rpc = KuboRpc(ipfs_node.api_url, http=http)
        cids = [rpc.add(w.read_bytes(), w.name, pin=False)[-1].cid for w in wheels]
        result = _publish(str(collection), "--api", ipfs_node.api_url)
        assert result.exit_code == 0, result.stderr
        assert "0 added, 3 pinned" in result.stderr
        assert {parse_cid(result.stdout.strip()), *cids} <= rpc.pin_ls()


def test_failed_wheel_is_reported_and_a_rerun_finishes(
    collection: Path, wheels: list[Path], tmp_path: Path, ipfs_node
) -> None:
    args = [str(collection), "--api", ipfs_node.api_url, "--from-sources"]
    with serve_index(tmp_path / "partial", wheels[:2]) as index:
        failed = _publish(*args, "--index-url", index)
    assert failed.exit_code == 1 and failed.stdout == ""
    lines = failed.stderr.splitlines()
    assert lines[0].startswith(f"failed: {wheels[2].name}: ")
    assert "not found on the index" in lines[0]
    assert "NOT pinned" in lines[1] and "2 added, 0 pinned, 0 already there, 1 failed" in lines[1]
    assert lines[2].startswith("error: PUBLISH 1 of 3 wheels failed")

    with serve_index(tmp_path / "full", wheels) as index:
        done = _publish(*args, "--index-url", index)
    assert done.exit_code == 0, done.stderr
    assert "1 added, 0 pinned, 2 already there, 0 failed" in done.stderr


@pytest.mark.parametrize("which", ["refused", "gateway"])
def test_node_errors_are_one_line(collection: Path, ipfs_node, which: str) -> None:
    api = "http://127.0.0.1:1" if which == "refused" else ipfs_node.gateway_url
    result = _publish(str(collection), "--api", api)
    assert result.exit_code == 1 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    expected = "cannot reach the IPFS node" if which == "refused" else "a node's RPC API address"
    assert result.stderr.startswith("error: RPC ") and expected in result.stderr


def test_pinning_service_pins_the_root(collection: Path, wheels, tmp_path: Path, ipfs_node) -> None:
    state = PinningServiceState(token="sesame", polls_before_done=2)
    with serve_pinning_service(state) as service, serve_index(tmp_path / "s", wheels) as index:
        result = _publish(
            str(collection),
            "--api",
            ipfs_node.api_url,
            "--from-sources",
            "--index-url",
            index,
            "--pinning-service",
            service,
            "--token",
            "sesame",
        )
    assert result.exit_code == 0, result.stderr
    (pin,) = state.pins.values()
    assert pin["cid"] == result.stdout.strip()
    assert pin["origins"] and all(a.startswith("/ip4/127.0.0.1/") for a in pin["origins"])
    assert "pinning service: pinned" in result.stderr


def test_pinning_service_alone_and_its_errors(collection: Path) -> None:
    state = PinningServiceState(token="sesame", polls_before_done=0)
    with serve_pinning_service(state) as service:
        alone = _publish(str(collection), "--pinning-service", service, "--token", "sesame")
        refused = _publish(str(collection), "--pinning-service", service, "--token", "nope")
    assert alone.exit_code == 0, alone.stderr
    assert [p["cid"] for p in state.pins.values()] == [alone.stdout.strip()]
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr.startswith(
        "error: PINNING pinning service refused (HTTP 401 UNAUTHORIZED)"
    )
    assert len(refused.stderr.splitlines()) == 1


def _build(*args: str):
    return runner.invoke(app, ["build", *args])


def test_publish_a_build_directory_as_it_is(
    collection: Path, wheels: list[Path], tmp_path: Path, ipfs_node
) -> None:
    out = tmp_path / "out"
    (collection / "policy.toml").write_text('[names]\nallow = ["tomli-w"]\n')
    with serve_index(tmp_path / "site", wheels) as index:
        built = _build(str(collection), "--out", str(out), "--with-metadata", "--index-url", index)
        assert built.exit_code == 0, built.stderr
        root = (out / "ROOT").read_text().strip()
        # The collection moves on; publishing OUT must not rebuild it.
        next(collection.rglob("gamma-*.toml")).unlink()
        args = [str(out), "--api", ipfs_node.api_url, "--from-sources", "--index-url", index]
        result = _publish(*args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == root == built.stdout.strip()
    assert "3 added, 0 pinned, 0 already there, 0 failed" in result.stderr
    assert _build(str(collection)).stdout.strip() != root
    with httpx.Client() as http:
        rpc = KuboRpc(ipfs_node.api_url, http=http)
        wanted = {
            parse_cid(root),
            *(rpc.add(w.read_bytes(), w.name, pin=False)[-1].cid for w in wheels),
        }
        assert wanted <= rpc.pin_ls()
        page = http.get(f"{ipfs_node.gateway_url}/ipfs/{root}/gamma/").text
        assert wheels[2].name in page
        policy = http.get(f"{ipfs_node.gateway_url}/ipfs/{root}/policy.toml")
        assert policy.content == (collection / "policy.toml").read_bytes()
    again = _publish(str(out / "tree"), "--api", ipfs_node.api_url)  # OUT/tree names OUT too
    assert again.exit_code == 0, again.stderr
    assert again.stdout.strip() == root and "3 already there" in again.stderr


def test_publishing_wheels_the_node_lacks_says_what_from_sources_would_do(
    collection: Path, wheels: list[Path], tmp_path: Path, ipfs_node
) -> None:
    out, tree = tmp_path / "out", tmp_path / "out" / "tree"
    with serve_index(tmp_path / "site", wheels) as index:
        built = _build(str(collection), "--out", str(out), "--with-wheels", "--index-url", index)
    assert built.exit_code == 0, built.stderr
    # The node has never seen these wheels (their bytes are unique to this run): pinning
    # them by content-id times out, and the error says what --from-sources would do.
    lacking = [str(out), "--api", ipfs_node.api_url, "--timeout", "2"]
    from_tree = _publish(*lacking)
    assert from_tree.exit_code == 1 and from_tree.stdout == ""
    assert from_tree.stderr.splitlines()[-1] == (
        "error: PUBLISH 3 of 3 wheels failed: pinning by content-id needs each wheel on the "
        f"node or found by it in time; --from-sources adds them from {tree} (verified against "
        "their content-ids); run publish again (done work is kept)"
    )
    (tree / "gamma" / wheels[2].name).unlink()
    partly = _publish(*lacking).stderr.splitlines()[-1]
    assert f"--from-sources adds the 2 in {tree} from there and fetches the other 1 from " in partly
    from_collection = _publish(str(collection), "--api", ipfs_node.api_url, "--timeout", "2")
    assert from_collection.stderr.splitlines()[-1] == (
        "error: PUBLISH 3 of 3 wheels failed: pinning by content-id needs each wheel on the "
        "node or found by it in time; --from-sources fetches them from their declared sources "
        "and adds them (verified against their content-ids); run publish again (done work is "
        "kept)"
    )

    # What the hint says is what happens: with no index and an empty cache, OUT/tree is
    # the only place the two wheels left there can come from.
    (tree / "gamma" / wheels[2].name).write_bytes(wheels[2].read_bytes())
    for wheel in wheels:
        wheel.unlink()
    done = _publish(*lacking, "--from-sources", "--cache-dir", str(tmp_path / "empty-cache"))
    assert done.exit_code == 0, done.stderr
    assert "3 added, 0 pinned, 0 already there, 0 failed" in done.stderr


def test_publish_refuses_a_broken_build_directory(
    collection: Path, wheels: list[Path], tmp_path: Path, ipfs_node
) -> None:
    out, other = tmp_path / "out", tmp_path / "other"
    assert _build(str(collection), "--out", str(out)).exit_code == 0
    metadata = _publish(str(out), "--api", ipfs_node.api_url, "--with-metadata")
    assert metadata.exit_code != 0 and "is a build directory" in metadata.stderr
    next(collection.rglob("gamma-*.toml")).unlink()
    assert _build(str(collection), "--out", str(other)).exit_code == 0
    (out / "root.car").write_bytes((other / "root.car").read_bytes())
    swapped = _publish(str(out), "--api", ipfs_node.api_url)
    assert swapped.exit_code == 1 and swapped.stdout == ""
    assert len(swapped.stderr.splitlines()) == 1
    assert "is the CAR of" in swapped.stderr and "ROOT says" in swapped.stderr
    (other / ".incomplete").write_bytes(b"")
    interrupted = _publish(str(other), "--api", ipfs_node.api_url)
    assert interrupted.exit_code == 1 and len(interrupted.stderr.splitlines()) == 1
    assert "interrupted build" in interrupted.stderr
    with httpx.Client() as http:
        pinned = KuboRpc(ipfs_node.api_url, http=http).pin_ls()
    assert parse_cid((out / "ROOT").read_text().strip()) not in pinned
