"""`wheelset check` on the command line: formats, exit codes, family selection, scope."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from tests.support.decls import write_decl
from wheelset.cli import app
from wheelset.model.declarations import relpath_for


def _run(*args: str):  # -> click Result
    return CliRunner().invoke(app, list(args))


def _break(sound: Path) -> str:
    """Remove colorama: app misses it on Windows. Returns app's path."""
    (sound / relpath_for("colorama-0.4.6-py2.py3-none-any.whl")).unlink()
    return str(relpath_for("app-1.0-py3-none-any.whl"))


def test_clean_collection_exits_zero(sound: Path) -> None:
    result = _run("check", str(sound))
    assert (result.exit_code, result.stdout) == (0, "")
    assert "0 errors, 0 warnings" in result.stderr


def test_text_format(sound: Path) -> None:
    app_path = _break(sound)
    result = _run("check", str(sound))
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"{sound.as_posix()}/{app_path}: MISSING requires 'colorama;")


def test_json_format(sound: Path) -> None:
    app_path = _break(sound)
    result = _run("check", str(sound), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["errors"] == 1 and doc["warnings"] == 0
    (item,) = doc["findings"]
    assert item["path"] == f"{sound.as_posix()}/{app_path}"
    assert (item["code"], item["family"], item["severity"]) == ("MISSING", "closure", "error")


def test_github_format(sound: Path) -> None:
    app_path = _break(sound)
    result = _run("check", str(sound), "--format", "github")
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"::error file={sound.as_posix()}/{app_path},title=MISSING::requires")


def test_warnings_alone_pass(sound: Path) -> None:
    write_decl(sound, "tomli-2.0.1-cp310-cp310-win_amd64.whl")
    result = _run("check", str(sound))
    assert result.exit_code == 0 and "UNUSED" in result.stdout and "(warning)" in result.stdout


def test_only(sound: Path) -> None:
    _break(sound)
    write_decl(sound, "six-1.15.0-py2.py3-none-any.whl")
    assert _run("check", str(sound), "--only", "layout,schema").exit_code == 0
    result = _run("check", str(sound), "--only", "uniqueness", "--only", "layout")
    assert result.exit_code == 1 and "VERSIONS" in result.stdout and "MISSING" not in result.stdout


def test_usage_errors(sound: Path) -> None:
    for args in (
        ["--only", "spelling"],
        ["--format", "xml"],
        ["--integrity", "--all", "--changed-since", "HEAD"],
    ):
        result = _run("check", str(sound), *args)
        assert result.exit_code == 2, args
        assert len(result.stderr.strip().splitlines()) == 1


def test_missing_directory(tmp_path: Path) -> None:
    result = _run("check", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope'}: IO not a collection directory"


def test_integrity_scope_defaults_to_uncommitted_changes(sound: Path) -> None:
    repo = sound.parent
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=repo, check=True)
    result = _run("check", str(sound), "--integrity")
    assert result.exit_code == 0, result.output
    assert "integrity: 0 declaration(s) changed since HEAD" in result.stderr
    # A new declaration whose file:// source does not exist: fetched, and reported.
    rel = write_decl(
        sound,
        "tomli-2.0.1-py3-none-any.whl",
        source=(repo / "tomli-2.0.1-py3-none-any.whl").as_uri(),
    )
    result = _run("check", str(sound), "--integrity", "--changed-since", "HEAD")
    assert result.exit_code == 1
    assert f"{rel}: FETCH" in result.stdout and "no such file" in result.stdout


def test_integrity_outside_git_needs_all(sound: Path) -> None:
    result = _run("check", str(sound), "--integrity")
    assert result.exit_code == 1 and "GIT" in result.stderr


def test_changed_since_limits_the_name_rule_to_new_projects(sound: Path) -> None:
    repo = sound.parent
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    write_decl(sound, "co1orama-1.0-py3-none-any.whl")  # committed: an old finding
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=repo, check=True)
    write_decl(sound, "reqeusts-1.0-py3-none-any.whl")  # new in this change
    changed = _run("check", str(sound), "--only", "trust", "--changed-since", "HEAD")
    assert changed.exit_code == 1 and "names: 1 declaration(s) changed" in changed.stderr
    assert "'reqeusts' is confusable with 'requests'" in changed.stdout
    assert "co1orama" not in changed.stdout
    full = _run("check", str(sound), "--only", "trust")
    assert "co1orama" in full.stdout and "reqeusts" in full.stdout
