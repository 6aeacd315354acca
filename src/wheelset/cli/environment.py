"""The environment commands — `uninstall`, `list`, `freeze`. What they share with `install`
(which environment to act on, recovery of an interrupted change, SIGTERM) is in
wheelset.cli.run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import PrefixOption, PythonOption, SystemOption, TargetOption
from wheelset.cli.run import environment_of, repair_environment, sigterm_rolls_back

if TYPE_CHECKING:
    from wheelset.client.environment import InstalledDist

__all__ = ["freeze_command", "list_command", "uninstall_command"]


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
