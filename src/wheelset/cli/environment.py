"""The environment commands — `uninstall`, `list`, `freeze` — and what `install` shares
with them: which environment to act on, recovery of an interrupted change, SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import PrefixOption, PythonOption, SystemOption, TargetOption
from wheelset.errors import UsageError, WheelsetError

if TYPE_CHECKING:
    from wheelset.client.environment import InstalledDist
    from wheelset.client.interpreter import Interpreter

__all__ = [
    "environment_of",
    "freeze_command",
    "list_command",
    "repair_environment",
    "sigterm_rolls_back",
    "uninstall_command",
]


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same rollback runs; exits 143."""

    exit_code = 143


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


@contextlib.contextmanager
def sigterm_rolls_back() -> Iterator[None]:
    """While changing an environment, SIGTERM unwinds (and so rolls back) as Ctrl-C does."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def environment_of(
    python: str | None, target: Path | None, prefix: Path | None, system: bool
) -> tuple[Interpreter, dict[str, str]]:
    """The interpreter and scheme to act on: --python, else $VIRTUAL_ENV, else ./.venv, else
    (--system) python3 on PATH; --target/--prefix without any of them use this interpreter."""
    from wheelset.client.install import target_scheme
    from wheelset.client.interpreter import (
        find_environment,
        inspect_interpreter,
        running_interpreter,
    )

    if target is not None and prefix is not None:
        raise UsageError("--target and --prefix exclude each other")
    prefix_text = str(prefix.resolve()) if prefix is not None else None
    if python is None:
        python = find_environment(os.environ, Path.cwd(), system=system)
        if python is None and target is None and prefix is None:
            raise WheelsetError(
                "no virtual environment found: activate one, create .venv here, or pass "
                "--python, --target, --prefix or --system",
                code="PYTHON",
            )
    interpreter = (
        inspect_interpreter(python, prefix_text)
        if python is not None
        else running_interpreter(prefix_text)
    )
    scheme = target_scheme(target.resolve()) if target is not None else interpreter.scheme
    return interpreter, scheme


def repair_environment(scheme: dict[str, str], *, quiet_when_clean: bool) -> None:
    """Recover from an interrupted change (kill -9) and say so on stderr."""
    from wheelset.client.install import repair

    done = repair(scheme)
    if done is not None:
        typer.echo(
            f"Repaired {scheme['purelib']}: {done.action} an interrupted change "
            f"({done.restored} files restored, {done.removed} removed)",
            err=True,
        )
    elif not quiet_when_clean:
        typer.echo(f"Nothing to repair in {scheme['purelib']}", err=True)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@handles_errors
def uninstall_command(
    names: Annotated[list[str], typer.Argument(help="Distributions to remove.")],
    target: TargetOption = None,
    prefix: PrefixOption = None,
    python: PythonOption = None,
    system: SystemOption = False,
) -> None:
    """Remove distributions from an environment, all or nothing (files as listed in RECORD)."""
    from wheelset.client.install import uninstall

    with sigterm_rolls_back():
        _, scheme = environment_of(python, target, prefix, system)
        repair_environment(scheme, quiet_when_clean=True)
        removed = uninstall(scheme, names)
    typer.echo(f"Removed {_count(len(removed), 'distribution')} from {scheme['purelib']}:")
    for dist in removed:
        typer.echo(f"  {dist.name} {dist.version}")


def _installed(
    python: str | None, target: Path | None, prefix: Path | None, system: bool
) -> list[InstalledDist]:
    from wheelset.client.environment import installed_distributions

    _, scheme = environment_of(python, target, prefix, system)
    return [dist for _, dist in sorted(installed_distributions(scheme).items())]


@handles_errors
def list_command(
    target: TargetOption = None,
    prefix: PrefixOption = None,
    python: PythonOption = None,
    system: SystemOption = False,
) -> None:
    """List the distributions of an environment, with the root each was installed from."""
    rows = [("name", "version", "installer", "root")]
    rows += [
        (str(d.name), d.version, d.installer() or "-", d.origin() or "-")
        for d in _installed(python, target, prefix, system)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        typer.echo("".join(v.ljust(w + 2) for v, w in zip(row, widths, strict=False)) + row[3])


@handles_errors
def freeze_command(
    target: TargetOption = None,
    prefix: PrefixOption = None,
    python: PythonOption = None,
    system: SystemOption = False,
) -> None:
    """Print NAME==VERSION for each distribution (a requirements file; the root as a comment)."""
    for dist in _installed(python, target, prefix, system):
        origin = dist.origin()
        typer.echo(f"{dist.name}=={dist.version}" + (f"  # root {origin}" if origin else ""))
