"""`wheelset install`: projects and their closure from a root, every wheel verified by CID."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wheelset.cli.environment import environment_of, repair_environment, sigterm_rolls_back
from wheelset.cli.errors import handles_errors
from wheelset.cli.fast import noop_report
from wheelset.cli.options import (
    DEFAULT_JOBS,
    DEFAULT_TIMEOUT,
    CacheDirOption,
    GatewayOption,
    JobsOption,
    NodeApiOption,
    PrefixOption,
    PythonOption,
    SystemOption,
    TargetOption,
    TimeoutOption,
)
from wheelset.cli.progress import ProgressBar, human_size
from wheelset.cli.seed import seed_installed
from wheelset.cli.wiring import open_root
from wheelset.errors import UsageError
from wheelset.fetch.http import http_client

if TYPE_CHECKING:
    from wheelset.client.install import InstallPlan, InstallReport

__all__ = ["install_command"]


@handles_errors
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
    gateway: GatewayOption = [],  # noqa: B006 - typer needs a literal default
    target: TargetOption = None,
    prefix: PrefixOption = None,
    python: PythonOption = None,
    system: SystemOption = False,
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
    """Install projects (and their dependencies) from a root, every wheel verified by CID.

    All or nothing: an error, Ctrl-C or SIGTERM leaves the environment as it was; after a
    crash (kill -9) the next install, or --repair, brings it back first.
    """
    from wheelset.client.install import fetch_wheels, install_wheels, plan_install
    from wheelset.client.reqfile import read_requirements
    from wheelset.client.resolve import parse_requirements

    if root is None and not repair:
        raise UsageError("missing ROOT (or --repair)")
    with sigterm_rolls_back():
        interpreter, scheme = environment_of(python, target, prefix, system)
        if repair or root is None:
            repair_environment(scheme, quiet_when_clean=False)
            return
        requested = parse_requirements(names or [])
        for path in requirement:
            requested += read_requirements(path)
        if not requested:
            raise UsageError("nothing to install: give NAMES or -r FILE")
        if not dry_run:
            repair_environment(scheme, quiet_when_clean=True)
        with http_client(connections=2 * jobs, indexes=False) as http:
            opened, fetcher, cache = open_root(root, gateway, timeout, cache_dir, http, api)
            plan = plan_install(
                opened.declarations,
                opened.cid,
                requested,
                interpreter,
                scheme,
                all_names=opened.names,
                exact=exact,
            )
            if dry_run:
                _print_plan(plan)
                return
            wanted = [item.declaration for item in plan.to_install]
            with ProgressBar(f"{len(wanted)} wheels") as bar:
                files = fetch_wheels(wanted, cache, fetcher, workers=jobs, progress=bar)
                report = install_wheels(
                    plan, files, compile_bytecode=compile_bytecode, force=force, progress=bar
                )
    for line in bar.warnings:
        typer.echo(f"warning: {line}", err=True)
    if plan.broken:
        typer.echo(f"warning: --force broke: {'; '.join(plan.broken)}", err=True)
    _print_report(plan, report, bar.states)
    if not (requirement or exact or force or system or seed):
        _remember(root, names or [], python, target, prefix, plan)
    if seed:
        seed_installed(api, timeout, cache, fetcher.gateways, opened.cid, wanted)


def _remember(
    root: str,
    names: list[str],
    python: str | None,
    target: Path | None,
    prefix: Path | None,
    plan: InstallPlan,
) -> None:
    """Record the outcome in the environment, so that the same request answers at once next
    time (wheelset.client.noop; only the plain forms wheelset.cli.fast takes)."""
    import os

    from packaging.version import InvalidVersion, Version

    from wheelset.client import noop
    from wheelset.client.environment import installed_distributions

    paths = [str(p) if p is not None else None for p in (target, prefix)]
    key = noop.request_key(root, names, python, *paths, os.environ)
    if key is None:
        return
    present = installed_distributions(plan.scheme)
    installed = []
    for item in plan.items:
        decl = item.declaration
        dist = present.get(decl.name)
        try:
            if dist is None or Version(dist.version) != decl.version:
                return  # not what a second run would find "already installed"
        except InvalidVersion:
            return
        installed.append((decl.name, str(decl.version), str(dist.dist_info)))
    noop.remember(
        key, str(plan.root), plan.interpreter.executable, plan.scheme, installed,
        python, *paths, os.environ,
    )  # fmt: skip


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _print_plan(plan: InstallPlan) -> None:
    typer.echo(f"Would install into {plan.scheme['purelib']} (root {plan.root}):")
    for item in plan.to_install:
        decl = item.declaration
        was = f" (replacing {item.installed_version})" if item.installed_version else ""
        size = human_size(decl.size or 0)
        typer.echo(f"  {decl.name} {decl.version}  {decl.filename}  {size}{was}")
    if plan.already_installed:
        done = (f"{i.declaration.name} {i.declaration.version}" for i in plan.already_installed)
        typer.echo(f"Already installed: {', '.join(done)}")
    if plan.to_remove:
        typer.echo(f"Would remove: {', '.join(f'{d.name} {d.version}' for d in plan.to_remove)}")
    for line in plan.broken:
        typer.echo(f"Would break: {line}")


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
        typer.echo(noop_report([(d.name, str(d.version)) for d in report.skipped]), nl=False)
    if report.removed:
        typer.echo(f"Removed: {', '.join(f'{n} {v}' for n, v in report.removed)}")
    if not report.installed and not report.skipped:
        typer.echo(noop_report([]), nl=False)
