"""`wheelset install`: projects and their closure from a root, every wheel verified by CID."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    DEFAULT_JOBS,
    DryRunOption,
    Environment,
    JobsOption,
    RootSources,
    with_option_groups,
)

__all__ = ["install_command"]


@handles_errors
@with_option_groups
def install_command(
    root: Annotated[
        str | None,
        typer.Argument(
            metavar="ROOT",
            help="A root: CID (Qm…, b…), /ipfs/<cid>, ipfs://<cid>, a build directory (OUT or "
            "OUT/tree) or a CAR file (not needed with --repair).",
        ),
    ] = None,
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="NAME...", help="NAME[extras][specifier] (or -r FILE)."),
    ] = None,
    requirement: Annotated[
        list[Path],
        typer.Option(
            "--requirement",
            "-r",
            metavar="FILE",
            help="Install the names of this file (repeatable).",
        ),
    ] = [],  # noqa: B006 - typer needs a literal default
    exact: Annotated[
        bool,
        typer.Option("--exact", help="Also remove every distribution the closure does not hold."),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Install even if it breaks installed distributions."),
    ] = False,
    repair: Annotated[
        bool,
        typer.Option("--repair", help="Only recover from an interrupted install, then exit."),
    ] = False,
    dry_run: DryRunOption = False,
    compile_bytecode: Annotated[
        bool, typer.Option("--compile", help="Byte-compile the installed modules.")
    ] = False,
    jobs: JobsOption = DEFAULT_JOBS,
    seed: Annotated[
        bool,
        typer.Option(
            "--seed",
            help="Afterwards add the installed wheels to the node at --api (default: the "
            "local node) and pin them, so that it serves them; `wheelset gc` can release them.",
        ),
    ] = False,
    *,
    sources: RootSources,
    environment: Environment,
) -> None:
    """Install projects (and their dependencies) from a root, every wheel verified by CID.

    All or nothing: an error, Ctrl-C or SIGTERM leaves the environment as it was; after a
    crash (kill -9) the next install, or --repair, brings it back first.
    """
    from wheelset.cli.run import run_install

    run_install(
        root,
        names or [],
        requirement=requirement,
        exact=exact,
        force=force,
        repair=repair,
        dry_run=dry_run,
        compile_bytecode=compile_bytecode,
        jobs=jobs,
        seed=seed,
        **sources.options(),
        **environment.options(),
    )
