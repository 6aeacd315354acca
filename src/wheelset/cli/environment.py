"""The environment commands — `uninstall`, `list`, `freeze`. What they share with `install`
(which environment to act on, recovery of an interrupted change, SIGTERM) is in
wheelset.cli.run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import Environment, with_option_groups
from wheelset.cli.run import counted, environment_of, repair_environment, sigterm_rolls_back

if TYPE_CHECKING:
    from wheelset.client.environment import InstalledDist

__all__ = ["freeze_command", "list_command", "uninstall_command"]


@handles_errors
@with_option_groups
def uninstall_command(
    names: Annotated[list[str], typer.Argument(help="Distributions to remove.")],
    *,
    environment: Environment,
) -> None:
    """Remove distributions from an environment, all or nothing (files as listed in RECORD)."""
    from wheelset.client.install import uninstall

    with sigterm_rolls_back():
        _, scheme = environment_of(**environment.options())
        repair_environment(scheme, quiet_when_clean=True)
        removed = uninstall(scheme, names)
    typer.echo(f"Removed {counted(len(removed), 'distribution')} from {scheme['purelib']}:")
    for dist in removed:
        typer.echo(f"  {dist.name} {dist.version}")


def _installed(environment: Environment) -> list[InstalledDist]:
    from wheelset.client.environment import installed_distributions

    _, scheme = environment_of(**environment.options())
    return [dist for _, dist in sorted(installed_distributions(scheme).items())]


@handles_errors
@with_option_groups
def list_command(
    *,
    environment: Environment,
) -> None:
    """List the distributions of an environment, with the root each was installed from."""
    rows = [("name", "version", "installer", "root")]
    rows += [
        (str(d.name), d.version, d.installer() or "-", d.origin() or "-")
        for d in _installed(environment)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        typer.echo("".join(v.ljust(w + 2) for v, w in zip(row, widths, strict=False)) + row[3])


@handles_errors
@with_option_groups
def freeze_command(
    *,
    environment: Environment,
) -> None:
    """Print NAME==VERSION for each distribution (a requirements file; the root as a comment)."""
    for dist in _installed(environment):
        origin = dist.origin()
        typer.echo(f"{dist.name}=={dist.version}" + (f"  # root {origin}" if origin else ""))
