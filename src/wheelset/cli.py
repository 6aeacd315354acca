"""The `wheelset` command line: parse arguments, call library functions, print results.

Every command body is wrapped so that a WheelsetError becomes one line on stderr and its
exit code; a traceback appears only with --debug. Nothing below this module prints.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

from wheelset import __version__
from wheelset.errors import WheelsetError

if TYPE_CHECKING:
    import httpx

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


_PROJECT = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


@app.command("prefix")
@handles_errors
def prefix_command(
    projects: Annotated[list[str], typer.Argument(help="Project names (any spelling).")],
) -> None:
    """Print the declaration directory prefix of each project."""
    from wheelset.declarations import prefix_of

    for project in projects:
        if not _PROJECT.fullmatch(project):
            raise WheelsetError(f"invalid project name {project!r}", code="USAGE")
    for project in projects:
        typer.echo(prefix_of(project))


def _http_client(timeout: float) -> httpx.Client:
    """The one HTTP client of a command (httpx honours proxy and certificate variables)."""
    import httpx

    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        follow_redirects=True,
        headers={"User-Agent": f"wheelset/{__version__}"},
    )


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[str, int, int | None], None] | None]:
    """A rich progress display on stderr (only on a terminal); yields the callback."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    tasks: dict[str, object] = {}
    lock = threading.Lock()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:

        def update(label: str, done: int, total: int | None) -> None:
            with lock:
                task = tasks.get(label)
                if task is None:
                    task = tasks[label] = progress.add_task(label, total=total)
            progress.update(task, completed=done, total=total)  # type: ignore[arg-type]

        yield update


IndexUrlOption = Annotated[
    str | None,
    typer.Option(
        "--index-url",
        help="PEP 503 index for index: sources (default: WHEELSET_INDEX_URL, pip's config).",
    ),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=0.1, help="Network timeout in seconds.")
]
JobsOption = Annotated[int, typer.Option("--jobs", min=1, help="Downloads at a time.")]


@app.command("declare")
@handles_errors
def declare_command(
    sources: Annotated[
        list[str],
        typer.Argument(help="A local .whl, an http(s)/file URL of a wheel, or NAME==VERSION."),
    ],
    into: Annotated[Path, typer.Option("--into", help="The collection directory.")] = Path(
        "declarations"
    ),
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="For one local .whl: the URL to record (or 'index'), not its file:// URL.",
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Remove the projects' other declarations.")
    ] = False,
    index_url: IndexUrlOption = None,
    timeout: TimeoutOption = 60.0,
    jobs: JobsOption = 4,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not read or fill the wheel cache.")
    ] = False,
) -> None:
    """Declare wheels: fetch, check, and write one TOML file per wheel under --into."""
    from wheelset.declare import declare_sources, parse_source, write_declarations
    from wheelset.platforms import PLATFORMS_FILE, load_platforms
    from wheelset.sources.fetch import WheelCache, WheelFetcher, default_cache_dir
    from wheelset.sources.index import IndexClient, configured_index_url

    specs = [parse_source(s) for s in sources]
    releases = any(s.kind == "release" for s in specs)
    platforms = load_platforms(into / PLATFORMS_FILE)[0] if releases else None
    with _http_client(timeout) as http, _progress() as on_progress:
        index = None
        if releases:
            index = IndexClient(configured_index_url(index_url), http=http)
        cache = None if no_cache else WheelCache(default_cache_dir())
        fetcher = WheelFetcher(http=http, index=index, cache=cache, on_progress=on_progress)
        declared = declare_sources(
            sources, fetcher=fetcher, platforms=platforms, source=source, jobs=jobs
        )
    for note in declared.notes:
        typer.echo(f"note: {note}", err=True)
    for status, path in write_declarations(declared.declarations, into, replace=replace):
        typer.echo(f"{status} {path}")


@app.command("check")
@handles_errors
def check_command(
    directory: Annotated[Path, typer.Argument(help="The collection directory.")] = Path(
        "declarations"
    ),
    integrity: Annotated[
        bool, typer.Option("--integrity", help="Also re-fetch sources and compare (network).")
    ] = False,
    changed_since: Annotated[
        str | None,
        typer.Option(
            "--changed-since",
            help="Integrity scope: declarations changed since this Git ref (default HEAD).",
        ),
    ] = None,
    all_declarations: Annotated[
        bool, typer.Option("--all", help="Integrity scope: every declaration.")
    ] = False,
    output_format: Annotated[
        str, typer.Option("--format", help="text, json or github (workflow annotations).")
    ] = "text",
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Run only these families (repeat or comma-separate): layout, schema, "
            "uniqueness, closure, integrity.",
        ),
    ] = None,
    index_url: IndexUrlOption = None,
    timeout: TimeoutOption = 60.0,
    jobs: JobsOption = 4,
) -> None:
    """Check a collection: layout, schema, uniqueness, closure (and --integrity)."""
    from wheelset.checks import DEFAULT_FAMILIES, FAMILIES, run_checks
    from wheelset.collection import changed_paths, load_collection
    from wheelset.findings import Severity
    from wheelset.report import FORMATTERS

    if output_format not in FORMATTERS:
        raise fail(f"--format must be one of {', '.join(FORMATTERS)}", code=2)
    families = [f.strip() for item in only or () for f in item.split(",") if f.strip()]
    for family in families:
        if family not in FAMILIES:
            raise fail(f"unknown check family {family!r} ({', '.join(FAMILIES)})", code=2)
    if not families:
        families = [*DEFAULT_FAMILIES, *(["integrity"] if integrity else [])]
    run_integrity = "integrity" in families
    if (changed_since or all_declarations) and not run_integrity:
        raise fail("--changed-since and --all choose the scope of --integrity", code=2)
    if changed_since and all_declarations:
        raise fail("--changed-since and --all exclude each other", code=2)

    collection = load_collection(directory)
    scope = None
    if run_integrity and not all_declarations:
        ref = changed_since or "HEAD"
        try:
            scope = changed_paths(directory, ref)
        except WheelsetError as e:
            raise WheelsetError(
                f"{e} (use --all to check every declaration)", path=e.path, code=e.code
            ) from e
        typer.echo(f"integrity: {len(scope)} declaration(s) changed since {ref}", err=True)
    if run_integrity:
        from wheelset.sources.fetch import WheelFetcher
        from wheelset.sources.index import IndexClient, configured_index_url

        with _http_client(timeout) as http, _progress() as on_progress:
            needs_index = any(
                d.is_index_source
                for d in collection.declarations
                if scope is None or d.path in scope
            )
            index = IndexClient(configured_index_url(index_url), http=http) if needs_index else None
            fetcher = WheelFetcher(http=http, index=index, on_progress=on_progress)
            findings = run_checks(
                collection, families, fetcher=fetcher, integrity_paths=scope, jobs=jobs
            )
    else:
        findings = run_checks(collection, families)
    typer.echo(FORMATTERS[output_format](findings, directory), nl=False)
    errors = sum(f.severity is Severity.ERROR for f in findings)
    typer.echo(
        f"{len(collection.declarations)} declarations, {len(collection.platforms)} platforms: "
        f"{errors} error(s), {len(findings) - errors} warning(s)",
        err=True,
    )
    if errors:
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="wheelset")


if __name__ == "__main__":
    sys.exit(main())
