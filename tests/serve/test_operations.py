"""Operations: several workers with shared metrics, graceful reload (SIGHUP) and a
graceful shutdown (SIGTERM) that lets a running download finish."""

from __future__ import annotations

import re
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.roots import publish_test_root
from tests.support.serving import serve_env, slow_gateway, start_cli, stop_cli
from tests.support.wheels import make_wheel
from wheelset.errors import ServeError
from wheelset.serve.config import Settings, read_config


def _requests(metrics: str) -> int:
    return sum(
        int(n) for n in re.findall(r"^wheelset_serve_requests_total\{.*\} (\d+)$", metrics, re.M)
    )


def test_workers_share_metrics_and_survive_a_reload(tmp_path: Path) -> None:
    from tests.support.roots import build_test_root

    wheels = [make_wheel(tmp_path / "w", f"p{i}", "1.0") for i in range(3)]
    out = build_test_root(wheels).write_build_dir(tmp_path / "out")
    process, urls = start_cli(
        [str(out), "--port", "0", "--workers", "2"], serve_env(tmp_path / "c")
    )
    try:
        origin = urls[0].removesuffix("/simple/")
        with httpx.Client(timeout=10) as http:
            for i in range(40):
                assert http.get(f"{origin}/simple/p{i % 3}/").status_code == 200
            time.sleep(2.5)  # each worker shares its totals about once a second
            seen = {_requests(httpx.get(origin + "/metrics").text) for _ in range(6)}
            assert min(seen) >= 40, seen
            process.send_signal(signal.SIGHUP)  # workers replaced one at a time
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                assert httpx.get(origin + "/healthz", timeout=10).status_code == 200
                time.sleep(0.2)
                if time.monotonic() > deadline - 25:
                    break
            assert http.get(f"{origin}/simple/p1/").status_code == 200
    finally:
        code, err = stop_cli(process)
    assert code == 0, err
    assert "Traceback" not in err and err.strip().endswith("stopped")


def test_sigterm_lets_a_running_download_finish(ipfs_node, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "slowdl", "1.0")
    published = publish_test_root(ipfs_node.api_url, [wheel])
    decl = published.declarations[wheel.name]
    with slow_gateway({str(decl.content_id): wheel.read_bytes()}, seconds=3.0) as slow:
        args = [str(published.cid), "--port", "0", "--gateway", slow, "--api", ipfs_node.api_url]
        process, urls = start_cli(args, serve_env(tmp_path / "c"))
        url = urls[0].replace("/simple/", f"/files/{decl.content_id}/{decl.filename}")
        got: dict[str, httpx.Response] = {}
        thread = threading.Thread(target=lambda: got.update(r=httpx.get(url, timeout=30)))
        thread.start()
        time.sleep(1.0)
        code, err = stop_cli(process, signal.SIGTERM)
        thread.join(30)
    assert got["r"].status_code == 200 and got["r"].content == wheel.read_bytes()
    assert code == 0 and "Traceback" not in err, err


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("roots = 1\n", "[roots.NAME]"),
        ("[roots.a]\nallow = []\n", "needs root"),
        ('[roots.simple]\nroot = "x"\n', "root name"),
        ('[roots.a]\nroot = "x"\nallow = ["u"]\n', "need users"),
        ('[roots.a]\nroot = "x"\npublic = true\n', "unknown key"),
        ('[tokens]\nci = "plain-token"\n[roots.a]\nroot = "x"\n', "sha256"),
        ('refresh = -1\n[roots.a]\nroot = "x"\n', "refresh"),
        ("[roots\n", "malformed TOML"),
        ('listen = 1\n[roots.a]\nroot = "x"\n', "unknown key"),
    ],
)
def test_config_errors_name_the_file_and_the_problem(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "serve.toml"
    path.write_text(text)
    with pytest.raises(ServeError) as info:
        read_config(path, Settings(roots=()))
    line = info.value.one_line()
    assert "serve.toml" in line and words in line and "\n" not in line


def test_config_roots_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    path = tmp_path / "serve.toml"
    path.write_text('[roots.local]\nroot = "out"\n[roots.remote]\nroot = "/ipns/example.org"\n')
    settings = read_config(path, Settings(roots=()))
    refs = {spec.name: spec.ref for spec in settings.roots}
    assert refs == {"local": str(tmp_path / "out"), "remote": "/ipns/example.org"}
    assert not settings.has_auth


def test_gunicorn_runs_the_app_with_uvicorn_workers(tmp_path: Path) -> None:
    import shutil
    import socket
    import subprocess
    import sys

    pytest.importorskip("uvicorn_worker")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists() and shutil.which("gunicorn") is None:
        pytest.skip("gunicorn is not installed")
    from tests.support.roots import build_test_root

    out = build_test_root([make_wheel(tmp_path / "w", "gp", "1.0")]).write_build_dir(tmp_path / "o")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = serve_env(tmp_path / "c", {"WHEELSET_SERVE_ROOT": str(out)})
    process = subprocess.Popen(
        [str(gunicorn) if gunicorn.exists() else "gunicorn", "-w", "2", "-k",
         "uvicorn_worker.UvicornWorker", "-b", f"127.0.0.1:{port}",
         "wheelset.serve.app:create_app()"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/simple/gp/", timeout=5)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.3)
        assert page.status_code == 200 and "gp-1.0-py3-none-any.whl" in page.text
    finally:
        process.terminate()
        _, err = process.communicate(timeout=60)
    assert '"GET /simple/gp/" 200' in err
