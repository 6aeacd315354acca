"""The JSON files of a version-2 root (docs/root-format.md): the header and the project files.

``/wheelset.json`` is the small header (format, version, platforms table, counts);
``/<project>/index.json`` is a PEP 691 project page (api-version 1.1) whose file entries
carry wheelset's fields, so one file tells a client everything about one project.
Both are deterministic JSON: sorted keys, one-space indent, UTF-8, trailing newline
(byte-equal to ``json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\\n"``,
written by a faster encoder since a build writes one project file per project).
Readers live with the root opener (wheelset.client.root).
Entry points: format_header(), format_project_file(), project_file_of(), HEADER_NAME,
POLICY_NAME, PROJECT_FILE.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring  # type: ignore[attr-defined]

from wheelset.build.manifest import MetadataFile, WheelEntry
from wheelset.build.pages import Wheel, shown_version, wheel_name, wheels_of
from wheelset.ipfs.cid import cid_text
from wheelset.model.declarations import DeclarationRecord

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "HEADER_NAME",
    "INDEX_PAGE",
    "POLICY_NAME",
    "PROJECT_FILE",
    "dump_json",
    "format_header",
    "format_project_file",
    "project_file_of",
]

HEADER_NAME = "wheelset.json"
POLICY_NAME = "policy.toml"  # the collection's policy.toml, verbatim, when it has one
PROJECT_FILE = "index.json"
INDEX_PAGE = "index.html"  # the PEP 503 page of the root, and of each project
FORMAT_NAME = "wheelset-root"
FORMAT_VERSION = 2
PEP691_API_VERSION = "1.1"


def _dump(value: object, pad: str) -> str:
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        inner = pad + " "
        items = sorted(value.items())
        body = ",\n".join(f"{inner}{encode_basestring(k)}: {_dump(v, inner)}" for k, v in items)
        return f"{{\n{body}\n{pad}}}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        inner = pad + " "
        body = ",\n".join(inner + _dump(v, inner) for v in value)
        return f"[\n{body}\n{pad}]"
    return json.dumps(value)  # numbers, booleans, null


def dump_json(doc: object) -> bytes:
    """Deterministic JSON bytes (sorted keys, one-space indent, UTF-8, trailing newline)."""
    return (_dump(doc, "") + "\n").encode("utf-8")


def format_header(platforms: Mapping[str, object], projects: int, wheels: int) -> bytes:
    """``/wheelset.json``: independent of the number of wheels but for two counts."""
    return dump_json(
        {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "platforms": platforms,
            "projects": projects,
            "wheels": wheels,
        }
    )


def _strings(values: Sequence[str], pad: str) -> str:
    if not values:
        return "[]"
    inner = f",\n{pad} "
    return f"[\n{pad} {inner.join(map(encode_basestring, values))}\n{pad}]"


def _file_entry(
    record: DeclarationRecord, meta: MetadataFile | None, filename: str, text: str | None
) -> str:
    """One file entry at the indentation of ``files`` items, keys sorted; the same text
    _dump() gives of the entry's document (``wheelset``: the declaration's to_toml() and
    its path, and its METADATA file), spelt out in key order from the declaration's
    record in one template, the optional fields as lines or nothing, because a build
    writes hundreds of thousands of them. ``text``: the record's CID as text, if known."""
    rel, _, _, source, cid, extras, dependencies, python, sha256, size, license_ = record
    name = encode_basestring(filename)
    core = metadata = python_line = python_field = licence = ""
    if meta is not None:
        core = f'   "core-metadata": {{\n    "sha256": "{meta.sha256}"\n   }},\n'
        metadata = (
            f'    "metadata": {{\n     "content-id": "{meta.content_id}",\n'
            f'     "sha256": {encode_basestring(meta.sha256)},\n     "size": {meta.size}\n    }},\n'
        )
    if python is not None:
        python_text = encode_basestring(python)
        python_line = f'   "requires-python": {python_text},\n'
        python_field = f'    "requires-python": {python_text},\n'
    if sha256 is None:
        hashes, sha256_field = "{}", ""
    else:
        sha256_text = encode_basestring(sha256)
        hashes = f'{{\n    "sha256": {sha256_text}\n   }}'
        sha256_field = f'    "sha256": {sha256_text},\n'
    if license_ is not None:
        licence = f'    "license": {encode_basestring(license_)},\n'
    size_field = "" if size is None else f'    "size": {size},\n'
    return (
        f'  {{\n{core}   "filename": {name},\n   "hashes": {hashes},\n'
        f'{python_line}   "size": {"null" if size is None else size},\n   "url": {name},\n'
        f'   "wheelset": {{\n    "content-id": "{text or cid_text(cid)}",\n'
        f'    "dependencies": {_strings(dependencies, "    ")},\n'
        f'    "extras": {_strings(extras, "    ")},\n{licence}{metadata}'
        f'    "path": {encode_basestring(rel)},\n{python_field}{sha256_field}{size_field}'
        f'    "source": {encode_basestring(source)}\n   }}\n  }}'
    )


def format_project_file(project: str, entries: Sequence[WheelEntry]) -> bytes:
    """``/<project>/index.json``: files sorted by file name, versions in string order."""
    return project_file_of(project, wheels_of(entries))


def project_file_of(
    project: str,
    wheels: Sequence[Wheel],
    names: Sequence[tuple[str, str, str]] | None = None,
    texts: Sequence[str] | None = None,
) -> bytes:
    """format_project_file() of wheels (pages.Wheel) sorted by file name; ``names``: their
    wheel_name(), ``texts``: their CIDs as text, when the caller has them."""
    if names is None:
        names = [wheel_name(w[0]) for w in wheels]
    if texts is None:
        texts = [None] * len(wheels)  # type: ignore[list-item]
    if len(wheels) == 1:  # most projects
        files = _file_entry(*wheels[0], names[0][0], texts[0])
        versions = _strings((shown_version(names[0][1]),), " ")
    else:
        files = ",\n".join(
            _file_entry(*w, n[0], t) for w, n, t in zip(wheels, names, texts, strict=True)
        )
        versions = _strings(sorted({shown_version(n[1]) for n in names}), " ")
    text = (
        f'{{\n "files": [\n{files}\n ],\n "meta": {{\n  "api-version": "{PEP691_API_VERSION}"\n'
        f' }},\n "name": {encode_basestring(project)},\n "versions": {versions}\n}}\n'
    )
    return text.encode("utf-8")
