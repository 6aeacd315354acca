"""Hostile gateways and indexes against the real CLI, run as a child process.

The hostile server (tests/support/hostile.py) answers every request for a root's blocks
and its wheels with nested gzip, a decompression bomb, a drip or a forged 60 MB CAR; a
hostile root carries sizes of 10^100 and 10^4000. Each case must end in bounded time
(≤ 30 s) and memory (≤ 600 MB peak RSS of the child): with an honest gateway after the
hostile one, the command succeeds from it; alone, it fails with one line and exit 1.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.hostile import bomb, hostile_server
from tests.support.roots import PublishedRoot, build_test_root
from tests.support.trustless import trustless_server
from tests.support.wheels import make_wheel
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import write_car
from wheelset.ipfs.cid import CID
from wheelset.ipfs.importer import ImportParams, import_bytes

MAX_SECONDS = 30
MAX_RSS_MB = 600
# The child reports its own peak RSS (VmHWM) as it exits: the rusage of a child counts the
# memory of the (large) test process it was forked from.
_CHILD = """
import atexit, os, runpy, sys
def report():
    with open("/proc/self/status") as status, open(os.environ["PEAK_RSS_FILE"], "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(report)
sys.argv[0] = "wheelset"
runpy.run_module("wheelset.cli", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float


def run_cli(args: list[str], tmp_path: Path, *, kill_after: float = 2 * MAX_SECONDS) -> Run:
    """Run ``wheelset ARGS`` in a child; its exit code, output, duration and peak RSS."""
    env = {
        **os.environ,
        "WHEELSET_CACHE_DIR": str(tmp_path / "cache"),
        "WHEELSET_LOCAL_GATEWAY": "off",
        "NETRC": str(tmp_path / "no-netrc"),
        "PEAK_RSS_FILE": str(tmp_path / "peak-rss"),
    }
    out, err, peak = tmp_path / "stdout", tmp_path / "stderr", tmp_path / "peak-rss"
    peak.unlink(missing_ok=True)
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, *args], stdout=stdout, stderr=stderr, env=env
        )
        watchdog = threading.Timer(kill_after, child.kill)
        watchdog.start()
        try:
            code = child.wait()
        finally:
            watchdog.cancel()
    run = Run(
        code,
        out.read_text(),
        err.read_text(),
        time.monotonic() - started,
        # A child killed by the watchdog reports nothing: its peak is then unknown.
        int(peak.read_text()) / 1024 if peak.exists() else float("nan"),
    )
    # The figures, for `pytest -s` (the issue asks for them).
    print(f"wheelset {args[0]}: exit {run.code}, {run.seconds:.1f} s, {run.peak_mb:.0f} MB peak")
    return run


def assert_bounded(run: Run) -> None:
    assert run.seconds <= MAX_SECONDS, run
    assert run.peak_mb <= MAX_RSS_MB, run  # NaN (unknown) fails too
    assert "Traceback" not in run.stderr, run.stderr


def assert_one_line_failure(run: Run) -> None:
    assert_bounded(run)
    assert run.code == 1, run
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: "), run.stderr


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("wheels")
    return [
        make_wheel(directory, "alpha", "1.0", requires_dist=["beta"]),
        make_wheel(directory, "beta", "2.0", files={"beta/data.bin": os.urandom(300_000)}),
    ]


def _serving(root: PublishedRoot) -> MemoryBlockStore:
    """The root's blocks and its wheels' (a trustless gateway serves files as blocks)."""
    for wheel in root.wheels.values():
        import_bytes(wheel.read_bytes(), store=root.blocks)
    return root.blocks


@pytest.fixture(scope="module")
def published(wheels: list[Path]) -> PublishedRoot:
    return build_test_root(wheels)


@pytest.fixture(scope="module")
def honest(published: PublishedRoot) -> Iterator[str]:
    with trustless_server(_serving(published)) as gateway:
        yield gateway.url


def _forged_car(root: CID, target: int = 60 << 20) -> bytes:
    """A well-formed 60 MB CAR whose every block hashes to its own CID, none on any path."""
    out = io.BytesIO()
    blocks = [os.urandom(1 << 20) for _ in range(target >> 20)]
    write_car(out, [root], ((import_bytes(b, ImportParams(cid_version=1)).cid, b) for b in blocks))
    return out.getvalue()


# What the hostile gateway answers to every request: for the root's blocks, CARs and files.
ATTACKS = {
    "nested-gzip": lambda root: ("gzip-gzip", bomb(2)),
    "gzip-bomb": lambda root: ("gzip", bomb(2)),
    "drip": lambda root: ("drip", b"x" * 100_000),
    "forged-60MB-car": lambda root: ("bytes", _forged_car(root)),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_hostile_gateway_first(
    published: PublishedRoot, honest: str, tmp_path: Path, attack: str
) -> None:
    root = str(published.cid)
    with hostile_server({"*": ATTACKS[attack](published.cid)}, drip_interval=0.5) as hostile:
        alone = run_cli(
            ["install", root, "alpha", "--dry-run", "--timeout", "1", "--gateway", hostile.url],
            tmp_path,
        )
        assert_one_line_failure(alone)
        assert hostile.url in alone.stderr
        # The root's blocks and then the wheels: each first asked of the hostile gateway.
        both = ["--gateway", hostile.url, "--gateway", honest]
        fallback = run_cli(
            ["install", root, "alpha", "--target", str(tmp_path / "t"), "--timeout", "1", *both],
            tmp_path,
        )
    assert_bounded(fallback)
    assert fallback.code == 0, fallback.stderr
    assert (tmp_path / "t" / "beta" / "data.bin").stat().st_size == 300_000


def _with_size(published: PublishedRoot, size: int) -> bytes:
    doc = json.loads(published.built.generated["alpha/index.json"])
    doc["files"][0]["size"] = size  # PEP 691's field, and the declaration's
    doc["files"][0]["wheelset"]["size"] = size
    return json.dumps(doc).encode()


@pytest.mark.parametrize("size", [10**100, 10**4000], ids=["10e100", "10e4000"])
def test_a_root_with_huge_numbers(
    published: PublishedRoot, wheels: list[Path], tmp_path: Path, size: int
) -> None:
    # A root built by someone hostile: its blocks are genuine, its numbers are not.
    forged = build_test_root(wheels, replace={"alpha/index.json": _with_size(published, size)})
    with trustless_server(_serving(forged)) as gateway:
        run = run_cli(
            ["install", str(forged.cid), "alpha", "--dry-run", "--gateway", gateway.url],
            tmp_path,
        )
    assert_one_line_failure(run)
    assert "size must be between 0 and 9007199254740991" in run.stderr


INDEX_ATTACKS = {
    "nested-gzip": ("gzip-gzip", bomb(1)),
    "drip": ("drip", b"<html><body>" + b" " * 200 + b"</body></html>"),
}


@pytest.mark.parametrize("attack", sorted(INDEX_ATTACKS))
def test_hostile_index_pages_and_sources(tmp_path: Path, attack: str) -> None:
    wheel = "demo-1.0-py3-none-any.whl"
    routes = {"/simple/demo/": INDEX_ATTACKS[attack], f"/files/{wheel}": INDEX_ATTACKS[attack]}
    (tmp_path / "declarations").mkdir()
    (tmp_path / "declarations" / "platforms.toml").write_text(
        'python-versions = ["3.12"]\nsystems = ["manylinux_2_28_x86_64"]\n'
    )
    common = ["--into", str(tmp_path / "declarations"), "--timeout", "2", "--no-cache"]
    with hostile_server(routes, drip_interval=1.0) as hostile:
        page = run_cli(
            ["declare", "demo==1.0", "--index-url", f"{hostile.url}/simple", *common], tmp_path
        )
        source = run_cli(["declare", f"{hostile.url}/files/{wheel}", *common], tmp_path)
    for run in (page, source):
        assert_one_line_failure(run)
    assert list((tmp_path / "declarations").iterdir()) == [
        tmp_path / "declarations" / "platforms.toml"
    ]
