"""Finding a wheel on a PEP 503/691 index (served on 127.0.0.1, or a file: index)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.support.index import serve_directory, write_index
from tests.support.wheels import make_wheel
from wheelset.index_client import IndexLookupError, find_wheel_url, index_url_from


@pytest.fixture
def index(tmp_path: Path) -> Path:
    wheels = [
        make_wheel(tmp_path / "w", "Some_Project", "1.0"),
        make_wheel(tmp_path / "w", "some-project", "1.1"),
    ]
    write_index(tmp_path / "site", wheels)
    return tmp_path / "site"


def test_html_page_over_http(index: Path) -> None:
    with serve_directory(index) as base, httpx.Client() as http:
        url = find_wheel_url(f"{base}/simple/", "some_project-1.1-py3-none-any.whl", http=http)
        assert url == f"{base}/files/some_project-1.1-py3-none-any.whl"
        assert http.get(url).status_code == 200


def test_json_page_from_a_file_index(index: Path) -> None:
    page = json.loads((index / "simple" / "some-project" / "index.json").read_text())
    assert page["files"]
    with httpx.Client() as http:
        url = find_wheel_url(
            (index / "simple").as_uri(), "some_project-1.0-py3-none-any.whl", http=http
        )
    assert url == (index / "files" / "some_project-1.0-py3-none-any.whl").as_uri()


@pytest.mark.parametrize(
    ("filename", "match"),
    [
        ("some_project-9.9-py3-none-any.whl", "not listed"),
        ("other-1.0-py3-none-any.whl", "HTTP 404"),
        ("not-a-wheel.zip", "not a wheel"),
    ],
)
def test_lookup_errors(index: Path, filename: str, match: str) -> None:
    with (
        serve_directory(index) as base,
        httpx.Client() as http,
        pytest.raises(IndexLookupError, match=match),
    ):
        find_wheel_url(f"{base}/simple", filename, http=http)


def test_unreachable_index() -> None:
    with httpx.Client() as http, pytest.raises(IndexLookupError, match="cannot read"):
        find_wheel_url("http://127.0.0.1:1/simple", "a-1.0-py3-none-any.whl", http=http)


def test_index_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"WHEELSET_INDEX_URL": "http://127.0.0.1:2/simple"}
    assert index_url_from("http://127.0.0.1:1/simple", env) == "http://127.0.0.1:1/simple"
    assert index_url_from(None, env) == "http://127.0.0.1:2/simple"
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:3/simple")
    assert index_url_from(None, {}) == "http://127.0.0.1:3/simple"


def test_pip_default_index_comes_from_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    url = index_url_from(None, {})
    assert url.startswith("https://") and url.rstrip("/").endswith("/simple")
