"""`wheelset serve`: a verifying local index that real pip and uv install from."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.gateways import tampering_proxy
from tests.support.roots import PublishedRoot, publish_test_root
from tests.support.sample_set import APP_FAST, make_sample_set
from tests.support.venvs import installed, isolated_env, make_venv, run_pip, run_uv
from wheelset.client.root import open_root, parse_root_ref, root_resolver
from wheelset.client.serve import HTML, JSON, IndexServer, negotiate
from wheelset.errors import WheelsetError
from wheelset.fetch.cache import Cache
from wheelset.ipfs.gateway import GatewayFetcher


@pytest.fixture(scope="module")
def published(ipfs_node, tmp_path_factory: pytest.TempPathFactory) -> PublishedRoot:
    return publish_test_root(ipfs_node.api_url, make_sample_set(tmp_path_factory.mktemp("s")))


@pytest.fixture()
def http():
    with httpx.Client() as client:
        yield client


def _opened(node, published: PublishedRoot, fetcher: GatewayFetcher, cache: Path, http):
    """The root, its blocks read from the node's RPC (its gateway is path-only)."""
    resolver = root_resolver(fetcher, cache, api=node.api_url, http=http, timeout=5)
    return open_root(parse_root_ref(str(published.cid)), resolver)


def _server(node, published: PublishedRoot, gateways: list[str], cache: Path, http, events=None):
    fetcher = GatewayFetcher(gateways, http=http, timeout=5)
    opened = _opened(node, published, fetcher, cache, http)
    return IndexServer(opened, Cache(cache), fetcher, on_event=events)


def test_pages_and_files(published, ipfs_node, tmp_path: Path, http) -> None:
    with _server(ipfs_node, published, [ipfs_node.gateway_url], tmp_path, http) as server:
        base = server.url
        root = http.get(base)
        assert root.status_code == 200 and 'href="app/"' in root.text
        assert root.headers["content-type"] == "text/html"
        as_json = http.get(base, headers={"Accept": JSON}).json()
        assert {"name": "lib-a"} in as_json["projects"]
        page = http.get(base + "speedup/")
        decl = published.declarations[next(f for f in published.declarations if "manylinux" in f)]
        href = f"/files/{decl.content_id}/{decl.filename}#sha256={decl.sha256}"
        assert f'href="{href}"' in page.text and "data-core-metadata=" in page.text
        project = http.get(base + "speedup/", headers={"Accept": f"{JSON}, {HTML};q=0.5"})
        assert project.headers["content-type"] == JSON
        files = {f["filename"]: f for f in project.json()["files"]}
        entry = files[decl.filename]
        assert entry["hashes"] == {"sha256": decl.sha256} and entry["size"] == decl.size
        assert project.json()["versions"] == ["2.1"]

        wheel = http.get(base.replace("/simple/", "") + href.split("#")[0])
        assert wheel.status_code == 200
        assert wheel.content == published.wheels[decl.filename].read_bytes()
        metadata = http.get(base.replace("/simple/", "") + href.split("#")[0] + ".metadata")
        assert metadata.status_code == 200 and metadata.content.startswith(b"Metadata-Version")

        redirect = http.get(base + "Lib_A")
        assert redirect.status_code == 301 and redirect.headers["location"] == "/simple/lib-a/"
        assert http.get(base + "nosuch/").status_code == 404
        foreign = f"/files/{decl.content_id}/other-1.0-py3-none-any.whl"
        assert http.get(base.replace("/simple/", "") + foreign).status_code == 404
        assert http.get(base.replace("/simple/", "") + "/files/notacid/x.whl").status_code == 404


def test_unverified_bytes_are_never_served(published, ipfs_node, tmp_path: Path, http) -> None:
    decl = published.declarations["lib_b-0.5-py3-none-any.whl"]
    events: list[str] = []
    with (
        tampering_proxy(ipfs_node.gateway_url, "flip", only=str(decl.content_id)) as liar,
        _server(ipfs_node, published, [liar.url], tmp_path, http, events.append) as server,
    ):
        url = server.url.replace("/simple/", f"/files/{decl.content_id}/{decl.filename}")
        response = http.get(url)
    assert response.status_code == 502
    assert decl.filename in response.text and response.text.count("\n") == 1
    assert events and events[0].startswith("error: FETCH") and decl.filename in events[0]
    assert not Cache(tmp_path).file_path(decl.content_id, decl.filename).exists()


def test_concurrent_clients_get_verified_files(published, ipfs_node, tmp_path: Path, http) -> None:
    with (
        tampering_proxy(ipfs_node.gateway_url) as counting,
        _server(ipfs_node, published, [counting.url], tmp_path, http) as server,
    ):
        origin = server.url.replace("/simple/", "")
        urls = [
            f"{origin}/files/{d.content_id}/{d.filename}" for d in published.declarations.values()
        ] * 4

        def get(url: str) -> bytes:
            with httpx.Client() as client:
                return client.get(url, timeout=30).content

        with ThreadPoolExecutor(max_workers=12) as pool:
            bodies = list(pool.map(get, urls))
    expected = [published.wheels[u.rsplit("/", 1)[1]].read_bytes() for u in urls]
    assert bodies == expected
    for decl in published.declarations.values():
        assert counting.fetches_of(decl.content_id) == 1


def test_pip_and_uv_install_through_serve(published, ipfs_node, tmp_path: Path, http) -> None:
    with _server(ipfs_node, published, [ipfs_node.gateway_url], tmp_path / "cache", http) as server:
        by_uv = make_venv(tmp_path / "uv-venv")
        uv = run_uv(
            ["pip", "install", "--python", str(by_uv), "--index-url", server.url, "app[fast]"],
            env=isolated_env(tmp_path / "caches"),
        )
        assert uv.returncode == 0, uv.stdout + uv.stderr
        by_pip = make_venv(tmp_path / "pip-venv")
        pip = run_pip(by_pip, ["install", "--no-cache-dir", "--index-url", server.url, "app[fast]"])
        assert pip.returncode == 0, pip.stdout + pip.stderr
    assert installed(tmp_path / "uv-venv") == installed(tmp_path / "pip-venv") == APP_FAST


def test_ctrl_c_stops_serve_cleanly(published, ipfs_node, tmp_path: Path) -> None:
    env = {
        **isolated_env(),
        "WHEELSET_LOCAL_GATEWAY": "off",
        "WHEELSET_CACHE_DIR": str(tmp_path),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wheelset.cli",
            "serve",
            str(published.cid),
            "--port",
            "0",
            "--gateway",
            ipfs_node.gateway_url,
            "--api",
            ipfs_node.api_url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/simple/")
        assert httpx.get(url + "app/", timeout=10).status_code == 200
        os.kill(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Traceback" not in err and err.strip().endswith("stopped")


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
    with _server(ipfs_node, published, [ipfs_node.gateway_url], tmp_path, http) as server:
        body = http.get(server.url, headers={"Accept": JSON}).text
    names = sorted(p["name"] for p in json.loads(body)["projects"])
    assert names == sorted({d.name for d in published.declarations.values()})


def test_a_port_in_use_is_one_clear_error(published, ipfs_node, tmp_path: Path, http) -> None:
    fetcher = GatewayFetcher([ipfs_node.gateway_url], http=http)
    opened = _opened(ipfs_node, published, fetcher, tmp_path, http)
    with IndexServer(opened, Cache(tmp_path), fetcher) as first:
        port = int(first.url.split(":")[2].split("/")[0])
        with pytest.raises(WheelsetError) as info:
            IndexServer(opened, Cache(tmp_path), fetcher, port=port)
    assert info.value.code == "SERVE" and f"127.0.0.1:{port}" in str(info.value)


def test_a_project_is_read_when_a_client_first_asks(tmp_path: Path, http) -> None:
    from tests.support.roots import build_test_root
    from tests.support.trustless import trustless_server
    from tests.support.wheels import make_wheel

    wheels = [make_wheel(tmp_path / "w", f"p{i}", "1.0") for i in range(30)]
    built = build_test_root(wheels)
    with trustless_server(built.blocks) as gateway:
        fetcher = GatewayFetcher([gateway.url], http=http, timeout=5)
        resolver = root_resolver(fetcher, tmp_path / "cache")
        opened = open_root(parse_root_ref(str(built.cid)), resolver)
        with IndexServer(opened, Cache(tmp_path / "cache"), fetcher) as server:
            assert len(gateway.requests) == 1  # the header only
            assert "p7-1.0-py3-none-any.whl" in http.get(server.url + "p7/").text
            assert http.get(server.url + "p7/").status_code == 200
            assert http.get(server.url + "nope/").status_code == 404
            asked = [r.split("?")[0] for r in gateway.requests[1:]]
            assert len(asked) == 1 and asked[0].endswith("/index.json")
            assert "p29" in http.get(server.url).text  # the listing, when /simple/ is asked
