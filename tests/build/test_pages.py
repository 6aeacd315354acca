"""The root's pages (build/pages.py): PEP 503 anchors exactly as pip and uv read them, a
root page with a row per project, project pages with wheels by platform, sizes,
dependencies and reverse dependencies; outside text escaped; a small root page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from tests.support.decls import write_decl, write_platforms
from wheelset.build.manifest import MetadataFile, WheelEntry, manifest_of
from wheelset.build.pages import (
    ProjectRow,
    dependency_names,
    project_row,
    render_project_page,
    render_root_page,
    summary_of,
)
from wheelset.build.stage import build_collection
from wheelset.build.tree import build_root
from wheelset.ipfs.cid import parse_cid
from wheelset.model.declarations import parse_declaration, relpath_for
from wheelset.model.platforms import parse_platforms

TABLE = {
    "python-versions": ["3.11", "3.12"],
    "systems": ["manylinux_2_28_x86_64", "win_amd64"],
}
PLATFORMS = parse_platforms(TABLE)
CID = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"


def _decl(filename: str, **fields: object):
    table: dict[str, object] = {
        "source": f"index:{filename}",
        "content-id": CID,
        "sha256": "ab" * 32,
        "size": 123_456,
        "extras": [],
        "dependencies": [],
        "license": "MIT",
    }
    table.update(fields)
    return parse_declaration(table, relpath_for(filename))


class _Cells(HTMLParser):
    """Rows of the page's tables (cell texts) and every anchor's (attributes, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._anchor: dict[str, str | None] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self.rows[-1].append("")
        elif tag == "a":
            self._anchor, self._text = dict(attrs), ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._anchor is not None:
            self.anchors.append((self._anchor, self._text))
            self._anchor = None

    def handle_data(self, data: str) -> None:
        if self.rows and self.rows[-1]:
            self.rows[-1][-1] += data.strip()
        if self._anchor is not None:
            self._text += data


def _parse(page: bytes) -> _Cells:
    cells = _Cells()
    cells.feed(page.decode("utf-8"))
    return cells


def test_wheel_anchors_are_exactly_the_pep_503_ones() -> None:
    pure = _decl("demo-1.0-py3-none-any.whl", **{"requires-python": ">=3.10,<4"})
    native = _decl("demo-1.0-cp311-cp311-win_amd64.whl")
    meta = MetadataFile(parse_cid(CID), "cd" * 32, 10)
    page = render_project_page(
        "demo", [WheelEntry(native), WheelEntry(pure, meta)], platforms=PLATFORMS
    ).decode()
    anchors = re.findall(r"<a [^>]*>[^<]*</a>", page)
    assert (
        f'<a href="demo-1.0-py3-none-any.whl#sha256={"ab" * 32}" '
        'data-requires-python="&lt;4,&gt;=3.10" '
        f'data-core-metadata="sha256={"cd" * 32}">demo-1.0-py3-none-any.whl</a>'
    ) in anchors
    assert (
        f'<a href="demo-1.0-cp311-cp311-win_amd64.whl#sha256={"ab" * 32}">'
        "demo-1.0-cp311-cp311-win_amd64.whl</a>"
    ) in anchors
    wheels = [a for a in anchors if ".whl" in a]
    assert len(wheels) == 2  # each wheel once, whatever groups it is shown in
    assert "<script" not in page
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta name="pypi:repository-version" content="1.0">' in page


def test_project_page_groups_wheels_by_platform_with_sizes_and_dependencies() -> None:
    wheels = [
        _decl("demo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", size=2_500_000),
        _decl("demo-1.0-cp311-cp311-win_amd64.whl"),
        _decl("demo-1.0-cp312-abi3-manylinux_2_28_x86_64.whl"),
        _decl("demo-1.0-cp310-cp310-win_amd64.whl"),  # no platform here picks it
        _decl(
            "demo-1.0-cp312-cp312-win_amd64.whl",
            dependencies=['Other_Lib>=2; extra == "x"', "base<3"],
        ),
    ]
    page = render_project_page(
        "demo",
        [WheelEntry(d) for d in wheels],
        platforms=PLATFORMS,
        dependents=["user-a", "user-b"],
        summary="Demo <b>bold</b> & more",
    )
    cells = _parse(page)
    groups = [r[0] for r in cells.rows if len(r) == 1]
    assert groups == [
        "manylinux_2_28_x86_64",
        "win_amd64",
        "no platform of this collection picks these",
    ]
    pythons = {r[0]: r[1] for r in cells.rows if len(r) == 3}
    assert pythons["demo-1.0-cp312-abi3-manylinux_2_28_x86_64.whl"] == "cp312"
    assert pythons["demo-1.0-cp310-cp310-win_amd64.whl"] == ""
    sizes = {r[0]: r[2] for r in cells.rows if len(r) == 3}
    assert sizes["demo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"] == "2.5 MB"
    assert sizes["demo-1.0-cp311-cp311-win_amd64.whl"] == "123.5 kB"
    links = {text: attrs["href"] for attrs, text in cells.anchors}
    assert links["base"] == "../base/" and links["Other_Lib"] == "../other-lib/"
    assert links["user-a"] == "../user-a/" and links["user-b"] == "../user-b/"
    assert links["All projects"] == "../"
    text = page.decode()
    assert "Demo &lt;b&gt;bold&lt;/b&gt; &amp; more" in text and "<b>" not in text
    assert "&gt;=2; extra == &quot;x&quot;" in text
    assert "<h2>Required by (2)</h2>" in text and "<h2>Dependencies (2)</h2>" in text


def test_root_page_has_a_row_per_project() -> None:
    rows = [
        ProjectRow("zeta", "2.0", "Last <one>", "Apache-2.0", 3, "cp311"),
        ProjectRow("alpha", "1.0", "x" * 200, "MIT", 1, "all"),
    ]
    page = render_root_page(rows, PLATFORMS, 4)
    cells = _parse(page)
    assert cells.rows[0] == ["Project", "Version", "Summary", "Licence", "Wheels", "Platforms"]
    assert cells.rows[1] == ["alpha", "1.0", "x" * 79 + "…", "MIT", "1", "all"]
    assert cells.rows[2] == ["zeta", "2.0", "Last <one>", "Apache-2.0", "3", "cp311"]
    assert [(a["href"], t) for a, t in cells.anchors] == [("alpha/", "alpha"), ("zeta/", "zeta")]
    text = page.decode()
    assert "Last &lt;one&gt;" in text
    assert "2 projects, 4 wheels, for 4 platforms: CPython 3.11, 3.12 on" in text


def test_project_row_and_dependency_names() -> None:
    wheels = [
        _decl("demo-1.0-cp311-cp311-win_amd64.whl", license="MIT"),
        _decl("demo-1.0-cp312-cp312-win_amd64.whl", license="BSD-3-Clause"),
    ]
    row = project_row("demo", wheels, PLATFORMS, "A demo")
    assert row == ProjectRow("demo", "1.0", "A demo", "BSD-3-Clause, MIT", 2, "win_amd64")
    assert project_row("demo", wheels[:1], PLATFORMS).platforms == "cp311-win_amd64"
    pure = _decl("demo-1.0-py3-none-any.whl")
    assert project_row("demo", [pure], PLATFORMS).platforms == "all"
    assert (
        project_row("demo", [_decl("demo-1.0-cp39-cp39-win_amd64.whl")], PLATFORMS).platforms
        == "none"
    )
    names = dependency_names("demo", ["Zope.Interface>=1", "demo[x]", 'b; extra == "t"', "!bad"])
    assert names == ("b", "zope-interface")


def test_summary_comes_from_metadata() -> None:
    metadata = (
        b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: A  demo\n  tool\n\nbody\n"
    )
    assert summary_of(metadata) == "A demo tool"
    assert summary_of(b"Metadata-Version: 2.1\nName: demo\n\n") == ""


def test_reverse_dependencies_in_built_roots(tmp_path: Path) -> None:
    collection = tmp_path / "declarations"
    write_platforms(collection)
    write_decl(collection, "base-1.0-py3-none-any.whl", size=10, dependencies=[])
    write_decl(collection, "app-1.0-py3-none-any.whl", size=10, dependencies=["base>=1"])
    write_decl(collection, "tool-1.0-py3-none-any.whl", size=10, dependencies=["Base", "app"])
    out = tmp_path / "out"
    built = build_collection(collection, out=out)
    page = (out / "tree" / "base" / "index.html").read_bytes()
    links = {t: a["href"] for a, t in _parse(page).anchors}
    assert links["app"] == "../app/" and links["tool"] == "../tool/"
    assert b"<h2>Required by (2)</h2>" in page
    root = _parse((out / "tree" / "index.html").read_bytes())
    assert [r[0] for r in root.rows[1:]] == ["app", "base", "tool"]
    assert all(r[4] == "1" for r in root.rows[1:])
    from wheelset.model.collection import read_collection

    table, decls = read_collection(collection)
    assert build_root(manifest_of(table, decls)).cid == built.root


def test_root_page_stays_small() -> None:
    """Bytes per project of the root page, for names and versions of usual lengths and no
    summary: within 60 bytes of a bare PEP 503 anchor list."""
    rows = [ProjectRow(f"project-{i:05d}", "1.2.3", "", "MIT", 2, "all") for i in range(10_000)]
    page = render_root_page(rows, PLATFORMS, 20_000)
    bare = sum(len(f'    <a href="{r.name}/">{r.name}</a><br/>\n') for r in rows)
    assert len(page) < bare + 60 * len(rows)
