"""The bodies of `install`, `export` and `diff`, without typer, and what install shares with the
environment commands (which environment, recovery, SIGTERM).

wheelset.cli.fast runs them before the typer app loads; the typer commands (install.py,
export.py, environment.py) call the same functions. Nothing heavy is imported at load
time: each body imports the library it calls. Output goes to stdout, notes and warnings to
stderr, as typer.echo would write them.
Entry points: run_install(), run_export(), run_diff(), noop_report(), installed_report(),
environment_of(), repair_environment(), sigterm_rolls_back(), DEFAULT_JOBS, DEFAULT_TIMEOUT.
"""

from __future__ import annotations

import _signal  # signal's C module: signal itself imports enum (a warm install's cost)
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence

from wheelset.errors import UsageError, WheelsetError

TYPE_CHECKING = False  # typing and pathlib are not loaded on the warm install path
if TYPE_CHECKING:
    from pathlib import Path

    from wheelset.client.install import InstallPlan, InstallReport
    from wheelset.client.interpreter import Interpreter

__all__ = [
    "DEFAULT_JOBS",
    "DEFAULT_TIMEOUT",
    "counted",
    "environment_of",
    "installed_report",
    "noop_report",
    "repair_environment",
    "run_diff",
    "run_export",
    "run_install",
    "sigterm_rolls_back",
]

DEFAULT_JOBS = 8  # network transfers at a time
# seconds: to connect, and between two reads of a body; the gateways' own default
# (ipfs.gateway.DEFAULT_TIMEOUT, which a test holds equal), not imported: the warm install
# path does not load the gateway code
DEFAULT_TIMEOUT = 30.0


def _echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + ("\n" if nl else ""))
    stream.flush()


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same rollback runs; exits 143."""

    exit_code = 143


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


@contextlib.contextmanager
def sigterm_rolls_back() -> Iterator[None]:
    """While changing an environment, SIGTERM unwinds (and so rolls back) as Ctrl-C does."""
    previous = _signal.signal(_signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        _signal.signal(_signal.SIGTERM, previous)


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
        from pathlib import Path

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
        _echo(
            f"Repaired {scheme['purelib']}: {done.action} an interrupted change "
            f"({done.restored} files restored, {done.removed} removed)",
            err=True,
        )
    elif not quiet_when_clean:
        _echo(f"Nothing to repair in {scheme['purelib']}", err=True)


def run_install(
    root: str | None,
    names: Sequence[str],
    *,
    requirement: Sequence[Path] = (),
    gateway: Sequence[str] = (),
    target: Path | None = None,
    prefix: Path | None = None,
    python: str | None = None,
    system: bool = False,
    exact: bool = False,
    force: bool = False,
    repair: bool = False,
    dry_run: bool = False,
    compile_bytecode: bool = False,
    jobs: int = DEFAULT_JOBS,
    timeout: float = DEFAULT_TIMEOUT,
    cache_dir: Path | None = None,
    api: str | None = None,
    seed: bool = False,
) -> None:
    """`wheelset install` (see its help)."""
    from wheelset.cli.progress import ProgressBar
    from wheelset.cli.wiring import open_root
    from wheelset.client.install import WheelFetch, install_wheels, plan_install
    from wheelset.client.resolve import parse_requirements
    from wheelset.fetch.http import http_client

    if root is None and not repair:
        raise UsageError("missing ROOT (or --repair)")
    with sigterm_rolls_back():
        interpreter, scheme = environment_of(python, target, prefix, system)
        if repair or root is None:
            repair_environment(scheme, quiet_when_clean=False)
            return
        requested = parse_requirements(list(names))
        for path in requirement:
            from wheelset.client.reqfile import read_requirements

            requested += read_requirements(path)
        if not requested:
            raise UsageError("nothing to install: give NAMES or -r FILE")
        if not dry_run:
            repair_environment(scheme, quiet_when_clean=True)
        with http_client(connections=2 * jobs, indexes=False) as http:
            opened, fetcher, cache = open_root(root, gateway, timeout, cache_dir, http, api)
            if api:
                from wheelset.ipfs.resolver import NodeBlocks

                # The wheels from the node first too: its RPC gives a wheel's blocks in one
                # CAR (each verified) for far less work than a gateway serves a file.
                node = opened.node() or NodeBlocks(api, http, timeout=timeout)
                if not dry_run:
                    node.export_small_dags()  # a small project comes with its wheels
                fetcher.use_node(node.name, node.file_block, node.file_car, node.holds)
            # --seed adds the wheels it finds in the cache and pins the others by content-id:
            # a build directory's wheels, which the node need not hold, must be in the cache.
            with WheelFetch(cache, fetcher, workers=jobs, root=opened, keep_files=seed) as fetch:
                with opened.reads() as reads:
                    plan = plan_install(
                        reads,
                        opened.cid,
                        requested,
                        interpreter,
                        scheme,
                        all_names=opened.names,
                        exact=exact,
                        on_selected=None if dry_run else fetch.start,
                    )
                if dry_run:
                    _print_plan(plan)
                    return
                wanted = [item.declaration for item in plan.to_install]
                with ProgressBar(f"{len(wanted)} wheels") as bar:
                    files = fetch.wait(wanted, progress=bar)
                    report = install_wheels(
                        plan, files, compile_bytecode=compile_bytecode, force=force, progress=bar
                    )
    for line in bar.warnings:
        _echo(f"warning: {line}", err=True)
    if plan.broken:
        _echo(f"warning: --force broke: {'; '.join(plan.broken)}", err=True)
    _print_report(plan, report, bar.states)
    if not requirement:
        _remember_closure(cache.directory, root, names, plan)
    if not (requirement or exact or force or system or seed):
        _remember(root, names, python, target, prefix, plan)
    if seed:
        from wheelset.cli.seed import print_seeded
        from wheelset.distribute.seed import seed_installed

        print_seeded(*seed_installed(api, timeout, cache, fetcher.gateways, opened.cid, wanted))


def _remember_closure(cache_dir: Path, root: str, names: Sequence[str], plan: InstallPlan) -> None:
    """Record the closure in the cache, so that installing the same names from the same root
    into an empty environment needs neither the root nor the resolver (wheelset.client.warm)."""
    from wheelset.client import noop, warm

    cid = noop.root_key(root)
    if cid is None:
        return
    wheels = [
        (d.name, str(d.version), d.filename, str(d.content_id), d.name in plan.requested)
        for d in (item.declaration for item in plan.items)
    ]
    warm.remember(cache_dir, cid, names, plan.interpreter.executable, wheels)


def _remember(
    root: str,
    names: Sequence[str],
    python: str | None,
    target: Path | None,
    prefix: Path | None,
    plan: InstallPlan,
) -> None:
    """Record the outcome in the environment, so that the same request answers at once next
    time (wheelset.client.noop; only the plain forms wheelset.cli.fast takes)."""
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
        key, str(plan.root), plan.interpreter.executable, plan.scheme, installed, python, os.environ
    )


def counted(n: int, noun: str) -> str:
    """``1 wheel``, ``2 wheels``: a count as the summaries print it."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _print_plan(plan: InstallPlan) -> None:
    from wheelset.cli.progress import human_size

    _echo(f"Would install into {plan.scheme['purelib']} (root {plan.root}):")
    for item in plan.to_install:
        decl = item.declaration
        was = f" (replacing {item.installed_version})" if item.installed_version else ""
        size = human_size(decl.size or 0)
        _echo(f"  {decl.name} {decl.version}  {decl.filename}  {size}{was}")
    if plan.already_installed:
        done = (f"{i.declaration.name} {i.declaration.version}" for i in plan.already_installed)
        _echo(f"Already installed: {', '.join(done)}")
    if plan.to_remove:
        _echo(f"Would remove: {', '.join(f'{d.name} {d.version}' for d in plan.to_remove)}")
    for line in plan.broken:
        _echo(f"Would break: {line}")


def _print_report(plan: InstallPlan, report: InstallReport, sources: dict[str, str]) -> None:
    old = {decl.name: version for decl, version in report.replaced}
    if report.installed:
        from wheelset.client.install import FROM_BUILD

        came = [sources.get(d.filename) for d in report.installed]
        built = came.count(FROM_BUILD)
        fetched = len(came) - came.count("cache") - built
        installed = [(d.name, str(d.version), old.get(d.name)) for d in report.installed]
        report_text = installed_report(
            plan.scheme["purelib"], str(plan.root), installed, fetched, from_build=built
        )
        _echo(report_text, nl=False)
    if report.skipped:
        _echo(noop_report([(d.name, str(d.version)) for d in report.skipped]), nl=False)
    if report.removed:
        _echo(f"Removed: {', '.join(f'{n} {v}' for n, v in report.removed)}")
    if not report.installed and not report.skipped:
        _echo(noop_report([]), nl=False)


def installed_report(
    purelib: str,
    root: str,
    installed: Sequence[tuple[str, str, str | None]],
    fetched: int,
    *,
    from_build: int = 0,
) -> str:
    """What install prints about the wheels it installed: ``installed`` as (name, version,
    the version it replaced or None), ``fetched`` of them from a node or gateways and
    ``from_build`` from the ROOT's build directory; the rest from the cache."""
    cached = len(installed) - fetched - from_build
    built = f", {from_build} from the build directory" if from_build else ""
    lines = [
        f"Installed {counted(len(installed), 'wheel')} into {purelib} (root {root}; "
        f"{fetched} fetched, {cached} from cache{built}):"
    ]
    for name, version, was in installed:
        lines.append(f"  {name} {version}" + (f" (replaced {was})" if was is not None else ""))
    return "\n".join(lines) + "\n"


def noop_report(installed: Sequence[Sequence[str]]) -> str:
    """What install prints when everything is already installed (``installed``: name,
    version pairs in the closure's order)."""
    if not installed:
        return "Nothing to install: no requested project applies to this interpreter\n"
    return f"Already installed: {', '.join(f'{n} {v}' for n, v in installed)}\n"


def run_export(
    root: str,
    names: Sequence[str],
    *,
    output_format: str,
    platform: str | None,
    output: Path | None,
    gateway: Sequence[str],
    timeout: float | None,
    cache_dir: Path | None,
    api: str | None,
) -> None:
    """`wheelset export`: the closure of ``names`` in ROOT for ``platform``, as
    ``output_format``, to ``output`` (stdout when None). A build directory is read without
    opening any network client."""
    from wheelset.client.export import choose_platform
    from wheelset.client.resolve import parse_requirements, resolve_lazily
    from wheelset.client.root import open_root, parse_root_ref
    from wheelset.formats import get_formatter
    from wheelset.fsutil import atomic_write_text
    from wheelset.ipfs.gateway import configured_gateways

    formatter = get_formatter("export", output_format)
    requested = parse_requirements(names)
    ref = parse_root_ref(root) if os.path.isdir(root) else None
    with contextlib.ExitStack() as stack:
        if ref is not None and ref.directory is not None:
            opened = open_root(ref)
        else:
            from wheelset.cli.wiring import open_root as open_any
            from wheelset.fetch.http import http_client

            http = stack.enter_context(http_client(indexes=False))
            opened, _, _ = open_any(
                root, list(gateway), timeout or DEFAULT_TIMEOUT, cache_dir, http, api
            )
        target, described = choose_platform(opened.platforms, platform)
        with opened.reads() as reads:
            resolution = resolve_lazily(
                reads, requested, target, target=described, all_names=opened.names
            )
    text = formatter(
        resolution.selected,
        root=opened.cid,
        gateway=configured_gateways(gateway, os.environ)[0],
        platform=target.id,
        env=target.environment,
    )
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        atomic_write_text(output, text)


def run_diff(
    root_a: str,
    root_b: str,
    *,
    output_format: str,
    gateway: Sequence[str],
    timeout: float,
    cache_dir: Path | None,
    api: str | None,
) -> None:
    """`wheelset diff`: what changed from ROOT_A to ROOT_B, as ``output_format``."""
    from wheelset.cli.wiring import open_root
    from wheelset.client.diff import diff_roots
    from wheelset.fetch.http import http_client
    from wheelset.formats import get_formatter

    formatter = get_formatter("diff", output_format)
    with http_client(timeout, indexes=False) as http:
        a, _, _ = open_root(root_a, list(gateway), timeout, cache_dir, http, api)
        b, _, _ = open_root(root_b, list(gateway), timeout, cache_dir, http, api)
        _echo(formatter(diff_roots(a, b)), nl=False)
