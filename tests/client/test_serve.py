"""`wheelset serve`: a verifying index that real pip and uv install from (one root at
/simple/; auth, TLS, several roots and operations are in tests/serve/)."""

from __future__ import annotations

import json
import signal
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.gateways import tampering_proxy
from tests.support.roots import PublishedRoot, publish_test_root
from tests.support.sample_set import APP_FAST, make_sample_set
from tests.support.serving import running, serve_env, start_cli, stop_cli
from tests.support.venvs import installed, isolated_env, make_venv, run_pip, run_uv
from wheelset.fetch.cache import Cache
from wheelset.serve.app import IndexApp
from wheelset.serve.config import RootSpec, Settings
from wheelset.serve.simple import HTML, JSON, negotiate


@pytest.fixture(scope="module")
def published(ipfs_node, tmp_path_factory: pytest.TempPathFactory) -> PublishedRoot:
    return publish_test_root(ipfs_node.api_url, make_sample_set(tmp_path_factory.mktemp("s")))


@pytest.fixture(autouse=True)
def _no_local_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHEELSET_LOCAL_GATEWAY", "off")


@pytest.fixture()
def http():
    with httpx.Client() as client:
        yield client


def settings(ref: str, gateways: list[str], cache: Path, api: str | None = None) -> Settings:
    return Settings(roots=(RootSpec("", ref),), gateways=tuple(gateways), api=api,
                    cache_dir=cache, timeout=5)  # fmt: skip


@contextmanager
def _server(node, published: PublishedRoot, gateways: list[str], cache: Path):
    """The index of the published root (its blocks from the node's RPC); yields /simple/'s
    URL."""
    app = IndexApp(settings(str(published.cid), gateways, cache, node.api_url))
    with running(app) as origin:
        yield origin + "/simple/"


def test_pages_and_files(published, ipfs_node, tmp_path: Path, http) -> None:
    with _server(ipfs_node, published, [ipfs_node.gateway_url], tmp_path) as base:
        root = http.get(base)
        assert root.status_code == 200 and 'href="app/"' in root.text
        assert root.headers["content-type"] == "text/html"
        as_json = http.get(base, headers={"Accept": JSON}).json()
        assert {"name": "lib-a"} in as_json["projects"]
        page = http.get(base + "speedup/")
        decl = published.declarations[next(f for f in published.declarations if "manylinux" in f)]
        # The HTML is the root's own page (its table, its links by file name), byte for byte
        assert page.content == published.built.generated["speedup/index.html"]
        href = f"{decl.filename}#sha256={decl.sha256}"
        assert f'href="{href}"' in page.text and "data-core-metadata=" in page.text
        assert root.content == published.built.generated["index.html"]
        assert "<table" in root.text
        project = http.get(base + "speedup/", headers={"Accept": f"{JSON}, {HTML};q=0.5"})
        assert project.headers["content-type"] == JSON
        files = {f["filename"]: f for f in project.json()["files"]}
        entry = files[decl.filename]
        assert entry["hashes"] == {"sha256": decl.sha256} and entry["size"] == decl.size
        assert project.json()["versions"] == ["2.1"]

        wheel = http.get(base + "speedup/" + href.split("#")[0])
        by_cid = http.get(base.replace("/simple/", f"/files/{decl.content_id}/{decl.filename}"))
        assert by_cid.content == wheel.content
        assert wheel.status_code == 200
        assert wheel.content == published.wheels[decl.filename].read_bytes()
        metadata = http.get(base + "speedup/" + href.split("#")[0] + ".metadata")
        assert metadata.status_code == 200 and metadata.content.startswith(b"Metadata-Version")

        redirect = http.get(base + "Lib_A")
        assert redirect.status_code == 301 and redirect.headers["location"] == "/simple/lib-a/"
        assert http.get(base + "nosuch/").status_code == 404
        foreign = f"/files/{decl.content_id}/other-1.0-py3-none-any.whl"
        assert http.get(base.replace("/simple/", "") + foreign).status_code == 404
        assert http.get(base.replace("/simple/", "") + "/files/notacid/x.whl").status_code == 404
        for traversal in ("/simple/../../etc/passwd", "/files/%2e%2e/%2e%2e/etc/passwd"):
            assert http.get(base.replace("/simple/", "") + traversal).status_code == 404


def test_unverified_bytes_are_never_served(published, ipfs_node, tmp_path: Path, http) -> None:
    decl = published.declarations["lib_b-0.5-py3-none-any.whl"]
    with (
        tampering_proxy(ipfs_node.gateway_url, "flip", only=str(decl.content_id)) as liar,
        _server(ipfs_node, published, [liar.url], tmp_path) as base,
    ):
        url = base.replace("/simple/", f"/files/{decl.content_id}/{decl.filename}")
        response = http.get(url)
        metrics = http.get(base.replace("/simple/", "/metrics")).text
    assert response.status_code == 502
    assert decl.filename in response.text and response.text.count("\n") == 1
    assert response.text.startswith("FETCH")
    assert "wheelset_serve_verification_failures_total 1" in metrics
    assert "wheelset_serve_upstream_errors_total 1" in metrics
    assert not Cache(tmp_path).file_path(decl.content_id, decl.filename).exists()


def test_concurrent_clients_get_verified_files(published, ipfs_node, tmp_path: Path, http) -> None:
    with (
        tampering_proxy(ipfs_node.gateway_url) as counting,
        _server(ipfs_node, published, [counting.url], tmp_path) as base,
    ):
        origin = base.replace("/simple/", "")
        urls = [
            f"{origin}/files/{d.content_id}/{d.filename}" for d in published.declarations.values()
        ] * 4

        def get(url: str) -> bytes:
            with httpx.Client() as client:
                return client.get(url, timeout=30).content

        with ThreadPoolExecutor(max_workers=12) as pool:
            bodies = list(pool.map(get, urls))
        metrics = httpx.get(origin + "/metrics").text
    n = len(published.declarations)
    assert f"wheelset_serve_cache_misses_total {n}" in metrics
    assert f"wheelset_serve_cache_hits_total {3 * n}" in metrics
    expected = [published.wheels[u.rsplit("/", 1)[1]].read_bytes() for u in urls]
    assert bodies == expected
    for decl in published.declarations.values():
        assert counting.fetches_of(decl.content_id) == 1


def test_pip_and_uv_install_through_serve(published, ipfs_node, tmp_path: Path, http) -> None:
    with _server(ipfs_node, published, [ipfs_node.gateway_url], tmp_path / "cache") as url:
        by_uv = make_venv(tmp_path / "uv-venv")
        uv = run_uv(
            ["pip", "install", "--python", str(by_uv), "--index-url", url, "app[fast]"],
            env=isolated_env(tmp_path / "caches"),
        )
        assert uv.returncode == 0, uv.stdout + uv.stderr
        by_pip = make_venv(tmp_path / "pip-venv")
        pip = run_pip(by_pip, ["install", "--no-cache-dir", "--index-url", url, "app[fast]"])
        assert pip.returncode == 0, pip.stdout + pip.stderr
    assert installed(tmp_path / "uv-venv") == installed(tmp_path / "pip-venv") == APP_FAST


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_serve_cleanly(published, ipfs_node, tmp_path: Path, sig) -> None:
    args = [str(published.cid), "--port", "0", "--gateway", ipfs_node.gateway_url]
    process, urls = start_cli([*args, "--api", ipfs_node.api_url], serve_env(tmp_path))
    try:
        assert urls[0].startswith("http://127.0.0.1:") and urls[0].endswith("/simple/")
        assert httpx.get(urls[0] + "app/", timeout=10).status_code == 200
    finally:
        code, err = stop_cli(process, sig)
    assert code == 0, err
    assert "Traceback" not in err and err.strip().endswith("stopped")
    assert '"GET /simple/app/" 200' in err  # the access log


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        ("*/*", "text/html"),
        (JSON, JSON),
        (f"{HTML}, {JSON};q=0.9", HTML),
        (f"{JSON};q=0.2, text/html;q=0.9", "text/html"),
        ("application/json", "text/html"),
    ],
)
def test_negotiate(accept: str | None, expected: str) -> None:
    assert negotiate(accept) == expected


@given(st.text(max_size=200))
def test_negotiate_never_fails(accept: str) -> None:
    assert negotiate(accept) in (JSON, HTML, "text/html")


def test_json_root_lists_every_project(published, ipfs_node, tmp_path: Path, http) -> None:
    with _server(ipfs_node, published, [ipfs_node.gateway_url], tmp_path) as base:
        body = http.get(base, headers={"Accept": JSON}).text
    names = sorted(p["name"] for p in json.loads(body)["projects"])
    assert names == sorted({d.name for d in published.declarations.values()})


def test_a_port_in_use_is_one_clear_error(published, ipfs_node, tmp_path: Path) -> None:
    args = [str(published.cid), "--port", "0", "--api", ipfs_node.api_url]
    first, urls = start_cli([*args, "--gateway", ipfs_node.gateway_url], serve_env(tmp_path))
    try:
        port = urls[0].split(":")[2].split("/")[0]
        again = start_cli_failing([*args, "--port", port], serve_env(tmp_path))
    finally:
        stop_cli(first)
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert again.stderr.startswith("error: SERVE") and f"127.0.0.1:{port}" in again.stderr


def start_cli_failing(args: list[str], env: dict[str, str]):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "wheelset.cli", "serve", *args],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip


def test_a_project_is_read_when_a_client_first_asks(tmp_path: Path, http) -> None:
    from tests.support.roots import build_test_root
    from tests.support.trustless import trustless_server
    from tests.support.wheels import make_wheel

    wheels = [make_wheel(tmp_path / "w", f"p{i}", "1.0") for i in range(30)]
    built = build_test_root(wheels)
    with trustless_server(built.blocks) as gateway:
        app = IndexApp(settings(str(built.cid), [gateway.url], tmp_path / "cache"))
        with running(app) as origin:
            url = origin + "/simple/"
            assert len(gateway.requests) == 1  # the header only
            assert "p7-1.0-py3-none-any.whl" in http.get(url + "p7/").text
            assert http.get(url + "p7/").status_code == 200
            assert http.get(url + "nope/").status_code == 404
            asked = [r.split("?")[0] for r in gateway.requests[1:]]
            # the project's data, then its own page (its directory block is already known):
            # two requests, nothing of the other 29 projects
            assert len(asked) == 2 and asked[0].endswith("/index.json")
            assert "p29" in http.get(url).text  # the listing, when /simple/ is asked
