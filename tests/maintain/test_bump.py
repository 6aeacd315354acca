"""bump: swap a project's declarations for another release, only when the set stays sound.

Real wheels on a real index on 127.0.0.1 (tests/support/releases.py has the table of
projects); the collection is declared through the CLI, then bumped through the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.decls import write_decl
from tests.support.releases import PLATFORM_IDS, served_world, snapshot
from tests.support.wheels import make_wheel
from wheelset.cli import app
from wheelset.model.declarations import prefix_of


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with served_world(tmp_path) as found:
        yield found


def _run(*args: str):  # -> click Result
    return CliRunner().invoke(app, list(args))


def _bump(url: str, root: Path, *args: str):  # -> click Result
    return _run("bump", str(root), *args, "--index-url", url)


def _toml(root: Path, project: str, stem: str) -> Path:
    return root / prefix_of(project) / project / f"{stem}.toml"


def test_a_bump_that_breaks_a_dependent_is_reported_and_not_written(
    world: tuple[str, Path],
) -> None:
    url, root = world
    before = snapshot(root)
    result = _bump(url, root, "lib")
    assert result.exit_code == 1, result.output
    app_toml = _toml(root, "app", "app-1.0-py3-none-any")
    assert result.stdout.startswith("### Bump `lib` 1.0 → 2.0\n")
    assert "**Breaks the collection** (1 problem). Not applied" in result.stdout
    assert (
        "- `UNSATISFIED` app 1.0 requires 'lib<2': lib 2.0 is declared — on all 4 platforms "
        f"(`{app_toml}`)"
    ) in result.stdout
    assert "| all 4 platforms | `lib-1.0-py3-none-any.whl` | `lib-2.0-py3-none-any.whl` |" in (
        result.stdout
    )
    assert result.stderr == "the bump breaks 1 thing(s): nothing written\n"
    assert snapshot(root) == before

    doc = json.loads(_bump(url, root, "lib", "--format", "json").stdout)
    assert (doc["sound"], doc["applied"]) == (False, False)
    assert doc["breaks"] == [
        {
            "kind": "dependent",
            "code": "UNSATISFIED",
            "severity": "error",
            "message": "app 1.0 requires 'lib<2': lib 2.0 is declared",
            "path": str(app_toml),
            "platforms": list(PLATFORM_IDS),
        }
    ]
    [lib] = doc["projects"]
    assert (lib["project"], lib["from"], lib["to"]) == ("lib", ["1.0"], "2.0")
    assert lib["removed"] == [str(_toml(root, "lib", "lib-1.0-py3-none-any"))]
    assert lib["added"] == [str(_toml(root, "lib", "lib-2.0-py3-none-any"))]
    assert lib["platforms"] == [
        {
            "platforms": list(PLATFORM_IDS),
            "before": "lib-1.0-py3-none-any.whl",
            "after": "lib-2.0-py3-none-any.whl",
        }
    ]
    assert doc["notes"] == [
        "lib 2.0 also provides extras fast: not declared (bump with --extras to declare them)"
    ]
    assert snapshot(root) == before


def test_a_sound_bump_replaces_the_declarations(world: tuple[str, Path]) -> None:
    url, root = world
    result = _bump(url, root, "util")
    assert result.exit_code == 0, result.output
    old, new = (
        _toml(root, "util", "util-1.0-py3-none-any"),
        _toml(root, "util", "util-1.1-py3-none-any"),
    )
    assert "**Sound**: the checks find nothing new. Applied." in result.stdout
    assert f"- removed `{old}`\n- added `{new}`\n" in result.stdout
    assert result.stderr == f"added {new}\nremoved {old}\n"
    assert not old.exists() and 'source = "index:util-1.1-py3-none-any.whl"' in new.read_text()
    check = _run("check", str(root))
    assert (check.exit_code, check.stdout) == (0, ""), check.output
    # Again: 1.1 is the newest usable release (1.2rc1 is a pre-release, 1.5 has no wheel).
    again = _bump(url, root, "util")
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("### Up to date: `util`\n")
    assert again.stderr == "up to date: nothing to bump\n"


def test_bumping_coupled_projects_together(world: tuple[str, Path]) -> None:
    url, root = world
    alone = _bump(url, root, "app", "--format", "json")
    assert alone.exit_code == 1
    [problem] = json.loads(alone.stdout)["breaks"]
    assert problem["kind"] == "dependency"
    assert problem["message"] == "app 1.1 requires 'lib>=2': lib 1.0 is declared"

    both = _bump(url, root, "lib", "app==1.1")
    assert both.exit_code == 0, both.output
    assert both.stdout.startswith("### Bump `lib` 1.0 → 2.0, `app` 1.0 → 1.1\n")
    assert "#### `lib` 1.0 → 2.0" in both.stdout and "#### `app` 1.0 → 1.1" in both.stdout
    assert _run("check", str(root)).exit_code == 0


def test_force_writes_a_breaking_bump_and_a_later_bump_fixes_it(world: tuple[str, Path]) -> None:
    url, root = world
    forced = _bump(url, root, "lib", "--force")
    assert forced.exit_code == 0, forced.output
    assert "Applied anyway (`--force`)." in forced.stdout
    assert forced.stderr.endswith("the bump breaks 1 thing(s): written anyway (--force)\n")
    assert _toml(root, "lib", "lib-2.0-py3-none-any").exists()
    check = _run("check", str(root))
    assert check.exit_code == 1 and "UNSATISFIED" in check.stdout

    fix = _bump(url, root, "app", "--format", "json")
    assert fix.exit_code == 0, fix.output
    doc = json.loads(fix.stdout)
    assert (doc["sound"], doc["applied"], doc["breaks"]) == (True, True, [])
    assert [(p["kind"], p["message"]) for p in doc["fixed"]] == [
        ("dependency", "app 1.0 requires 'lib<2': lib 2.0 is declared")
    ]
    assert _run("check", str(root)).exit_code == 0


def test_a_release_lacking_a_platform_is_reported(world: tuple[str, Path]) -> None:
    url, root = world
    before = snapshot(root)
    result = _bump(url, root, "native==2.0")
    assert result.exit_code == 1, result.output
    assert "- `NO-WHEEL` native 2.0 has no wheel for win_amd64 (1.0 had one)" in result.stdout
    assert "| cp311-win_amd64 | `native-1.0-cp311-cp311-win_amd64.whl` | **no wheel** |" in (
        result.stdout
    )
    doc = json.loads(_bump(url, root, "native==2.0", "--format", "json").stdout)
    assert [(p["kind"], p["code"], p["platforms"]) for p in doc["breaks"]] == [
        ("platform", "NO-WHEEL", ["cp311-win_amd64", "cp312-win_amd64"])
    ]
    assert snapshot(root) == before


def test_requires_python_excluding_a_platform_is_reported(world: tuple[str, Path]) -> None:
    url, root = world
    result = _bump(url, root, "modern==2.0")
    assert result.exit_code == 1, result.output
    assert (
        "- `NO-WHEEL` modern 2.0 has no wheel for cp311 (it requires Python >=3.12; 1.0 had one)"
    ) in result.stdout


def test_pre_existing_problems_are_not_blamed_on_the_bump(world: tuple[str, Path]) -> None:
    url, root = world
    write_decl(root, "broken-1.0-py3-none-any.whl", dependencies=["missingdep"])
    # Unmet before (lib 1.0 is declared) and after (lib 2.0): the message changes, the
    # problem does not.
    write_decl(root, "ancient-1.0-py3-none-any.whl", dependencies=["lib<1"])
    check = _run("check", str(root))
    assert check.exit_code == 1 and "lib 1.0 is declared" in check.stdout
    result = _bump(url, root, "lib", "app", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["sound"], doc["applied"], doc["breaks"], doc["fixed"]) == (True, True, [], [])
    check = _run("check", str(root))
    assert "requires 'lib<1': lib 2.0 is declared" in check.stdout and "missingdep" in check.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["nosuch"], "UNKNOWN nosuch is not declared in"),
        (["lib==9.9"], "lib has no release 9.9 on the index (newest: 1.0, 2.0, 3.0)"),
        (["lib==3.0"], "no wheel of lib 3.0 installs on a supported platform"),
    ],
)
def test_bad_targets_are_one_line_and_nothing_is_written(
    world: tuple[str, Path], args: list[str], fragment: str
) -> None:
    url, root = world
    if args == ["lib==3.0"]:
        # 3.0 has cp312 wheels only; make the collection cp311-only so none fits.
        (root / "platforms.toml").write_text(
            'python-versions = ["3.11"]\nsystems = ["manylinux_2_28_x86_64", "win_amd64"]\n'
        )
    before = snapshot(root)
    result = _bump(url, root, *args)
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
    assert snapshot(root) == before


def test_a_wheel_that_cannot_be_fetched_leaves_the_collection_alone(
    world: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = world
    (tmp_path / "index" / "files" / "util-1.1-py3-none-any.whl").unlink()
    before = snapshot(root)
    result = _bump(url, root, "util", "--no-cache")
    assert result.exit_code == 1 and "HTTP 404" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and snapshot(root) == before


def test_extras_are_kept_or_chosen(world: tuple[str, Path]) -> None:
    url, root = world
    result = _bump(url, root, "lib", "app", "--extras", "fast")
    assert result.exit_code == 1 and "one project only" in result.stderr
    chosen = _bump(url, root, "lib", "--extras", "fast,nope", "--force", "--format", "json")
    assert chosen.exit_code == 0, chosen.output
    assert json.loads(chosen.stdout)["notes"] == ["lib 2.0 has no extras nope"]
    text = _toml(root, "lib", "lib-2.0-py3-none-any").read_text()
    assert 'extras = [\n    "fast",\n]' in text


@pytest.mark.parametrize(
    "args",
    [
        ["util", "--format", "yaml"],
        ["./util-1.1-py3-none-any.whl"],
        ["util", "util==1.1"],
    ],
)
def test_usage_errors(world: tuple[str, Path], args: list[str]) -> None:
    url, root = world
    result = _bump(url, root, *args)
    assert result.exit_code == 2 and result.stderr.startswith("error: ")


def test_bump_through_a_pep503_html_index(tmp_path: Path) -> None:
    with served_world(tmp_path, negotiate=False) as (url, root):
        result = _bump(url, root, "lib", "app")
        assert result.exit_code == 0, result.output
    assert _toml(root, "app", "app-1.1-py3-none-any").exists()
    assert _run("check", str(root)).exit_code == 0


def test_a_private_url_source_is_never_swapped_for_the_index_without_a_flag(
    world: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = world
    local = make_wheel(tmp_path / "private", "util", "1.0")
    declared = _run("declare", str(local), "--into", str(root), "--replace")
    assert declared.exit_code == 0, declared.output
    before = {p: p.read_text() for p in root.rglob("*.toml")}
    result = _bump(url, root, "util")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: PRIVATE util is declared from a private URL source; a bump would take it from "
        "the index instead (a dependency-confusion risk): declare the new wheel by its URL, "
        "or pass --allow-index-swap"
    ]
    assert {p: p.read_text() for p in root.rglob("*.toml")} == before
    result = _bump(url, root, "util", "--allow-index-swap")
    assert result.exit_code == 0, result.output
    assert (
        'source = "index:util-1.1-py3-none-any.whl"'
        in _toml(root, "util", "util-1.1-py3-none-any").read_text()
    )
