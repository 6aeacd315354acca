"""Benchmark `wheelset build` on 10,000 synthetic declarations against IPWHL's way of
publishing a tree: one `/api/v0/files/*` call per entry on an IPFS node (MFS).

    python scripts/bench_build.py [--declarations 10000] [--mfs-entries 500] [--runs 3]

1. Writes N declarations (valid, fake CIDv0 content-ids, realistic sizes; 1–4 wheels per
   project) into a temporary collection.
2. Times `wheelset build DIR --car FILE` end to end as a CLI process (interpreter start,
   reading every TOML file, pages, manifest, directories, CAR written) and in-process;
   best of --runs. Goal: ≤ 2 s.
3. Starts the js-ipfs test node and times the MFS way for the first M entries: for each
   wheel `files/mkdir` (new project) + `files/cp /ipfs/<cid> /repo/<project>/<file>`, then
   `files/write` of every project page, the root page and the manifest, then `files/stat`
   for the root. The wheels must exist for `files/cp`, so M small real blobs are added
   first (not timed). That time is extrapolated LINEARLY to N entries (×N/M) — a lower
   bound, since MFS directories grow. Goal: build ≥ 20× faster.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import tomli_w

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ipfs_test_node import IpfsTestNode

from wheelset.build.manifest import WheelEntry, format_manifest
from wheelset.build.stage import build_collection, write_car_file
from wheelset.build.tree import render_project_page, render_root_page
from wheelset.ipfs.cid import CID, DAG_PB
from wheelset.ipfs.rpc import KuboRpc
from wheelset.model.declarations import prefix_of

PLATFORMS = (
    'python-versions = ["3.10", "3.11", "3.12", "3.13"]\n'
    'systems = ["manylinux_2_28_x86_64", "manylinux_2_28_aarch64", "macosx_11_0_arm64", '
    '"macosx_10_13_x86_64", "win_amd64"]\n'
)
NATIVE_TAGS = (
    "cp311-cp311-manylinux_2_28_x86_64",
    "cp311-cp311-manylinux_2_28_aarch64",
    "cp311-cp311-macosx_11_0_arm64",
    "cp311-cp311-win_amd64",
)
WORDS = ("core", "utils", "client", "tools", "lib", "sdk", "plugin", "async")


def write_synthetic_collection(root: Path, count: int, seed: int = 2026) -> int:
    """``count`` declarations under ``root``; returns the number of projects."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "platforms.toml").write_text(PLATFORMS)
    written = project = 0
    while written < count:
        name = f"{rng.choice(WORDS)}-{project:05d}-{rng.choice(WORDS)}"
        version = f"{rng.randint(0, 30)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        wheels = rng.choice((1, 1, 1, 2, 4))
        tags = ("py3-none-any",) if wheels == 1 else NATIVE_TAGS[:wheels]
        folder = root / prefix_of(name) / name
        folder.mkdir(parents=True, exist_ok=True)
        for tag in tags[: count - written]:
            stem = f"{name.replace('-', '_')}-{version}-{tag}"
            digest = hashlib.sha256(stem.encode()).digest()
            table = {
                "source": f"index:{stem}.whl",
                "content-id": str(CID(0, DAG_PB, digest)),
                "sha256": hashlib.sha256(digest).hexdigest(),
                "size": int(rng.lognormvariate(12, 2)) + 1000,
                "requires-python": ">=3.9",
                "extras": ["test"],
                "dependencies": [
                    f"{rng.choice(WORDS)}-{rng.randrange(max(project, 1)):05d}-core>=1.0",
                    'pytest>=7; extra == "test"',
                ],
            }
            (folder / f"{stem}.toml").write_text(tomli_w.dumps(table))
            written += 1
        project += 1
    return project


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_cli_build(collection: Path, car: Path, runs: int) -> tuple[list[float], list[float], str]:
    """Wall-clock and CPU seconds (user + system) of each CLI run, and the root printed."""
    times, cpu, root = [], [], ""
    for _ in range(runs):
        cpu_before = _children_cpu()
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "wheelset.cli", "build", str(collection), "--car", str(car)],
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(time.perf_counter() - start)
        cpu.append(_children_cpu() - cpu_before)
        root = done.stdout.splitlines()[-1]
    return times, cpu, root


def time_in_process_build(collection: Path, car: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        write_car_file(build_collection(collection), car)
        times.append(time.perf_counter() - start)
    return times


def time_mfs_publish(collection: Path, entries: int) -> tuple[float, int]:
    """Seconds for the MFS way on the first ``entries`` wheels; returns (seconds, calls)."""
    result = build_collection(collection)
    chosen = sorted(result.manifest.entries, key=lambda e: str(e.declaration.path))[:entries]
    with IpfsTestNode() as node, httpx.Client(timeout=120) as http:
        rpc = KuboRpc(node.api_url, http=http)
        # Untimed: the wheels must be on the node for files/cp (small real stand-ins).
        blobs = [rpc.add(os.urandom(2048), "w.whl", pin=False)[-1].cid for _ in chosen]
        by_project: dict[str, list[WheelEntry]] = {}
        calls = 0
        start = time.perf_counter()
        for entry, cid in zip(chosen, blobs, strict=True):
            decl = entry.declaration
            if decl.name not in by_project:
                rpc.files_mkdir(f"/repo/{decl.name}")
                calls += 1
            by_project.setdefault(decl.name, []).append(entry)
            rpc.files_cp(f"/ipfs/{cid}", f"/repo/{decl.name}/{decl.filename}")
            calls += 1
        for project, project_entries in by_project.items():
            page = render_project_page(project, project_entries)
            rpc.files_write(f"/repo/{project}/index.html", page)
            calls += 1
        rpc.files_write("/repo/index.html", render_root_page(list(by_project)))
        rpc.files_write("/repo/wheelset.json", format_manifest(result.manifest))
        rpc.files_stat("/repo")
        calls += 3
        return time.perf_counter() - start, calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--declarations", type=int, default=10_000)
    parser.add_argument("--mfs-entries", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="wheelset-bench-") as tmp:
        collection, car = Path(tmp) / "declarations", Path(tmp) / "root.car"
        projects = write_synthetic_collection(collection, args.declarations)
        print(f"{args.declarations} synthetic declarations, {projects} projects")

        cli, cli_cpu, root = time_cli_build(collection, car, args.runs)
        in_process = time_in_process_build(collection, car, args.runs)
        print(f"root {root}; CAR {car.stat().st_size} bytes")
        print(
            f"wheelset build (CLI process, end to end): best {min(cli):.2f} s, "
            f"median {statistics.median(cli):.2f} s over {args.runs} runs   [goal <= 2 s]"
        )
        print(
            f"  CPU time of those runs (user + system): best {min(cli_cpu):.2f} s; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores while measuring"
        )
        print(
            f"wheelset build (in-process, parse caches warm after the first run): "
            f"best {min(in_process):.2f} s, median {statistics.median(in_process):.2f} s"
        )

        mfs, calls = time_mfs_publish(collection, args.mfs_entries)
        scale = args.declarations / args.mfs_entries
        extrapolated = mfs * scale
        print(
            f"MFS files/* on the test node: {mfs:.2f} s for the first {args.mfs_entries} "
            f"entries ({calls} calls, {1000 * mfs / calls:.1f} ms/call)"
        )
        print(
            f"  extrapolated linearly (x{scale:g}) to {args.declarations} entries: "
            f"{extrapolated:.1f} s"
        )
        print(
            f"ratio (extrapolated MFS / best CLI build): {extrapolated / min(cli):.0f}x   "
            "[goal >= 20x]"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
