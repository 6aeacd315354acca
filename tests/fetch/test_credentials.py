"""Private indexes: credentials found as pip finds them, used, and never written down."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.decls import write_platforms
from tests.support.hostile import HostileServer, hostile_server
from tests.support.index import serve_protected, write_index
from tests.support.wheels import make_wheel
from wheelset.cli import app
from wheelset.errors import WheelsetError, mask_credentials
from wheelset.fetch.credentials import strip_credentials
from wheelset.fetch.http import new_client

USER, PASSWORD = "deploy", "s3cr3t-t0ken"


@pytest.fixture
def private_index(tmp_path: Path):
    wheel = make_wheel(tmp_path / "w", "internal-tool", "1.0")
    write_index(tmp_path / "index", [wheel])
    with serve_protected(tmp_path / "index", USER, PASSWORD) as url:
        yield url, wheel


def _declare(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    root = tmp_path / "declarations"
    write_platforms(root)
    full_env = {
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "NETRC": str(tmp_path / "none"),
        **(env or {}),
    }
    result = CliRunner().invoke(
        app, ["declare", *args, "--into", str(root), "--no-cache"], env=full_env
    )
    return result, root


def _written(root: Path) -> str:
    return "".join(p.read_text() for p in root.glob("*/*/*.toml"))


def test_credentials_in_the_index_url(private_index, tmp_path: Path) -> None:
    url, _ = private_index
    authed = url.replace("http://", f"http://{USER}:{PASSWORD}@") + "/simple"
    result, root = _declare(tmp_path, "internal-tool==1.0", "--index-url", authed)
    assert result.exit_code == 0, result.output
    text = _written(root)
    assert 'source = "index:internal_tool-1.0-py3-none-any.whl"' in text
    assert PASSWORD not in text and USER not in text


def test_credentials_from_netrc(private_index, tmp_path: Path) -> None:
    url, _ = private_index
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    netrc.chmod(0o600)
    result, root = _declare(
        tmp_path, "internal-tool==1.0", "--index-url", f"{url}/simple", env={"NETRC": str(netrc)}
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in _written(root)


def test_url_source_is_recorded_without_credentials(private_index, tmp_path: Path) -> None:
    url, wheel = private_index
    authed = url.replace("http://", f"http://{USER}:{PASSWORD}@")
    result, root = _declare(tmp_path, f"{authed}/files/{wheel.name}")
    assert result.exit_code == 0, result.output
    text = _written(root)
    assert f'source = "{url}/files/{wheel.name}"' in text and PASSWORD not in text


def test_no_credentials_is_a_one_line_401(private_index, tmp_path: Path) -> None:
    url, _ = private_index
    result, root = _declare(tmp_path, "internal-tool==1.0", "--index-url", f"{url}/simple")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "401" in lines[0]
    assert _written(root) == ""


def test_wrong_password_never_echoed(private_index, tmp_path: Path) -> None:
    url, wheel = private_index
    wrong = url.replace("http://", f"http://{USER}:wrong-pass@")
    result, _ = _declare(tmp_path, f"{wrong}/files/{wheel.name}")
    assert result.exit_code == 1 and "wrong-pass" not in result.output


def test_strip_credentials() -> None:
    assert strip_credentials("https://u:p@h.invalid:8443/a?b#c") == "https://h.invalid:8443/a?b#c"
    assert strip_credentials("https://h.invalid/a") == "https://h.invalid/a"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _authorizations(index_url: str, index: HostileServer, gateway: HostileServer) -> tuple:
    with new_client(5, index_urls=[index_url]) as http:
        http.get(f"{index.url}/simple/x/")
        http.get(f"{gateway.url}/ipfs/x")
    return index.auth_for("/simple/"), gateway.auth_for("/ipfs/")


def test_index_credentials_go_to_its_origin_only(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    with hostile_server({}) as index, hostile_server({}) as gateway:  # same host, two ports
        authed = index.url.replace("http://", f"http://{USER}:{PASSWORD}@") + "/simple"
        to_index, to_gateway = _authorizations(authed, index, gateway)
    assert to_index == [_basic(USER, PASSWORD)] and to_gateway == [None]


def test_netrc_default_goes_to_the_index_only(tmp_path: Path, monkeypatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"default login {USER} password {PASSWORD}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with hostile_server({}) as index, hostile_server({}) as gateway:
        to_index, to_gateway = _authorizations(index.url + "/simple", index, gateway)
    assert to_index == [_basic(USER, PASSWORD)] and to_gateway == [None]
    # A netrc entry names a host, not a port: it goes to the index's origin, not to
    # another port of that host.
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    with hostile_server({}) as index, hostile_server({}) as gateway:
        to_index, to_gateway = _authorizations(index.url + "/simple", index, gateway)
    assert to_index == [_basic(USER, PASSWORD)] and to_gateway == [None]


def test_an_at_sign_in_a_password_is_used_and_masked_whole(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    password = "p@ss:w@rd"
    with hostile_server({}) as index, hostile_server({}) as gateway:
        raw = index.url.replace("http://", f"http://{USER}:{password}@") + "/simple"
        to_index, _ = _authorizations(raw, index, gateway)
    assert to_index == [_basic(USER, password)]
    assert strip_credentials(raw) == index.url + "/simple"
    assert (
        mask_credentials(f"GET {raw}/x/ failed")
        == f"GET {index.url.replace('//', '//***@')}/simple/x/ failed"
    )
    error = WheelsetError(f"{raw}: HTTP 500")
    assert "p@ss" not in error.one_line() and "w@rd" not in error.one_line()


@pytest.mark.parametrize("output_format", ["text", "github", "json"])
def test_integrity_findings_never_print_the_password(
    private_index, tmp_path: Path, output_format: str
) -> None:
    url, wheel = private_index
    authed = url.replace("http://", f"http://{USER}:{PASSWORD}@") + "/simple"
    result, root = _declare(tmp_path, "internal-tool==1.0", "--index-url", authed)
    assert result.exit_code == 0, result.output
    (tmp_path / "index" / "files" / wheel.name).unlink()  # the source is gone: a finding
    checked = CliRunner().invoke(
        app,
        [
            "check",
            str(root),
            "--integrity",
            "--all",
            "--index-url",
            authed,
            "--format",
            output_format,
        ],
        env={"XDG_CACHE_HOME": str(tmp_path / "cache"), "NETRC": str(tmp_path / "none")},
    )
    assert checked.exit_code == 1
    assert "HTTP 404" in checked.output and "***@" in checked.output
    assert PASSWORD not in checked.output
