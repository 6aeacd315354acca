"""Help and errors of every command: plain help, one-line usage errors (exit 2), one-line
runtime errors (exit 1)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from wheelset.cli import app

COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]

# typer's type labels (<bool>, <list[str]>, <int range>, <path>) and its {name} usage form.
NOISE = re.compile(r"<(?:bool|str|int|float|path|file|dir|list\[[^\]]*\]|\w+ range)>|\{\w+\}")


def _run(*args: str):  # -> click Result
    return CliRunner().invoke(app, list(args), prog_name="wheelset")


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_is_free_of_type_noise(command: str | None) -> None:
    result = _run(*([command] if command else []), "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: wheelset" in result.stdout
    assert NOISE.findall(result.stdout) == []


def test_noise_pattern_catches_what_typer_prints() -> None:
    sample = "--jobs <int range> [x>=1]  --force <bool>  Usage: declare {sources}... <list[str]>"
    assert NOISE.findall(sample) == ["<int range>", "<bool>", "{sources}", "<list[str]>"]


def _options_of(command: str) -> dict[str, object]:
    group = typer.main.get_command(app)
    params = group.commands[command].params  # type: ignore[attr-defined]
    return {param.opts[0]: param.default for param in params if param.opts[0].startswith("--")}


@pytest.mark.parametrize(
    ("command", "timeout"), [("export", 30.0), ("publish", 300.0), ("mirror", 300.0)]
)
def test_option_groups_give_each_option_once_and_own_defaults_win(
    command: str, timeout: float
) -> None:
    group = typer.main.get_command(app)
    names = [p.name for p in group.commands[command].params]  # type: ignore[attr-defined]
    assert len(names) == len(set(names))
    options = _options_of(command)
    assert options["--timeout"] == timeout
    assert {"--gateway", "--cache-dir", "--api"} <= options.keys()


def test_serve_shows_the_refresh_its_settings_use_without_loading_them() -> None:
    from wheelset.serve.config import Settings

    assert _options_of("serve")["--refresh"] == Settings(roots=()).refresh
    # The app, which every command's help loads, leaves serve.config (and tomllib) unloaded.
    done = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom wheelset.cli import app\n"
         "print(sorted({'wheelset.serve.config', 'tomllib'} & set(sys.modules)))"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.stdout == "[]\n", done.stderr


def test_every_timeout_default_is_the_gateways() -> None:
    from wheelset.cli.run import DEFAULT_TIMEOUT
    from wheelset.ipfs.gateway import DEFAULT_TIMEOUT as GATEWAYS
    from wheelset.serve.config import Settings

    assert DEFAULT_TIMEOUT == GATEWAYS == Settings(roots=()).timeout
    assert _options_of("install")["--timeout"] == GATEWAYS


def test_a_group_reaches_the_command_as_one_object(tmp_path: Path) -> None:
    # `list` takes only the Environment group: a --target directory is what it lists.
    (tmp_path / "demo-1.0.dist-info").mkdir()
    (tmp_path / "demo-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
    )
    result = _run("freeze", "--target", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["demo==1.0"]


def test_every_command_is_listed_in_the_top_help() -> None:
    text = _run("--help").stdout
    assert [c for c in COMMANDS if f"\n  {c} " not in text] == []


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_option_is_one_usage_line_exit_2(command: str) -> None:
    result = _run(command, "--no-such-option")
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: USAGE ") and "--no-such-option" in line
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-command"],
        ["bump"],  # missing arguments
        ["check", "--jobs", "many"],  # bad value
        ["check", "--format", "yaml"],  # a format the report does not have
        ["check", "--all"],  # an option that needs another
        ["install", "ROOT", "x", "--target", "a", "--prefix", "b"],  # exclusive options
        ["bump", "d", "x-1.0-py3-none-any.whl"],  # checked by the library (UsageError)
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str]) -> None:
    result = _run(*args)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: USAGE ")


def test_runtime_error_is_one_line_exit_1(tmp_path: Path) -> None:
    result = _run("check", str(tmp_path / "missing"))
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and "missing" in line


def test_integrity_outside_git_is_one_line_without_git_usage(tmp_path: Path) -> None:
    (tmp_path / "platforms.toml").write_text("[python-versions]\n")
    result = _run("check", str(tmp_path), "--integrity")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert "GIT not inside a Git work tree" in line and "--all" in line


def test_python_m_wheelset_cli_usage_error() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "wheelset.cli", "check", "--jobs", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode == 2
    assert process.stderr.count("\n") == 1 and process.stderr.startswith("error: USAGE ")


def _readme_options() -> dict[str, tuple[str, set[str]]]:
    """The README's option table: long option -> (env var, commands)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("| option | env var | meaning | commands |")
    table = {}
    for line in readme[start:].splitlines()[2:]:
        if not line.startswith("| `-"):
            break
        option, env, _meaning, commands = (cell.strip() for cell in line.strip("|").split("|"))
        long_option = re.search(r"--[\w-]+", option)
        assert long_option is not None, line
        table[long_option.group()] = (env.strip("`"), set(commands.split(", ")))
    return table


def test_readme_option_table_matches_the_commands() -> None:
    table = _readme_options()
    assert {"--gateway", "--index-url", "--cache-dir", "--timeout", "--jobs", "--format"} <= set(
        table
    )
    group = typer.main.get_command(app)
    for option, (env, commands) in table.items():
        taking = {
            name: param
            for name, command in group.commands.items()  # type: ignore[attr-defined]
            for param in command.params
            if option in param.opts
        }
        if commands == {"all"}:
            assert any(option in p.opts for p in group.params), option
            continue
        assert set(taking) == commands, option
        assert {p.envvar or "" for p in taking.values()} == {env}, option


def test_wheelset_alone_prints_the_help() -> None:
    result = _run()
    assert result.exit_code == 2
    assert result.stderr.startswith("Usage: wheelset") and "Commands:" in result.stderr
