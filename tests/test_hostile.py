"""Hostile gateways and indexes against the real CLI, run as a child process.

The hostile server (tests/support/hostile.py) sends nested gzip, decompression bombs,
drips, huge numbers and forged large manifests. Each case must end in bounded time
(≤ 30 s) and memory (≤ 600 MB peak RSS of the child): with an honest gateway after the
hostile one, the command succeeds from it; alone, it fails with one line and exit 1.
"""

from __future__ import annotations

import copy
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

from tests.support.gateways import content_gateway
from tests.support.hostile import bomb, hostile_server
from tests.support.roots import DEFAULT_PLATFORMS, declare_wheel
from tests.support.wheels import make_wheel
from wheelset.build.manifest import format_manifest, manifest_of
from wheelset.build.tree import build_root

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


@dataclass(frozen=True)
class Published:
    root: str
    manifest: bytes
    manifest_doc: dict
    wheels: dict[str, bytes]  # CID text -> bytes
    beta_cid: str


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    directory = tmp_path_factory.mktemp("wheels")
    files = [
        make_wheel(directory, "alpha", "1.0", requires_dist=["beta"]),
        make_wheel(directory, "beta", "2.0", files={"beta/data.bin": os.urandom(300_000)}),
    ]
    decls = [declare_wheel(w)[0] for w in files]
    manifest = manifest_of(DEFAULT_PLATFORMS, decls)
    data = format_manifest(manifest)
    return Published(
        str(build_root(manifest).cid),
        data,
        json.loads(data),
        {str(d.content_id): w.read_bytes() for d, w in zip(decls, files, strict=True)},
        str(decls[1].content_id),
    )


@pytest.fixture(scope="module")
def honest(published: Published) -> Iterator[str]:
    files = {f"/ipfs/{published.root}/wheelset.json": published.manifest}
    files.update({f"/ipfs/{cid}": data for cid, data in published.wheels.items()})
    with content_gateway(files) as gateway:
        yield gateway.url


def _with_size(published: Published, size: int) -> bytes:
    doc = copy.deepcopy(published.manifest_doc)
    doc["declarations"][0]["size"] = size
    return json.dumps(doc).encode()


def _forged_large(published: Published, target: int = 60 << 20) -> bytes:
    """A valid manifest of ~60 MB (every entry parses): the real one plus many made-up
    versions of beta, so that only the rebuild shows it is not the root's."""
    doc = copy.deepcopy(published.manifest_doc)
    template = doc["declarations"][-1]
    one = len(json.dumps(template))
    for i in range(target // one):
        entry = dict(template)
        entry["path"] = template["path"].replace("beta-2.0-", f"beta-2.0.{i}-")
        entry["source"] = template["source"].replace("beta-2.0-", f"beta-2.0.{i}-")
        doc["declarations"].append(entry)
    return json.dumps(doc).encode()


MANIFEST_ATTACKS = {
    "nested-gzip": lambda p: ("gzip-gzip", bomb(2)),
    "gzip-bomb": lambda p: ("gzip", bomb(2)),
    "drip": lambda p: ("drip", p.manifest),
    "size-10e100": lambda p: ("bytes", _with_size(p, 10**100)),
    "size-10e4000": lambda p: ("bytes", _with_size(p, 10**4000)),
    "forged-60MB": lambda p: ("bytes", _forged_large(p)),
}


# Today's root opener parses and rebuilds a manifest before it can tell a forged one
# (minutes of CPU and ~1 GB for 60 MB). The verified path resolution of
# docs/root-format.md (branch rootread) hashes the manifest against the root's link
# before parsing it; this case then passes, and the strict xfail tells to remove the mark.
_REBUILD_BEFORE_TRUST = pytest.mark.xfail(
    strict=True, reason="the manifest is rebuilt before it is authenticated (rootread fixes)"
)


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(a, marks=_REBUILD_BEFORE_TRUST) if a == "forged-60MB" else a
        for a in sorted(MANIFEST_ATTACKS)
    ],
)
def test_hostile_manifests(published: Published, honest: str, tmp_path: Path, attack: str) -> None:
    route = {f"/ipfs/{published.root}/wheelset.json": MANIFEST_ATTACKS[attack](published)}
    dry_run = ["install", published.root, "alpha", "--dry-run", "--timeout", "2"]
    with hostile_server(route, drip_interval=1.0) as hostile:
        alone = run_cli([*dry_run, "--gateway", hostile.url], tmp_path)
        assert_one_line_failure(alone)
        assert hostile.url in alone.stderr or "from every gateway" in alone.stderr
        fallback = run_cli([*dry_run, "--gateway", hostile.url, "--gateway", honest], tmp_path)
    assert_bounded(fallback)
    assert fallback.code == 0, fallback.stderr
    assert "alpha" in fallback.stdout and "beta" in fallback.stdout


WHEEL_ATTACKS = {
    "nested-gzip": lambda data: ("gzip-gzip", bomb(2)),
    "gzip-bomb": lambda data: ("gzip", bomb(2)),
    "drip": lambda data: ("drip", data),
}


@pytest.mark.parametrize("attack", sorted(WHEEL_ATTACKS))
def test_hostile_wheels(published: Published, honest: str, tmp_path: Path, attack: str) -> None:
    cid = published.beta_cid
    routes = {f"/ipfs/{c}": ("bytes", data) for c, data in published.wheels.items()}
    routes[f"/ipfs/{published.root}/wheelset.json"] = ("bytes", published.manifest)
    routes[f"/ipfs/{cid}"] = WHEEL_ATTACKS[attack](published.wheels[cid])
    install = ["install", published.root, "alpha", "--timeout", "2"]
    with hostile_server(routes, drip_interval=1.0) as hostile:
        alone = run_cli(
            [*install, "--target", str(tmp_path / "a"), "--gateway", hostile.url], tmp_path
        )
        assert_one_line_failure(alone)
        assert "beta-2.0-" in alone.stderr and hostile.url in alone.stderr
        assert not (tmp_path / "a" / "beta").exists()
        fallback = run_cli(
            [
                *install,
                "--target",
                str(tmp_path / "b"),
                "--gateway",
                hostile.url,
                "--gateway",
                honest,
            ],
            tmp_path,
        )
    assert_bounded(fallback)
    assert fallback.code == 0, fallback.stderr
    assert (tmp_path / "b" / "beta" / "data.bin").stat().st_size == 300_000


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
