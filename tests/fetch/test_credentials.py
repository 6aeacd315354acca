"""Private indexes: credentials found as pip finds them, used, and never written down."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.decls import write_platforms
from tests.support.index import serve_protected, write_index
from tests.support.wheels import make_wheel
from wheelset.cli import app
from wheelset.fetch.credentials import strip_credentials

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
