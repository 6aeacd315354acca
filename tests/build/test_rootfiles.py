"""The version-2 root's JSON files are the deterministic JSON docs/root-format.md specifies."""

from __future__ import annotations

import json

import pytest

from tests.support.decls import SOME_CID, make_decl
from wheelset.build.manifest import MetadataFile, WheelEntry
from wheelset.build.rootfiles import dump_json, format_header, format_project_file
from wheelset.ipfs.cid import parse_cid


def _reference(doc: object) -> bytes:
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _document(project: str, entries: list[WheelEntry]) -> dict[str, object]:
    """The project file as docs/root-format.md describes it, field by field."""
    files = []
    for entry in sorted(entries, key=lambda e: e.declaration.filename):
        decl = entry.declaration
        table = {"path": str(decl.path), **decl.to_toml()}
        item: dict[str, object] = {
            "filename": decl.filename,
            "url": decl.filename,
            "hashes": {"sha256": decl.sha256} if decl.sha256 else {},
            "size": decl.size,
            "wheelset": table,
        }
        if decl.requires_python is not None:
            item["requires-python"] = str(decl.requires_python)
        if entry.metadata is not None:
            item["core-metadata"] = {"sha256": entry.metadata.sha256}
            table["metadata"] = {
                "content-id": str(entry.metadata.content_id),
                "sha256": entry.metadata.sha256,
                "size": entry.metadata.size,
            }
        files.append(item)
    versions = sorted({str(e.declaration.version) for e in entries})
    return {"meta": {"api-version": "1.1"}, "name": project, "versions": versions, "files": files}


ENTRIES = [
    WheelEntry(
        make_decl(
            "ab_c-1.0-py3-none-any.whl",
            size=5,
            sha256="a" * 64,
            requires_python=">=3.8,!=3.9.*",
            license="MIT",
            dependencies=['x; extra == "t"', "y>1"],
            extras=["t"],
        )
    ),
    WheelEntry(
        make_decl("ab_c-1.0-cp311-cp311-win_amd64.whl", size=7),
        MetadataFile(parse_cid(SOME_CID), "b" * 64, 12),
    ),
    WheelEntry(
        make_decl(
            "ab_c-10.0-py3-none-any.whl",
            size=0,
            license="Apache-2.0 OR MIT",
            dependencies=['z>=1; python_version >= "3.8" and platform_release == "é"'],
        )
    ),
]


@pytest.mark.parametrize("chosen", [[0], [1], [2], [0, 1, 2], [2, 0]])
def test_project_file_is_the_deterministic_json_of_the_contract(chosen: list[int]) -> None:
    entries = [ENTRIES[i] for i in chosen]
    data = format_project_file("ab-c", entries)
    assert data == _reference(_document("ab-c", entries))
    assert dump_json(_document("ab-c", entries)) == data


def test_header() -> None:
    platforms = {"python-versions": ["3.11", "3.12"], "systems": ["win_amd64"], "x": {"y": 1}}
    data = format_header(platforms, 3, 7)
    assert data == _reference(
        {
            "format": "wheelset-root",
            "version": 2,
            "platforms": platforms,
            "projects": 3,
            "wheels": 7,
        }
    )
