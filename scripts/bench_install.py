"""Benchmark: install a ~20-wheel closure from one local gateway with wheelset, pip and uv.

A root of 21 wheels (one app, 5 services, 15 libraries; 5 of them a few hundred kB) is
published on a fresh js-ipfs test node. Each tool installs ``bench-app`` (and so the whole
closure) into its own fresh venv, from the node's gateway, cold (empty cache) and warm
(cache filled by an earlier run), and once more into the already complete venv ("no-op":
the fixed cost of starting the tool, reading the root and checking what is installed);
every figure is the median of ``--repeat`` runs (the tools interleaved: each round runs every
tool once), all in one process, side by side, as wall-clock seconds and as CPU seconds
(user+sys of the tool and its children, which vary less on a shared machine), with the
spread (fastest and slowest run) of each wall-clock figure. pip and
uv read the root as a PEP 503 index (``--index-url <gateway>/ipfs/<root>/``); wheelset
reads the manifest and fetches by CID.
Byte-compilation is compared like for like: uv and wheelset do not compile by default, pip
does, so rows with and without compilation are both measured.
``--baseline WHEELSET`` adds the rows of another wheelset executable (e.g. main's
``.venv/bin/wheelset``), interleaved with the rest: before and after a change, one window.
Run: .venv/bin/python scripts/bench_install.py [--repeat 5] [--baseline PATH]
"""

from __future__ import annotations

import argparse
import base64
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from ipfs_test_node import IpfsTestNode  # noqa: E402
from tests.support.roots import publish_test_root  # noqa: E402
from tests.support.venvs import UV, isolated_env  # noqa: E402
from tests.support.wheels import make_wheel  # noqa: E402

WHEELSET = Path(sys.executable).parent / "wheelset"
LARGE = 400_000  # bytes of random text in each large wheel (about 300 kB compressed)
NOOP_GOAL = 0.08  # seconds (issue 15)


def _modules(rng: random.Random, package: str, count: int, size: int) -> dict[str, bytes]:
    files = {f"{package}/__init__.py": b"VALUE = 1\n"}
    for i in range(count):
        blob = base64.b64encode(rng.randbytes(size * 3 // 4)).decode()
        files[f"{package}/mod{i}.py"] = f'DATA = "{blob}"\n\ndef f():\n    return {i}\n'.encode()
    return files


def build_wheels(directory: Path) -> list[Path]:
    """21 wheels: bench-app -> 5 services -> 3 libraries each; libraries 0-4 are large."""
    rng = random.Random(2026)
    wheels = []
    for i in range(15):
        name = f"bench-lib{i}"
        size = LARGE // 8 if i < 5 else 2_000
        files = _modules(rng, name.replace("-", "_"), 8, size)
        wheels.append(make_wheel(directory, name, "1.0", files=files))
    for s in range(5):
        name = f"bench-svc{s}"
        deps = [f"bench-lib{3 * s + k}>=1" for k in range(3)]
        files = _modules(rng, name.replace("-", "_"), 4, 4_000)
        wheels.append(make_wheel(directory, name, "2.0", requires_dist=deps, files=files))
    deps = [f"bench-svc{s}>=2" for s in range(5)]
    files = _modules(rng, "bench_app", 2, 1_000)
    wheels.append(make_wheel(directory, "bench-app", "3.0", requires_dist=deps, files=files))
    return wheels


def fresh_venv(path: Path, *, with_pip: bool) -> Path:
    if path.exists():
        shutil.rmtree(path)
    command = [sys.executable, "-m", "venv", str(path)]
    if not with_pip:
        command.append("--without-pip")
    subprocess.run(command, check=True, capture_output=True)
    return path / "bin" / "python"


def timed(command: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return elapsed, cpu


Runner = Callable[[Path, Path], list[str]]  # (venv python, cache dir) -> command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="WHEELSET",
        help="another wheelset executable, measured beside this one (rows 'baseline ...')",
    )
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="wheelset-bench-"))
    try:
        with IpfsTestNode() as node:
            wheels = build_wheels(work / "wheels")
            published = publish_test_root(node.api_url, wheels)
            total = sum(w.stat().st_size for w in wheels)
            index = f"{node.gateway_url}/ipfs/{published.cid}/"
            print(f"root {published.cid}: {len(wheels)} wheels, {total / 1e6:.2f} MB")
            print(f"gateway {node.gateway_url} (js-ipfs test node); median of {args.repeat} runs")
            run_all(work, node, index, str(published.cid), args.repeat, args.baseline)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def run_all(
    work: Path, node: IpfsTestNode, index: str, root: str, repeat: int, baseline: Path | None
) -> None:
    # wheelset reads the root's blocks from the node's RPC (its gateway is path-only, so it
    # cannot serve verifiable blocks), and each wheel as one CAR (as it does whenever a
    # node is given); the gateway is its fallback for a wheel the node lacks.
    gateway, api = node.gateway_url, node.api_url

    def wheelset(extra: list[str], executable: Path = WHEELSET) -> Runner:
        return lambda python, cache: [
            str(executable), "install", root, "bench-app", "--gateway", gateway, "--api", api,
            "--python", str(python), *extra,
        ]  # fmt: skip

    def pip(extra: list[str]) -> Runner:
        return lambda python, cache: [
            str(python), "-m", "pip", "install", "--index-url", index, "--cache-dir",
            str(cache), *extra, "bench-app",
        ]  # fmt: skip

    def uv(extra: list[str]) -> Runner:
        return lambda python, cache: [
            str(UV), "pip", "install", "--python", str(python), "--index-url", index,
            "--cache-dir", str(cache), *extra, "bench-app",
        ]  # fmt: skip

    variants: list[tuple[str, Runner, bool]] = [
        ("wheelset", wheelset([]), False),
        ("pip --no-compile", pip(["--no-compile"]), True),
        ("uv", uv([]), False),
        ("wheelset --compile", wheelset(["--compile"]), False),
        ("pip (compiles)", pip([]), True),
        ("uv --compile-bytecode", uv(["--compile-bytecode"]), False),
    ]
    if baseline is not None:
        variants[1:1] = [("baseline wheelset", wheelset([], baseline), False)]
        variants[5:5] = [("baseline wheelset --compile", wheelset(["--compile"], baseline), False)]
    wall: dict[str, tuple[float, float, float]] = {}
    cpu: dict[str, tuple[float, float, float]] = {}
    runs: dict[str, list[tuple[tuple[float, float], ...]]] = {label: [] for label, _, _ in variants}
    # Interleaved: each round runs every tool once, so that a slow spell of the machine
    # falls on all of them rather than on one tool's runs; in another order each round, so
    # that no tool always follows the same one. What runs just before matters on this disk:
    # creating a file costs more for some 30 s after many were deleted (ext4 without a
    # journal passes over the recently freed inodes), and every run starts by deleting the
    # venv before it (a compiled one holds hundreds of files).
    order = random.Random(2026)
    for i in range(repeat):
        for label, runner, needs_pip in order.sample(variants, len(variants)):
            cache = work / "caches" / f"{label}-{i}"
            env = isolated_env()
            # Installed tools run from bytecode; a setting that forbids writing it would
            # make every run compile wheelset and pip from source (uv has none to compile).
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env.update({"WHEELSET_CACHE_DIR": str(cache), "WHEELSET_LOCAL_GATEWAY": "off"})
            python = fresh_venv(work / "venv", with_pip=needs_pip)
            cold = timed(runner(python, cache), env)
            python = fresh_venv(work / "venv", with_pip=needs_pip)
            warm = timed(runner(python, cache), env)
            runs[label].append((cold, warm, timed(runner(python, cache), env)))
        print(f"  round {i + 1} of {repeat} done", flush=True)
    for label, _, _ in variants:
        done = runs[label]
        wall[label] = tuple(statistics.median(r[k][0] for r in done) for k in range(3))  # type: ignore[assignment]
        cpu[label] = tuple(statistics.median(r[k][1] for r in done) for k in range(3))  # type: ignore[assignment]
    print("\nwall-clock spread (min-max of the runs)")
    for label, _, _ in variants:
        spans = [
            (min(r[k][0] for r in runs[label]), max(r[k][0] for r in runs[label])) for k in range(3)
        ]
        text = "   ".join(
            f"{kind} {lo:.3f}-{hi:.3f}"
            for kind, (lo, hi) in zip(("cold", "warm", "no-op"), spans, strict=True)
        )
        print(f"  {label:28} {text}")
    for title, results in (("wall-clock", wall), ("CPU (user+sys, children included)", cpu)):
        print(f"\n{title}")
        print(f"{'tool':28} {'cold (s)':>9} {'warm (s)':>9} {'no-op (s)':>9}")
        for label, (c, w, n) in results.items():
            print(f"{label:28} {c:9.3f} {w:9.3f} {n:9.3f}")
    print("\nwall-clock ratios")
    for ours, pip_row, uv_row in [
        ("wheelset", "pip --no-compile", "uv"),
        ("wheelset --compile", "pip (compiles)", "uv --compile-bytecode"),
        *(
            [
                ("baseline wheelset", "pip --no-compile", "uv"),
                ("baseline wheelset --compile", "pip (compiles)", "uv --compile-bytecode"),
            ]
            if baseline is not None
            else []
        ),
    ]:
        for kind, k, uv_goal in (("cold", 0, 1.0), ("warm", 1, 1.5), ("no-op", 2, None)):
            a, p, u = wall[ours][k], wall[pip_row][k], wall[uv_row][k]
            goal = f"goal <= {uv_goal}" if uv_goal else f"{a:.3f} s, goal <= {NOOP_GOAL} s"
            print(
                f"{ours} {kind}: {a / p:.2f}x {pip_row} (goal <= 1), {a / u:.2f}x {uv_row} ({goal})"
            )


if __name__ == "__main__":
    sys.exit(main())
