"""`serve` with users, tokens and access lists, through real pip and uv; TLS; reload."""

from __future__ import annotations

import hashlib
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.roots import PublishedRoot, publish_test_root
from tests.support.sample_set import APP_FAST, make_sample_set
from tests.support.serving import (
    bcrypt_line,
    make_certificate,
    running,
    serve_env,
    start_cli,
    stop_cli,
)
from tests.support.venvs import installed, isolated_env, make_venv, run_pip, run_uv
from wheelset.serve.app import IndexApp
from wheelset.serve.config import Settings, read_config

TOKEN = "s3cret-token-for-ci"


@pytest.fixture(autouse=True)
def _no_local_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHEELSET_LOCAL_GATEWAY", "off")


@pytest.fixture(scope="module")
def published(ipfs_node, tmp_path_factory: pytest.TempPathFactory) -> PublishedRoot:
    return publish_test_root(ipfs_node.api_url, make_sample_set(tmp_path_factory.mktemp("s")))


def write_config(directory: Path, published: PublishedRoot) -> Path:
    """Two roots: main (alice and the ci token) and other (bob); htpasswd beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "users.htpasswd").write_text(
        bcrypt_line("alice", "alice-pw") + bcrypt_line("bob", "bob-pw")
    )
    published.write_build_dir(directory / "out")
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    config = directory / "serve.toml"
    config.write_text(
        'htpasswd = "users.htpasswd"\n'
        f'[tokens]\nci = "{digest}"\n'
        f'[roots.main]\nroot = "{published.cid}"\nallow = ["alice", "ci"]\n'
        '[roots.other]\nroot = "out"\nallow = ["bob"]\n'
    )
    return config


def app_of(config: Path, node, cache: Path) -> IndexApp:
    base = Settings(roots=(), gateways=(node.gateway_url,), api=node.api_url, cache_dir=cache,
                    timeout=5)  # fmt: skip
    return IndexApp(read_config(config, base))


def _with_credentials(origin: str, user: str, password: str, path: str) -> str:
    return origin.replace("://", f"://{user}:{password}@") + path


def test_pip_and_uv_with_basic_auth_netrc_and_token(published, ipfs_node, tmp_path: Path) -> None:
    app = app_of(write_config(tmp_path / "conf", published), ipfs_node, tmp_path / "cache")
    with running(app) as origin:
        index = origin + "/main/simple/"
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1\nlogin alice\npassword alice-pw\n")
        ways = {
            "url": (_with_credentials(origin, "alice", "alice-pw", "/main/simple/"), {}),
            "netrc": (index, {"NETRC": str(netrc)}),
            "token": (_with_credentials(origin, "__token__", TOKEN, "/main/simple/"), {}),
        }
        for way, (url, extra) in ways.items():
            env = {**isolated_env(tmp_path / f"caches-{way}"), **extra}
            by_uv = make_venv(tmp_path / f"uv-{way}")
            uv = run_uv(
                ["pip", "install", "--python", str(by_uv), "--index-url", url, "app[fast]"], env=env
            )
            assert uv.returncode == 0, (way, uv.stdout + uv.stderr)
            by_pip = make_venv(tmp_path / f"pip-{way}")
            pip = run_pip(
                by_pip, ["install", "--no-cache-dir", "--index-url", url, "app[fast]"], env=env
            )
            assert pip.returncode == 0, (way, pip.stdout + pip.stderr)
            assert installed(tmp_path / f"uv-{way}") == installed(tmp_path / f"pip-{way}")
            assert installed(tmp_path / f"pip-{way}") == APP_FAST
        bearer = httpx.get(index + "app/", headers={"Authorization": f"Bearer {TOKEN}"})
        assert bearer.status_code == 200 and "app-1.0" in bearer.text


def test_a_wrong_password_gets_401_and_nothing_else(published, ipfs_node, tmp_path: Path) -> None:
    app = app_of(write_config(tmp_path / "conf", published), ipfs_node, tmp_path / "cache")
    with running(app) as origin:
        decl = published.declarations["lib_b-0.5-py3-none-any.whl"]
        paths = [
            "/main/simple/",
            "/main/simple/app/",
            f"/main/files/{decl.content_id}/{decl.filename}",
        ]
        for path in paths:
            for auth in (None, ("alice", "wrong"), ("nobody", "alice-pw"), ("x", "not-a-token")):
                response = httpx.get(origin + path, auth=auth)
                assert response.status_code == 401, (path, auth)
                assert response.headers["www-authenticate"].startswith("Basic realm=")
                assert b"app" not in response.content and b"PK" not in response.content
            wrong_bearer = httpx.get(origin + path, headers={"Authorization": "Bearer nope"})
            assert wrong_bearer.status_code == 401
        url = _with_credentials(origin, "alice", "wrong", "/main/simple/")
        venv = make_venv(tmp_path / "venv")
        pip = run_pip(venv, ["install", "--no-cache-dir", "--index-url", url, "app"])
        uv = run_uv(["pip", "install", "--python", str(venv), "--index-url", url, "app"],
                    env=isolated_env(tmp_path / "c"))  # fmt: skip
        assert pip.returncode != 0 and uv.returncode != 0
        assert "app" not in installed(tmp_path / "venv")
        metrics = httpx.get(origin + "/metrics").text
    assert 'wheelset_serve_requests_total{root="main",code="401"}' in metrics
    assert "wheelset_serve_cache_misses_total 0" in metrics  # nothing was fetched for them


def test_access_lists_are_enforced_per_root(published, ipfs_node, tmp_path: Path) -> None:
    app = app_of(write_config(tmp_path / "conf", published), ipfs_node, tmp_path / "cache")
    with running(app) as origin:
        allowed = {
            ("alice", "alice-pw", "main"): 200,
            ("alice", "alice-pw", "other"): 403,
            ("bob", "bob-pw", "other"): 200,
            ("bob", "bob-pw", "main"): 403,
            ("ci", TOKEN, "main"): 200,
            ("ci", TOKEN, "other"): 403,
        }
        for (user, password, root), status in allowed.items():
            response = httpx.get(f"{origin}/{root}/simple/app/", auth=(user, password))
            assert response.status_code == status, (user, root)
            if status == 403:
                assert "app-1.0" not in response.text
        assert httpx.get(f"{origin}/nosuch/simple/", auth=("alice", "alice-pw")).status_code == 404
        other = httpx.get(f"{origin}/other/simple/app/", auth=("bob", "bob-pw")).text
        hrefs = [part.split('"')[0] for part in other.split('href="')[1:]]
        link = next(h for h in hrefs if ".whl#" in h).split("#")[0]
        wheel = httpx.get(f"{origin}/other/simple/app/{link}", auth=("bob", "bob-pw"))
        assert wheel.status_code == 200
        assert wheel.content == published.wheels["app-1.0-py3-none-any.whl"].read_bytes()
        denied = httpx.get(f"{origin}/main/simple/app/{link}", auth=("bob", "bob-pw"))
        assert denied.status_code == 403 and not denied.content.startswith(b"PK")


def test_tls_with_a_test_certificate(published, ipfs_node, tmp_path: Path) -> None:
    ca, cert, key = make_certificate(tmp_path)
    trusted = ssl.create_default_context(cafile=str(ca))
    app = app_of(write_config(tmp_path / "conf", published), ipfs_node, tmp_path / "cache")
    with running(app, certfile=cert, keyfile=key) as origin:
        assert origin.startswith("https://")
        page = httpx.get(origin + "/main/simple/", auth=("alice", "alice-pw"), verify=trusted)
        assert page.status_code == 200 and 'href="app/"' in page.text
        with pytest.raises(httpx.ConnectError):
            httpx.get(origin + "/main/simple/")  # not trusted without the certificate
        url = _with_credentials(origin, "alice", "alice-pw", "/main/simple/")
        env = {**isolated_env(tmp_path / "caches"), "SSL_CERT_FILE": str(ca)}
        venv = make_venv(tmp_path / "uv")
        uv = run_uv(["pip", "install", "--python", str(venv), "--index-url", url, "app[fast]"],
                    env=env)  # fmt: skip
        assert uv.returncode == 0, uv.stdout + uv.stderr
        venv = make_venv(tmp_path / "pip")
        # pip before 24.2 (requests) lets a machine's REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE
        # override --cert: --cert alone must be what makes pip trust the server.
        for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            env.pop(variable, None)
        pip = run_pip(venv, ["install", "--no-cache-dir", "--cert", str(ca), "--index-url",
                             url, "app[fast]"], env=env)  # fmt: skip
        assert pip.returncode == 0, pip.stdout + pip.stderr
    assert installed(tmp_path / "pip") == installed(tmp_path / "uv") == APP_FAST


def test_sighup_rereads_htpasswd_and_logs_no_credentials(
    published, ipfs_node, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "conf", published)
    args = ["--config", str(config), "--port", "0", "--gateway", ipfs_node.gateway_url]
    process, urls = start_cli([*args, "--api", ipfs_node.api_url], serve_env(tmp_path / "c"))
    try:
        assert urls[0].endswith("/main/simple/")
        origin = urls[0].removesuffix("/main/simple/")
        assert httpx.get(f"{origin}/main/simple/", auth=("carol", "carol-pw")).status_code == 401
        with (tmp_path / "conf" / "users.htpasswd").open("a") as f:
            f.write(bcrypt_line("carol", "carol-pw"))
        text = config.read_text().replace(
            'allow = ["alice", "ci"]', 'allow = ["alice", "ci", "carol"]'
        )
        config.write_text(text)
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while True:
            status = httpx.get(f"{origin}/main/simple/", auth=("carol", "carol-pw")).status_code
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == 200
        assert httpx.get(f"{origin}/main/simple/", auth=("alice", "alice-pw")).status_code == 200
        assert httpx.get(f"{origin}/main/simple/", auth=("ci", TOKEN)).status_code == 200
        assert (
            httpx.get(
                f"{origin}/main/simple/", headers={"Authorization": f"Bearer {TOKEN}"}
            ).status_code
            == 200
        )
    finally:
        code, err = stop_cli(process)
    assert code == 0, err
    assert "Traceback" not in err
    assert " carol " in err and " alice " in err  # the access log names users
    for secret in ("carol-pw", "alice-pw", TOKEN, "Basic ", "Bearer "):
        assert secret not in err


def _serve_fails(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wheelset.cli", "serve", *args],
                          capture_output=True, text=True, env=env, timeout=60)  # fmt: skip


def test_refusals_are_one_line(published, ipfs_node, tmp_path: Path) -> None:
    env = serve_env(tmp_path / "c")
    root = str(published.write_build_dir(tmp_path / "out"))
    open_host = _serve_fails([root, "--host", "0.0.0.0", "--port", "0"], env)
    assert open_host.returncode == 2 and open_host.stderr.count("\n") == 1
    assert "--insecure" in open_host.stderr and "Traceback" not in open_host.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[roots.simple]\nroot = "x"\n')
    for args, code, words in (
        (["--config", str(bad)], 1, "bad.toml"),
        ([root, "--config", str(bad)], 1, "not both"),
        ([], 2, "ROOT"),
        ([root, "--certfile", str(bad)], 1, f"{bad}: SERVE cannot use this certificate"),
        ([root, "--keyfile", str(bad)], 2, "--certfile"),
        ([root, "--htpasswd", str(bad)], 1, "bad.toml"),
        ([root, "--port", "99999"], 2, "port"),
    ):
        failed = _serve_fails(args, env)
        assert failed.returncode == code, (args, failed.stderr)
        assert failed.stderr.count("\n") == 1 and words in failed.stderr, (args, failed.stderr)
        assert "Traceback" not in failed.stderr
