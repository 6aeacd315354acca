"""Running the index: uvicorn (httptools, uvloop) on a socket bound here, one or N workers.

The socket is bound before uvicorn starts, so a port in use is one clear error and port 0
gives the chosen port to print. One worker runs in this process (SIGHUP reloads it in
place); several are uvicorn's supervisor's processes, each running create_app() from
the same environment (SIGHUP restarts them one at a time; the others keep serving).
SIGTERM and Ctrl-C stop accepting connections and let running requests finish (up to
DRAIN seconds).
Entry points: bind(), check_tls(), serve().
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import ssl
from pathlib import Path

from wheelset.errors import ServeError
from wheelset.serve.app import IndexApp

__all__ = ["DRAIN", "bind", "check_tls", "is_loopback", "serve"]

DRAIN = 30  # seconds running requests get to finish on shutdown
_BACKLOG = 2048  # connections waiting to be accepted (bursts of many pip/uv connections)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: any free port).

    Raises:
        ServeError: the address cannot be bound.
    """
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(_BACKLOG)
    except OSError as e:
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    sock.set_inheritable(True)
    return sock


def check_tls(certfile: Path, keyfile: Path | None) -> None:
    """Whether the certificate and key load, as one clear error rather than at start-up.

    Raises:
        ServeError: unreadable or mismatched certificate or key.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as e:
        with_key = f" with key {keyfile}" if keyfile is not None else ""
        raise ServeError(f"cannot use this certificate{with_key}: {e}", path=certfile) from e


def serve(
    app: IndexApp | None,
    sock: socket.socket,
    *,
    workers: int = 1,
    certfile: Path | None = None,
    keyfile: Path | None = None,
) -> None:
    """Serve ``app`` on ``sock`` until SIGTERM or Ctrl-C; with ``workers`` > 1, ``app`` is
    None and each worker process makes its own with create_app()."""
    import uvicorn
    from uvicorn.supervisors.multiprocess import Multiprocess

    target: object = app if workers == 1 else "wheelset.serve.app:create_app"
    config = uvicorn.Config(
        target,  # type: ignore[arg-type]
        factory=workers > 1,
        workers=workers,
        http="auto",  # httptools (a dependency) where it installs, else h11
        loop="auto",  # uvloop (a dependency) except on Windows
        lifespan="on",
        log_config=None,
        access_log=False,  # the app logs each request itself, without credentials
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=DRAIN,
        backlog=_BACKLOG,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
    )
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
        return
    # uvicorn re-raises the signal that stopped it once it has drained: end quietly then.
    previous = {s: signal.signal(s, _stopped) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except _Stopped:
        pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class _Stopped(Exception):
    pass


def _stopped(signum: int, frame: object) -> None:
    raise _Stopped
