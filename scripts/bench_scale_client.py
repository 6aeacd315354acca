"""Benchmark: what a client command costs as the collection grows (issue 13).

For each size (1,000, 10,000 and 100,000 projects by default) a synthetic collection
(scripts/synth_collection.py) also holds the same real closure of about 20 wheels
(`requests` and its dependencies among them, downloaded once with `pip download` through
pip's configured index). Each collection is built with `wheelset build --out OUT`, and its
blocks (root.car) and the real wheels are served by a trustless gateway on 127.0.0.1
(``?format=car`` / ``?format=raw`` only, as the trustless gateway specification defines).
For each size, one cold run each (fresh cache, fresh target) of:

    wheelset export OUT requests            (build directory)
    wheelset install OUT requests --target  (build directory; wheels from the gateway)
    wheelset export CID requests            (gateway)
    wheelset install CID requests --target  (gateway)

each as its own process: wall time, CPU time, peak RSS (GNU time) and the bytes the
gateway sent, index (everything but wheels) and wheels apart. Then `wheelset diff` of two
roots of the largest size differing in 3 projects (one upgraded, one removed, one added),
from the build directories, from their CAR files and through the gateway. Ratios against
the smallest size are printed beside the figures.
Run: .venv/bin/python scripts/bench_scale_client.py [--sizes 1000,10000,100000]
[--work DIR [--prepare]]: with --work the collections and their builds are kept in DIR and
reused by the next run (a 100,000-project build takes minutes); --prepare only makes them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from synth_collection import generate  # noqa: E402
from tests.support.roots import declare_wheel  # noqa: E402
from tests.support.trustless import RunningTrustless, trustless_server  # noqa: E402

from wheelset.ipfs.blockstore import MemoryBlockStore  # noqa: E402
from wheelset.ipfs.car import iter_car  # noqa: E402
from wheelset.ipfs.cid import CID, parse_cid  # noqa: E402
from wheelset.ipfs.importer import import_bytes  # noqa: E402
from wheelset.model.declarations import (  # noqa: E402
    dump_declaration,
    load_declaration,
    parse_declaration,
    relpath_for,
)

WHEELSET = Path(sys.executable).parent / "wheelset"
# A real closure of about 20 wheels; `requests` is the one exported and installed.
CLOSURE = (
    "requests",
    "rich",
    "click",
    "jinja2",
    "pyyaml",
    "attrs",
    "packaging",
    "python-dateutil",
    "typing-extensions",
    "pluggy",
    "iniconfig",
)


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # seconds of user + system time (wall time depends on the machine's load)
    rss: float  # MB, peak resident set of the process
    index_bytes: int
    wheel_bytes: int
    ok: bool


def real_wheels(directory: Path) -> list[Path]:
    """The closure's wheels for this interpreter (downloaded once into ``directory``)."""
    wheels = sorted(directory.glob("*.whl"))
    if not wheels:
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
             "--dest", str(directory), *CLOSURE],
            check=True,
        )  # fmt: skip
        wheels = sorted(directory.glob("*.whl"))
    return wheels


def write_collection(directory: Path, size: int, wheels: Sequence[Path]) -> None:
    generate(directory, size)
    for wheel in wheels:
        dump_declaration(declare_wheel(wheel)[0], directory)


def change_three_projects(directory: Path) -> None:
    """Upgrade one synthetic project, remove another, add a new one."""
    files = sorted(p for p in directory.rglob("*.toml") if p.name != "platforms.toml")
    upgraded, removed, template = files[10], files[20], files[30]
    decl = load_declaration(upgraded, directory)
    filename = decl.filename.replace(f"-{decl.version}-", f"-{decl.version}.post1-")
    table = {**decl.to_toml(), "source": f"index:{filename}"}
    upgraded.unlink()
    dump_declaration(parse_declaration(table, relpath_for(filename)), directory)
    removed.unlink()
    decl = load_declaration(template, directory)
    filename = "brandnewproject-1.0-py3-none-any.whl"
    table = {**decl.to_toml(), "source": f"index:{filename}"}
    dump_declaration(parse_declaration(table, relpath_for(filename)), directory)


def build(collection: Path, out: Path) -> tuple[CID, float]:
    start = time.perf_counter()
    subprocess.run(
        [str(WHEELSET), "build", str(collection), "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return parse_cid((out / "ROOT").read_text().strip()), time.perf_counter() - start


def load_blocks(store: MemoryBlockStore, car: Path) -> None:
    with car.open("rb") as f:
        for cid, block in iter_car(f)[1]:
            store.put(cid, block)


def run(
    command: Sequence[str], gateway: RunningTrustless, wheel_cids: set[str], env: dict[str, str]
) -> Run:
    before = len(gateway.sent)
    # Peak RSS as GNU time reports it: the wait4 figure of a child of this process would
    # include the pages of this process (its blocks) that the child shared until exec.
    fd, rss_path = tempfile.mkstemp(prefix="wheelset-rss-")
    os.close(fd)
    timed = ["/usr/bin/time", "-f", "%M", "-o", rss_path, *command]
    start = time.perf_counter()
    process = subprocess.Popen(timed, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    rss_text = Path(rss_path).read_text().split()
    os.unlink(rss_path)
    rss_kb = int(rss_text[-1]) if rss_text and rss_text[-1].isdigit() else 0
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    if status != 0:
        print(f"  FAILED ({' '.join(command[1:3])}): {stderr.strip()[:300]}", file=sys.stderr)
    index = wheel = 0
    for path, size in gateway.sent[before:]:
        first = path.removeprefix("/ipfs/").split("/")[0].split("?")[0]
        if first in wheel_cids:
            wheel += size
        else:
            index += size
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, cpu, rss_kb / 1024, index, wheel, status == 0)


def command_env() -> dict[str, str]:
    """The environment of each measured command: no configured gateway or node, no local
    gateway probe; bytecode written and read as for an installed tool (a setting that
    forbids it would make every run compile wheelset from source)."""
    env = {**os.environ, "WHEELSET_LOCAL_GATEWAY": "off"}
    for name in ("WHEELSET_GATEWAY", "WHEELSET_API", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    return env


@contextlib.contextmanager
def fresh(base: Path) -> Iterator[tuple[Path, Path]]:
    """A fresh cache directory and install target, removed afterwards."""
    work = Path(tempfile.mkdtemp(dir=base))
    try:
        yield work / "cache", work / "target"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(
    root: CID, out: Path, gateway: RunningTrustless, wheel_cids: set[str], base: Path
) -> dict[str, Run]:
    env = command_env()
    results = {}
    for label, target in (("build dir", str(out)), ("gateway", str(root))):
        with fresh(base) as (cache, _):
            results[f"export  {label}"] = run(
                [str(WHEELSET), "export", target, "requests", "--gateway", gateway.url,
                 "--cache-dir", str(cache)],
                gateway, wheel_cids, env,
            )  # fmt: skip
        with fresh(base) as (cache, dest):
            results[f"install {label}"] = run(
                [str(WHEELSET), "install", target, "requests", "--gateway", gateway.url,
                 "--cache-dir", str(cache), "--target", str(dest)],
                gateway, wheel_cids, env,
            )  # fmt: skip
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument(
        "--wheels", type=Path, default=Path(tempfile.gettempdir()) / "wheelset-bench-closure"
    )
    parser.add_argument("--work", type=Path, help="keep the built collections here, reuse them")
    parser.add_argument("--prepare", action="store_true", help="only build (with --work)")
    args = parser.parse_args(argv)
    if args.prepare and args.work is None:
        parser.error("--prepare needs --work")
    sizes = [int(s) for s in args.sizes.split(",")]
    wheels = real_wheels(args.wheels)
    print(f"closure: {len(wheels)} real wheels ({', '.join(w.name.split('-')[0] for w in wheels)})")
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
    base = args.work or Path(tempfile.mkdtemp(prefix="wheelset-bench-scale-"))
    try:
        built = {size: prepare(base, size, wheels) for size in sizes}
        changed = prepare_changed(base, sizes[-1])
        if not args.prepare:
            measure_all(base, sizes, built, changed, wheels)
    finally:
        if args.work is None:
            shutil.rmtree(base, ignore_errors=True)


def prepare(base: Path, size: int, wheels: Sequence[Path]) -> tuple[CID, Path]:
    """The built collection of ``size`` projects in ``base`` (made unless already there)."""
    collection, out = base / f"c{size}", base / f"out{size}"
    if not (out / "ROOT").is_file():
        shutil.rmtree(collection, ignore_errors=True)
        write_collection(collection, size, wheels)
        root, seconds = build(collection, out)
        print(f"{size:>7} projects: built {root} in {seconds:.1f} s", flush=True)
    return parse_cid((out / "ROOT").read_text().strip()), out


def prepare_changed(base: Path, size: int) -> tuple[CID, Path]:
    """The largest collection with 3 projects changed, built incrementally from a copy of
    its first build (made unless already there)."""
    changed = base / f"out{size}-changed"
    if not (changed / "ROOT").is_file():
        shutil.rmtree(changed, ignore_errors=True)
        shutil.copytree(base / f"out{size}", changed, symlinks=True)
        collection = base / f"c{size}-changed"
        shutil.rmtree(collection, ignore_errors=True)
        shutil.copytree(base / f"c{size}", collection, symlinks=True)
        change_three_projects(collection)
        root, seconds = build(collection, changed)
        print(f"{size:>7} projects, 3 changed: built {root} in {seconds:.1f} s", flush=True)
    return parse_cid((changed / "ROOT").read_text().strip()), changed


def measure_all(
    base: Path,
    sizes: Sequence[int],
    built: dict[int, tuple[CID, Path]],
    changed: tuple[CID, Path],
    wheels: Sequence[Path],
) -> None:
    store = MemoryBlockStore()
    wheel_cids = set()
    for wheel in wheels:
        wheel_cids.add(str(import_bytes(wheel.read_bytes(), store=store).cid))
    # Bytecode first, as an installed tool has it (not measured).
    subprocess.run([str(WHEELSET), "--version"], env=command_env(), check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")], check=True,
                   env=command_env())  # fmt: skip
    table: dict[int, dict[str, Run]] = {}
    with trustless_server(store) as gateway:
        for size in sizes:
            root, out = built[size]
            load_blocks(store, out / "root.car")
            table[size] = measure(root, out, gateway, wheel_cids, base)
            report(sizes[0], size, table)
        load_blocks(store, changed[1] / "root.car")
        diff(built[sizes[-1]], changed, gateway, wheel_cids, base, sizes[-1])


def report(first: int, size: int, table: dict[int, dict[str, Run]]) -> None:
    """One size's rows, with the ratios to the smallest size's figures (printed as soon as
    they are measured, so a long run shows its progress)."""
    if size == first:
        print()
        print(f"{'command':<24}{'projects':>9}{'wall s':>9}{'x':>6}{'cpu s':>7}{'RSS MB':>8}"
              f"{'index kB':>10}{'x':>6}{'wheels kB':>10}  ok")  # fmt: skip
    for label, got in table[size].items():
        ref = table[first][label]
        wall_ratio = got.wall / ref.wall if ref.wall else 0
        index_ratio = got.index_bytes / ref.index_bytes if ref.index_bytes else 0
        print(
            f"{label:<24}{size:>9}{got.wall:>9.2f}{wall_ratio:>6.2f}{got.cpu:>7.2f}"
            f"{got.rss:>8.0f}{got.index_bytes / 1000:>10.1f}{index_ratio:>6.2f}"
            f"{got.wheel_bytes / 1000:>10.1f}  {'yes' if got.ok else 'NO'}",
            flush=True,
        )


def diff(
    a: tuple[CID, Path],
    b: tuple[CID, Path],
    gateway: RunningTrustless,
    wheel_cids: set[str],
    base: Path,
    size: int,
) -> None:
    env = command_env()
    print()
    for label, args in (
        ("build dirs", [str(a[1]), str(b[1])]),
        ("CAR files", [str(a[1] / "root.car"), str(b[1] / "root.car")]),
        ("gateway", [str(a[0]), str(b[0])]),
    ):
        with fresh(base) as (cache, _):
            got = run(
                [str(WHEELSET), "diff", *args, "--gateway", gateway.url, "--cache-dir",
                 str(cache)],
                gateway, wheel_cids, env,
            )  # fmt: skip
        print(
            f"diff of two {size}-project roots differing in 3 projects ({label}): "
            f"{got.wall:.2f} s ({got.cpu:.2f} s CPU), {got.rss:.0f} MB, "
            f"{got.index_bytes / 1000:.1f} kB fetched"
            f"{'' if got.ok else ' FAILED'}"
        )


if __name__ == "__main__":
    main()
