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
project_page_end(); Wheel, wheels_of(), wheel_name()
and shown_version() for the project file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from pathlib import PurePosixPath
from typing import NamedTuple

from packaging.requirements import InvalidRequirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from wheelset.build.manifest import MetadataFile, WheelEntry
from wheelset.ipfs.cid import CID, DAG_PB
from wheelset.model.declarations import (
    Declaration,
    DeclarationRecord,
    parse_requirement,
    parse_wheel_name,
    record_filename,
)
from wheelset.model.platforms import Platform, describe_platforms, select_wheel
from wheelset.progress import human_size

__all__ = [
    "ProjectRow",
    "Wheel",
    "dependency_names",
    "dependents_of",
    "project_page",
    "project_page_end",
    "project_row",
    "render_project_page",
    "render_root_page",
    "root_page_frame",
    "root_row",
    "shown_version",
    "summary_of",
    "wheel_name",
    "wheels_of",
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


class ProjectRow(NamedTuple):
    """What the root page says about one project; every field but ``name`` may be empty
    (``serve`` lists names only). A tuple: a build makes one per project, at a fifth of a
    frozen dataclass's cost."""

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
_TEXTS_CACHED = 1 << 14  # entries of the caches of texts: a few MB per worker


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

# A wheel as its project's page and index.json are made from it: its declaration's
# record (Declaration.to_record(): what a build's second pass has; making a Declaration
# of each cost it more than its page) and its METADATA file, when one is published.
Wheel = tuple[DeclarationRecord, "MetadataFile | None"]


def wheel_name(record: DeclarationRecord) -> tuple[str, str, str]:
    """A record's wheel file name and, from it, its version and tags as written (the
    record's path is the declaration's, named after the wheel)."""
    filename = record_filename(record)
    stem = filename[: -len(".whl")]
    head = stem.rsplit("-", 3)[0]
    return filename, head.split("-", 2)[1], stem[len(head) + 1 :]


@functools.lru_cache(maxsize=_TEXTS_CACHED)
def _version(text: str) -> tuple[Version, str]:
    """A version as written in a file name: the object (to order them) and its text."""
    version = Version(text)
    return version, str(version)


def shown_version(text: str) -> str:
    """A version as written in a wheel's file name, as a page shows it (str(Version))."""
    return _version(text)[1]


def _layout(wheels: Sequence[Wheel], names: Sequence[tuple[str, str, str]], table: _Table):
    """The _Layout of these wheels (sorted by file name; ``names``: their wheel_name())."""
    if len(wheels) == 1:  # most projects: one wheel
        return _layout_of(_picks(((names[0][2], wheels[0][0][7], 0),), table), (0,), table)
    # Versions by rank only (select_wheel compares them): projects share shapes.
    rank = {v: i for i, v in enumerate(sorted({_version(n[1])[0] for n in names}))}
    shape = tuple(
        (n[2], w[0][7], rank[_version(n[1])[0]]) for w, n in zip(wheels, names, strict=True)
    )
    first: dict[str, int] = {}
    same = tuple(first.setdefault(n[0], i) for i, n in enumerate(names))
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
    wheels: tuple[tuple[str, str | None, int], ...], platforms: _Table
) -> tuple[int | None, ...]:
    """Which of these wheels (by tags and requires-python as written, and version rank:
    all select_wheel reads) each platform picks, by index."""
    stand_ins = [
        Declaration(
            PurePosixPath(),
            f"{i:09d}",
            _NAME,
            Version(str(r)),
            (),
            parse_wheel_name(f"x-0-{tags}.whl")[3],
            "",
            _CID,
            (),
            (),
            None if python is None else SpecifierSet(python),
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
    wheels = wheels_of(map(WheelEntry, decls))
    return _facts(project, wheels, _names(wheels), _table(platforms), summary)[2]


def wheels_of(entries: Iterable[WheelEntry]) -> list[Wheel]:
    """Entries as Wheels, sorted by file name."""
    ordered = sorted(entries, key=_entry_filename)
    return [(e.declaration.to_record(), e.metadata) for e in ordered]


def _names(wheels: Sequence[Wheel]) -> list[tuple[str, str, str]]:
    return [wheel_name(w[0]) for w in wheels]


def _facts(
    project: str,
    wheels: Sequence[Wheel],
    names: Sequence[tuple[str, str, str]],
    table: _Table,
    summary: str,
) -> tuple[tuple, str, ProjectRow]:
    """Of wheels sorted by file name (``names``: their wheel_name()): the groups of the
    page, the platforms they cover in words, and the project's row."""
    _ids, groups, covered = _layout(wheels, names, table)
    if len(wheels) == 1:
        row = ProjectRow(
            project, _version(names[0][1])[1], summary, wheels[0][0][10] or "", 1, covered
        )
    else:
        row = ProjectRow(
            project,
            ", ".join(sorted({_version(n[1])[1] for n in names})),
            summary,
            ", ".join(sorted({w[0][10] for w in wheels if w[0][10]})),
            len(wheels),
            covered,
        )
    return groups, covered, row


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


def _anchor(wheel: Wheel, filename: str, location: str) -> str:
    """One wheel's anchor: PEP 503 hash fragment, requires-python, PEP 658/714 metadata."""
    record, metadata = wheel
    sha256 = record[8]
    href = f"{location}#sha256={sha256}" if sha256 else location
    anchor = f'<a href="{_escape_row(href)}"'
    if record[7] is not None:
        anchor += f' data-requires-python="{_escape_shared(record[7])}"'
    if metadata is not None:
        # PEP 714's name only: pip before 23.2 reads the old data-dist-info-metadata and
        # then compares METADATA's Name with the requirement's spelling unnormalised
        # (charset-normalizer vs charset_normalizer), failing installs a wheel would pass.
        anchor += f' data-core-metadata="{_escape_row(f"sha256={metadata.sha256}")}"'
    return f"{anchor}>{_escape_row(filename)}</a>"


# Requirement texts and names repeat across a collection's pages.


@functools.lru_cache(maxsize=_TEXTS_CACHED)
def _requirement_item(text: str) -> str:
    """A requirement with its project name linked to that project's page."""
    m = _NAME_AT_START.match(text)
    if m is None:
        return f"<li>{escape(text)}"
    # The name is of name characters only: nothing in it or its canonical form to escape
    # (at 500,000 projects nearly every text is new to the cache, so each escape counts).
    name = m.group(1)
    rest = _escape_row(text[m.end() :])
    return f'<li><a href="../{canonicalize_name(name)}/">{name}</a>{rest}'


@functools.lru_cache(maxsize=_TEXTS_CACHED)
def _by_name(text: str) -> tuple[str, str]:
    m = _NAME_AT_START.match(text)
    return (canonicalize_name(m.group(1)) if m else "", text)


def _dependent_item(name: str) -> str:
    # Not cached: a large collection's pages name hundreds of thousands of projects, so
    # nearly every call would miss, and a miss cost more than the item.
    name = _escape_row(name)
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
    ordered = sorted(entries, key=_entry_filename)
    wheels = wheels_of(ordered)
    locations = None if location is None else [location(e) for e in ordered]
    start = project_page(project, wheels, platforms=platforms, summary=summary, locations=locations)
    return start[0] + project_page_end(dependents)


def project_page(
    project: str,
    wheels: Sequence[Wheel],
    *,
    platforms: Sequence[Platform] = (),
    summary: str = "",
    locations: Sequence[str] | None = None,
    names: Sequence[tuple[str, str, str]] | None = None,
) -> tuple[bytes, ProjectRow]:
    """The page of a project's ``wheels`` (sorted by file name) but its list of
    dependents, which project_page_end() gives (a build knows every project's dependents
    only once it has read them all); and the project's row on the root page.
    ``locations``: each wheel's link target (by default its file name); ``names``: the
    wheels' wheel_name(), when the caller has them."""
    if names is None:
        names = _names(wheels)
    groups, covered, row = _facts(project, wheels, names, _table(platforms), summary)
    if len(wheels) == 1:  # most projects
        record = wheels[0][0]
        python = record[7]
        pythons = "any" if python is None else _escape_shared(python)
        requirements = record[6]
        if len(requirements) > 1:
            requirements = sorted(set(requirements), key=_by_name)
        total = human_size(record[9] or 0)
    else:
        texts = {w[0][7] for w in wheels if w[0][7] is not None}
        pythons = _escape_row(", ".join(sorted(texts)) or "any")
        requirements = sorted({t for w in wheels for t in w[0][6]}, key=_by_name)
        total = human_size(sum(w[0][9] or 0 for w in wheels))
    facts = (
        f"<dt>Version<dd>{_escape_row(row.version)}"
        f"<dt>Licence<dd>{_escape_shared(row.license or 'not declared')}"
        f"<dt>Requires-Python<dd>{pythons}<dt>Wheels<dd>{len(wheels)} ({total})"
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
            filename = names[i][0]
            size = total if len(wheels) == 1 else human_size(wheels[i][0][9] or 0)
            anchor = _anchor(wheels[i], filename, locations[i] if locations else filename)
            rows.append(f'<tr><td>{anchor}<td>{_escape_shared(python)}<td class="n">{size}')
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
    if not dependents:
        return _NO_DEPENDENTS_END
    items = "".join(map(_dependent_item, dependents))
    text = f'\n    <h2>Required by ({len(dependents)})</h2>\n    <ul class="c">{items}</ul>'
    return (text + _PAGE_END).encode("utf-8")


_PAGE_END = "\n  </body>\n</html>\n"
_NO_DEPENDENTS_END = f"\n    <h2>Required by (0)</h2>{_PAGE_END}".encode()  # most projects'


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
