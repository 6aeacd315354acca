"""A project's page and index.json, as a build renders them hundreds of thousands of times
(templates, cached escapes), equal what they are defined to be: for the page, the
rendering below (every outside string escaped, the parts in order); for index.json, the
deterministic JSON of the document docs/root-format.md describes. On generated projects:
several wheels or one, with and without requires-python, licence, hashes, METADATA,
dependencies, summary, platforms and dependents, with texts that need escaping."""

from __future__ import annotations

import re
from html import escape

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from tests.build.test_rootfiles import _document, _reference
from tests.support.decls import SOME_CID, make_decl
from wheelset.build import pages
from wheelset.build.manifest import MetadataFile, WheelEntry
from wheelset.build.pages import project_page_end, render_project_page, wheels_of
from wheelset.build.rootfiles import format_project_file
from wheelset.build.tree import wheel_parts
from wheelset.ipfs.cid import parse_cid
from wheelset.model.platforms import parse_platforms
from wheelset.progress import human_size

PLATFORMS = parse_platforms(
    {"python-versions": ["3.11", "3.12"], "systems": ["manylinux_2_28_x86_64", "win_amd64"]}
)
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _oracle_page(project, entries, platforms, summary, dependents) -> bytes:
    """The project page, part by part, every text escaped where it is written."""
    ordered = sorted(entries, key=lambda e: e.declaration.filename)
    decls = [e.declaration for e in ordered]
    wheels = pages.wheels_of(ordered)
    names = [pages.wheel_name(record) for record, _ in wheels]
    _, groups, covered = pages._layout(wheels, names, pages._table(platforms))
    version = ", ".join(sorted({str(d.version) for d in decls}))
    licence = ", ".join(sorted({d.license for d in decls if d.license}))
    pythons = ", ".join(sorted({str(d.requires_python) for d in decls if d.requires_python}))
    total = sum(d.size or 0 for d in decls)
    facts = (
        f"<dt>Version<dd>{escape(version)}<dt>Licence<dd>{escape(licence or 'not declared')}"
        f"<dt>Requires-Python<dd>{escape(pythons or 'any')}"
        f"<dt>Wheels<dd>{len(decls)} ({human_size(total)})"
    )
    if platforms:
        facts += (
            f"<dt>Platforms<dd>{escape(f'all {len(platforms)}' if covered == 'all' else covered)}"
        )
    lines = ['    <p><a href="../">All projects</a></p>']
    if summary:
        lines.append(f"    <p>{escape(summary)}</p>")
    lines.append(f"    <dl>{facts}</dl>\n    <h2>Wheels</h2>\n    <table>")
    lines.append('<thead><tr><th>File<th>CPython<th class="n">Size</thead>')
    for label, members in groups:
        rows = []
        for i, python in members:
            entry = ordered[i]
            d = entry.declaration
            href = d.filename + (f"#sha256={d.sha256}" if d.sha256 else "")
            attributes = f'href="{escape(href)}"'
            if d.requires_python is not None:
                attributes += f' data-requires-python="{escape(str(d.requires_python))}"'
            if entry.metadata is not None:
                attributes += f' data-core-metadata="{escape("sha256=" + entry.metadata.sha256)}"'
            rows.append(
                f"<tr><td><a {attributes}>{escape(d.filename)}</a><td>{escape(python)}"
                f'<td class="n">{human_size(d.size or 0)}'
            )
        head = f'<tr><th colspan="3">{escape(label)}\n' if label else ""
        lines.append(f"<tbody>{head}{chr(10).join(rows)}</tbody>")
    lines.append("    </table>")

    def by_name(text: str) -> tuple[str, str]:
        m = _NAME.match(text)
        return (canonicalize_name(m.group(1)) if m else "", text)

    def item(text: str) -> str:
        m = _NAME.match(text)
        if m is None:
            return f"<li>{escape(text)}"
        name = m.group(1)
        rest = escape(text[m.end() :])
        return f'<li><a href="../{escape(canonicalize_name(name))}/">{escape(name)}</a>{rest}'

    requirements = sorted({t for d in decls for t in d.dependencies}, key=by_name)
    lines.append(f"    <h2>Dependencies ({len(requirements)})</h2>")
    if requirements:
        lines.append('    <ul class="c">' + "".join(map(item, requirements)) + "</ul>")
    lines.append(f"    <h2>Required by ({len(dependents)})</h2>")
    if dependents:
        items = "".join(f'<li><a href="../{escape(n)}/">{escape(n)}</a>' for n in dependents)
        lines.append(f'    <ul class="c">{items}</ul>')
    head = (
        '<!DOCTYPE html>\n<html>\n  <head>\n    <meta charset="utf-8">\n'
        '    <meta name="pypi:repository-version" content="1.0">\n'
        '    <meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"    <title>{escape(f'Links for {project}')}</title>\n"
        f"    <style>{pages._STYLE}</style>\n  </head>\n"
        f"  <body>\n    <h1>{escape(f'{project} {version}')}</h1>\n"
    )
    return (head + "\n".join(lines) + "\n  </body>\n</html>\n").encode()


_TAGS = ["py3-none-any", "cp311-cp311-win_amd64", "cp312-cp312-manylinux_2_28_x86_64"]
_TEXT = st.text(alphabet="ab<>&\"' é", max_size=8)


@st.composite
def _entries(draw) -> list[WheelEntry]:
    wheels = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["1.0", "1.0.post1", "2.0rc1", "10"]), st.sampled_from(_TAGS)
            ),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    entries = []
    for version, tags in wheels:
        fields: dict[str, object] = {"size": draw(st.integers(0, 10**10))}
        if draw(st.booleans()):
            fields["sha256"] = draw(st.sampled_from(["a" * 64, "0123456789abcdef" * 4]))
        python = draw(st.sampled_from([None, ">=3.8", ">=3.8,!=3.9.*", "<3.12"]))
        if python is not None:
            fields["requires_python"] = python
        licence = draw(st.sampled_from([None, "MIT", "Apache-2.0 OR MIT"]))
        if licence is not None:
            fields["license"] = licence
        fields["extras"] = draw(st.lists(st.sampled_from(["t", "docs", "a-b"]), unique=True))
        marker = draw(_TEXT).replace("\\", "")
        fields["dependencies"] = draw(
            st.lists(
                st.sampled_from(
                    [
                        'x; extra == "t"',
                        "y>1",
                        "A_B[c]>=2",
                        "Ab.C<3",
                        f'z>=1; platform_release == "{marker.replace(chr(34), "")}"',
                    ]
                ),
                unique=True,
            )
        )
        decl = make_decl(f"ab_c-{version}-{tags}.whl", **fields)
        meta = None
        if draw(st.booleans()):
            meta = MetadataFile(parse_cid(SOME_CID), "b" * 64, draw(st.integers(0, 10**6)))
        entries.append(WheelEntry(decl, meta))
    return draw(st.permutations(entries))


@settings(max_examples=300, deadline=None)
@given(
    entries=_entries(),
    platforms=st.sampled_from([(), PLATFORMS]),
    summary=_TEXT,
    dependents=st.lists(st.sampled_from(["a", "b-c", "d.e"]), unique=True).map(sorted),
)
def test_page_and_project_file_equal_their_definitions(
    entries: list[WheelEntry], platforms, summary: str, dependents: list[str]
) -> None:
    page, row, project_file, links = wheel_parts(
        "ab-c", wheels_of(entries), platforms=platforms, summary=summary
    )
    expected = _oracle_page("ab-c", entries, platforms, summary, dependents)
    assert page + project_page_end(dependents) == expected
    assert (
        render_project_page(
            "ab-c", entries, platforms=platforms, dependents=dependents, summary=summary
        )
        == expected
    )
    assert (
        project_file
        == format_project_file("ab-c", entries)
        == _reference(_document("ab-c", entries))
    )
    assert row.wheels == len(entries)
    assert len(links) == len(entries) + sum(e.metadata is not None for e in entries)
