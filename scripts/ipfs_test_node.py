"""Start a real IPFS node (js-ipfs daemon, Kubo-compatible RPC + gateway) offline on loopback.

Used by the test suite's session fixture and by the benchmarks; run directly to get a
node for manual experiments:  python scripts/ipfs_test_node.py  (Ctrl-C stops it).
Needs `npm ci` in scripts/ipfs-node first (.ci/run does it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

NODE_DIR = Path(__file__).resolve().parent / "ipfs-node"
JSIPFS = NODE_DIR / "node_modules" / ".bin" / "jsipfs"
POLYFILL = NODE_DIR / "polyfill.cjs"
EXIT_WITH_PARENT = NODE_DIR / "exit-with-parent.cjs"
START_TIMEOUT = 120.0  # seconds; a cold start of js-ipfs takes a few seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_installed() -> bool:
    return JSIPFS.exists() and shutil.which("node") is not None


class IpfsTestNode:
    """A js-ipfs daemon in a fresh repository; ``api_url`` and ``gateway_url`` once started."""

    def __init__(self, repo: Path | None = None):
        self._own_repo = repo is None
        self.repo = repo or Path(tempfile.mkdtemp(prefix="wheelset-ipfs-"))
        self.api_port = free_port()
        self.gateway_port = free_port()
        self.swarm_port = free_port()
        self.rpc_port = free_port()  # js-ipfs's gRPC API; its default 5003 clashes between nodes
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.gateway_url = f"http://127.0.0.1:{self.gateway_port}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = self.repo.parent / f"{self.repo.name}.log"

    def _env(self, *required: Path) -> dict[str, str]:
        env = dict(os.environ)
        env["IPFS_PATH"] = str(self.repo / "repo")
        env["NODE_OPTIONS"] = " ".join(f"--require {path}" for path in (POLYFILL, *required))
        return env

    def _jsipfs(self, *args: str) -> None:
        subprocess.run(
            [str(JSIPFS), *args],
            env=self._env(),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    def start(self) -> IpfsTestNode:
        if not is_installed():
            raise RuntimeError(f"js-ipfs is not installed: run `npm ci` in {NODE_DIR}")
        self._jsipfs("init", "--empty-repo")
        for key, value in {
            "Bootstrap": [],
            "Addresses.Delegates": [],
            "Discovery.MDNS.Enabled": False,
            "Discovery.webRTCStar.Enabled": False,
            "Addresses.Swarm": [f"/ip4/127.0.0.1/tcp/{self.swarm_port}"],
            "Addresses.API": f"/ip4/127.0.0.1/tcp/{self.api_port}",
            "Addresses.Gateway": f"/ip4/127.0.0.1/tcp/{self.gateway_port}",
            "Addresses.RPC": f"/ip4/127.0.0.1/tcp/{self.rpc_port}",
        }.items():
            self._jsipfs("config", "--json", key, json.dumps(value))
        log = self._log.open("wb")
        self._proc = subprocess.Popen(
            [str(JSIPFS), "daemon", "--offline"],
            env=self._env(EXIT_WITH_PARENT),
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"js-ipfs exited early: {self._log.read_text()[-2000:]}")
            try:
                r = httpx.post(f"{self.api_url}/api/v0/version", timeout=2)
                g = httpx.get(f"{self.gateway_url}/ipfs/bafkqaaa", timeout=2)
                if r.status_code == 200 and g.status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"js-ipfs did not start in {START_TIMEOUT}s: {self._log.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._proc = None
        if self._own_repo:
            shutil.rmtree(self.repo, ignore_errors=True)
            self._log.unlink(missing_ok=True)

    def __enter__(self) -> IpfsTestNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Start a js-ipfs node offline on 127.0.0.1 in a fresh repository, print "
        "its API and gateway URLs, and run until Ctrl-C (the repository is then removed).",
        epilog=f"Needs `npm ci` in {NODE_DIR} first.",
    )
    parser.parse_args(argv)
    with IpfsTestNode() as node:
        print(f"API      {node.api_url}\nGateway  {node.gateway_url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
