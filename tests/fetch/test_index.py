"""Which index to use, and reading project pages (PEP 503 HTML, PEP 691 JSON)."""

from __future__ import annotations

import hashlib
import html
import os
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.index import serve_directory
from wheelset.fetch import FetchError
from wheelset.fetch.index import (
    IndexClient,
    IndexLookupError,
    configured_index_url,
    parse_html_page,
    parse_json_page,
)


def test_explicit_and_environment_win(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"WHEELSET_INDEX_URL": "http://127.0.0.1:1/a/", "PIP_INDEX_URL": "http://127.0.0.1:1/b/"}
    assert configured_index_url("http://127.0.0.1:1/x/", env) == "http://127.0.0.1:1/x/"
    assert configured_index_url(None, env) == "http://127.0.0.1:1/a/"
    assert configured_index_url(None, {"PIP_INDEX_URL": "http://127.0.0.1:1/b/"}) == (
        "http://127.0.0.1:1/b/"
    )


def test_pip_configuration_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nindex-url = http://127.0.0.1:1/global/\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    assert configured_index_url(None, {}) == "http://127.0.0.1:1/global/"
    config.write_text(
        "[global]\nindex-url = http://127.0.0.1:1/global/\n"
        "[download]\nindex-url = http://127.0.0.1:1/download/\n"
    )
    assert configured_index_url(None, {}) == "http://127.0.0.1:1/download/"


def test_pip_default_comes_from_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # pip: load no configuration files
    url = configured_index_url(None, {})
    assert url.startswith("https://") and url.rstrip("/").endswith("/simple")


@pytest.mark.parametrize("negotiate", [False, True])
def test_project_files(index_root: Path, wheels: list[Path], negotiate: bool) -> None:
    with serve_directory(index_root, negotiate=negotiate) as url, httpx.Client() as http:
        client = IndexClient(f"{url}/simple", http=http)
        files = client.project_files("Demo")
        assert [f.filename for f in files] == sorted(w.name for w in wheels[:2])
        by_name = {f.filename: f for f in files}
        pure = by_name["demo-1.0-py3-none-any.whl"]
        assert pure.url == f"{url}/files/demo-1.0-py3-none-any.whl"
        assert pure.sha256 == hashlib.sha256(wheels[0].read_bytes()).hexdigest()
        assert pure.requires_python == ">=3.9"
        assert by_name["demo-1.0-cp311-cp311-win_amd64.whl"].requires_python is None
        assert client.find_file("other-2.0-py3-none-any.whl", "other").url.endswith(
            "/files/other-2.0-py3-none-any.whl"
        )


def test_json_is_preferred_when_offered(index_root: Path) -> None:
    (index_root / "simple" / "demo" / "index.html").write_text("<html>broken</html>")
    with serve_directory(index_root, negotiate=True) as url, httpx.Client() as http:
        files = IndexClient(f"{url}/simple/", http=http).project_files("demo")
    assert len(files) == 2


def test_html_details(tmp_path: Path) -> None:
    page = tmp_path / "simple" / "demo"
    page.mkdir(parents=True)
    (page / "index.html").write_text(
        '<html><head><base href="https://127.0.0.1:9/elsewhere/"></head><body>'
        '<a href="../f/demo-1.0-py3-none-any.whl#sha256=' + "AB" * 32 + '" '
        'data-requires-python="&gt;=3.8" data-yanked="">demo-1.0-py3-none-any.whl</a>'
        '<a href="http://127.0.0.1:9/demo-0.9.tar.gz#md5=00">demo-0.9.tar.gz</a>'
        "</body></html>"
    )
    with serve_directory(tmp_path) as url, httpx.Client() as http:
        wheel, sdist = IndexClient(f"{url}/simple", http=http).project_files("demo")
    assert wheel.url == "https://127.0.0.1:9/f/demo-1.0-py3-none-any.whl"
    assert wheel.sha256 == "ab" * 32 and wheel.requires_python == ">=3.8" and wheel.yanked
    assert sdist.sha256 is None and not sdist.yanked


def test_file_index(index_root: Path) -> None:
    with httpx.Client() as http:
        client = IndexClient((index_root / "simple").as_uri(), http=http)
        assert len(client.project_files("demo")) == 2
        with pytest.raises(IndexLookupError, match="not found"):
            client.project_files("absent")


def test_missing_project_and_file(served: str, http: httpx.Client) -> None:
    client = IndexClient(f"{served}/simple", http=http)
    with pytest.raises(IndexLookupError) as info:
        client.project_files("absent")
    assert info.value.code == "FETCH" and "'absent' not found" in str(info.value)
    with pytest.raises(IndexLookupError, match="is not listed"):
        client.find_file("demo-9.9-py3-none-any.whl", "demo")


def test_unreachable_index() -> None:
    with httpx.Client(timeout=2) as http:
        client = IndexClient("http://127.0.0.1:9/simple", http=http)
        with pytest.raises(FetchError) as info:
            client.project_files("demo")
    assert info.value.code == "FETCH"


def test_malformed_json_page(tmp_path: Path) -> None:
    page = tmp_path / "simple" / "demo"
    page.mkdir(parents=True)
    (page / "index.html").write_text("")
    (page / "index.json").write_text('{"files": [{"filename": 3}]}')
    with (
        serve_directory(tmp_path, negotiate=True) as url,
        httpx.Client() as http,
        pytest.raises(IndexLookupError, match="not a valid simple-index page"),
    ):
        IndexClient(f"{url}/simple", http=http).project_files("demo")


_wheel_names = st.from_regex(
    r"[A-Za-z][A-Za-z0-9_]{0,6}-[0-9]{1,2}(\.[0-9]{1,2})?-py3-none-any\.whl", fullmatch=True
)


@given(
    names=st.lists(_wheel_names, unique=True, max_size=5),
    requires_python=st.sampled_from([None, ">=3.8", ">=3.8,<4", "!=3.9.*,>=3.7"]),
    base=st.sampled_from(["http://127.0.0.1:9/simple/demo/", "https://127.0.0.1/a/b/"]),
)
def test_html_pages_parse_back(names: list[str], requires_python: str | None, base: str) -> None:
    """What a PEP 503 page says (escaped as real indexes escape it) is what we read."""
    anchors = []
    for i, name in enumerate(names):
        href = f"../../files/{i}/{name}#sha256={i:064x}"
        attribute = (
            f' data-requires-python="{html.escape(requires_python)}"' if requires_python else ""
        )
        anchors.append(f'<a href="{html.escape(href)}"{attribute}>{html.escape(name)}</a>')
    files = parse_html_page("<html><body>" + "<br>".join(anchors) + "</body></html>", base)
    assert [f.filename for f in files] == names
    for i, f in enumerate(files):
        assert f.url == urljoin(base, f"../../files/{i}/{names[i]}")
        assert f.sha256 == f"{i:064x}" and f.requires_python == requires_python


def test_pep658_and_714_metadata_attributes_are_read() -> None:
    page = (
        '<a href="a-1-py3-none-any.whl" data-core-metadata="sha256=' + "ab" * 32 + '">a</a>'
        '<a href="b-1-py3-none-any.whl" data-dist-info-metadata="true">b</a>'
        '<a href="c-1-py3-none-any.whl">c</a>'
    )
    files = parse_html_page(page, "http://127.0.0.1:9/simple/a/")
    assert [f.core_metadata for f in files] == ["ab" * 32, "", None]
    doc = {
        "files": [
            {
                "filename": "a-1-py3-none-any.whl",
                "url": "a",
                "core-metadata": {"sha256": "CD" * 32},
            },
            {"filename": "b-1-py3-none-any.whl", "url": "b", "dist-info-metadata": True},
            {"filename": "c-1-py3-none-any.whl", "url": "c", "core-metadata": False},
        ]
    }
    files = parse_json_page(doc, "http://127.0.0.1:9/simple/a/")
    assert [f.core_metadata for f in files] == ["cd" * 32, "", None]
