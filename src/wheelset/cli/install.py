"""`wheelset install`: projects and their closure from a root, every wheel verified by CID."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    DEFAULT_JOBS,
    DEFAULT_TIMEOUT,
    CacheDirOption,
    GatewayOption,
    JobsOption,
    NodeApiOption,
    RequirementsArg,
    RootArg,
    TimeoutOption,
)
from wheelset.cli.progress import InstallProgress
from wheelset.cli.roots import open_root
from wheelset.cli.seed import seed_installed
from wheelset.errors import UsageError
from wheelset.fetch.http import http_client

if TYPE_CHECKING:
    from wheelset.client.install import InstallPlan, InstallReport

__all__ = ["install_command"]


@handles_errors
def install_command(
    root: RootArg,
    names: RequirementsArg,
    gateway: GatewayOption = [],  # noqa: B006 - typer needs a literal default
    target: Annotated[
        Path | None,
        typer.Option("--target", metavar="DIR", help="Install into this directory (as pip)."),
    ] = None,
    prefix: Annotated[
        Path | None, typer.Option("--prefix", metavar="DIR", help="Install under this prefix.")
    ] = None,
    python: Annotated[
        str | None,
        typer.Option(
            "--python", metavar="PATH", help="Install for this interpreter (e.g. a venv's python)."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    compile_bytecode: Annotated[
        bool, typer.Option("--compile", help="Byte-compile the installed modules.")
    ] = False,
    jobs: JobsOption = DEFAULT_JOBS,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    cache_dir: CacheDirOption = None,
    api: NodeApiOption = None,
    seed: Annotated[
        bool,
        typer.Option(
            "--seed",
            help="Afterwards add the installed wheels to the node at --api (default: the "
            "local node) and pin them, so that it serves them; `wheelset gc` can release them.",
        ),
    ] = False,
) -> None:
    """Install projects (and their dependencies) from a root, every wheel verified by CID."""
    from wheelset.client.install import fetch_wheels, install_wheels, plan_install, target_scheme
    from wheelset.client.interpreter import inspect_interpreter, running_interpreter
    from wheelset.client.resolve import parse_requirements

    if target is not None and prefix is not None:
        raise UsageError("--target and --prefix exclude each other")
    requested = parse_requirements(names)
    prefix_text = str(prefix.resolve()) if prefix is not None else None
    interpreter = (
        inspect_interpreter(python, prefix_text)
        if python is not None
        else running_interpreter(prefix_text)
    )
    scheme = target_scheme(target.resolve()) if target is not None else interpreter.scheme
    with http_client(connections=2 * jobs) as http:
        opened, fetcher, cache = open_root(root, gateway, timeout, cache_dir, http, api)
        plan = plan_install(
            opened.declarations,
            opened.cid,
            requested,
            interpreter,
            scheme,
            all_names=opened.names,
        )
        if dry_run:
            _print_plan(plan)
            return
        wanted = [item.declaration for item in plan.to_install]
        with InstallProgress(len(wanted)) as observer:
            files = fetch_wheels(wanted, cache, fetcher, workers=jobs, observer=observer)
            report = install_wheels(
                plan, files, compile_bytecode=compile_bytecode, workers=jobs, observer=observer
            )
    for line in observer.warnings:
        typer.echo(line, err=True)
    _print_report(plan, report, observer.sources)
    if seed:
        seed_installed(api, timeout, cache.directory, opened.cid, wanted, files)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _print_plan(plan: InstallPlan) -> None:
    typer.echo(f"Would install into {plan.scheme['purelib']} (root {plan.root}):")
    for item in plan.to_install:
        decl = item.declaration
        was = f" (replacing {item.installed_version})" if item.installed_version else ""
        size = _size(decl.size or 0)
        typer.echo(f"  {decl.name} {decl.version}  {decl.filename}  {size}{was}")
    if plan.already_installed:
        done = (f"{i.declaration.name} {i.declaration.version}" for i in plan.already_installed)
        typer.echo(f"Already installed: {', '.join(done)}")


def _print_report(plan: InstallPlan, report: InstallReport, sources: dict[str, str]) -> None:
    old = {decl.name: version for decl, version in report.replaced}
    if report.installed:
        fetched = sum(1 for d in report.installed if sources.get(d.filename) != "cache")
        typer.echo(
            f"Installed {_count(len(report.installed), 'wheel')} into {plan.scheme['purelib']} "
            f"(root {plan.root}; {fetched} fetched, {len(report.installed) - fetched} "
            "from cache):"
        )
        for decl in report.installed:
            was = f" (replaced {old[decl.name]})" if decl.name in old else ""
            typer.echo(f"  {decl.name} {decl.version}{was}")
    if report.skipped:
        done = ", ".join(f"{d.name} {d.version}" for d in report.skipped)
        typer.echo(f"Already installed: {done}")
    if not report.installed and not report.skipped:
        typer.echo("Nothing to install: no requested project applies to this interpreter")
