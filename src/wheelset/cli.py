"""The `wheelset` command line: parse arguments, call library functions, print results.

Every command body is wrapped so that a WheelsetError becomes one line on stderr and its
exit code; a traceback appears only with --debug. Nothing below this module prints.
"""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

from wheelset import __version__
from wheelset.errors import WheelsetError

if TYPE_CHECKING:
    import httpx
    from packaging.requirements import Requirement
    from rich.progress import Progress

    from wheelset.cache import Cache
    from wheelset.declarations import Declaration
    from wheelset.install import InstallPlan, InstallReport
    from wheelset.ipfs.gateway import GatewayFailure, GatewayFetcher
    from wheelset.root import OpenedRoot

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="wheelset",
    help="Curated single-version Python wheel repositories on IPFS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

_state = {"debug": False}


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error line and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn WheelsetError into one stderr line and its exit code (a traceback with --debug)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except WheelsetError as e:
            if _state["debug"]:
                raise
            typer.echo(f"error: {e.one_line()}", err=True)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wheelset {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    _state["debug"] = debug


@app.command("cid")
@handles_errors
def cid_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories.")],
    cid_version: Annotated[int, typer.Option("--cid-version", help="0 (default) or 1.")] = 0,
) -> None:
    """Print the CID of each path exactly as `ipfs add -Q -r --only-hash` would."""
    from wheelset.ipfs.importer import ImportParams, import_file

    params = ImportParams(cid_version=cid_version)
    for path in paths:
        with path.open("rb") as f:
            typer.echo(str(import_file(f, params).cid))


# --- install, export, serve: read a root through gateways, verify everything ---------------

GatewayOption = Annotated[
    list[str],
    typer.Option(
        "--gateway",
        help="Gateway base URL, tried in order (repeatable). Default: $WHEELSET_GATEWAY, "
        "else public gateways. A local node on 127.0.0.1:8080 is tried first when it answers.",
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", help="Seconds to connect, and between two reads of a body."),
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Cache directory (default $XDG_CACHE_HOME/wheelset)."),
]


class _LazyHttp:
    """An httpx.Client built on first use, so an install served entirely from the cache never
    pays for importing httpx. Attribute access is forwarded to the client."""

    def __init__(self, connections: int = 16):
        self._connections = connections
        self._client: httpx.Client | None = None

    def __getattr__(self, name: str) -> object:
        if self._client is None:
            import httpx

            n = self._connections
            limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
            self._client = httpx.Client(follow_redirects=True, limits=limits)
        return getattr(self._client, name)

    def __enter__(self) -> httpx.Client:
        return self  # type: ignore[return-value]

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()


def _http_client(connections: int = 16) -> _LazyHttp:
    return _LazyHttp(connections)


def _requirements(names: list[str]) -> list[Requirement]:
    from packaging.requirements import InvalidRequirement, Requirement

    parsed = []
    for name in names:
        try:
            parsed.append(Requirement(name))
        except InvalidRequirement as e:
            raise WheelsetError(
                f"{name!r} is not NAME[extras][specifier]: {e}", code="USAGE"
            ) from e
    return parsed


def _open_root(
    root: str, gateways: list[str], timeout: float, cache_dir: Path | None, http: httpx.Client
) -> tuple[OpenedRoot, GatewayFetcher, Cache]:
    from wheelset.cache import Cache, default_cache_dir
    from wheelset.ipfs.gateway import GatewayFetcher, gateway_urls
    from wheelset.root import open_root, parse_root_ref

    ref = parse_root_ref(root)
    fetcher = GatewayFetcher(gateway_urls(gateways, http=http), http=http, timeout=timeout)
    cache = Cache(cache_dir or default_cache_dir())
    return open_root(ref, fetcher, cache=cache), fetcher, cache


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


@app.command("install")
@handles_errors
def install_command(
    root: Annotated[str, typer.Argument(help="Root CID, /ipfs/<cid>, or a build directory.")],
    names: Annotated[list[str], typer.Argument(help="NAME[extras][specifier] to install.")],
    gateway: GatewayOption = [],  # noqa: B006 - typer needs a literal default
    target: Annotated[
        Path | None, typer.Option("--target", help="Install into this directory (as pip).")
    ] = None,
    prefix: Annotated[
        Path | None, typer.Option("--prefix", help="Install under this prefix.")
    ] = None,
    python: Annotated[
        str | None,
        typer.Option("--python", help="Install for this interpreter (e.g. a venv's python)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    compile_bytecode: Annotated[
        bool, typer.Option("--compile", help="Byte-compile the installed modules.")
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Parallel downloads.")] = 8,
    timeout: TimeoutOption = 30.0,
    cache_dir: CacheDirOption = None,
) -> None:
    """Install projects (and their dependencies) from a root, every wheel verified by CID."""
    from wheelset.install import fetch_wheels, install_wheels, plan_install, target_scheme
    from wheelset.interpreter import inspect_interpreter, running_interpreter

    if target is not None and prefix is not None:
        raise fail("--target and --prefix exclude each other", code=2)
    requested = _requirements(names)
    prefix_text = str(prefix.resolve()) if prefix is not None else None
    interpreter = (
        inspect_interpreter(python, prefix_text)
        if python is not None
        else running_interpreter(prefix_text)
    )
    scheme = target_scheme(target.resolve()) if target is not None else interpreter.scheme
    with _http_client(2 * jobs) as http:
        opened, fetcher, cache = _open_root(root, gateway, timeout, cache_dir, http)
        plan = plan_install(
            opened.manifest.declarations, opened.cid, requested, interpreter, scheme
        )
        if dry_run:
            _print_plan(plan)
            return
        wanted = [item.declaration for item in plan.to_install]
        with _InstallProgress(len(wanted)) as observer:
            files = fetch_wheels(wanted, cache, fetcher, workers=jobs, observer=observer)
            report = install_wheels(
                plan, files, compile_bytecode=compile_bytecode, workers=jobs, observer=observer
            )
    for line in observer.warnings:
        typer.echo(line, err=True)
    _print_report(plan, report, observer.sources)


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


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class _InstallProgress:
    """Install's callbacks: records sources and warnings; a rich progress bar on stderr when
    it is a terminal (rich is not even imported otherwise)."""

    def __init__(self, count: int):
        self.sources: dict[str, str] = {}
        self.warnings: list[str] = []
        self._ready = 0
        self._count = count
        self._progress: Progress | None = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._progress.add_task(f"Fetching {count} wheels", total=None)

    def __enter__(self) -> _InstallProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _update(self, **fields: object) -> None:
        if self._progress is not None:
            self._progress.update(self._task, **fields)  # type: ignore[arg-type]

    def fetch_started(self, count: int, total_bytes: int) -> None:
        self._update(total=total_bytes or None)

    def advanced(self, delta: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, delta)

    def wheel_ready(self, decl: Declaration, source: str) -> None:
        self.sources[decl.filename] = source
        self._ready += 1
        self._update(description=f"Verified {self._ready}/{self._count} wheels")

    def gateway_failed(self, decl: Declaration, failure: GatewayFailure) -> None:
        self.warnings.append(f"warning: {decl.filename}: {failure}")

    def installing(self, decl: Declaration) -> None:
        self._update(description=f"Installing {decl.name} {decl.version}")


@app.command("export")
@handles_errors
def export_command(
    root: Annotated[str, typer.Argument(help="Root CID, /ipfs/<cid>, or a build directory.")],
    names: Annotated[list[str], typer.Argument(help="NAME[extras][specifier] to export.")],
    format: Annotated[
        str, typer.Option("--format", help="requirements (pip --require-hashes) or pylock.")
    ] = "requirements",
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform",
            help="A platform id of the root, e.g. cp311-manylinux_2_28_x86_64 "
            "(default: this interpreter).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    gateway: GatewayOption = [],  # noqa: B006
    timeout: TimeoutOption = 30.0,
    cache_dir: CacheDirOption = None,
) -> None:
    """Export the closure of NAMEs as a hashed requirements file or a pylock.toml."""
    import os

    from wheelset.export import FORMATTERS
    from wheelset.fsutil import atomic_write_text
    from wheelset.ipfs.gateway import configured_gateways
    from wheelset.resolve import resolve
    from wheelset.target_env import iter_platform_ids, running_target, target_for_platform_id

    if format not in FORMATTERS:
        raise fail(f"--format must be one of {', '.join(FORMATTERS)}", code=2)
    requested = _requirements(names)
    with _http_client() as http:
        opened, _, _ = _open_root(root, gateway, timeout, cache_dir, http)
    if platform is None:
        target = running_target()
    else:
        known = list(iter_platform_ids(opened.manifest.platforms))
        if platform not in known:
            raise WheelsetError(
                f"platform {platform!r} is not one of this root's: {', '.join(known) or 'none'}",
                code="PLATFORM",
            )
        target = target_for_platform_id(platform)
    resolution = resolve(
        opened.manifest.declarations, requested, target.env, target.tags, target=target.name
    )
    text = FORMATTERS[format](
        resolution.selected,
        root=opened.cid,
        gateway=configured_gateways(gateway, os.environ)[0],
        platform=target.name,
        env=target.env,
    )
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_text(output, text)


@app.command("serve")
@handles_errors
def serve_command(
    root: Annotated[str, typer.Argument(help="Root CID, /ipfs/<cid>, or a build directory.")],
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free).")] = 8000,
    gateway: GatewayOption = [],  # noqa: B006
    timeout: TimeoutOption = 30.0,
    cache_dir: CacheDirOption = None,
) -> None:
    """Serve a local PEP 503/691 index of ROOT for pip and uv; every file verified by CID."""
    from wheelset.serve import IndexServer

    with _http_client() as http:
        opened, fetcher, cache = _open_root(root, gateway, timeout, cache_dir, http)
        server = IndexServer(
            opened, cache, fetcher, port=port, on_event=lambda line: typer.echo(line, err=True)
        )
        typer.echo(f"Serving root {opened.cid} at {server.url} (Ctrl-C stops)", err=True)
        typer.echo(server.url)
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            typer.echo("stopped", err=True)
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.close()


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops `serve` as cleanly as Ctrl-C does."""
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point."""
    app(prog_name="wheelset")


if __name__ == "__main__":
    sys.exit(main())
