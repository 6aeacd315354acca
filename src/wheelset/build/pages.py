"""The root's HTML pages (docs/root-format.md): PEP 503 pages that people can read too.

The root page is a table of the collection's projects (version, summary, licence, wheel
count, platforms covered), one row per project; a project page lists its wheels grouped
by the platforms that install them, with sizes, and its dependencies and the projects
that depend on it (reverse dependencies), each linked to its page. The anchors pip and uv
read are the PEP 503 ones they always were (href, data-requires-python, data-core-metadata,
file name as text); everything else is plain HTML with one small style sheet, no script.
Every outside string (names, summaries, licences, requirements) is escaped.

A project page is a function of the project's declarations (and METADATA), the platforms
table and the names of the projects depending on it; the root page of the rows.
Entry points: ProjectRow, project_row(), dependency_names(), dependents_of(), summary_of(),
render_root_page(), root_page_frame(), root_row(), render_project_page(), project_page(),
project_page_end().
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import PurePosixPath

from packaging.requirements import InvalidRequirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from wheelset.build.manifest import WheelEntry
from wheelset.build.rootfiles import shared_str
from wheelset.ipfs.cid import CID, DAG_PB
from wheelset.model.declarations import Declaration, parse_requirement
from wheelset.model.platforms import Platform, describe_platforms, select_wheel
from wheelset.progress import human_size

__all__ = [
    "ProjectRow",
    "dependency_names",
    "dependents_of",
    "project_page",
    "project_page_end",
    "project_row",
    "render_project_page",
    "render_root_page",
    "root_page_frame",
    "root_row",
    "summary_of",
]

ROOT_SUMMARY_LIMIT = 80  # characters of a summary on the root page (the page stays small)
_NAME = NormalizedName("x")
_CID = CID(0, DAG_PB, bytes(32))
_NAME_AT_START = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")

# One style sheet for both pages, inline (no second request, nothing a gateway must serve).
_STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;color:#1f2328;max-width:76em;margin:1.5em auto;"
    "padding:0 1em}h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin:1.4em 0 .4em}"
    "a{color:#0550ae;text-decoration:none}a:hover{text-decoration:underline}"
    "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .6em;"
    "border-bottom:1px solid #d8dee4;vertical-align:top}th{background:#f6f8fa}"
    "td.n,th.n,.r td:nth-child(5),.r th:nth-child(5){text-align:right;white-space:nowrap}"
    ".m{color:#59636e}.r td:nth-child(3){width:40%}.r td:nth-child(4){min-width:9em}"
    "tbody th{font-weight:600;background:#eef3f8}dl{display:grid;"
    "grid-template-columns:max-content auto;gap:.2em 1em}dt{color:#59636e}dd{margin:0}"
    "ul.c{columns:18em;padding-left:1.2em}"
)


@dataclass(frozen=True, slots=True)
class ProjectRow:
    """What the root page says about one project; every field but ``name`` may be empty
    (``serve`` lists names only)."""

    name: str
    version: str = ""
    summary: str = ""
    license: str = ""
    wheels: int = 0
    platforms: str = ""


def dependency_names(project: str, requirements: Iterable[str]) -> tuple[str, ...]:
    """The canonical names of the projects ``requirements`` (PEP 508 texts) name, the
    project itself excluded (an extra asking for more of it), sorted. A text that is not
    PEP 508 names nothing (the declaration's own check reports it)."""
    names = set()
    for text in requirements:
        try:
            names.add(canonicalize_name(parse_requirement(text).name))
        except InvalidRequirement:
            continue
    names.discard(project)
    return tuple(sorted(names))


def summary_of(metadata: bytes) -> str:
    """The Summary field of a wheel's METADATA ("" without one), on one line."""
    from email.parser import BytesHeaderParser  # here: only builds with METADATA parse it

    headers = BytesHeaderParser().parsebytes(metadata)
    value = headers.get("Summary")
    return " ".join(str(value).split()) if value is not None else ""


_PICKS_CACHED = 4096


class _Table(tuple):
    """A platforms table as a cache key, hashed and compared by identity: a build passes
    the same table for every project, and hashing its platforms on every call cost more
    than the cached work."""

    __slots__ = ()
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other


_TABLES: dict[int, tuple[Sequence[Platform], _Table]] = {}


def _table(platforms: Sequence[Platform]) -> _Table:
    """The one _Table of this sequence of platforms (held, so its id is not reused)."""
    if type(platforms) is _Table:
        return platforms
    found = _TABLES.get(id(platforms))
    if found is not None and found[0] is platforms:
        return found[1]
    if len(_TABLES) >= 64:
        _TABLES.clear()
    table = _Table(platforms)
    _TABLES[id(platforms)] = (platforms, table)
    return table


# How a project's wheels sit on the platforms: for each wheel (sorted by file name) the
# ids of the platforms where pip picks it; the groups of its page (label, wheels as
# (index, CPython text)); and its row's platform text.
_Layout = tuple[
    tuple[tuple[str, ...], ...], tuple[tuple[str, tuple[tuple[int, str], ...]], ...], str
]


def _layout(decls: Sequence[Declaration], table: _Table) -> _Layout:
    """The _Layout of these declarations, sorted by file name."""
    if len(decls) == 1:  # most projects: one wheel
        d = decls[0]
        return _layout_of(_picks(((d.tags, d.requires_python, 0),), table), (0,), table)
    # Versions by rank only (select_wheel compares them): projects share shapes.
    rank = {v: i for i, v in enumerate(sorted({d.version for d in decls}))}
    shape = tuple((d.tags, d.requires_python, rank[d.version]) for d in decls)
    first: dict[str, int] = {}
    same = tuple(first.setdefault(d.filename, i) for i, d in enumerate(decls))
    return _layout_of(_picks(shape, table), same, table)


@functools.lru_cache(maxsize=_PICKS_CACHED)
def _layout_of(picks: tuple[int | None, ...], same: tuple[int, ...], table: _Table) -> _Layout:
    """The _Layout of wheels given which one each platform picks and which share a file
    name (``same``: the index of the first wheel with each one's name); cached, as picks
    are: most projects have the same few shapes."""
    ids = tuple(
        tuple(
            p.id
            for p, pick in zip(table, picks, strict=True)
            if pick is not None and same[pick] == same[i]
        )
        for i in range(len(same))
    )
    covered = {i for wheel in ids for i in wheel}
    row = _describe(tuple(p.id for p in table if p.id in covered), table)
    if not table:
        return ids, (("", tuple((i, "") for i in range(len(same)))),), row
    every_system = list(dict.fromkeys(p.system for p in table))
    every_python = list(dict.fromkeys(_python_of(p) for p in table))
    groups: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for index, wheel in enumerate(ids):
        picked = [p for p in table if p.id in wheel]
        systems = list(dict.fromkeys(p.system for p in picked))
        pythons = list(dict.fromkeys(_python_of(p) for p in picked))
        if not wheel:
            label, python = "no platform of this collection picks these", ""
        elif len(wheel) != len(systems) * len(pythons):  # not every CPython on each system
            label, python = _describe(wheel, table), ""
        else:
            label = "every system" if systems == every_system else ", ".join(systems)
            python = "all" if pythons == every_python else ", ".join(pythons)
        first = min((every_system.index(p.system) for p in picked), default=len(every_system))
        groups.setdefault((first, label), []).append((index, python))
    layout = tuple((label, tuple(members)) for (_, label), members in sorted(groups.items()))
    return ids, layout, row


@functools.lru_cache(maxsize=_PICKS_CACHED)
def _picks(
    wheels: tuple[tuple[frozenset[Tag], SpecifierSet | None, int], ...],
    platforms: _Table,
) -> tuple[int | None, ...]:
    """Which of these wheels (by tags, requires-python and version rank: all select_wheel
    reads) each platform picks, by index."""
    stand_ins = [
        Declaration(
            PurePosixPath(), f"{i:09d}", _NAME, Version(str(r)), (), tags, "", _CID, (), (), python
        )  # select_wheel's ties go to the first file name: stand-ins keep ``wheels``' order
        for i, (tags, python, r) in enumerate(wheels)
    ]
    found = []
    for platform in platforms:
        decl = select_wheel(stand_ins, platform)
        found.append(None if decl is None else int(decl.filename))
    return tuple(found)


@functools.lru_cache(maxsize=_PICKS_CACHED)
def _describe(ids: tuple[str, ...], platforms: tuple[Platform, ...]) -> str:
    """Platform ids in few words (describe_platforms); "all" or "none"."""
    if not ids:
        return "none"
    if len(ids) == len(platforms):
        return "all"
    return describe_platforms(ids, platforms)


def project_row(
    project: str,
    decls: Sequence[Declaration],
    platforms: Sequence[Platform],
    summary: str = "",
) -> ProjectRow:
    """The root page's row of a project."""
    ordered = sorted(decls, key=_filename)
    return _row(project, ordered, _layout(ordered, _table(platforms))[2], summary)


def _filename(decl: Declaration) -> str:
    return decl.filename


def _row(project: str, ordered: Sequence[Declaration], covered: str, summary: str) -> ProjectRow:
    if len(ordered) == 1:
        d = ordered[0]
        return ProjectRow(project, shared_str(d.version), summary, d.license or "", 1, covered)
    return ProjectRow(
        project,
        ", ".join(sorted({shared_str(d.version) for d in ordered})),
        summary,
        ", ".join(sorted({d.license for d in ordered if d.license})),
        len(ordered),
        covered,
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _platforms_line(platforms: Sequence[Platform]) -> str:
    pythons = dict.fromkeys(p.python_version for p in platforms)
    systems = dict.fromkeys(p.system for p in platforms)
    return f"{len(platforms)} platforms: CPython {', '.join(pythons)} on {', '.join(systems)}"


# Versions, licences and platform lines repeat across a collection's rows.
_escape_shared = functools.lru_cache(maxsize=1 << 15)(escape)


def _escape_row(text: str) -> str:
    """escape(), sparing its five replacements when there is nothing to escape (a build
    escapes every project's name, summary and wheel; five searches cost less than a
    regular expression's)."""
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return escape(text)
    return text


def root_row(row: ProjectRow) -> str:
    """A project's row of the root page (one line; names are canonical, so the row starts
    with ``<tr><td><a href="NAME/">``)."""
    name = _escape_row(row.name)
    # End tags of cells and rows are implied (HTML) and the numbers' alignment is in
    # the style sheet: fewer bytes on a page with a row for every project.
    return (
        f'<tr><td><a href="{name}/">{name}</a><td>{_escape_shared(row.version)}'
        f"<td>{_escape_row(_clip(row.summary, ROOT_SUMMARY_LIMIT))}"
        f"<td>{_escape_shared(row.license)}"
        f"<td>{row.wheels or ''}<td>{_escape_shared(row.platforms)}"
    )


def root_page_frame(
    count: int, platforms: Sequence[Platform] = (), wheels: int | None = None
) -> tuple[bytes, bytes]:
    """What the root page has before its rows and after them: the page is
    ``head + b"\n".join(rows) + tail`` (a build that keeps the page splices rows in)."""
    about = f"{count:,} projects"
    if wheels is not None:
        about += f", {wheels:,} wheels"
    if platforms:
        about += f", for {escape(_platforms_line(platforms))}"
    body = (
        f'    <p class="m">{about}.</p>\n    <table class="r">\n'
        '<thead><tr><th>Project<th>Version<th>Summary<th>Licence<th class="n">Wheels'
        "<th>Platforms</thead>\n\0\n    </table>"
    )
    # The last NUL is the rows' place: the text after it is fixed.
    head, tail = _page("Simple index", "Simple index", body).rsplit(b"\0", 1)
    return head, tail


def render_root_page(
    rows: Iterable[ProjectRow], platforms: Sequence[Platform] = (), wheels: int | None = None
) -> bytes:
    """PEP 503 root page: a table with one row per project (its anchor first), sorted.

    ``platforms`` and ``wheels`` describe the collection in a line above the table.
    """
    lines = [root_row(row) for row in sorted(rows, key=lambda r: r.name)]
    head, tail = root_page_frame(len(lines), platforms, wheels)
    return head + "\n".join(lines).encode("utf-8") + tail


def _anchor(entry: WheelEntry, location: str) -> str:
    """One wheel's anchor: PEP 503 hash fragment, requires-python, PEP 658/714 metadata."""
    decl = entry.declaration
    href = f"{location}#sha256={decl.sha256}" if decl.sha256 else location
    anchor = f'<a href="{_escape_row(href)}"'
    if decl.requires_python is not None:
        anchor += f' data-requires-python="{_escape_shared(shared_str(decl.requires_python))}"'
    if entry.metadata is not None:
        # PEP 714's name only: pip before 23.2 reads the old data-dist-info-metadata and
        # then compares METADATA's Name with the requirement's spelling unnormalised
        # (charset-normalizer vs charset_normalizer), failing installs a wheel would pass.
        anchor += f' data-core-metadata="{_escape_row(f"sha256={entry.metadata.sha256}")}"'
    return f"{anchor}>{_escape_row(decl.filename)}</a>"


# Requirement texts and names repeat across a collection's pages.
_TEXTS_CACHED = 1 << 14  # entries: a few MB per worker


@functools.lru_cache(maxsize=_TEXTS_CACHED)
def _requirement_item(text: str) -> str:
    """A requirement with its project name linked to that project's page."""
    m = _NAME_AT_START.match(text)
    if m is None:
        return f"<li>{escape(text)}"
    name = m.group(1)
    href = escape(canonicalize_name(name))
    return f'<li><a href="../{href}/">{escape(name)}</a>{escape(text[m.end() :])}'


@functools.lru_cache(maxsize=_TEXTS_CACHED)
def _by_name(text: str) -> tuple[str, str]:
    m = _NAME_AT_START.match(text)
    return (canonicalize_name(m.group(1)) if m else "", text)


@functools.lru_cache(maxsize=_TEXTS_CACHED)
def _dependent_item(name: str) -> str:
    name = escape(name)
    return f'<li><a href="../{name}/">{name}</a>'


def _python_of(platform: Platform) -> str:
    return platform.id.split("-", 1)[0]  # "cp311"


def render_project_page(
    project: str,
    entries: Sequence[WheelEntry],
    location: Callable[[WheelEntry], str] | None = None,
    *,
    platforms: Sequence[Platform] = (),
    dependents: Sequence[str] = (),
    summary: str = "",
) -> bytes:
    """PEP 503 project page (with PEP 658/714 attributes when METADATA is published): the
    project's facts, its wheels by platform with sizes, dependencies, reverse dependencies.

    ``location`` gives each wheel's link target; by default its file name, which is where
    the root tree puts it beside the page (`serve` links its own verifying URLs instead).
    ``dependents``: the projects whose wheels depend on this one.
    """
    start = project_page(project, entries, location, platforms=platforms, summary=summary)[0]
    return start + project_page_end(dependents)


def project_page(
    project: str,
    entries: Sequence[WheelEntry],
    location: Callable[[WheelEntry], str] | None = None,
    *,
    platforms: Sequence[Platform] = (),
    summary: str = "",
) -> tuple[bytes, ProjectRow]:
    """The project's page but its list of dependents, which project_page_end() gives
    (a build knows every project's dependents only once it has read them all); and the
    project's row on the root page."""
    ordered = sorted(entries, key=_entry_filename) if len(entries) > 1 else entries
    decls = [e.declaration for e in ordered]
    _ids, groups, covered = _layout(decls, _table(platforms))
    row = _row(project, decls, covered, summary)
    if len(decls) == 1:  # most projects
        python = decls[0].requires_python
        pythons = "any" if python is None else _escape_shared(shared_str(python))
        requirements = sorted(set(decls[0].dependencies), key=_by_name)
    else:
        texts = {shared_str(d.requires_python) for d in decls if d.requires_python is not None}
        pythons = _escape_row(", ".join(sorted(texts)) or "any")
        requirements = sorted({t for d in decls for t in d.dependencies}, key=_by_name)
    total = human_size(sum(d.size or 0 for d in decls))
    facts = (
        f"<dt>Version<dd>{_escape_row(row.version)}"
        f"<dt>Licence<dd>{_escape_shared(row.license or 'not declared')}"
        f"<dt>Requires-Python<dd>{pythons}<dt>Wheels<dd>{len(decls)} ({total})"
    )
    if platforms:
        shown = f"all {len(platforms)}" if covered == "all" else covered
        facts += f"<dt>Platforms<dd>{_escape_shared(shown)}"
    parts = [_page_head(f"Links for {project}", f"{project} {row.version}")]
    parts.append('    <p><a href="../">All projects</a></p>\n')
    if summary:
        parts.append(f"    <p>{escape(summary)}</p>\n")
    parts.append(f"    <dl>{facts}</dl>\n    <h2>Wheels</h2>\n    <table>\n{_TABLE_HEAD}")
    for label, members in groups:
        rows = []
        for i, python in members:
            e = ordered[i]
            size = total if len(decls) == 1 else human_size(e.declaration.size or 0)
            rows.append(
                f"<tr><td>{_anchor(e, location(e) if location else e.declaration.filename)}"
                f'<td>{_escape_shared(python)}<td class="n">{size}'
            )
        head = f'<tr><th colspan="3">{_escape_shared(label)}\n' if label else ""
        body = "\n".join(rows)
        parts.append(f"\n<tbody>{head}{body}</tbody>")
    parts.append(f"\n    </table>\n    <h2>Dependencies ({len(requirements)})</h2>")
    if requirements:
        items = "".join(map(_requirement_item, requirements))
        parts.append(f'\n    <ul class="c">{items}</ul>')
    return "".join(parts).encode("utf-8"), row


_TABLE_HEAD = '<thead><tr><th>File<th>CPython<th class="n">Size</thead>'


def _entry_filename(entry: WheelEntry) -> str:
    return entry.declaration.filename


def project_page_end(dependents: Sequence[str]) -> bytes:
    """The end of a project page (after project_page()): the projects depending on it."""
    text = f"\n    <h2>Required by ({len(dependents)})</h2>"
    if dependents:
        items = "".join(map(_dependent_item, dependents))
        text += f'\n    <ul class="c">{items}</ul>'
    return (text + _PAGE_END).encode("utf-8")


_PAGE_END = "\n  </body>\n</html>\n"


def _page_head(title: str, heading: str) -> str:
    return f"{_HEAD_START}{_escape_row(title)}{_HEAD_MIDDLE}{_escape_row(heading)}</h1>\n"


_HEAD_START = (
    '<!DOCTYPE html>\n<html>\n  <head>\n    <meta charset="utf-8">\n'
    '    <meta name="pypi:repository-version" content="1.0">\n'
    '    <meta name="viewport" content="width=device-width, initial-scale=1">\n'
    "    <title>"
)
_HEAD_MIDDLE = f"</title>\n    <style>{_STYLE}</style>\n  </head>\n  <body>\n    <h1>"


def _page(title: str, heading: str, body: str) -> bytes:
    return (_page_head(title, heading) + body + _PAGE_END).encode("utf-8")


def dependents_of(deps: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Reverse dependencies: for each project named as a dependency, who names it, sorted."""
    out: dict[str, list[str]] = {}
    for project in sorted(deps):
        for name in deps[project]:
            out.setdefault(name, []).append(project)
    return out
