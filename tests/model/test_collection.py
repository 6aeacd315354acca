"""Loading a collection directory, and which declarations changed since a Git ref."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from tests.support.decls import write_decl, write_platforms
from wheelset.model.collection import (
    CollectionError,
    _projects,
    _workers,
    changed_paths,
    load_collection,
)
from wheelset.model.declarations import prefix_of
from wheelset.workers import can_fork, usable_cores


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


def _varied_collection(root: Path) -> None:
    """Sound declarations over many prefix directories, and every kind of bad entry."""
    write_platforms(root)
    for i in range(60):
        write_decl(
            root,
            f"proj{i}-1.{i}-py3-none-any.whl",
            extras=["cli"] if i % 3 == 0 else [],
            requires_python=">=3.10" if i % 2 else None,
            dependencies=[f"proj{i + 1}>={i % 4}; python_version < '3.13'", "six"],
            sha256="0" * 64,
            size=i,
            **({"license": "MIT"} if i % 5 == 0 else {}),
        )
    write_decl(root, "six-1.16.0-1local-py2.py3-none-any.whl")
    write_decl(root, "url-1.0-py3-none-any.whl", dependencies=["x @ file:///tmp/x.whl"])
    (root / "ab").mkdir()  # "ab-c/..." sorts before "ab/..."
    write_decl(root, "ab-1.0-py3-none-any.whl", path="ab/ab/ab-1.0-py3-none-any.toml")
    write_decl(root, "abc-1.0-py3-none-any.whl", path="ab-c/abc/abc-1.0-py3-none-any.toml")
    bad = root / "9c/idna/idna-3.7-py3-none-any.toml"
    bad.parent.mkdir(parents=True)
    bad.write_text("source = [\n")
    write_decl(root, "wrong-1.0-py3-none-any.whl", **{"content-id": "Qmnope", "size": -1})
    (root / "9c/idna/notes.txt").write_text("stray\n")
    (root / "9c/idna/link.toml").symlink_to(root / "platforms.toml")
    os.mkfifo(root / "9c/idna/fifo.toml")
    (root / "9c/idna/.idna.toml.tmp-1").write_text("half written")
    write_decl(root, "deep-1.0-py3-none-any.whl", path="a/b/c/d/deep-1.0-py3-none-any.toml")
    write_decl(root, "top-1.0-py3-none-any.whl", path="top-1.0-py3-none-any.toml")


def test_worker_processes_load_what_one_process_loads(tmp_path: Path) -> None:
    _varied_collection(tmp_path)
    alone = load_collection(tmp_path, workers=1)
    shared = load_collection(tmp_path, workers=2)
    assert len(alone.declarations) == 66 and len(alone.findings) == 5
    assert shared == alone
    for a, b in zip(alone.declarations, shared.declarations, strict=True):
        assert (b.requirements, b.tags, b.content_id) == (a.requirements, a.tags, a.content_id)
    assert list(alone.declarations) == sorted(alone.declarations, key=lambda d: d.path)
    top, *tree = alone.files  # top-level files first, then the prefix tree in text order
    assert top == PurePosixPath("top-1.0-py3-none-any.toml") and tree == sorted(tree, key=str)


def test_keep_until_exit_holds_the_value_past_its_last_reference() -> None:
    """What `check` leaves to the process's exit is never freed by the interpreter."""
    import gc
    import weakref

    from wheelset.gcpause import keep_until_exit

    class Heap:
        pass

    value = Heap()
    alive = weakref.ref(value)
    keep_until_exit(value)
    del value
    gc.collect()
    assert alive() is not None


def test_a_numbered_family_is_large_enough_for_workers(tmp_path: Path) -> None:
    """A family of numbered names shares a few dozen prefixes however large it is: the
    loader counts the projects below the prefixes, not the prefixes."""
    names = [f"fam-{i:05d}" for i in range(300)]
    for name in names:
        (tmp_path / prefix_of(name) / name).mkdir(parents=True)
    parts = sorted(os.listdir(tmp_path))
    assert 1 < len(parts) < 128  # the old rule (128 prefixes) read it in one process
    root = str(tmp_path)
    sizes = _projects(root, parts)
    if os.stat(tmp_path / parts[0]).st_nlink > 1:  # the file system counts subdirectories
        assert sum(sizes) == 300
        assert sizes == [len(os.listdir(tmp_path / part)) for part in parts]
        assert _workers(None, parts, sizes) == (usable_cores() - 1 if can_fork() else 0)
    assert _workers(2, parts, sizes) == (1 if can_fork() else 0)  # asked for: always given
    assert _workers(1, parts, sizes) == 0
