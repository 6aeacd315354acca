"""The `wheelset` command line: parse arguments, call library functions, print results.

Every command body is wrapped so that a WheelsetError becomes one line on stderr and its
exit code; a traceback appears only with --debug. Nothing below this module prints.
"""

from __future__ import annotations

import contextlib
import functools
import re
import signal
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
    from packaging.requirements import Requirement
    from rich.progress import Progress

    from wheelset.client.install import InstallPlan, InstallReport
    from wheelset.client.interpreter import Interpreter
    from wheelset.client.root import OpenedRoot
    from wheelset.fetch.cache import Cache
    from wheelset.ipfs.gateway import GatewayFailure, GatewayFetcher
    from wheelset.model.declarations import Declaration

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
        except KeyboardInterrupt as e:
            code = getattr(e, "exit_code", 130)
            typer.echo("terminated" if code == 143 else "interrupted", err=True)
            raise typer.Exit(code) from None

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
    paths: Annotated[
        list[str], typer.Argument(metavar="PATH", help="Files, directories or symlinks.")
    ],
    cid_version: Annotated[
        int,
        typer.Option(
            "--cid-version",
            min=0,
            max=1,
            help="0 (default): base58 Qm… CIDs. 1: base32 b… CIDs with raw leaves, as Kubo.",
        ),
    ] = 0,
    hidden: Annotated[
        bool,
        typer.Option("--hidden", "-H", help="Include files and directories starting with '.'."),
    ] = False,
    dereference_symlinks: Annotated[
        bool,
        typer.Option(
            "--dereference-symlinks",
            help="Follow symlinks and add what they point to (symlink loops are errors).",
        ),
    ] = False,
) -> None:
    """Print the CID of each path exactly as `ipfs add -Q -r --only-hash PATH` (Kubo) would.

    Same defaults as Kubo: 256 KiB chunks, balanced DAG of 174 links, directories sharded \
into HAMTs past 256 KiB of links, names starting with '.' skipped inside directories \
(not when given as PATH), empty directories kept, symlinks stored as links.

    Output: one CID per line, in the order the paths were given. A path that cannot be \
added (missing, unreadable, FIFO/socket/device, non-UTF-8 name, symlink loop) prints \
`error: PATH: CODE message` on stderr instead; the other paths are still processed and \
the exit code is 1. Check the exit code before pairing output lines with paths.
    """
    from wheelset.ipfs.filesystem import import_path
    from wheelset.ipfs.importer import ImportParams

    params = ImportParams(cid_version=cid_version)
    failed = False
    for path in paths:
        try:
            root = import_path(
                path, params, include_hidden=hidden, dereference_symlinks=dereference_symlinks
            )
        except WheelsetError as e:
            if _state["debug"]:
                raise
            typer.echo(f"error: {e.one_line()}", err=True)
            failed = True
            continue
        typer.echo(str(root.cid))
    if failed:
        raise typer.Exit(1)


def _metadata_provider(http, *, index_url: str | None, gateway: str | None, counter: list[int]):
    from wheelset.fetch.metadata_cache import MetadataCache, collect_metadata
    from wheelset.fetch.wheel_fetch import WheelFetcher

    fetcher = WheelFetcher(http=http, index_url=index_url, gateway=gateway)

    def provide(decls):
        found, fetched = collect_metadata(decls, cache=MetadataCache(), fetcher=fetcher)
        counter.append(fetched)
        return found

    return provide


def _wheel_writer(http, *, index_url: str | None, gateway: str | None):
    from wheelset.fetch.wheel_fetch import WheelFetcher

    fetcher = WheelFetcher(http=http, index_url=index_url, gateway=gateway)

    def write(decl, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        fetcher.fetch(decl, directory)

    return write


_DIR_ARG = typer.Argument(help="The collection directory (platforms.toml + declarations).")
_INDEX_OPT = typer.Option(
    "--index-url", envvar="WHEELSET_INDEX_URL", help="Index for `index:` sources (default: pip's)."
)
_GATEWAY_FETCH_OPT = typer.Option(
    "--gateway", help="Fetch wheels from this IPFS gateway by content-id instead of their sources."
)
_METADATA_OPT = typer.Option(
    "--with-metadata", help="Publish each wheel's METADATA as a PEP 658 .metadata file."
)


@app.command("build")
@handles_errors
def build_command(
    directory: Annotated[Path, _DIR_ARG] = Path("declarations"),
    out: Annotated[
        Path | None, typer.Option("--out", help="Write a build directory (ROOT, root.car, tree/).")
    ] = None,
    car: Annotated[Path | None, typer.Option("--car", help="Write the CAR file here.")] = None,
    with_metadata: Annotated[bool, _METADATA_OPT] = False,
    with_wheels: Annotated[
        bool, typer.Option("--with-wheels", help="Also put the verified wheels in OUT/tree.")
    ] = False,
    index_url: Annotated[str | None, _INDEX_OPT] = None,
    gateway: Annotated[str | None, _GATEWAY_FETCH_OPT] = None,
) -> None:
    """Build the collection into one root CID (offline unless METADATA or wheels are fetched).

    Prints a summary on stderr and the root CID, alone, as the last line on stdout.
    """
    from wheelset.build.stage import build_collection, write_build_dir, write_car_file

    if with_wheels and out is None:
        raise typer.BadParameter("--with-wheels needs --out")
    offline = not (with_metadata or with_wheels)
    with contextlib.nullcontext() if offline else _http_client(60.0) as http:
        fetched: list[int] = []
        provider = (
            _metadata_provider(http, index_url=index_url, gateway=gateway, counter=fetched)
            if with_metadata
            else None
        )
        result = build_collection(directory, metadata=provider)
        if out is not None:
            writer = (
                _wheel_writer(http, index_url=index_url, gateway=gateway) if with_wheels else None
            )
            write_build_dir(result, out, wheels=writer)
        car_size = write_car_file(result, car) if car is not None else None
    entries = result.manifest.entries
    projects = len({e.declaration.name for e in entries})
    summary = f"{len(entries)} wheels, {projects} projects, {len(result.blocks)} blocks"
    if with_metadata:
        summary += f"; METADATA: {sum(fetched)} fetched, {len(entries) - sum(fetched)} cached"
    if out is not None:
        summary += f"; wrote {out}"
    if car_size is not None:
        summary += f"; CAR {car} ({car_size} bytes)"
    typer.echo(summary, err=True)
    typer.echo(str(result.root))


def _progress_callbacks(label: str):
    """A rich progress bar on stderr (a terminal only), driven by start(total), advance(outcome)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        return contextlib.nullcontext(), None, None
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    )
    task = progress.add_task("", total=None)

    def start(total: int) -> None:
        progress.update(task, total=total)

    def advance(outcome) -> None:
        progress.update(task, advance=1, description=f"{outcome.status} {outcome.filename}")

    return progress, start, advance


@app.command("publish")
@handles_errors
def publish_command(
    directory: Annotated[Path, _DIR_ARG] = Path("declarations"),
    api: Annotated[
        str | None,
        typer.Option(
            "--api",
            envvar="WHEELSET_API",
            help="The node's RPC API (default http://127.0.0.1:5001, unless only a pinning "
            "service is given).",
        ),
    ] = None,
    from_sources: Annotated[
        bool,
        typer.Option(
            "--from-sources",
            help="Download each wheel (verified) and add it, instead of pinning content-ids.",
        ),
    ] = False,
    pinning_service: Annotated[
        str | None,
        typer.Option("--pinning-service", help="Pinning Service API endpoint to pin the root."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="WHEELSET_PINNING_TOKEN", help="Its access token."),
    ] = None,
    with_metadata: Annotated[bool, _METADATA_OPT] = False,
    index_url: Annotated[str | None, _INDEX_OPT] = None,
    gateway: Annotated[str | None, _GATEWAY_FETCH_OPT] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Wheels handled at once.")] = 4,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds allowed per node call or pin.")
    ] = 300.0,
) -> None:
    """Build, then import the root and its wheels into an IPFS node (pinned); print the root.

    Safe to re-run: wheels the node already pins are skipped.
    """
    from wheelset.build.publish import FAILED, PublishError, publish, request_remote_pin
    from wheelset.build.stage import build_collection
    from wheelset.fetch.wheel_fetch import WheelFetcher
    from wheelset.ipfs.pinning import PinningService
    from wheelset.ipfs.rpc import KuboRpc

    if pinning_service and not token:
        raise typer.BadParameter("--pinning-service needs --token (or WHEELSET_PINNING_TOKEN)")
    if api is None and not pinning_service:
        api = "http://127.0.0.1:5001"
    with _http_client(timeout) as http:
        fetched: list[int] = []
        provider = (
            _metadata_provider(http, index_url=index_url, gateway=gateway, counter=fetched)
            if with_metadata
            else None
        )
        result = build_collection(directory, metadata=provider)
        origins: list[str] = []
        if api is not None:
            rpc = KuboRpc(api, http=http, timeout=timeout)
            fetcher = (
                WheelFetcher(http=http, index_url=index_url, gateway=gateway)
                if from_sources
                else None
            )
            progress, start, advance = _progress_callbacks("wheels")
            with progress:
                report = publish(
                    result,
                    rpc,
                    fetcher=fetcher,
                    workers=jobs,
                    pin_timeout=timeout,
                    on_start=start,
                    on_wheel=advance,
                )
            for failure in report.failures:
                typer.echo(f"failed: {failure.filename}: {failure.detail}", err=True)
            how = "pinned" if report.root_pinned else "imported, NOT pinned"
            typer.echo(
                f"root {report.root} {how} on {api} ({report.blocks} blocks, "
                f"{report.car_size} bytes); wheels: {report.count('added')} added, "
                f"{report.count('pinned')} pinned, {report.count('present')} already there, "
                f"{report.count(FAILED)} failed",
                err=True,
            )
            if report.failures:
                raise PublishError(
                    f"{len(report.failures)} of {len(report.wheels)} wheels failed; "
                    "fix them and run publish again (done work is kept)"
                )
            origins = [str(a) for a in rpc.id().get("Addresses") or []]
        if pinning_service:
            service = PinningService(pinning_service, token or "", http=http)
            status = request_remote_pin(
                service,
                result.root,
                name=f"wheelset {directory.name}",
                origins=origins,
                timeout=timeout,
            )
            typer.echo(f"pinning service: {status.status} (request {status.requestid})", err=True)
    typer.echo(str(result.root))


@app.command("diff")
@handles_errors
def diff_command(
    root_a: Annotated[str, typer.Argument(help="A root CID (or /ipfs/<cid>) or build directory.")],
    root_b: Annotated[str, typer.Argument(help="Another one.")],
    output_format: Annotated[
        str, typer.Option("--format", help="text or json.", case_sensitive=False)
    ] = "text",
    gateway: Annotated[
        str | None,
        typer.Option("--gateway", envvar="WHEELSET_GATEWAY", help="Gateway to fetch CIDs from."),
    ] = None,
) -> None:
    """Show what changed between two roots: projects, versions, wheels per platform."""
    from wheelset.client.diff import FORMATTERS, diff_manifests, load_root

    formatter = FORMATTERS.get(output_format.lower())
    if formatter is None:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATTERS)}")
    with _http_client(60.0) as http:
        a_root, a = load_root(root_a, http=http, gateway=gateway)
        b_root, b = load_root(root_b, http=http, gateway=gateway)
    typer.echo(formatter(diff_manifests(a_root, a, b_root, b)), nl=False)


_PROJECT = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


@app.command("prefix")
@handles_errors
def prefix_command(
    projects: Annotated[list[str], typer.Argument(help="Project names (any spelling).")],
) -> None:
    """Print the declaration directory prefix of each project."""
    from wheelset.model.declarations import prefix_of

    for project in projects:
        if not _PROJECT.fullmatch(project):
            raise WheelsetError(f"invalid project name {project!r}", code="USAGE")
    for project in projects:
        typer.echo(prefix_of(project))


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
NoCacheOption = Annotated[
    bool, typer.Option("--no-cache", help="Do not read or fill the wheel cache.")
]


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
    extras: Annotated[
        str | None,
        typer.Option(
            "--extras",
            help="Comma-separated extras the collection supports (default: all the wheel "
            "provides; '' for none). The closure check covers only declared extras.",
        ),
    ] = None,
    index_url: IndexUrlOption = None,
    timeout: TimeoutOption = 60.0,
    jobs: JobsOption = 4,
    no_cache: NoCacheOption = False,
) -> None:
    """Declare wheels: fetch, check, and write one TOML file per wheel under --into."""
    from wheelset.fetch.download import WheelCache, WheelFetcher, default_cache_dir
    from wheelset.fetch.index import IndexClient, configured_index_url
    from wheelset.maintain.declare import declare_sources, parse_source, write_declarations
    from wheelset.model.platforms import PLATFORMS_FILE, load_platforms

    specs = [parse_source(s) for s in sources]
    releases = any(s.kind == "release" for s in specs)
    platforms = load_platforms(into / PLATFORMS_FILE)[0] if releases else None
    with _http_client(timeout, index_url=index_url) as http, _progress() as on_progress:
        index = None
        if releases:
            index = IndexClient(configured_index_url(index_url), http=http)
        cache = None if no_cache else WheelCache(default_cache_dir())
        fetcher = WheelFetcher(http=http, index=index, cache=cache, on_progress=on_progress)
        wanted = None if extras is None else [e for e in extras.split(",") if e.strip()]
        declared = declare_sources(
            sources,
            fetcher=fetcher,
            platforms=platforms,
            source=source,
            extras=wanted,
            jobs=jobs,
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
    from wheelset.check import DEFAULT_FAMILIES, FAMILIES, run_checks
    from wheelset.check.report import FORMATTERS
    from wheelset.model.collection import changed_paths, load_collection
    from wheelset.model.findings import Severity

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
        from wheelset.fetch.download import WheelFetcher
        from wheelset.fetch.index import IndexClient, configured_index_url

        with _http_client(timeout, index_url=index_url) as http, _progress() as on_progress:
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
    """The one HTTP client of a command, built on first use so that a command served entirely
    from the cache never pays for importing httpx (which honours proxy and certificate
    variables). Attribute access is forwarded to the client."""

    def __init__(self, timeout: float | None, connections: int, index_url: str | None):
        self._timeout = timeout
        self._connections = connections
        self._index_url = index_url
        self._client: httpx.Client | None = None

    def __getattr__(self, name: str) -> object:
        if self._client is None:
            import httpx

            from wheelset.fetch.credentials import IndexAuth
            from wheelset.fetch.index import configured_index_url

            try:
                indexes = [configured_index_url(self._index_url)]
            except WheelsetError:
                indexes = []
            n = self._connections
            self._client = httpx.Client(
                auth=IndexAuth(indexes),
                follow_redirects=True,
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
                headers={"User-Agent": f"wheelset/{__version__}"},
                **({} if self._timeout is None else {"timeout": httpx.Timeout(self._timeout)}),
            )
        return getattr(self._client, name)

    def __enter__(self) -> httpx.Client:
        return self  # type: ignore[return-value]

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()


def _http_client(
    timeout: float | None = None, *, connections: int = 16, index_url: str | None = None
) -> _LazyHttp:
    """The command's HTTP client; private-index credentials come as pip finds them."""
    return _LazyHttp(timeout, connections, index_url)


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
    from wheelset.client.root import open_root, parse_root_ref
    from wheelset.fetch.cache import Cache, default_cache_dir
    from wheelset.ipfs.gateway import GatewayFetcher, gateway_urls

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


PythonOption = Annotated[
    str | None,
    typer.Option(
        "--python",
        help="The interpreter of the environment (default: $VIRTUAL_ENV, else ./.venv).",
    ),
]
TargetOption = Annotated[
    Path | None, typer.Option("--target", help="A directory of packages (as pip --target).")
]
PrefixOption = Annotated[Path | None, typer.Option("--prefix", help="Under this prefix.")]
SystemOption = Annotated[
    bool,
    typer.Option("--system", help="Allow the first python3 on PATH when no venv is found."),
]


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same rollback runs; exits 143."""

    exit_code = 143


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


@contextlib.contextmanager
def _sigterm_rolls_back() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _environment(
    python: str | None, target: Path | None, prefix: Path | None, system: bool
) -> tuple[Interpreter, dict[str, str]]:
    """The interpreter and scheme to act on: --python, else $VIRTUAL_ENV, else ./.venv, else
    (--system) python3 on PATH; --target/--prefix without any uses this interpreter."""
    import os

    from wheelset.client.install import target_scheme
    from wheelset.client.interpreter import (
        find_environment,
        inspect_interpreter,
        running_interpreter,
    )

    if target is not None and prefix is not None:
        raise fail("--target and --prefix exclude each other", code=2)
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


def _repair(scheme: dict[str, str], *, quiet_when_clean: bool) -> None:
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


@app.command("install")
@handles_errors
def install_command(
    root: Annotated[
        str | None, typer.Argument(help="Root CID, /ipfs/<cid>, or a build directory.")
    ] = None,
    names: Annotated[
        list[str] | None, typer.Argument(help="NAME[extras][specifier] to install.")
    ] = None,
    requirement: Annotated[
        list[Path],
        typer.Option("--requirement", "-r", help="Install the names of this file (repeatable)."),
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
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Parallel downloads.")] = 8,
    timeout: TimeoutOption = 30.0,
    cache_dir: CacheDirOption = None,
) -> None:
    """Install projects (and their dependencies) from a root, every wheel verified by CID.

    All or nothing: an error, Ctrl-C or SIGTERM leaves the environment as it was; after a
    crash (kill -9) the next install, or --repair, brings it back first.
    """
    from wheelset.client.install import fetch_wheels, install_wheels, plan_install
    from wheelset.client.reqfile import read_requirements

    with _sigterm_rolls_back():
        interpreter, scheme = _environment(python, target, prefix, system)
        if repair:
            _repair(scheme, quiet_when_clean=False)
            return
        if root is None:
            raise fail("missing ROOT (or --repair)", code=2)
        requested = _requirements(names or [])
        for path in requirement:
            requested += read_requirements(path)
        if not requested:
            raise fail("nothing to install: give NAMES or -r FILE", code=2)
        if not dry_run:
            _repair(scheme, quiet_when_clean=True)
        with _http_client(connections=2 * jobs) as http:
            opened, fetcher, cache = _open_root(root, gateway, timeout, cache_dir, http)
            plan = plan_install(
                opened.manifest.declarations,
                opened.cid,
                requested,
                interpreter,
                scheme,
                exact=exact,
            )
            if dry_run:
                _print_plan(plan)
                return
            wanted = [item.declaration for item in plan.to_install]
            with _InstallProgress(len(wanted)) as observer:
                files = fetch_wheels(wanted, cache, fetcher, workers=jobs, observer=observer)
                report = install_wheels(
                    plan,
                    files,
                    compile_bytecode=compile_bytecode,
                    force=force,
                    observer=observer,
                )
    for line in observer.warnings:
        typer.echo(line, err=True)
    if plan.broken:
        typer.echo(f"warning: --force broke: {'; '.join(plan.broken)}", err=True)
    _print_report(plan, report, observer.sources)


@app.command("uninstall")
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

    with _sigterm_rolls_back():
        _, scheme = _environment(python, target, prefix, system)
        _repair(scheme, quiet_when_clean=True)
        removed = uninstall(scheme, names)
    typer.echo(f"Removed {_count(len(removed), 'distribution')} from {scheme['purelib']}:")
    for dist in removed:
        typer.echo(f"  {dist.name} {dist.version}")


def _listed(python: str | None, target: Path | None, prefix: Path | None, system: bool):
    from wheelset.client.environment import installed_distributions

    _, scheme = _environment(python, target, prefix, system)
    return installed_distributions(scheme)


@app.command("list")
@handles_errors
def list_command(
    target: TargetOption = None,
    prefix: PrefixOption = None,
    python: PythonOption = None,
    system: SystemOption = False,
) -> None:
    """List the distributions of an environment, with the root each was installed from."""
    dists = _listed(python, target, prefix, system)
    rows = [
        (str(d.name), d.version, d.installer() or "-", d.origin() or "-")
        for _, d in sorted(dists.items())
    ]
    header = ("name", "version", "installer", "root")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)) + row[3])


@app.command("freeze")
@handles_errors
def freeze_command(
    target: TargetOption = None,
    prefix: PrefixOption = None,
    python: PythonOption = None,
    system: SystemOption = False,
) -> None:
    """Print NAME==VERSION for each distribution (a requirements file; the root as a comment)."""
    for _, dist in sorted(_listed(python, target, prefix, system).items()):
        origin = dist.origin()
        typer.echo(f"{dist.name}=={dist.version}" + (f"  # root {origin}" if origin else ""))


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
        done = ", ".join(f"{d.name} {d.version}" for d in report.skipped)
        typer.echo(f"Already installed: {done}")
    if report.removed:
        typer.echo(f"Removed: {', '.join(f'{n} {v}' for n, v in report.removed)}")
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

    from wheelset.client.export import FORMATTERS
    from wheelset.client.resolve import resolve
    from wheelset.fsutil import atomic_write_text
    from wheelset.ipfs.gateway import configured_gateways
    from wheelset.model.platforms import current_platform, find_platform

    if format not in FORMATTERS:
        raise fail(f"--format must be one of {', '.join(FORMATTERS)}", code=2)
    requested = _requirements(names)
    with _http_client() as http:
        opened, _, _ = _open_root(root, gateway, timeout, cache_dir, http)
    if platform is None:
        target = current_platform()
        described = f"this interpreter ({target.id})"
    else:
        target = find_platform(opened.manifest.platforms, platform, owner="this root")
        described = target.id
    resolution = resolve(opened.manifest.declarations, requested, target, target=described)
    text = FORMATTERS[format](
        resolution.selected,
        root=opened.cid,
        gateway=configured_gateways(gateway, os.environ)[0],
        platform=target.id,
        env=target.environment,
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
    from wheelset.client.serve import IndexServer

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


@app.command("init")
@handles_errors
def init_command(
    directory: Annotated[Path, typer.Argument(help="New collection directory (must be empty).")],
    from_root: Annotated[
        str, typer.Option("--from", help="The published root to derive from (CID or build dir).")
    ],
    gateway: GatewayOption = [],  # noqa: B006 - typer needs a literal default
    timeout: TimeoutOption = 30.0,
    cache_dir: CacheDirOption = None,
) -> None:
    """Derive a declarations repository from a published root (a fork).

    Writes every declaration and platforms.toml of the root's authenticated manifest, plus
    upstream.toml (the root it came from) and .wheelset/upstream.json (its manifest, the
    base of later `sync`s). Building the new directory unchanged (with the options the root
    was built with, e.g. --with-metadata) gives the same root CID.
    """
    from wheelset.maintain.fork import init_collection

    with _http_client() as http:
        opened, _, _ = _open_root(from_root, gateway, timeout, cache_dir, http)
    count = init_collection(opened.manifest, opened.cid, directory)
    projects = len({d.name for d in opened.manifest.declarations})
    typer.echo(f"{directory}: {projects} projects, {count} wheels from {opened.cid}")


@app.command("prune")
@handles_errors
def prune_command(
    directory: Annotated[Path, typer.Argument(help="The collection directory.")],
    keep: Annotated[
        list[str], typer.Option("--keep", help="NAME[extras] to keep with its closure (repeat).")
    ],
    platform: Annotated[
        list[str],
        typer.Option(
            "--platform",
            help="Keep only these Python versions (3.12) and/or systems (win_amd64); repeat.",
        ),
    ] = [],  # noqa: B006 - typer needs a literal default
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, change nothing.")] = False,
) -> None:
    """Keep exactly the named projects and their closure on every supported platform.

    The kept set is checked first; if its closure would break, nothing is changed.
    """
    from wheelset.maintain.fork import apply_prune, plan_prune
    from wheelset.model.collection import load_collection

    collection = load_collection(directory)
    if collection.findings:
        first = collection.findings[0]
        raise WheelsetError(
            f"fix the collection first: {first.code} {first.message}",
            path=directory / first.path,
            code="PRUNE",
        )
    plan = plan_prune(
        collection.declarations, collection.platforms_table, _requirements(keep), platform
    )
    removed: dict[str, set[str]] = {}
    for decl in plan.remove:
        removed.setdefault(decl.name, set()).add(str(decl.version))
    kept_names = {d.name for d in plan.keep}
    for name in sorted(removed):
        how = "removed" if name not in kept_names else "wheels removed"
        typer.echo(f"{how}: {name} {', '.join(sorted(removed[name]))}")
    verb = "would keep" if dry_run else "kept"
    typer.echo(
        f"{verb} {len(kept_names)} projects, {len(plan.keep)} wheels; "
        f"{len(plan.remove)} wheels removed"
    )
    if not dry_run:
        apply_prune(directory, plan)


@app.command("sync")
@handles_errors
def sync_command(
    directory: Annotated[Path, typer.Argument(help="The fork's collection directory.")],
    from_root: Annotated[str, typer.Option("--from", help="The new upstream root.")],
    gateway: GatewayOption = [],  # noqa: B006 - typer needs a literal default
    timeout: TimeoutOption = 30.0,
    cache_dir: CacheDirOption = None,
) -> None:
    """Merge upstream's changes (recorded root -> new root) into the fork, then check it.

    Per project: a side that did not change yields to the side that did; projects both
    changed differently are conflicts, kept as the fork has them and reported. Exit 1 on
    conflicts or when the merged collection fails its checks.
    """
    from wheelset.check import run_checks
    from wheelset.maintain.fork import ChangeKind, apply_merge, merge_collections, read_upstream
    from wheelset.model.collection import load_collection
    from wheelset.model.findings import Severity

    _base_root, base = read_upstream(directory)
    collection = load_collection(directory)
    with _http_client() as http:
        opened, _, _ = _open_root(from_root, gateway, timeout, cache_dir, http)
    result = merge_collections(
        base, opened.manifest, collection.declarations, collection.platforms_table
    )
    apply_merge(directory, result, collection.declarations, opened.cid, opened.manifest)
    for change in result.changes:
        line = f"{change.kind.value}: {change.project} ({change.detail})"
        typer.echo(line, err=change.kind is ChangeKind.CONFLICT)
    findings = run_checks(load_collection(directory))
    for finding in findings:
        typer.echo(f"{finding.path}: {finding.code} {finding.message}", err=True)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    typer.echo(
        f"synced to {opened.cid}: {len(result.changes)} change(s), "
        f"{len(result.conflicts)} conflict(s), {len(errors)} error(s)"
    )
    if result.conflicts or errors:
        raise typer.Exit(1)


# --- maintaining a collection: what is outdated, and bumping projects ----------------------


@app.command("outdated")
@handles_errors
def outdated_command(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="The collection directory.")
    ] = Path("declarations"),
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    index_url: IndexUrlOption = None,
    timeout: TimeoutOption = 60.0,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Index pages read at a time.")] = 8,
) -> None:
    """For each project: the newest release on the index with wheels for its platforms.

    Also names newer releases that lack wheels for some of those platforms, and why. \
Informative: exits 0 whatever it finds (1 only when the index cannot be read).
    """
    from wheelset.fetch.index import IndexClient, configured_index_url
    from wheelset.maintain.outdated import FORMATTERS, check_outdated
    from wheelset.model.collection import load_collection

    if output_format not in FORMATTERS:
        raise fail(f"--format must be one of {', '.join(FORMATTERS)}", code=2)
    collection = load_collection(directory)
    with _http_client(timeout, connections=jobs, index_url=index_url) as http:
        index = IndexClient(configured_index_url(index_url), http=http)
        statuses = check_outdated(collection, index, jobs=jobs)
    typer.echo(FORMATTERS[output_format](statuses), nl=False)
    outdated = sum(s.is_outdated for s in statuses)
    blocked = sum(bool(s.newer) for s in statuses)
    typer.echo(
        f"{len(statuses)} projects: {outdated} can be updated, "
        f"{blocked} have newer releases lacking wheels",
        err=True,
    )


@app.command("bump")
@handles_errors
def bump_command(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="The collection directory.")],
    releases: Annotated[
        list[str],
        typer.Argument(
            metavar="PROJECT[==VERSION]...",
            help="The projects, and the releases to move to (default: the newest release "
            "with wheels for every platform the project covers now), bumped together.",
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Write the bump even if it breaks the collection.")
    ] = False,
    output_format: Annotated[
        str, typer.Option("--format", help="markdown (a PR description) or json.")
    ] = "markdown",
    extras: Annotated[
        str | None,
        typer.Option(
            "--extras",
            help="Comma-separated extras to declare (default: those declared now; '' for "
            "none). With one project only.",
        ),
    ] = None,
    index_url: IndexUrlOption = None,
    timeout: TimeoutOption = 60.0,
    jobs: JobsOption = 4,
    no_cache: NoCacheOption = False,
) -> None:
    """Replace projects' declarations with other releases', if the collection stays sound.

    The release's wheels are fetched and verified, the checks run on the would-be \
collection, and what the bump breaks (compared with before) is reported: dependents \
whose specifiers exclude the new version, platforms left without a wheel, any other new \
finding. Nothing is written when it breaks something (exit 1) unless --force.
    """
    from wheelset.fetch.download import WheelCache, WheelFetcher, default_cache_dir
    from wheelset.fetch.index import IndexClient, configured_index_url
    from wheelset.maintain.bump import FORMATTERS, apply_bump, plan_bump
    from wheelset.maintain.declare import parse_source
    from wheelset.model.collection import load_collection

    if output_format not in FORMATTERS:
        raise fail(f"--format must be one of {', '.join(FORMATTERS)}", code=2)
    targets = {}
    for text in releases:
        spec = parse_source(text)
        if spec.kind != "release" or spec.name is None:
            raise fail(f"{text!r}: expected PROJECT or PROJECT==VERSION", code=2)
        if spec.name in targets:
            raise fail(f"{spec.name} is named twice", code=2)
        targets[spec.name] = spec.version
    collection = load_collection(directory)
    with _http_client(timeout, index_url=index_url) as http, _progress() as on_progress:
        index = IndexClient(configured_index_url(index_url), http=http)
        cache = None if no_cache else WheelCache(default_cache_dir())
        fetcher = WheelFetcher(http=http, index=index, cache=cache, on_progress=on_progress)
        wanted = None if extras is None else [e for e in extras.split(",") if e.strip()]
        plan = plan_bump(collection, targets, fetcher=fetcher, extras=wanted, jobs=jobs)
    applied = not plan.is_noop and (plan.is_sound or force)
    written = apply_bump(plan, directory) if applied else []
    typer.echo(FORMATTERS[output_format](plan, applied=applied, base=directory), nl=False)
    for status, path in written:
        typer.echo(f"{status} {path}", err=True)
    if plan.is_noop:
        typer.echo("up to date: nothing to bump", err=True)
    elif not plan.is_sound:
        what = "written anyway (--force)" if applied else "nothing written"
        typer.echo(f"the bump breaks {len(plan.breaks)} thing(s): {what}", err=True)
        if not applied:
            raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="wheelset")
