"""`wheelset prefix`: the declaration directory prefix of project names."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.errors import UsageError

__all__ = ["prefix_command"]

_PROJECT = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


@handles_errors
def prefix_command(
    projects: Annotated[
        list[str], typer.Argument(metavar="PROJECT...", help="Project names (any spelling).")
    ],
) -> None:
    """Print the declaration directory prefix of each project."""
    from wheelset.model.declarations import prefix_of

    for project in projects:
        if not _PROJECT.fullmatch(project):
            raise UsageError(f"invalid project name {project!r}")
    for project in projects:
        typer.echo(prefix_of(project))
