"""Running `serve` for tests: the ASGI app under a real uvicorn in a thread, the real CLI
as a process, a slow gateway, and a throw-away TLS certificate.

Entry points: running(), start_cli(), stop_cli(), slow_gateway(), make_certificate(),
bcrypt_line().
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.index import QuietHandler, serve_handler
from tests.support.venvs import isolated_env
from wheelset.serve.app import IndexApp


@contextmanager
def running(
    app: IndexApp, *, certfile: Path | None = None, keyfile: Path | None = None
) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 (any free port) from a thread; yields the
    origin (``http://127.0.0.1:PORT``)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on",
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        timeout_graceful_shutdown=10,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    scheme = "https" if certfile else "http"
    try:
        yield f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
        app.close()


def serve_env(cache: Path, extra: Mapping[str, str] = {}) -> dict[str, str]:
    env = {**isolated_env(), "WHEELSET_LOCAL_GATEWAY": "off", "WHEELSET_CACHE_DIR": str(cache)}
    return {**env, **extra}


def start_cli(args: list[str], env: Mapping[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    """`wheelset serve ARGS` as a process; returns it and the index URLs it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "wheelset.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
    )
    assert process.stdout is not None
    urls = []
    line = process.stdout.readline().strip()
    if not line:
        _, err = process.communicate(timeout=30)
        pytest.fail(f"serve did not start: {err}")
    urls.append(line)
    return process, urls


def stop_cli(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    """Send ``sig``; the exit code and stderr once it ends (killed after 30 s)."""
    if process.poll() is None:
        os.kill(process.pid, sig)
    try:
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, err


@contextmanager
def slow_gateway(files: Mapping[str, bytes], seconds: float) -> Iterator[str]:
    """A path gateway serving ``files`` (CID text -> bytes) at /ipfs/<cid>, each body spread
    over ``seconds`` (ten pieces); yields its URL."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            body = files.get(self.path.split("?")[0].removeprefix("/ipfs/"))
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            step = max(1, len(body) // 10)
            for start in range(0, len(body), step):
                self.wfile.write(body[start : start + step])
                self.wfile.flush()
                time.sleep(seconds / 10)

    with serve_handler(Handler) as url:
        yield url


def make_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA, and a certificate it signed for 127.0.0.1 and localhost with its key
    (openssl): (ca, certificate, key). Clients trust the CA (rustls, as in uv, refuses a
    self-signed certificate used as its own CA)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, request = directory / "cert.pem", directory / "key.pem", directory / "cert.csr"
    extensions = directory / "ext.cnf"
    extensions.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    for command in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
         "keyUsage=critical,keyCertSign,cRLSign", "-keyout", str(ca_key), "-out", str(ca)],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key),
         "-out", str(request)],
        ["x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key),
         "-CAcreateserial", "-days", "1", "-extfile", str(extensions), "-out", str(cert)],
    ):  # fmt: skip
        subprocess.run(["openssl", *command], check=True, capture_output=True)
    return ca, cert, key


def bcrypt_line(user: str, password: str) -> str:
    """An htpasswd line (cost 4: tests need no slow hashes)."""
    import bcrypt

    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return f"{user}:{hashed}\n"
