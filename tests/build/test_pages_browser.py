"""The root's pages as a person sees them: `wheelset build --with-metadata --with-wheels`,
the tree added to the test IPFS node, the root page and a project page loaded from its
gateway on 127.0.0.1 in headless Chromium (the Debian package), and the rendered DOM's
tables checked. Skipped only when chromium is not installed."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from browser import dump_dom, find_chromium
from typer.testing import CliRunner

from tests.support.collection import write_collection
from tests.support.index import serve_directory, write_index
from tests.support.node import add_directory
from tests.support.wheels import make_metadata, make_wheel
from wheelset.cli import app

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed")
runner = CliRunner()
PLATFORMS = {"python-versions": ["3.11", "3.12"], "systems": ["manylinux_2_28_x86_64", "win_amd64"]}
HOSTILE = 'Fast <script>document.title="pwned"</script> & "quoted" bytes'


class _Dom(HTMLParser):
    """Rows (cell texts) of the rendered tables, the anchors, and any script element."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.anchors: dict[str, str] = {}  # text -> href
        self.scripts = 0
        self.title = ""
        self._href: str | None = None
        self._text = ""
        self._in: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("table", "title"):
            self._in.add(tag)
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self.rows[-1].append("")
        elif tag == "a":
            self._href, self._text = dict(attrs).get("href"), ""
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.anchors[self._text] = self._href
            self._href = None
        self._in.discard(tag)

    def handle_data(self, data: str) -> None:
        if "table" in self._in and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data.strip()
        if self._href is not None:
            self._text += data
        if "title" in self._in:
            self.title += data


def _render(url: str) -> _Dom:
    dom = _Dom()
    dom.feed(dump_dom(url))
    return dom


@pytest.fixture(scope="module")
def root_url(ipfs_node, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("pages")
    d = base / "wheels"
    fast = make_metadata("fast-lib", "2.1", requires_dist=["base-lib>=1"], license_expression="MIT")
    wheels = [
        make_wheel(d, "base-lib", "1.0", license_expression="Apache-2.0"),
        make_wheel(
            d,
            "fast-lib",
            "2.1",
            tag="cp311-cp311-manylinux_2_28_x86_64",
            metadata=fast.replace("Summary: test project fast-lib", f"Summary: {HOSTILE}"),
            license_expression="MIT",
        ),
        make_wheel(
            d, "fast-lib", "2.1", tag="cp311-cp311-win_amd64", requires_dist=["base-lib>=1"]
        ),
        make_wheel(d, "app", "0.5", requires_dist=["fast-lib>=2", "base-lib"]),
    ]
    collection = base / "declarations"
    decls = write_collection(collection, wheels, platforms=PLATFORMS)
    for decl, licence in zip(decls, ["Apache-2.0", "MIT", "MIT"], strict=False):
        with open(collection / decl.path, "a") as f:  # the licence a reviewer declared
            f.write(f'license = "{licence}"\n')
    write_index(base / "site", wheels)
    out = base / "out"
    with serve_directory(base / "site") as index:
        args = ["build", str(collection), "--out", str(out), "--with-metadata", "--with-wheels"]
        result = runner.invoke(app, [*args, "--index-url", f"{index}/simple"])
    assert result.exit_code == 0, result.stderr
    root = result.stdout.strip()
    assert add_directory(ipfs_node.api_url, out / "tree") == root
    yield f"{ipfs_node.gateway_url}/ipfs/{root}/"


def test_root_page_shows_the_project_table(root_url: str) -> None:
    dom = _render(root_url)
    assert dom.scripts == 0 and dom.title == "Simple index"
    header, *rows = dom.rows
    assert header == ["Project", "Version", "Summary", "Licence", "Wheels", "Platforms"]
    assert rows == [
        ["app", "0.5", "test project app", "", "1", "all"],
        ["base-lib", "1.0", "test project base-lib", "Apache-2.0", "1", "all"],
        ["fast-lib", "2.1", HOSTILE, "MIT", "2", "cp311"],
    ]
    assert dom.anchors["fast-lib"] == "fast-lib/"


def test_project_page_shows_wheels_by_platform_and_dependencies_both_ways(root_url: str) -> None:
    dom = _render(root_url + "fast-lib/")
    assert dom.scripts == 0 and dom.title == "Links for fast-lib"  # the summary's script is text
    groups = [r[0] for r in dom.rows if len(r) == 1]
    assert groups == ["manylinux_2_28_x86_64", "win_amd64"]
    assert [r[1] for r in dom.rows if len(r) == 3 and r[0].endswith(".whl")] == ["cp311"] * 2
    sizes = {r[0]: r[2] for r in dom.rows if len(r) == 3 and r[0].endswith(".whl")}
    assert set(sizes) == {
        "fast_lib-2.1-cp311-cp311-manylinux_2_28_x86_64.whl",
        "fast_lib-2.1-cp311-cp311-win_amd64.whl",
    }
    assert all(s.endswith((" B", " kB")) for s in sizes.values())
    assert dom.anchors["base-lib"] == "../base-lib/"  # a dependency
    assert dom.anchors["app"] == "../app/"  # a reverse dependency
    assert dom.anchors["All projects"] == "../"
    wheel = "fast_lib-2.1-cp311-cp311-win_amd64.whl"
    assert dom.anchors[wheel].startswith(f"{wheel}#sha256=")
