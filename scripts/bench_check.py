"""Benchmark: `wheelset check` (no integrity) against merely parsing the same files.

Generates a synthetic, sound collection — 10,000 declarations over 12 platforms (CPython
3.11–3.13 × manylinux x86_64/aarch64, macOS arm64, Windows amd64): pure, abi3 and
per-CPython projects, with specifiers, environment markers, extras and requires-python
like real METADATA — then times, side by side in one run (best of --repeat):
  parse: tomllib.load of every TOML file of the collection;
  check: load_collection + every default check family + text formatting, as the CLI does.
Each timing runs in a fresh interpreter (modules imported, caches cold), started from here.
Goal: check / parse <= 2.0. Usage: python scripts/bench_check.py [--count N] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tomli_w
from synth_collection import random_dependency

from wheelset.check import run_checks
from wheelset.check.names import load_popular_names, ultranormalize
from wheelset.check.report import format_text
from wheelset.ipfs.cid import CID, DAG_PB
from wheelset.model.collection import load_collection
from wheelset.model.declarations import prefix_of

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PYTHONS = ("3.11", "3.12", "3.13")
SYSTEMS = ("manylinux_2_28_x86_64", "manylinux_2_28_aarch64", "macosx_11_0_arm64", "win_amd64")
# The wheel platform tags projects really publish for those systems.
WHEEL_PLATFORMS = (
    "manylinux_2_17_x86_64.manylinux2014_x86_64",
    "manylinux_2_17_aarch64.manylinux2014_aarch64",
    "macosx_11_0_arm64",
    "win_amd64",
)
SYLLABLES = ("py", "lib", "net", "data", "core", "ml", "web", "io", "fast", "tool", "async")
# Letters that ultranormalisation neither folds (i, l, o) nor joins (rn, vv): name suffixes.
SUFFIX_LETTERS = "abcdefghjkpqstuxyz"
MARKERS = (
    'python_version < "3.12"',
    'sys_platform == "win32"',
    'platform_machine == "x86_64"',
    'sys_platform != "win32"',
    'python_version >= "3.12" and platform_system == "Linux"',
    'implementation_name == "cpython"',
)


def _variants(name: str) -> set[str]:
    """The ultranormal form and its single-deletion variants: names within one edit of
    each other (the trust check's NAME-CONFUSABLE rule) share one."""
    text = ultranormalize(name)
    return {text, *(text[:k] + text[k + 1 :] for k in range(len(text)))}


def _name(rng: random.Random, taken: set[str]) -> str:
    """A project name that no earlier name nor a most-used name is confusable with."""
    while True:
        suffix = "".join(rng.choice(SUFFIX_LETTERS) for _ in range(5))
        name = f"{rng.choice(SYLLABLES)}{rng.choice(SYLLABLES)}-{suffix}"
        variants = _variants(name)
        if not variants & taken:
            taken |= variants
            return name


def _cid(rng: random.Random) -> str:
    return str(CID(0, DAG_PB, rng.randbytes(32)))


def generate(root: Path, count: int, seed: int = 7) -> int:
    """Write a sound collection of about ``count`` declarations; return the number written."""
    rng = random.Random(seed)
    (root / "platforms.toml").write_text(
        tomli_w.dumps({"python-versions": list(PYTHONS), "systems": list(SYSTEMS)})
    )
    projects: list[tuple[str, str, list[str]]] = []  # (name, version, extras)
    taken: set[str] = set().union(*map(_variants, load_popular_names()))
    written = 0
    while written < count:
        name = _name(rng, taken)
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        extras = [f"x{k}" for k in range(rng.choice((0, 0, 0, 1, 2, 3)))]
        dependencies = []
        for dep in rng.sample(projects, min(len(projects), 6))[: rng.randint(0, 6)]:
            dependencies.append(random_dependency(rng, dep, extras, MARKERS))
        kind = rng.random()
        stem = name.replace("-", "_")
        if kind < 0.6:
            tags = ["py3-none-any"]
        elif kind < 0.75:
            tags = [f"cp39-abi3-{p}" for p in WHEEL_PLATFORMS]
        else:
            tags = [f"cp3{v[2:]}-cp3{v[2:]}-{p}" for v in PYTHONS for p in WHEEL_PLATFORMS]
        project_dir = root / prefix_of(name) / name
        project_dir.mkdir(parents=True, exist_ok=True)
        for tag in tags:
            filename = f"{stem}-{version}-{tag}.whl"
            table = {
                "source": f"index:{filename}",
                "content-id": _cid(rng),
                "sha256": rng.randbytes(32).hex(),
                "size": rng.randint(10_000, 50_000_000),
                "requires-python": ">=3.9",
                "extras": extras,
                "dependencies": dependencies,
            }
            (project_dir / f"{filename[:-4]}.toml").write_text(tomli_w.dumps(table))
            written += 1
        projects.append((name, version, extras))
    return written


def _files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.toml"))


def time_parse(root: Path) -> float:
    files = _files(root)
    start = time.perf_counter()
    for path in files:
        with path.open("rb") as f:
            tomllib.load(f)
    return time.perf_counter() - start


def time_check(root: Path) -> float:
    start = time.perf_counter()
    collection = load_collection(root)
    findings = run_checks(collection)
    format_text(findings, root)
    elapsed = time.perf_counter() - start
    if findings:
        raise SystemExit(f"unexpected findings, first: {format_text(findings[:1], root)}")
    return elapsed


def _child(what: str, root: Path) -> float:
    """Time one operation in a fresh interpreter (cold parse caches, modules imported)."""
    result = subprocess.run(
        [sys.executable, __file__, "--child", what, str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{what} run failed: {result.stderr.strip() or result.stdout.strip()}")
    return float(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, directory = args.child
        gc.collect()
        print(time_parse(Path(directory)) if what == "parse" else time_check(Path(directory)))
        return 0
    with tempfile.TemporaryDirectory(prefix="wheelset-bench-") as tmp:
        root = Path(tmp)
        written = generate(root, args.count)
        projects = sum(1 for _ in root.glob("*/*"))
        _child("parse", root)  # warm the page cache
        parses, checks = [], []
        for _ in range(args.repeat):
            parses.append(_child("parse", root))
            checks.append(_child("check", root))
        start = time.perf_counter()
        cli = subprocess.run(
            [sys.executable, "-m", "wheelset.cli", "check", str(root)],
            capture_output=True,
            text=True,
            check=False,
        )
        cli_time = time.perf_counter() - start
    parse, check = min(parses), min(checks)
    print(f"collection: {written} declarations of {projects} projects, 12 platforms")
    print(f"tomllib parse of the same files: {parse:.3f} s (best of {args.repeat})")
    print(f"wheelset check (load + layout, schema, uniqueness, closure, trust): {check:.3f} s")
    print(f"ratio check/parse: {check / parse:.2f} (goal <= 2.0)")
    print(f"whole CLI process incl. start-up: {cli_time:.3f} s, exit {cli.returncode}")
    print(f"  ({cli.stderr.strip()})")
    return 0 if cli.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
