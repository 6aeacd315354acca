"""A root given by a mutable name moves: `serve` switches atomically, and a download that
was running finishes on the root it started with."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.roots import publish_test_root
from tests.support.serving import running, slow_gateway
from tests.support.wheels import make_wheel
from wheelset.ipfs.rpc import KuboRpc
from wheelset.serve.app import IndexApp
from wheelset.serve.config import RootSpec, Settings


@pytest.fixture(autouse=True)
def _no_local_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHEELSET_LOCAL_GATEWAY", "off")


def test_a_moved_name_switches_roots_while_a_download_runs(ipfs_node, tmp_path: Path) -> None:
    old_wheel = make_wheel(tmp_path / "w", "moving-old", "1.0", files={"big.bin": bytes(200_000)})
    new_wheel = make_wheel(tmp_path / "w", "moving-new", "1.0")
    first = publish_test_root(ipfs_node.api_url, [old_wheel])
    second = publish_test_root(ipfs_node.api_url, [new_wheel])
    decl = first.declarations[old_wheel.name]
    with httpx.Client(timeout=60) as http:
        http.post(f"{ipfs_node.api_url}/api/v0/key/gen", params={"arg": "serve-move"})
        rpc = KuboRpc(ipfs_node.api_url, http=http, timeout=30)
        name = rpc.name_publish(first.cid, key="serve-move")
        ref = name if name.startswith("/ipns/") else f"/ipns/{name}"
        files = {str(decl.content_id): old_wheel.read_bytes()}
        with slow_gateway(files, seconds=10.0) as slow:
            settings = Settings(
                roots=(RootSpec("", ref),), gateways=(slow, ipfs_node.gateway_url),
                api=ipfs_node.api_url, cache_dir=tmp_path / "cache", timeout=10, refresh=3600,
            )  # fmt: skip
            app = IndexApp(settings)
            with running(app) as origin:
                assert 'href="moving-old/"' in http.get(origin + "/simple/").text
                url = f"{origin}/files/{decl.content_id}/{decl.filename}"
                download: dict[str, object] = {}

                def get() -> None:
                    download["response"] = http.get(url)
                    download["ended"] = time.monotonic()

                thread = threading.Thread(target=get)
                started = time.monotonic()
                thread.start()
                time.sleep(1.0)  # the slow gateway is sending the old root's wheel
                rpc.name_publish(second.cid, key="serve-move")
                app.refresh()
                switched = time.monotonic()
                page = http.get(origin + "/simple/").text
                assert 'href="moving-new/"' in page and "moving-old" not in page
                assert http.get(origin + "/simple/moving-new/").status_code == 200
                thread.join(60)
                assert download["ended"] > switched, "the download ran across the switch"
                assert download["ended"] - started >= 9
                response = download["response"]
                assert isinstance(response, httpx.Response) and response.status_code == 200
                assert response.content == old_wheel.read_bytes()
                again = http.get(url)
                assert again.status_code == 404  # not a file of the root now served
