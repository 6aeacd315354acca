"""Every pip in use (Ubuntu 22.04's 22.0.2, Debian 12's 23.0.1, 24.0, the newest) and uv
install from the indexes wheelset makes: a root built with METADATA files, read through the
test node's gateway, and `wheelset serve`.

The closure has a dependency spelled unlike its METADATA Name (``charset_normalizer`` for
``charset-normalizer``): pip before 23.2 fails on exactly that when it is offered PEP 658
metadata under the old attribute name or key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.roots import PublishedRoot, publish_test_root
from tests.support.venvs import isolated_env, make_venv, run_uv
from tests.support.wheels import make_wheel

PIPS = ["22.0.2", "23.0.1", "24.0", "newest"]
# The first test also pays for the test node and four pip installs from the index.
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="session")
def pips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A venv per pip version, its pip installed from the configured index (once a session)."""
    base = tmp_path_factory.mktemp("pips")
    found: dict[str, Path] = {}
    for version in PIPS:
        python = make_venv(base / version)  # without ensurepip's pip: installed just below
        spec = "pip" if version == "newest" else f"pip=={version}"
        done = subprocess.run(
            [sys.executable, "-m", "pip", "--python", python, "install", "-q", spec],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        found[version] = python
    return found


@pytest.fixture(scope="module")
def published(ipfs_node, tmp_path_factory: pytest.TempPathFactory) -> PublishedRoot:
    d = tmp_path_factory.mktemp("wheels")
    wheels = [
        make_wheel(d, "charset-normalizer", "3.3.2"),
        make_wheel(d, "requests-alike", "2.0", requires_dist=["charset_normalizer<4,>=2"]),
    ]
    return publish_test_root(ipfs_node.api_url, wheels, with_metadata=True)


@pytest.fixture(scope="module")
def served(published, ipfs_node, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("WHEELSET_") or k == "WHEELSET_API"
    }
    env.update(
        {
            "WHEELSET_API": ipfs_node.api_url,  # root blocks: the node's gateway is path-only
            "WHEELSET_LOCAL_GATEWAY": "off",
            "WHEELSET_CACHE_DIR": str(tmp_path_factory.mktemp("serve-cache")),
        }
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "wheelset.cli", "serve", str(published.cid), "--port", "0",
         "--gateway", ipfs_node.gateway_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url or server.stderr.read()
        yield url
    finally:
        server.terminate()
        server.communicate(timeout=30)


def _index(kind: str, published: PublishedRoot, ipfs_node, served_url: str | None) -> str:
    return f"{ipfs_node.gateway_url}/ipfs/{published.cid}/" if kind == "gateway" else served_url


def _installed(target: Path) -> list[str]:
    return sorted(p.name for p in target.iterdir() if p.name.endswith(".dist-info"))


EXPECTED = ["charset_normalizer-3.3.2.dist-info", "requests_alike-2.0.dist-info"]


@pytest.mark.parametrize("kind", ["gateway", "serve"])
@pytest.mark.parametrize("version", PIPS)
def test_pip_installs_from_wheelset_indexes(
    pips, published, ipfs_node, request, tmp_path: Path, version: str, kind: str
) -> None:
    served_url = request.getfixturevalue("served") if kind == "serve" else None
    index = _index(kind, published, ipfs_node, served_url)
    done = subprocess.run(
        [pips[version], "-m", "pip", "install", "--no-cache-dir", "--target", str(tmp_path / "t"),
         "--index-url", index, "requests-alike"],
        capture_output=True,
        text=True,
        env=isolated_env(),
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"pip {version}: {done.stdout}\n{done.stderr}"
    assert _installed(tmp_path / "t") == EXPECTED


@pytest.mark.parametrize("kind", ["gateway", "serve"])
def test_uv_installs_from_wheelset_indexes(
    published, ipfs_node, request, tmp_path: Path, kind: str
) -> None:
    served_url = request.getfixturevalue("served") if kind == "serve" else None
    index = _index(kind, published, ipfs_node, served_url)
    done = run_uv(
        ["pip", "install", "--no-cache", "--target", str(tmp_path / "t"), "--python",
         sys.executable, "--index-url", index, "requests-alike"],
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _installed(tmp_path / "t") == EXPECTED


def test_metadata_files_are_byte_equal_to_the_wheels(published, ipfs_node) -> None:
    import zipfile

    import httpx

    for filename, wheel in published.wheels.items():
        with zipfile.ZipFile(wheel) as zf:
            name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            expected = zf.read(name)
        project = published.declarations[filename].name
        url = f"{ipfs_node.gateway_url}/ipfs/{published.cid}/{project}/{filename}.metadata"
        got = httpx.get(url, timeout=60)
        assert got.status_code == 200 and got.content == expected
