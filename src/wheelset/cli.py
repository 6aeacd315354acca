"""The `wheelset` command line: parse arguments, call library functions, print results.

Every command body is wrapped so that a WheelsetError becomes one line on stderr and its
exit code; a traceback appears only with --debug. Nothing below this module prints.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer

from wheelset import __version__
from wheelset.errors import WheelsetError

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


def _http_client(timeout: float = 60.0):
    import httpx

    return httpx.Client(timeout=timeout, follow_redirects=False)


def _metadata_provider(http, *, index_url: str | None, gateway: str | None, counter: list[int]):
    from wheelset.metadata_cache import MetadataCache, collect_metadata
    from wheelset.wheel_fetch import WheelFetcher

    fetcher = WheelFetcher(http=http, index_url=index_url, gateway=gateway)

    def provide(decls):
        found, fetched = collect_metadata(decls, cache=MetadataCache(), fetcher=fetcher)
        counter.append(fetched)
        return found

    return provide


def _wheel_writer(http, *, index_url: str | None, gateway: str | None):
    from wheelset.wheel_fetch import WheelFetcher

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
    from wheelset.build_stage import build_collection, write_build_dir, write_car_file

    if with_wheels and out is None:
        raise typer.BadParameter("--with-wheels needs --out")
    offline = not (with_metadata or with_wheels)
    with contextlib.nullcontext() if offline else _http_client() as http:
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
    from wheelset.build_stage import build_collection
    from wheelset.ipfs.pinning import PinningService
    from wheelset.ipfs.rpc import KuboRpc
    from wheelset.publish import FAILED, PublishError, publish, request_remote_pin
    from wheelset.wheel_fetch import WheelFetcher

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
    from wheelset.diff import FORMATTERS, diff_manifests, load_root

    formatter = FORMATTERS.get(output_format.lower())
    if formatter is None:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATTERS)}")
    with _http_client() as http:
        a_root, a = load_root(root_a, http=http, gateway=gateway)
        b_root, b = load_root(root_b, http=http, gateway=gateway)
    typer.echo(formatter(diff_manifests(a_root, a, b_root, b)), nl=False)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="wheelset")


if __name__ == "__main__":
    sys.exit(main())
