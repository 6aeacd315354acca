"""The transaction journal on plain files: rollback on any exit, recovery after a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from wheelset.client.journal import (
    STATE_DIR,
    JournalError,
    Transaction,
    environment_lock,
    recover,
)
from wheelset.client.reqfile import RequirementsFileError, read_requirements


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): "dir" if p.is_dir() else p.read_text()
        for p in sorted(root.rglob("*"))
    }


def _env(tmp_path: Path) -> Path:
    env = tmp_path / "env"
    (env / "old").mkdir(parents=True)
    (env / "old" / "a.py").write_text("old a")
    (env / "old" / "__pycache__").mkdir()
    (env / "old" / "__pycache__" / "a.cpython-311.pyc").write_text("old bytecode")
    (env / "shared.py").write_text("old shared")
    return env


def _change(env: Path) -> tuple[list[str], list[str], list[str]]:
    removes = [str(env / "old" / "a.py"), str(env / "old" / "__pycache__" / "a.cpython-311.pyc")]
    removes.append(str(env / "shared.py"))
    creates = [str(env / "new" / "sub" / "b.py"), str(env / "shared.py")]
    dirs = [str(env / "new"), str(env / "new" / "sub")]
    return creates, dirs, removes


STATE = STATE_DIR


class Boom(Exception):
    pass


@pytest.mark.parametrize("stop_after", [0, 1, 2, 3, 4])
def test_an_exception_at_any_step_restores_everything(tmp_path: Path, stop_after: int) -> None:
    env = _env(tmp_path)
    before = _tree(env)
    creates, dirs, removes = _change(env)
    steps = 0
    with pytest.raises(Boom), Transaction(env, creates, dirs, removes) as t:
        t.remove_all()
        t.make_dirs()
        for path in creates:
            if steps == stop_after:
                raise Boom
            Path(path).write_text("new")
            steps += 1
        (env / "new" / "sub" / "__pycache__").mkdir()
        (env / "new" / "sub" / "__pycache__" / "b.cpython-311.pyc").write_text("new bytecode")
        raise Boom
    assert _tree(env) == before


def test_a_committed_transaction_keeps_the_new_state_and_cleans_up(tmp_path: Path) -> None:
    env = _env(tmp_path)
    creates, dirs, removes = _change(env)
    with Transaction(env, creates, dirs, removes) as t:
        t.remove_all()
        t.make_dirs()
        for path in creates:
            Path(path).write_text("new")
        t.commit()
    assert _tree(env) == {
        "new": "dir",
        "new/sub": "dir",
        "new/sub/b.py": "new",
        "shared.py": "new",
    }


def test_recovery_after_a_crash_rolls_back_or_finishes(tmp_path: Path) -> None:
    env = _env(tmp_path)
    before = _tree(env)
    creates, dirs, removes = _change(env)
    t = Transaction(env, creates, dirs, removes)
    t.__enter__()  # as if killed inside the block: no __exit__ runs
    t.remove_all()
    t.make_dirs()
    Path(creates[0]).write_text("half")
    assert (env / STATE / "journal.json").exists()
    with environment_lock(env):
        done = recover(env)
    assert done is not None and done.action == "rolled back"
    assert (done.restored, done.removed) == (3, 1)
    assert _tree(env) == before
    assert recover(env) is None


def test_a_journal_that_is_not_ours_is_one_clear_error(tmp_path: Path) -> None:
    env = _env(tmp_path)
    (env / STATE).mkdir()
    (env / STATE / "journal.json").write_text(json.dumps({"version": 9}))
    with pytest.raises(JournalError, match="not a wheelset journal") as info:
        recover(env)
    assert info.value.path == os.path.join(env, STATE, "journal.json")
    os.unlink(env / STATE / "journal.json")
    done = recover(env)  # killed before the journal existed: nothing had changed
    assert done is not None and done.action == "cleaned" and not (env / STATE).exists()


def test_requirements_files_read_as_pip_reads_names(tmp_path: Path) -> None:
    (tmp_path / "inc.txt").write_text("c[x]>=1 ; python_version >= '3'\n")
    (tmp_path / "r.txt").write_text(
        "# comment\na==1.0  # trailing\nb \\\n  >=2\n\n--requirement=inc.txt\n"
    )
    got = [str(r) for r in read_requirements(tmp_path / "r.txt")]
    assert got == ["a==1.0", "b>=2", 'c[x]>=1; python_version >= "3"']
    (tmp_path / "url.txt").write_text("a @ http://127.0.0.1:9/a.whl\n")
    with pytest.raises(RequirementsFileError, match="URLs are not supported") as e:
        read_requirements(tmp_path / "url.txt")
    assert e.value.one_line().startswith(f"{tmp_path / 'url.txt'}:1: REQUIREMENTS ")
    (tmp_path / "loop.txt").write_text("-r loop.txt\n")
    with pytest.raises(RequirementsFileError, match="nested more than"):
        read_requirements(tmp_path / "loop.txt")
