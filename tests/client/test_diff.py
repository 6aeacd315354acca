"""`wheelset diff`: projects and per-platform wheels between two roots (build dirs or CIDs)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from packaging.tags import Tag
from typer.testing import CliRunner

from tests.support.collection import write_collection
from tests.support.wheels import make_wheel
from wheelset.build.stage import build_collection, write_build_dir
from wheelset.cli import app
from wheelset.client.diff import DiffError, platform_tags
from wheelset.ipfs.rpc import KuboRpc

runner = CliRunner()
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
    write_build_dir(build_collection(tmp_path / f"{name}-decl"), out)
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


def test_cid_fetched_through_a_gateway_and_verified(roots, ipfs_node) -> None:
    a, b = roots
    with httpx.Client() as http:
        KuboRpc(ipfs_node.api_url, http=http).dag_import(
            (a / "root.car").read_bytes(), pin_roots=False
        )
    cid = (a / "ROOT").read_text().strip()
    args = ["diff", f"/ipfs/{cid}", str(b), "--format", "json"]
    result = runner.invoke(app, [*args, "--gateway", ipfs_node.gateway_url])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["projects"] == EXPECTED["projects"]
    missing_gateway = runner.invoke(app, args, env={"WHEELSET_GATEWAY": ""})
    assert missing_gateway.exit_code == 1 and "give --gateway" in missing_gateway.stderr


@contextmanager
def fake_gateway(body: bytes) -> Iterator[str]:
    """A gateway that answers every path with ``body`` (a liar, or a broken one)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_gateway_cannot_substitute_another_manifest(roots) -> None:
    a, b = roots
    cid = (a / "ROOT").read_text().strip()
    with fake_gateway((b / "tree" / "wheelset.json").read_bytes()) as gateway:
        result = runner.invoke(app, ["diff", cid, str(b), "--gateway", gateway])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: DIFF the wheelset.json served for ")
    assert "builds" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("body", [b"<html>not json</html>", b'{"format": "something-else"}'])
def test_malformed_manifest_from_a_gateway(roots, body: bytes) -> None:
    a, _ = roots
    with fake_gateway(body) as gateway:
        result = runner.invoke(
            app, ["diff", (a / "ROOT").read_text().strip(), str(a), "--gateway", gateway]
        )
    assert result.exit_code == 1 and result.stderr.startswith("error: MANIFEST /ipfs/")
    assert len(result.stderr.splitlines()) == 1


def test_malformed_manifest_in_a_build_dir(roots) -> None:
    a, b = roots
    (a / "tree" / "wheelset.json").write_text("{")
    result = runner.invoke(app, ["diff", str(a), str(b)])
    assert result.exit_code == 1 and result.stderr.startswith("error: MANIFEST ")
    assert "wheelset.json" in result.stderr


@pytest.mark.parametrize("root", ["not-a-root", "QmNotReallyACid"])
def test_neither_dir_nor_cid(root: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["diff", root, root], catch_exceptions=False)
    assert result.exit_code == 1 and "neither a build directory nor a CID" in result.stderr


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

