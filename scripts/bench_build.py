"""Benchmark `wheelset build` at 10,000, 100,000 and 500,000 synthetic declarations, and an
incremental rebuild, in one run.

    python scripts/bench_build.py [--sizes 10000,100000,500000] [--keep DIR]
                                  [--incremental-sizes 10000,100000]

Collections come from scripts/synth_collection.py (one pure wheel per project, 20
platforms, distinct names). For each size, as a CLI process (interpreter start included):

1. `wheelset build DIR --car FILE` — wall time and peak RSS (the sum over the build's
   processes, workers included, sampled every 20 ms). Goals at 500,000: ≤ 60 s, ≤ 2 GB;
   time from 100,000 to 500,000 within 1.15× of linear.
Steps 2 and 3 run for the --incremental-sizes only (by default up to 100,000):
2. `wheelset build DIR --out OUT` into a new OUT (pages written as files too).
3. Incremental: one declaration changed, `wheelset build DIR --out OUT` again — wall time
   (goal at 100,000: ≤ 1 s) — and OUT checked against a fresh build's: the same root,
   the same root.car and the same tree/, byte for byte.

CPU seconds (user + system, workers included) are printed beside wall times: on a shared
machine they tell the work apart from the waiting. So do the bytes a build read from the
disk: this machine drops file pages left unused for about a minute, so a collection not
read just before is read from the disk, and a cold first pass waits on it (about 15,000
random reads a second: at 500,000 declarations most of the pass).

    python scripts/bench_build.py --phases DIR

instead runs one `build --car` of the collection DIR in this process and prints the
stage's phases one by one: wall time, this process's CPU and the workers' CPU, and how
many of the cores were busy (CPU / wall); then how much the build read from the disk.
The stage is timed from outside (its functions wrapped here), the workers' CPU read from
/proc as each phase ends.

    python scripts/bench_build.py --per-project N [--collection DIR] [--baseline SRC]

instead times the second pass's work for one project in this process, on the first N
projects (in bucket order) of DIR (by default a generated collection of 10,000): the
whole of it (the stage's _finish_projects over chunks as the build hands them to a
worker) and by part, µs per project, the best of three. With --baseline (a source tree,
e.g. `git worktree add /tmp/base main`), the whole is also timed with that tree's code,
in a subprocess, in turns with this one's, and the ratio printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth_collection import generate


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants (Linux /proc)."""
    total = 0
    pending = [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/statm") as f:
                total += int(f.read().split()[1]) * page
            with open(f"/proc/{current}/task/{current}/children") as f:
                pending.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total


def run_build(*args: str) -> tuple[float, float, int, str, int]:
    """(wall seconds, CPU seconds, peak RSS bytes, root, bytes read from the disk) of one
    `wheelset build` process."""
    command = [sys.executable, "-m", "wheelset.cli", "build", *args]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - start
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"build failed: {err.strip()}")
    cpu, disk = _children_usage()
    return wall, cpu, peak, out.strip().splitlines()[-1], disk


_seen = (0.0, 0)


def _children_usage() -> tuple[float, int]:
    """CPU seconds and bytes read from the disk (not the page cache) of children finished
    since the previous call. The disk bytes tell a cold run from a warm one: this machine
    drops file pages unused for about a minute, and a cold first pass at 500,000 waits on
    the disk for most of its time."""
    global _seen
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = (usage.ru_utime + usage.ru_stime, usage.ru_inblock * 512)
    spent = (total[0] - _seen[0], total[1] - _seen[1])
    _seen = total
    return spent


def _change_one(collection: Path) -> None:
    """Edit one declaration (its size), as a bump would: a new file renamed over the old
    one, as Git writes files (a collection kept with hard links is not changed)."""
    prefixes = sorted(p for p in collection.iterdir() if p.is_dir())
    prefix = prefixes[len(prefixes) // 3]
    project = sorted(prefix.iterdir())[0]
    declaration = next(project.glob("*.toml"))
    text = declaration.read_text()
    line = next(x for x in text.splitlines() if x.startswith("size = "))
    edited = declaration.with_name(declaration.name + ".new")
    edited.write_text(text.replace(line, f"size = {int(line.split()[-1]) + 1}"))
    edited.replace(declaration)


def _same_build(a: Path, b: Path) -> bool:
    """Whether two build directories hold the same ROOT, root.car and tree/, byte for byte."""
    if any((a / n).read_bytes() != (b / n).read_bytes() for n in ("ROOT", "root.car")):
        return False
    for here, dirs, files in os.walk(a / "tree"):
        there = b / Path(here).relative_to(a)
        if sorted(os.listdir(there)) != sorted([*dirs, *files]):
            return False
        if any((Path(here) / f).read_bytes() != (there / f).read_bytes() for f in files):
            return False
    return True


def _per_project(collection: Path, count: int, whole_only: bool = False) -> float:
    """µs per project of the second pass, whole and (but with ``whole_only``) by part,
    printed; returns the whole's (see the docstring)."""
    import hashlib
    import marshal

    from wheelset.build import stage
    from wheelset.gcpause import cycle_collection_paused

    with (
        cycle_collection_paused(),  # as in a build
        tempfile.TemporaryDirectory(prefix="wheelset-bench-") as work,
    ):
        settings = stage._read_settings(collection)
        job = stage._Job(str(collection), work, True, None, platforms=settings.platforms)
        changes = stage._find_changes(
            str(collection), stage._Old(None, None), stage._list_prefixes(collection), 1
        )
        todo = sorted(changes.todo, key=stage._bucket_order)
        gathered = stage._FreshDependents()  # as a fresh build gathers them
        stashed = stage._run(
            job, todo, 1, stage._read_chunk, key=stage._rel_bucket, each=gathered.add
        )
        job.bucketed, job.reserved = stage._buckets_to_link(settings, gathered)
        places, counted, dependents = [], 0, {}
        for place, read in stashed:
            if counted >= count:
                break
            places.append(place)
            dependents.update(gathered.chunk(read))
            counted += len(read)
        job.dependents = dependents
        stage._job = job

        def best(step) -> float:
            times = []
            for _ in range(3):
                start = time.process_time()
                step()
                times.append(time.process_time() - start)
            return min(times) * 1e6 / counted

        whole = best(lambda: [stage._finish_projects(place) for place in places])
        stage._job = None
        for file in job.files.values():
            file.close()
        if whole_only:
            return whole
        from wheelset.build.pages import project_page_end, root_row
        from wheelset.build.rootfiles import INDEX_PAGE, PROJECT_FILE
        from wheelset.build.tree import wheel_parts
        from wheelset.ipfs.directory import directory_node
        from wheelset.ipfs.importer import one_block

        records = []
        for file, offset, length in places:
            with open(file, "rb") as f:
                f.seek(offset)
                records += [r for r in marshal.loads(f.read(length)) if len(r) > 2]
        platforms = settings.platforms
        made: dict[str, list] = {}

        def run(name, step):
            def each():
                made[name] = [step(i, r) for i, r in enumerate(records)]

            return best(each)

        parts = {
            "page, row, index.json, links": run(
                "parts",
                lambda i, r: wheel_parts(
                    r[0][3:], [(d, None) for d in r[3]], platforms=platforms, texts=r[6]
                ),
            ),
            "page end": run("end", lambda i, r: project_page_end(job.dependents.get(r[0][3:], ()))),
            "root row": run("row", lambda i, r: root_row(made["parts"][i][1])),
            "blocks and hashes": run(
                "blocks",
                lambda i, r: [
                    (b, b"\x12\x20" + hashlib.sha256(b).digest())
                    for b in (
                        one_block(made["parts"][i][0] + made["end"][i]),
                        one_block(made["parts"][i][2]),
                    )
                ],
            ),
            "directory node": run(
                "dir",
                lambda i, r: directory_node(
                    [
                        *made["parts"][i][3],
                        *(
                            (name.encode(), raw, len(b))
                            for name, (b, raw) in zip(
                                (INDEX_PAGE, PROJECT_FILE), made["blocks"][i], strict=True
                            )
                        ),
                    ]
                ),
            ),
        }
    print(f"second pass, {counted} projects of {collection}: µs per project (best of 3)")
    print(f"  whole (_finish_projects): {whole:6.1f}")
    for name, value in parts.items():
        print(f"  {name:<30}{value:6.1f}")
    print(f"  {'sum of the parts above':<30}{sum(parts.values()):6.1f}")
    print(f"  {'the rest (CAR sections, ...)':<30}{whole - sum(parts.values()):6.1f}")
    return whole


def _per_project_against(baseline: Path, collection: Path, count: int) -> None:
    """_per_project() here and the whole of it with the code of ``baseline`` (a source
    tree: its src/), in turns, three times each: the ratio on one machine at one time."""
    env = {**os.environ, "PYTHONPATH": str(baseline / "src")}
    command = [sys.executable, __file__, "--per-project", str(count)]
    command += ["--collection", str(collection), "--whole-only"]
    old, new = [], []
    for turn in range(3):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        old.append(float(result.stdout.split()[-1]))
        new.append(_per_project(collection, count, whole_only=turn < 2))
    print(
        f"whole, best of the turns: {min(old):.1f} µs per project with {baseline}, "
        f"{min(new):.1f} with this tree ({min(new) / min(old):.2f}x)"
    )


def _children_cpu_now() -> float:
    """CPU seconds of this process's children so far: the live ones (/proc) and the
    waited-for ones."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    pid = os.getpid()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                children = f.read().split()
        except OSError:
            continue
        for child in children:
            try:
                with open(f"/proc/{child}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _phases(collection: Path) -> None:
    """One `build --car` of ``collection`` here, its phases timed (see the docstring)."""
    from wheelset.build import stage

    rows: list[tuple[str, float, float, float]] = []
    clock = [time.perf_counter(), time.process_time(), _children_cpu_now()]

    def mark(label: str) -> None:
        now = (time.perf_counter(), time.process_time(), _children_cpu_now())
        rows.append((label, now[0] - clock[0], now[1] - clock[1], now[2] - clock[2]))
        clock[:] = now

    def wrapped(name: str, label: str | Callable[..., str], before: str | None = None):
        inner = getattr(stage, name)

        def call(*args, **kwargs):
            if before is not None:
                mark(before)
            result = inner(*args, **kwargs)
            mark(label if isinstance(label, str) else label(*args, **kwargs))
            return result

        setattr(stage, name, call)

    passes = {stage._read_chunk: "first pass", stage._finish_chunk: "second pass"}
    wrapped("_read_settings", "start: settings (platforms, policy)")
    wrapped("_find_changes", "listing the prefix directories")
    wrapped(
        "_run",
        lambda job, items, jobs, task, *a, **k: f"{passes[task]} ({len(items)} items)",
        before="in between",
    )
    wrapped("_assemble", "linking the root, laying out the CAR", before="in between")
    wrapped("_replace_with", "writing the CAR")
    with tempfile.TemporaryDirectory(prefix="wheelset-bench-") as work:
        result = stage.build_collection(collection, car=Path(work) / "c.car", keep=True)
        mark("to the end (spool removed)")
    print(f"build --car of {collection}: {result.projects} projects, root {result.root}")
    print(f"  {'phase':<44}{'wall s':>8}{'own CPU':>9}{'workers':>9}{'busy':>7}")
    for label, wall, own, workers in rows:
        busy = (own + workers) / wall if wall > 0 else 0.0
        print(f"  {label:<44}{wall:8.2f}{own:9.2f}{workers:9.2f}{busy:7.2f}")
    wall, own, workers = (sum(r[i] for r in rows) for i in (1, 2, 3))
    print(f"  {'total':<44}{wall:8.2f}{own:9.2f}{workers:9.2f}{(own + workers) / wall:7.2f}")
    import resource

    disk = sum(
        resource.getrusage(w).ru_inblock for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    print(f"  read from the disk (not the page cache): {disk * 512 / 2**20:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,500000")
    parser.add_argument("--keep", type=Path, help="keep collections here (reused if present)")
    parser.add_argument("--incremental-sizes", default="10000,100000")
    parser.add_argument("--phases", type=Path, metavar="DIR", help="time the stage's phases")
    parser.add_argument("--per-project", type=int, metavar="N", help="time the second pass")
    parser.add_argument("--collection", type=Path, help="with --per-project (default: 10,000)")
    parser.add_argument(
        "--baseline", type=Path, help="with --per-project: also time this source tree's"
    )
    parser.add_argument("--whole-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phases:
        _phases(args.phases)
        return 0
    if args.per_project:
        collection = args.collection
        with tempfile.TemporaryDirectory(prefix="wheelset-bench-") as base:
            if collection is None:
                collection = Path(base) / "c10000"
                generate(collection, 10_000)
            if args.baseline is not None:
                _per_project_against(args.baseline, collection, args.per_project)
            else:
                whole = _per_project(collection, args.per_project, args.whole_only)
                if args.whole_only:
                    print(f"{whole:.1f}")  # for _per_project_against()
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    incremental = {int(s) for s in args.incremental_sizes.split(",") if s}

    base = args.keep or Path(tempfile.mkdtemp(prefix="wheelset-bench-"))
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    times: dict[int, float] = {}
    # Build directories are deleted once every build is timed: on ext4 without a journal
    # (this machine's disk) a file system allocating inodes passes over each one freed in
    # the last minutes, which made a fresh `build --out` after a deletion half as fast again.
    built: list[Path] = []
    try:
        for size in sizes:
            collection = base / f"c{size}"
            if not (collection / "platforms.toml").exists():
                generate(collection, size)
            car, out = base / f"{size}.car", base / f"out{size}"
            shutil.rmtree(out, ignore_errors=True)
            wall, cpu, rss, root, disk = run_build(str(collection), "--car", str(car))
            times[size] = wall
            print(
                f"{size:>7} declarations  build --car: {wall:6.1f} s ({cpu:6.1f} s CPU), "
                f"peak RSS {rss / 2**20:6.0f} MB, CAR {car.stat().st_size / 2**20:.0f} MB, "
                f"read from the disk {disk / 2**20:.0f} MB"
            )
            if size not in incremental:
                car.unlink()
                continue
            wall, cpu, rss, out_root, _ = run_build(str(collection), "--out", str(out))
            assert out_root == root
            print(
                f"{'':>7}               build --out: {wall:6.1f} s ({cpu:6.1f} s CPU), "
                f"peak RSS {rss / 2**20:6.0f} MB"
            )
            _change_one(collection)
            wall, cpu, rss, changed, _ = run_build(str(collection), "--out", str(out))
            fresh_out = base / f"fresh{size}"
            shutil.rmtree(fresh_out, ignore_errors=True)
            fresh = run_build(str(collection), "--out", str(fresh_out))[3]
            same = changed == fresh and _same_build(out, fresh_out)
            print(
                f"{'':>7}  one declaration changed, build --out again: {wall:6.2f} s "
                f"({cpu:5.2f} s CPU), peak RSS {rss / 2**20:4.0f} MB; "
                f"{'equals' if same else 'DIFFERS FROM'} a fresh build (root, CAR, tree)"
            )
            built += (fresh_out, out)
            car.unlink()
        if 100_000 in times and 500_000 in times:
            ratio = times[500_000] / (5 * times[100_000])
            print(f"100k -> 500k: {ratio:.2f}x linear   [goal <= 1.15x]")
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
    finally:
        for directory in built:
            shutil.rmtree(directory, ignore_errors=True)
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
