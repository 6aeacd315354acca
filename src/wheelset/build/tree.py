"""The built root: a PEP 503 index tree whose every wheel is a dag-pb link to its content-id.

Layout (spec: docs/root-format.md): /index.html, /<project>/index.html, /<project>/<wheel>
(a link, never a copy), /<project>/<wheel>.metadata (PEP 658, when the manifest records
it), /wheelset.json.
The tree is a pure function of the manifest: link sizes follow from the declared sizes, so
no wheel is read. That makes the root reproducible byte for byte, and lets any client
authenticate a manifest by rebuilding the root from it.
Entry points: build_root(), BuiltRoot, render_root_page(), render_project_page().
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wheelset.build.manifest import MANIFEST_NAME, Manifest, WheelEntry, format_manifest
from wheelset.errors import WheelsetError
from wheelset.ipfs.blockstore import BlockStore
from wheelset.ipfs.cid import CID
from wheelset.ipfs.directory import Tree, build_tree
from wheelset.ipfs.importer import Imported, dag_size_of_file, import_bytes

__all__ = [
    "BuildError",
    "BuiltRoot",
    "build_root",
    "render_project_page",
    "render_root_page",
]

INDEX_PAGE = "index.html"
METADATA_SUFFIX = ".metadata"


class BuildError(WheelsetError):
    """The declarations cannot be turned into a root (e.g. a declaration lacks `size`)."""


@dataclass(frozen=True, slots=True)
class BuiltRoot:
    """The root and the files the build generated (path -> bytes), wheels not included."""

    cid: CID
    tsize: int
    generated: dict[str, bytes]
    links: dict[str, Imported]  # path -> linked content (wheels and .metadata files)


def render_root_page(projects: Sequence[str]) -> bytes:
    """PEP 503 root page: one anchor per project, in sorted order."""
    anchors = "\n".join(
        f'    <a href="{html.escape(p)}/">{html.escape(p)}</a><br/>' for p in sorted(projects)
    )
    return _page("Simple index", anchors)


def _anchor(entry: WheelEntry, location: str) -> str:
    decl = entry.declaration
    href = location + (f"#sha256={decl.sha256}" if decl.sha256 else "")
    attributes = [f'href="{html.escape(href)}"']
    if decl.requires_python is not None:
        attributes.append(f'data-requires-python="{html.escape(str(decl.requires_python))}"')
    if entry.metadata is not None:
        value = html.escape(f"sha256={entry.metadata.sha256}")
        attributes.append(f'data-dist-info-metadata="{value}"')
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


def build_root(manifest: Manifest, *, store: BlockStore | None = None) -> BuiltRoot:
    """Build the root tree of a manifest; blocks of generated files and directories go to ``store``.

    Raises:
        BuildError: a declaration without `size`, or two wheels with one file name.
    """
    generated: dict[str, bytes] = {}
    links: dict[str, Imported] = {}
    by_project: dict[str, list[WheelEntry]] = {}
    for entry in manifest.entries:
        by_project.setdefault(entry.declaration.name, []).append(entry)
    tree: dict[str, Tree | Imported] = {}

    def add_file(path: str, data: bytes, folder: dict[str, Tree | Imported], name: str) -> None:
        generated[path] = data
        folder[name] = import_bytes(data, store=store)

    for project, entries in sorted(by_project.items()):
        folder: dict[str, Tree | Imported] = {}
        for entry in entries:
            filename = entry.declaration.filename
            if filename in folder:
                raise BuildError(
                    f"wheel {filename} declared twice", path=entry.declaration.path, code="BUILD"
                )
            folder[filename] = links[f"{project}/{filename}"] = _wheel_link(entry)
            if entry.metadata is not None:
                meta = entry.metadata
                folder[filename + METADATA_SUFFIX] = links[f"{project}/{filename}.metadata"] = (
                    Imported(meta.content_id, dag_size_of_file(meta.size), meta.size)
                )
        add_file(
            f"{project}/{INDEX_PAGE}", render_project_page(project, entries), folder, INDEX_PAGE
        )
        tree[project] = folder
    add_file(INDEX_PAGE, render_root_page(list(by_project)), tree, INDEX_PAGE)
    add_file(MANIFEST_NAME, format_manifest(manifest), tree, MANIFEST_NAME)
    root = build_tree(tree, store=store)
    return BuiltRoot(root.cid, root.tsize, generated, links)
