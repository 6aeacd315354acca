"""`wheelset cid`: CIDs on stdout in argument order, one error line per bad path, exit 1."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from tests.ipfs.conftest import write_tree
from wheelset.cli import app

PLANETS = {"mars.txt": b"Hello Mars!\n", "venus.txt": b"Hello Venus!\n"}


def run(*args: str | Path):
    return CliRunner().invoke(app, ["cid", *map(str, args)])


def test_file_and_directory(tmp_path: Path) -> None:
    planets = write_tree(tmp_path / "planets", PLANETS)
    result = run(planets / "mars.txt", planets)
    assert result.exit_code == 0
    assert result.stdout == (
        "QmPrrHqJzto9m7SyiRzarwkqPcCSsKR2EB1AyqJfe8L8tN\n"
        "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY\n"
    )
    assert result.stderr == ""


def test_cid_version_1(tmp_path: Path) -> None:
    planets = write_tree(tmp_path / "planets", PLANETS)
    result = run("--cid-version", "1", planets, planets / "mars.txt")
    assert result.exit_code == 0
    assert result.stdout.split() == [
        "bafybeih7e5dmkyk25up5vxug4q3hrg2fxbzf23dfrac2fns5h7z4aa7ioi",
        "bafkreibmlvvgdyihetgocpof6xk64kjjzdeq2e4c7hqs3krdheosk4tgj4",
    ]


def test_bad_cid_version_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    result = run("--cid-version", "2", tmp_path / "f")
    assert result.exit_code == 2
    assert result.stdout == ""


def test_hidden_option(tmp_path: Path) -> None:
    planets = write_tree(tmp_path / "planets", {**PLANETS, ".x": b"x"})
    plain = run(planets)
    with_hidden = CliRunner().invoke(app, ["cid", "--hidden", str(planets)])
    assert plain.stdout == "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY\n"
    assert with_hidden.exit_code == 0 and with_hidden.stdout != plain.stdout


def test_missing_path_between_good_ones(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"")
    result = run(tmp_path / "a", tmp_path / "missing", tmp_path / "a")
    assert result.exit_code == 1
    assert result.stdout == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH\n" * 2
    assert result.stderr == f"error: {tmp_path / 'missing'}: NOT-FOUND no such file or directory\n"


def test_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    result = run(tmp_path / "pipe")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {tmp_path / 'pipe'}: SPECIAL-FILE ")
    assert result.stderr.count("\n") == 1


def test_special_file_deep_in_a_tree_names_it(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "tree", {"a": {"b": {}}})
    os.mkfifo(root / "a" / "b" / "pipe")
    result = run(root)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {root / 'a' / 'b' / 'pipe'}: SPECIAL-FILE ")


def test_unreadable_file(unreadable_file: Path) -> None:
    result = run(unreadable_file)
    assert result.exit_code == 1
    assert result.stderr == f"error: {unreadable_file}: UNREADABLE permission denied\n"


def test_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    stored = run(tmp_path / "loop")
    assert stored.exit_code == 0  # Kubo stores the link itself; nothing is followed
    followed = CliRunner().invoke(app, ["cid", "--dereference-symlinks", str(tmp_path / "loop")])
    assert followed.exit_code == 1
    assert followed.stdout == ""
    assert followed.stderr == f"error: {tmp_path / 'loop'}: SYMLINK-LOOP symbolic link loop\n"


def test_no_traceback_on_errors(tmp_path: Path) -> None:
    result = run(tmp_path / "missing")
    assert "Traceback" not in result.output
