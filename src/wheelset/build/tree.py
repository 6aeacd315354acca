"""The built root (docs/root-format.md): PEP 503 pages, the header, one PEP 691 project file
per project, and every wheel as a dag-pb link to its content-id.

Layout: /index.html, /wheelset.json (header), /policy.toml (when the collection has one),
/<project>/index.html,
/<project>/index.json, /<project>/<wheel> (a link, never a copy) and
/<project>/<wheel>.metadata (PEP 658, when recorded). The tree is a pure function of the
declarations (and METADATA files): link sizes follow from the declared sizes, so no wheel
is read, and the root is reproducible byte for byte. A project's directory depends only on
that project's declarations, which lets a build work a project at a time (build_project),
in parallel or reusing the directories of unchanged projects, and then link them
(assemble_root).
Entry points: build_root(), build_project(), assemble_root(), BuiltRoot, BuiltProject,
render_root_page(), render_project_page().
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass

from wheelset.build.manifest import Manifest, WheelEntry
from wheelset.build.rootfiles import (
    HEADER_NAME,
    POLICY_NAME,
    PROJECT_FILE,
    format_header,
    format_project_file,
)
from wheelset.errors import BuildError
from wheelset.ipfs.blockstore import BlockStore
from wheelset.ipfs.cid import CID
from wheelset.ipfs.directory import build_directory
from wheelset.ipfs.importer import Imported, dag_size_of_file, import_bytes

__all__ = [
    "INDEX_PAGE",
    "METADATA_SUFFIX",
    "BuildError",
    "BuiltProject",
    "BuiltRoot",
    "assemble_root",
    "build_project",
    "build_root",
    "render_project_page",
    "render_root_page",
]

INDEX_PAGE = "index.html"
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
    """One project's directory, its generated files and its linked content, by name."""

    directory: Imported
    generated: dict[str, bytes]
    links: dict[str, Imported]


def render_root_page(projects: Iterable[str]) -> bytes:
    """PEP 503 root page: one anchor per project, in sorted order."""
    anchors = "\n".join(
        f'    <a href="{e}/">{e}</a><br/>' for e in map(html.escape, sorted(projects))
    )
    return _page("Simple index", anchors)


def _anchor(entry: WheelEntry, location: str) -> str:
    """One wheel's anchor: PEP 503 hash fragment, requires-python, PEP 658/714 metadata."""
    decl = entry.declaration
    href = location + (f"#sha256={decl.sha256}" if decl.sha256 else "")
    attributes = [f'href="{html.escape(href)}"']
    if decl.requires_python is not None:
        attributes.append(f'data-requires-python="{html.escape(str(decl.requires_python))}"')
    if entry.metadata is not None:
        # PEP 714's name only: pip before 23.2 reads the old data-dist-info-metadata and
        # then compares METADATA's Name with the requirement's spelling unnormalised
        # (charset-normalizer vs charset_normalizer), failing installs a wheel would pass.
        value = html.escape(f"sha256={entry.metadata.sha256}")
        attributes.append(f'data-core-metadata="{value}"')
    return f"    <a {' '.join(attributes)}>{html.escape(decl.filename)}</a><br/>"


def render_project_page(
    project: str,
    entries: Sequence[WheelEntry],
    location: Callable[[WheelEntry], str] | None = None,
) -> bytes:
    """PEP 503 project page (with PEP 658/714 attributes when METADATA is published).

    ``location`` gives each wheel's link target; by default its file name, which is where
    the root tree puts it beside the page (`serve` links its own verifying URLs instead).
    """
    ordered = sorted(entries, key=lambda e: e.declaration.filename)
    anchors = (_anchor(e, location(e) if location else e.declaration.filename) for e in ordered)
    return _page(f"Links for {project}", "\n".join(anchors))


def _page(title: str, body: str) -> bytes:
    text = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.0">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{html.escape(title)}</h1>\n{body}\n  </body>\n</html>\n"
    )
    return text.encode("utf-8")


def _wheel_link(entry: WheelEntry) -> Imported:
    decl = entry.declaration
    if decl.size is None:
        raise BuildError(
            "no `size`: the build cannot link a wheel of unknown length (re-run declare)",
            path=decl.path,
            code="BUILD",
        )
    return Imported(decl.content_id, dag_size_of_file(decl.size), decl.size)


def build_project(
    project: str, entries: Sequence[WheelEntry], *, store: BlockStore | None = None
) -> BuiltProject:
    """One project's directory: its pages, its project file and its wheel (and METADATA) links.

    Raises:
        BuildError: a declaration without `size`, or two wheels with one file name.
    """
    links: dict[str, Imported] = {}
    for entry in entries:
        decl = entry.declaration
        if decl.filename in links:
            raise BuildError(f"wheel {decl.filename} declared twice", path=decl.path, code="BUILD")
        links[decl.filename] = _wheel_link(entry)
        if entry.metadata is not None:
            meta = entry.metadata
            links[decl.filename + METADATA_SUFFIX] = Imported(
                meta.content_id, dag_size_of_file(meta.size), meta.size
            )
    generated = {
        INDEX_PAGE: render_project_page(project, entries),
        PROJECT_FILE: format_project_file(project, entries),
    }
    children = [(name, import_bytes(data, store=store)) for name, data in generated.items()]
    directory = build_directory([*children, *links.items()], store=store)
    return BuiltProject(directory, generated, links)


def assemble_root(
    platforms: Mapping[str, object],
    projects: Sequence[tuple[str, Imported]],
    wheels: int,
    *,
    store: BlockStore | None = None,
    known_shards: Mapping[bytes, Imported] | None = None,
    shards_out: MutableMapping[bytes, Imported] | None = None,
    policy: bytes | None = None,
) -> tuple[Imported, dict[str, bytes]]:
    """Link built project directories (name, directory) under a root with its root page and
    header (and ``policy``, the collection's policy.toml, when it has one); return the root
    and the root's own generated files. ``known_shards`` and ``shards_out``: see
    wheelset.ipfs.directory.build_directory()."""
    generated = {
        INDEX_PAGE: render_root_page(name for name, _ in projects),
        HEADER_NAME: format_header(platforms, len(projects), wheels),
    }
    if policy is not None:
        # Verbatim, so `init --from` gives the fork the very file; absent, so a collection
        # without one keeps the root it always had.
        generated[POLICY_NAME] = policy
    children = [(name, import_bytes(data, store=store)) for name, data in generated.items()]
    root = build_directory(
        [*projects, *children], store=store, known_shards=known_shards, shards_out=shards_out
    )
    return root, generated


def build_root(
    manifest: Manifest, *, store: BlockStore | None = None, policy: bytes | None = None
) -> BuiltRoot:
    """Build the root tree of a manifest (and ``policy``, a policy.toml's bytes) in memory;
    blocks of generated files and directories go to ``store``.

    Raises:
        BuildError: a declaration without `size`, or two wheels with one file name.
    """
    by_project: dict[str, list[WheelEntry]] = {}
    for entry in manifest.entries:
        by_project.setdefault(entry.declaration.name, []).append(entry)
    generated: dict[str, bytes] = {}
    links: dict[str, Imported] = {}
    directories: list[tuple[str, Imported]] = []
    for project, entries in sorted(by_project.items()):
        built = build_project(project, entries, store=store)
        directories.append((project, built.directory))
        generated.update((f"{project}/{name}", data) for name, data in built.generated.items())
        links.update((f"{project}/{name}", link) for name, link in built.links.items())
    root, root_files = assemble_root(
        manifest.platforms, directories, len(manifest.entries), store=store, policy=policy
    )
    generated.update(root_files)
    return BuiltRoot(root.cid, root.tsize, generated, links)
