"""Benchmark `wheelset check` at scale, beside the tomllib parse of the same files.

    python scripts/bench_scale.py [--sizes 10000,100000,500000] [--workdir DIR]
        [--kinds distinct,numbered] [--parse-below SIZE]

For each size, a synthetic collection (scripts/synth_collection.py: one pure wheel per
project, 20 platforms, dependencies with specifiers, markers and extras) is written, then,
each in a fresh interpreter (modules imported, caches cold), side by side in one run:
  parse: tomllib.load of every TOML file of the collection (the baseline);
  check: load_collection + every default family (layout, schema, uniqueness, closure,
         trust) + text formatting, as `wheelset check` does (with its worker processes);
with wall and CPU time (check's includes its workers') and peak RSS (check's own and its
largest worker's). Two kinds of names at every size: distinct names and one numbered
family (must give 0 NAME-CONFUSABLE); at the first size also a sample of real project
names. Real names come from the root page of the index pip is configured with (PEP 691
JSON), fetched now and never stored; on all of them the confusable rule is run once, and
the names it flags are counted and sampled.
A size given twice (--sizes 10000,100000,100000,500000) is run twice, to show the spread
between runs. Goals: check/parse <= 2.0 at 10,000; check <= 60 s and <= 2 GB at 500,000;
time from 100,000 to 500,000 within 1.15x of linear (printed for both kinds).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth_collection import generate, real_project_names

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def _peak_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec
    from the forking parent, which holds the real-name list."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    """CPU seconds of this process and of its worker processes (once they have ended)."""
    own, workers = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def child_parse(root: Path) -> dict[str, object]:
    files = sorted(root.rglob("*.toml"))
    wall, cpu = time.perf_counter(), time.process_time()
    for path in files:
        with path.open("rb") as f:
            tomllib.load(f)
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "rss_mb": _peak_mb(),
        "files": len(files),
    }


def child_warm(root: Path) -> dict[str, object]:
    """Every file read once, unparsed: where the parse is skipped, the check still meets
    the files in the page cache, as it does after the parse (or a checkout)."""
    wall = time.perf_counter()
    files = [path.read_bytes() for path in root.rglob("*.toml")]
    return {"wall": time.perf_counter() - wall, "files": len(files)}


def child_check(root: Path) -> dict[str, object]:
    from wheelset.check import run_checks
    from wheelset.check.report import format_text
    from wheelset.model.collection import load_collection

    wall, cpu = time.perf_counter(), _cpu()
    collection = load_collection(root)
    loaded, loaded_cpu = time.perf_counter() - wall, _cpu() - cpu
    findings = run_checks(collection)
    format_text(findings, root)
    return {
        "wall": time.perf_counter() - wall,
        "cpu": _cpu() - cpu,
        "load_wall": loaded,
        "load_cpu": loaded_cpu,
        "rss_mb": _peak_mb(),
        # the largest worker's (a forked one counts the pages it shares with this process)
        "workers_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "declarations": len(collection.declarations),
        "codes": dict(Counter(f.code for f in findings)),
    }


def child_names(names_file: Path) -> dict[str, object]:
    from wheelset.check.names import find_confusables, load_popular_names

    names = json.loads(names_file.read_text())
    wall, cpu = time.perf_counter(), time.process_time()
    found = find_confusables(names)
    elapsed, used = time.perf_counter() - wall, time.process_time() - cpu
    pairs = sorted({tuple(sorted((a, b))) for a, others in found.items() for b in others})
    popular = find_confusables(load_popular_names())
    popular_pairs = sorted({tuple(sorted((a, b))) for a, o in popular.items() for b in o})
    step = max(1, len(pairs) // 15)
    return {
        "names": len(names),
        "flagged_names": len(found),
        "pairs": len(pairs),
        "sample": pairs[::step][:15],
        "wall": elapsed,
        "cpu": used,
        "rss_mb": _peak_mb(),
        "popular_pairs": popular_pairs,
    }


def child_popular(names_file: Path) -> dict[str, object]:
    """What adding each real project to a collection would report against the bundled
    most-used names (the collection's own names aside), in chunks of 100,000."""
    from wheelset.check.names import find_confusables, load_popular_names

    names = json.loads(names_file.read_text())
    popular = load_popular_names()
    established = set(popular)
    wall, cpu = time.perf_counter(), time.process_time()
    flagged: list[tuple[str, str]] = []
    for start in range(0, len(names), 100_000):
        chunk = [n for n in names[start : start + 100_000] if n not in established]
        for name, others in find_confusables([*popular, *chunk], chunk).items():
            clashes = [o for o in others if o in established]
            if clashes:
                flagged.append((name, clashes[0]))
    step = max(1, len(flagged) // 15)
    return {
        "names": len(names),
        "flagged_names": len(flagged),
        "sample": flagged[::step][:15],
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "rss_mb": _peak_mb(),
    }


def _child(what: str, target: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", what, str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{what} failed: {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout)


def _row(label: str, parse: dict | None, check: dict) -> str:
    confusable = check["codes"].get("NAME-CONFUSABLE", 0)
    others = sum(check["codes"].values()) - confusable
    parsed = ratio = "-"
    if parse is not None:
        parsed = f"{parse['wall']:7.2f} s (cpu {parse['cpu']:6.2f})"
        ratio = f"{check['wall'] / parse['wall']:4.2f} (cpu {check['cpu'] / parse['cpu']:4.2f})"
    return (
        f"{label:<22} {check['declarations']:>8,} | parse {parsed} | "
        f"check {check['wall']:7.2f} s (cpu {check['cpu']:6.2f}; "
        f"load {check['load_wall']:6.2f}, cpu {check['load_cpu']:6.2f}) | ratio {ratio} | "
        f"peak {check['rss_mb']:6.0f} MB (worker {check['workers_rss_mb']:4.0f}) | "
        f"NAME-CONFUSABLE {confusable}, other findings {others}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,500000")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--no-real", action="store_true", help="skip the real-name runs")
    parser.add_argument(
        "--no-sweep", action="store_true", help="skip the confusable sweep of all real names"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep the generated collections in this directory and reuse them",
    )
    parser.add_argument(
        "--generate-only", action="store_true", help="with --keep: write the collections, stop"
    )
    parser.add_argument(
        "--kinds",
        default="distinct,numbered",
        help="kinds of names to run: distinct, numbered (real comes with the real-name run)",
    )
    parser.add_argument(
        "--parse-below",
        type=int,
        default=None,
        help="parse only below this size (the ratio's goal is at 10,000); above, only read",
    )
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, target = args.child
        run = {
            "parse": child_parse,
            "check": child_check,
            "names": child_names,
            "popular": child_popular,
            "warm": child_warm,
        }[what]
        print(json.dumps(run(Path(target))))
        return 0

    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="wheelset-scale-", dir=args.workdir))
    results: dict[str, dict] = {}
    ok = True
    try:
        real: list[str] = []
        if not args.no_real:
            real = real_project_names()
        if real and not args.no_sweep:
            names_file = work / "names.json"
            names_file.write_text(json.dumps(real))
            names = _child("names", names_file)
            popular = _child("popular", names_file)
            names_file.unlink()
            results["real-names"] = names
            print(
                f"real names of the configured index: {names['names']:,}; the confusable rule "
                f"flags {names['flagged_names']:,} of them ({names['pairs']:,} pairs) in "
                f"{names['wall']:.1f} s, peak {names['rss_mb']:.0f} MB",
                flush=True,
            )
            print("  sample pairs: " + "; ".join("/".join(p) for p in names["sample"]))
            print(
                f"  among the {1000} bundled most-used names: {len(names['popular_pairs'])} "
                "pairs: " + "; ".join("/".join(p) for p in names["popular_pairs"]),
                flush=True,
            )
            results["real-vs-popular"] = popular
            print(
                f"each real name against the most-used names: {popular['flagged_names']:,} of "
                f"{popular['names']:,} flagged ({popular['wall']:.1f} s); sample: "
                + "; ".join("/".join(p) for p in popular["sample"]),
                flush=True,
            )
        runs: dict[str, list[dict]] = {}  # a size given twice in --sizes is run twice
        for n, size in enumerate(sizes):
            kinds = [*args.kinds.split(","), *(["real"] if real and n == 0 else [])]
            for kind in kinds:
                root = (args.keep or work) / f"{kind}-{size}"
                started = time.perf_counter()
                while (root / ".generating").exists() and not (root / ".complete").exists():
                    time.sleep(10)  # another run (--generate-only) is writing it
                if not (root / ".complete").exists():
                    shutil.rmtree(root, ignore_errors=True)
                    root.mkdir(parents=True)
                    (root / ".generating").touch()
                    sample = real[:: max(1, len(real) // size)][:size] if kind == "real" else ()
                    generate(root, size, kind, real=sample)
                    (root / ".complete").touch()
                made = time.perf_counter() - started
                if args.generate_only:
                    continue
                parse = None
                if args.parse_below is None or size < args.parse_below:
                    parse = _child("parse", root)  # the files were just written: cached
                else:
                    _child("warm", root)
                check = _child("check", root)
                results[f"{kind}-{size}"] = {"parse": parse, "check": check, "generate": made}
                runs.setdefault(f"{kind}-{size}", []).append(check)
                print(_row(f"{kind} names", parse, check), flush=True)
                if kind == "numbered" and check["codes"].get("NAME-CONFUSABLE", 0):
                    ok = False
                if args.keep is None:
                    shutil.rmtree(root)
        for kind in args.kinds.split(",") if len(set(sizes)) >= 2 else ():
            if f"{kind}-{sizes[-1]}" not in results:
                continue
            previous = [s for s in sizes if s != sizes[-1]][-1]
            small, large = results[f"{kind}-{previous}"], results[f"{kind}-{sizes[-1]}"]
            scale = sizes[-1] / previous
            walls = [r["wall"] for r in runs[f"{kind}-{previous}"]]
            if len(walls) > 1:
                print(
                    f"{kind} {previous:,} run {len(walls)} times: check "
                    f"{min(walls):.2f}-{max(walls):.2f} s"
                    f" (x{large['check']['wall'] / max(walls):.2f}-"
                    f"x{large['check']['wall'] / min(walls):.2f} to {sizes[-1]:,}; the last run "
                    "is used below)"
                )
            growth = large["check"]["wall"] / small["check"]["wall"]
            cpu_growth = large["check"]["cpu"] / small["check"]["cpu"]
            parse_growth = "-"
            if large["parse"] and small["parse"]:
                parse_growth = f"x{large['parse']['wall'] / small['parse']['wall']:.2f}"
            print(
                f"{kind} names, {previous:,} -> {sizes[-1]:,} declarations (x{scale:g}): check "
                f"time x{growth:.2f} (cpu x{cpu_growth:.2f}), {growth / scale:.2f} of linear; "
                f"parse {parse_growth}"
            )
    finally:
        (work / "results.json").write_text(json.dumps(results, indent=1))
        print(f"results: {work / 'results.json'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
