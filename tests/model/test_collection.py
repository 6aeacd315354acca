"""Loading a collection directory, and which declarations changed since a Git ref."""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath

import pytest

from tests.support.decls import write_decl, write_platforms
from wheelset.model.collection import CollectionError, changed_paths, load_collection


def test_load_collection(tmp_path: Path) -> None:
    write_platforms(tmp_path, ["3.12"], ["win_amd64"])
    (tmp_path / "README.md").write_text("hi")
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "x.toml").write_text("not = [")
    rel = write_decl(tmp_path, "tomli-2.0.1-py3-none-any.whl")
    collection = load_collection(tmp_path)
    assert collection.ok
    assert [p.id for p in collection.platforms] == ["cp312-win_amd64"]
    assert collection.platforms_table == {"python-versions": ["3.12"], "systems": ["win_amd64"]}
    assert [d.path for d in collection.declarations] == [rel]
    assert collection.files == (rel,)


def test_bad_files_become_findings(tmp_path: Path) -> None:
    write_platforms(tmp_path)
    good = write_decl(tmp_path, "tomli-2.0.1-py3-none-any.whl")
    bad = tmp_path / "9c/idna/idna-3.7-py3-none-any.toml"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b'source = "\xff"\n')
    collection = load_collection(tmp_path)
    assert [d.path for d in collection.declarations] == [good]
    assert [(str(f.path), f.code) for f in collection.findings] == [
        ("9c/idna/idna-3.7-py3-none-any.toml", "TOML")
    ]


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(CollectionError) as info:
        load_collection(tmp_path / "nope")
    assert "not a collection directory" in info.value.one_line()


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_changed_paths(tmp_path: Path) -> None:
    root = tmp_path / "declarations"
    write_platforms(root)
    old = write_decl(root, "six-1.16.0-py2.py3-none-any.whl")
    gone = write_decl(root, "idna-3.7-py3-none-any.whl")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "base")
    modified = write_decl(root, "tomli-2.0.1-py3-none-any.whl")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "add tomli")
    untracked = write_decl(root, "click-8.1.7-py3-none-any.whl")
    (root / old).write_text((root / old).read_text() + "\n")
    (root / gone).unlink()
    assert changed_paths(root, "HEAD~1") == {modified, untracked, old}
    assert changed_paths(root, "HEAD") == {untracked, old}
    assert all(isinstance(p, PurePosixPath) for p in changed_paths(root, "HEAD"))


def test_changed_paths_errors(tmp_path: Path) -> None:
    with pytest.raises(CollectionError) as info:
        changed_paths(tmp_path, "HEAD")
    assert info.value.code == "GIT"
    _git(tmp_path, "init", "-q")
    with pytest.raises(CollectionError, match="git diff failed"):
        changed_paths(tmp_path, "no-such-ref")
