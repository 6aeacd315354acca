"""The built root (docs/root-format.md): PEP 503 pages, the header, one PEP 691 project file
per project, and every wheel as a dag-pb link to its content-id.

Layout: /index.html, /wheelset.json (header), /policy.toml (when the collection has one),
/<project>/index.html,
/<project>/index.json, /<project>/<wheel> (a link, never a copy) and
/<project>/<wheel>.metadata (PEP 658, when recorded). The tree is a pure function of the
declarations (and METADATA files): link sizes follow from the declared sizes, so no wheel
is read, and the root is reproducible byte for byte. A project's directory depends only on
that project's declarations (and METADATA), the platforms table and the names of the
projects depending on it (its page lists them), which lets a build work a project at a
time (build_project), in parallel or reusing the directories of unchanged projects, once
it knows every project's dependency names, and then link them (assemble_root) with the
root page made of each project's row.
Entry points: build_root(), build_project(), wheel_parts(), assemble_root(),
root_files(), BuiltRoot, BuiltProject.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from wheelset.build.manifest import Manifest, WheelEntry
from wheelset.build.pages import (
    ProjectRow,
    Wheel,
    dependency_names,
    dependents_of,
    project_page,
    project_page_end,
    render_root_page,
    wheel_name,
    wheels_of,
)
from wheelset.build.rootfiles import (
    HEADER_NAME,
    INDEX_PAGE,
    POLICY_NAME,
    PROJECT_FILE,
    format_header,
    project_file_of,
)
from wheelset.errors import BuildError
from wheelset.ipfs.blockstore import BlockStore
from wheelset.ipfs.cid import CID, cid_bytes, decode_cid_bytes
from wheelset.ipfs.directory import build_directory, directory_node
from wheelset.ipfs.importer import Imported, dag_size_of_file, import_bytes
from wheelset.model.platforms import Platform, parse_platforms

__all__ = [
    "INDEX_PAGE",
    "METADATA_SUFFIX",
    "BuildError",
    "BuiltProject",
    "BuiltRoot",
    "assemble_root",
    "build_project",
    "build_root",
    "root_files",
    "wheel_parts",
]

METADATA_SUFFIX = ".metadata"


@dataclass(frozen=True, slots=True)
class BuiltRoot:
    """The root and the files the build generated (path -> bytes), wheels not included."""

    cid: CID
    tsize: int
    generated: dict[str, bytes]
    links: dict[str, Imported]  # path -> linked content (wheels and .metadata files)


@dataclass(frozen=True, slots=True)
class BuiltProject:
    """One project's directory, its generated files and its linked content, by name, and
    its row on the root page."""

    directory: Imported
    generated: dict[str, bytes]
    links: dict[str, Imported]
    row: ProjectRow


def _linked(
    wheels: Sequence[Wheel], names: Sequence[tuple[str, str, str]]
) -> Iterator[tuple[str, bytes, int, int]]:
    """Each wheel's link, and its METADATA file's: (file name, binary CID, Tsize, length);
    ``names``: the wheels' wheel_name().

    Raises:
        BuildError: a declaration without `size`, or two wheels with one file name.
    """
    seen: set[str] = set()
    for (record, meta), (filename, _, _) in zip(wheels, names, strict=True):
        size = record[9]
        if size is None:
            raise BuildError(
                "no `size`: the build cannot link a wheel of unknown length (re-run declare)",
                path=PurePosixPath(record[0]),
                code="BUILD",
            )
        if filename in seen:
            path = PurePosixPath(record[0])
            raise BuildError(f"wheel {filename} declared twice", path=path, code="BUILD")
        seen.add(filename)
        yield filename, cid_bytes(record[4]), dag_size_of_file(size), size
        if meta is not None:
            name = filename + METADATA_SUFFIX
            yield name, meta.content_id.to_bytes(), dag_size_of_file(meta.size), meta.size


def build_project(
    project: str,
    entries: Sequence[WheelEntry],
    *,
    store: BlockStore | None = None,
    platforms: Sequence[Platform] = (),
    dependents: Sequence[str] = (),
    summary: str = "",
) -> BuiltProject:
    """One project's directory: its pages, its project file and its wheel (and METADATA) links.

    ``platforms``: the collection's (parsed platforms table); ``dependents``: the projects
    depending on this one, sorted; ``summary``: from the wheels' METADATA ("" without).

    Raises:
        BuildError: a declaration without `size`, or two wheels with one file name.
    """
    wheels = wheels_of(entries)
    names = [wheel_name(w[0]) for w in wheels]
    linked = list(_linked(wheels, names))
    page, row, project_file, links = _parts(project, wheels, names, linked, platforms, summary)
    generated = {INDEX_PAGE: page + project_page_end(dependents), PROJECT_FILE: project_file}
    for name, data in generated.items():
        child = import_bytes(data, store=store)
        links.append((name.encode(), child.cid.to_bytes(), child.tsize))
    raw, tsize = directory_node(links, store=store)
    directory = Imported(decode_cid_bytes(raw)[0], tsize, 0)
    wheel_links = {
        name: Imported(decode_cid_bytes(raw)[0], tsize, size) for name, raw, tsize, size in linked
    }
    return BuiltProject(directory, generated, wheel_links, row)


def wheel_parts(
    project: str,
    wheels: Sequence[Wheel],
    *,
    platforms: Sequence[Platform] = (),
    summary: str = "",
    texts: Sequence[str] | None = None,
) -> tuple[bytes, ProjectRow, bytes, list[tuple[bytes, bytes, int]]]:
    """What build_project() makes of these wheels (pages.Wheel, sorted by file name: a
    build's second pass has records) before it knows the project's dependents: its page
    but the end (project_page_end() gives that), its row, its project file and its wheel
    (and METADATA) links as directory_node() takes them: (name, binary CID, Tsize).
    ``texts``: the wheels' CIDs as text, when the caller has them.

    Raises:
        BuildError: a declaration without `size`, or two wheels with one file name.
    """
    names = [wheel_name(w[0]) for w in wheels]
    return _parts(project, wheels, names, _linked(wheels, names), platforms, summary, texts)


def _parts(
    project: str,
    wheels: Sequence[Wheel],
    names: Sequence[tuple[str, str, str]],
    linked: Iterable[tuple[str, bytes, int, int]],
    platforms: Sequence[Platform],
    summary: str,
    texts: Sequence[str] | None = None,
) -> tuple[bytes, ProjectRow, bytes, list[tuple[bytes, bytes, int]]]:
    """wheel_parts() given the wheels' wheel_name() and _linked() (build_project() keeps
    the latter for its wheel links)."""
    links = [(name.encode(), raw, tsize) for name, raw, tsize, _ in linked]
    page, row = project_page(project, wheels, platforms=platforms, summary=summary, names=names)
    return page, row, project_file_of(project, wheels, names, texts), links


def root_files(
    platforms: Mapping[str, object],
    page: bytes,
    projects: int,
    wheels: int,
    policy: bytes | None = None,
) -> dict[str, bytes]:
    """The root's own files: its ``page``, the header and ``policy`` (the collection's
    policy.toml, when it has one)."""
    generated = {INDEX_PAGE: page, HEADER_NAME: format_header(platforms, projects, wheels)}
    if policy is not None:
        # Verbatim, so `init --from` gives the fork the very file; absent, so a collection
        # without one keeps the root it always had.
        generated[POLICY_NAME] = policy
    return generated


def assemble_root(
    platforms: Mapping[str, object],
    projects: Sequence[tuple[ProjectRow, Imported]],
    wheels: int,
    *,
    store: BlockStore | None = None,
    policy: bytes | None = None,
) -> tuple[Imported, dict[str, bytes]]:
    """Link built project directories (row, directory) under a root with its root page and
    header (and ``policy``); return the root and the root's own generated files."""
    page = render_root_page((row for row, _ in projects), parse_platforms(platforms), wheels)
    generated = root_files(platforms, page, len(projects), wheels, policy)
    children = [(name, import_bytes(data, store=store)) for name, data in generated.items()]
    directories = [(row.name, directory) for row, directory in projects]
    return build_directory([*directories, *children], store=store), generated


def build_root(
    manifest: Manifest,
    *,
    store: BlockStore | None = None,
    policy: bytes | None = None,
    summaries: Mapping[str, str] | None = None,
) -> BuiltRoot:
    """Build the root tree of a manifest (and ``policy``, a policy.toml's bytes) in memory;
    blocks of generated files and directories go to ``store``. ``summaries``: each
    project's summary (from METADATA), by project name.

    Raises:
        BuildError: a declaration without `size`, or two wheels with one file name.
    """
    by_project: dict[str, list[WheelEntry]] = {}
    for entry in manifest.entries:
        by_project.setdefault(entry.declaration.name, []).append(entry)
    generated: dict[str, bytes] = {}
    links: dict[str, Imported] = {}
    directories: list[tuple[ProjectRow, Imported]] = []
    platforms = parse_platforms(manifest.platforms)
    dependents = dependents_of(
        {
            project: dependency_names(
                project, (t for e in entries for t in e.declaration.dependencies)
            )
            for project, entries in by_project.items()
        }
    )
    for project, entries in sorted(by_project.items()):
        built = build_project(
            project,
            entries,
            store=store,
            platforms=platforms,
            dependents=dependents.get(project, ()),
            summary=(summaries or {}).get(project, ""),
        )
        directories.append((built.row, built.directory))
        generated.update((f"{project}/{name}", data) for name, data in built.generated.items())
        links.update((f"{project}/{name}", link) for name, link in built.links.items())
    root, root_files = assemble_root(
        manifest.platforms, directories, len(manifest.entries), store=store, policy=policy
    )
    generated.update(root_files)
    return BuiltRoot(root.cid, root.tsize, generated, links)
