"""Benchmark: mirror the official collection's root onto an empty node, time-boxed.

The official collection (declarations/, ~1,000 wheels, ~2.9 GB) is built into a build
directory; a fresh js-ipfs test node is started empty and `wheelset mirror OUT --api …`
makes it hold the root: each wheel downloaded from its declared source (the configured
package index), verified by CID and added pinned; the root's own blocks come from the
build's root.car. The whole collection is too large for a benchmark run here, so each
phase is time-boxed: the mirror is killed (SIGKILL) after ``--seconds`` and the wheels the
node pins are counted. Phase 1 runs with ``--jobs`` A, phase 2 resumes the same mirror
with ``--jobs`` B: it must find every wheel of phase 1 held and fetch none of them again.
Figures: wheels and MB pinned per second for each phase, side by side.
Run: .venv/bin/python scripts/bench_mirror.py [--seconds 60] [--jobs 4 8]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "src"))

from ipfs_test_node import IpfsTestNode  # noqa: E402

from wheelset.ipfs.rpc import KuboRpc  # noqa: E402
from wheelset.model.collection import read_collection  # noqa: E402


def _wheelset(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wheelset.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time box of each phase")
    parser.add_argument("--jobs", type=int, nargs=2, default=[4, 8], metavar="N")
    args = parser.parse_args()

    _, decls = read_collection(REPO / "declarations")
    sizes = {d.content_id.to_v1(): d.size or 0 for d in decls}
    work = Path(tempfile.mkdtemp(prefix="wheelset-bench-mirror-"))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "WHEELSET_CACHE_DIR": str(work / "c")}
    env["WHEELSET_GATEWAY"] = ""
    out = work / "out"
    build = _wheelset("build", str(REPO / "declarations"), "--out", str(out), env=env)
    stdout, stderr = build.communicate()
    if build.returncode != 0:
        print(stderr, file=sys.stderr)
        return 1
    root = stdout.strip()
    print(
        f"official collection: {len(decls)} wheels, {sum(sizes.values()) / 1e9:.2f} GB, root {root}"
    )
    rows = []
    with IpfsTestNode() as node, httpx.Client(timeout=120) as http:
        rpc = KuboRpc(node.api_url, http=http)
        held_before = 0
        for jobs in args.jobs:
            started = time.monotonic()
            mirror = _wheelset(
                "mirror", str(out), "--api", node.api_url, "--jobs", str(jobs), env=env
            )
            try:
                mirror.wait(timeout=args.seconds)
                finished = True
            except subprocess.TimeoutExpired:
                os.killpg(mirror.pid, signal.SIGKILL)
                mirror.wait()
                finished = False
            elapsed = time.monotonic() - started
            _, stderr = mirror.communicate()
            pinned = {c.to_v1() for c in rpc.pin_ls()} & sizes.keys()
            new = len(pinned) - held_before
            megabytes = sum(sizes[c] for c in pinned) / 1e6
            rows.append((jobs, elapsed, new, len(pinned), megabytes, finished, stderr))
            held_before = len(pinned)
    print(
        f"{'jobs':>4} {'seconds':>8} {'new wheels':>10} {'wheels/s':>9} {'pinned':>7} "
        f"{'MB pinned':>9} {'done':>5}"
    )
    for jobs, elapsed, new, total, megabytes, finished, _ in rows:
        print(
            f"{jobs:>4} {elapsed:>8.1f} {new:>10} {new / elapsed:>9.2f} {total:>7} "
            f"{megabytes:>9.1f} {finished!s:>5}"
        )
    last = rows[-1][6].strip().splitlines()
    summary = [line for line in last if "held" in line]
    if summary:
        print("last run:", summary[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
