"""`wheelset serve`: a verifying PEP 503/691 index of one root, or of several (--config).

Every option has one environment variable; the command puts the options it was given in
the environment and starts the application from it, as worker processes and ASGI
servers (gunicorn) do, so all of them read the same settings.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import RootSources, with_option_groups
from wheelset.errors import UsageError
from wheelset.serve.defaults import DEFAULT_REFRESH

__all__ = ["serve_command"]


@handles_errors
@with_option_groups
def serve_command(
    context: typer.Context,
    root: Annotated[
        str | None,
        typer.Argument(
            metavar="[ROOT]",
            envvar="WHEELSET_SERVE_ROOT",
            help="The root to serve at /simple/: a CID, /ipfs/<cid>, a build directory, a CAR "
            "file or a name (/ipns/…, DNSLink). Or several roots with --config.",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            envvar="WHEELSET_SERVE_CONFIG",
            help="TOML file of roots (served at /NAME/simple/), htpasswd file, tokens and "
            "access lists (README: Serve).",
        ),
    ] = None,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            metavar="ADDRESS",
            envvar="WHEELSET_SERVE_HOST",
            help="Address to listen on; other than loopback only with users or tokens, or "
            "--insecure.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port",
            metavar="PORT",
            envvar="WHEELSET_SERVE_PORT",
            min=0,
            max=65535,
            help="Port to listen on (0: any free).",
        ),
    ] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            metavar="N",
            envvar="WHEELSET_SERVE_WORKERS",
            min=1,
            max=256,
            help="Worker processes (about one per core).",
        ),
    ] = 1,
    htpasswd: Annotated[
        Path | None,
        typer.Option(
            "--htpasswd",
            metavar="FILE",
            envvar="WHEELSET_HTPASSWD",
            help="Users allowed in: an htpasswd file of bcrypt hashes (htpasswd -B).",
        ),
    ] = None,
    certfile: Annotated[
        Path | None,
        typer.Option(
            "--certfile",
            metavar="FILE",
            envvar="WHEELSET_SERVE_CERTFILE",
            help="Serve HTTPS with this certificate (PEM, chain included).",
        ),
    ] = None,
    keyfile: Annotated[
        Path | None,
        typer.Option(
            "--keyfile",
            metavar="FILE",
            envvar="WHEELSET_SERVE_KEYFILE",
            help="The certificate's private key (PEM; default: in --certfile).",
        ),
    ] = None,
    refresh: Annotated[
        float,
        typer.Option(
            "--refresh",
            metavar="SECONDS",
            envvar="WHEELSET_SERVE_REFRESH",
            min=0.1,
            help="How often names and build directories are looked at again.",
        ),
    ] = DEFAULT_REFRESH,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Allow listening beyond loopback without users or tokens."),
    ] = False,
    *,
    sources: RootSources,
) -> None:
    """Serve a PEP 503/691 index of ROOT (or of the roots of --config) for pip and uv;
    every file verified by CID before its first byte is sent."""
    from wheelset.serve.app import create_app
    from wheelset.serve.run import bind, check_tls, is_loopback, serve

    if keyfile is not None and certfile is None:
        raise UsageError("--keyfile needs --certfile")
    _export_settings(context)
    if not root and not config:
        raise UsageError("give a ROOT to serve, or --config FILE")
    if certfile is not None:
        check_tls(certfile, keyfile)
    metrics_dir = None
    if workers > 1:
        metrics_dir = tempfile.mkdtemp(prefix="wheelset-serve-metrics-")
        os.environ["WHEELSET_SERVE_METRICS_DIR"] = metrics_dir
    try:
        app = create_app()  # opens every root now: a bad one is an error before listening
        if not is_loopback(host) and not app.has_auth and not insecure:
            raise UsageError(
                f"--host {host} is reachable by others: configure users (--htpasswd) or "
                "tokens, or give --insecure"
            )
        sock = bind(host, port)
        scheme = "https" if certfile else "http"
        shown = f"[{host}]" if ":" in host else host
        origin = f"{scheme}://{shown}:{sock.getsockname()[1]}"
        for name, cid in app.roots():
            where = f"{origin}/{name}/simple/" if name else f"{origin}/simple/"
            typer.echo(f"Serving root {cid} at {where}", err=True)
            typer.echo(where)
        typer.echo(f"{workers} worker(s); Ctrl-C or SIGTERM stops, SIGHUP reloads", err=True)
        if workers > 1:
            app.close()  # each worker opens its own
        serve(app if workers == 1 else None, sock, workers=workers, certfile=certfile,
              keyfile=keyfile)  # fmt: skip
        typer.echo("stopped", err=True)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _export_settings(context: typer.Context) -> None:
    """Put each option the application reads into the environment under the option's own
    variable (its value given, from the environment or the default; unset when empty)."""
    from wheelset.serve.config import SETTINGS_VARIABLES

    for param in context.command.params:
        if param.envvar not in SETTINGS_VARIABLES:
            continue
        value = context.params[param.name]  # type: ignore[index]
        if isinstance(value, list | tuple):
            value = " ".join(value)
        if value is None or value == "":
            os.environ.pop(param.envvar, None)
        else:
            os.environ[param.envvar] = str(value)
