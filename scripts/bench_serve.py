"""Benchmark: `wheelset serve` against pypiserver under gunicorn, the same wheels, the same
number of workers, 50 concurrent clients.

A root of ``--projects`` wheels (each with ``--payload`` bytes of random data, so about
that size) is built offline into a build directory; the same wheel files go into a
directory for pypiserver. wheelset serves the build directory (`wheelset serve OUT
--workers N`; wheels fetched once through a local gateway into its cache, each verified,
then sent from the cache, still checked as the very file verified); pypiserver runs as
``gunicorn -w N 'pypiserver:app(root=DIR)'``. The load generator is wrk (C, Debian's
``wrk``): ``--connections`` connections (50 clients, each waiting for its answer before
asking again), ``--seconds`` per workload, cycling through every project page
(``/simple/<project>/``) or every wheel. Both servers are warmed up first (wheelset:
every file fetched and verified once by each worker). Requests per second and p99
latency, side by side, from one run; any error or non-2xx answer is reported.
Needs wrk, gunicorn and pypiserver (``pip install -e .[bench]``).
Run: python scripts/bench_serve.py [--workers 2] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.gateways import content_gateway  # noqa: E402
from tests.support.roots import build_test_root  # noqa: E402
from tests.support.wheels import make_wheel  # noqa: E402

PAGE_RATIO_GOAL = 1.5  # x pypiserver's requests per second (issue 19)
FILE_RATIO_GOAL = 1.5
P99_GOAL = 0.100  # seconds

_LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = math.random(#paths)
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit(f"{what} did not answer {url}")


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk(origin: str, paths: list[str], work: Path, connections: int, seconds: float) -> dict:
    """wrk over ``paths`` (cycled); requests/s, p99 seconds, errors."""
    listing = work / f"paths-{random.random()}.txt"
    listing.write_text("\n".join(paths) + "\n")
    script = work / "paths.lua"
    script.write_text(_LUA % listing)
    threads = min(2, connections)
    run = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
         "--latency", "--timeout", "5s", "-s", str(script), origin],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = run.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = _seconds(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    transfer = re.search(r"Transfer/sec:\s+(\S+)", out)
    return {
        "rate": rate,
        "p99": p99,
        "errors": (f"{bad.group(1)} non-2xx " if bad else "") + (sock.group(1) if sock else ""),
        "transfer": transfer.group(1) if transfer else "?",
    }


def build(work: Path, projects: int, payload: int) -> tuple[Path, Path, dict[str, bytes], list]:
    """The wheels, the root's build directory, the gateway's files, and the declarations."""
    rng = random.Random(19)
    wheels = [
        make_wheel(
            work / "wheels",
            f"bench-p{i}",
            "1.0",
            files={f"bench_p{i}/data.bin": rng.randbytes(payload)},
        )
        for i in range(projects)
    ]
    built = build_test_root(wheels)
    out = built.write_build_dir(work / "out")
    files = {
        f"/ipfs/{d.content_id}": built.wheels[d.filename].read_bytes()
        for d in built.declarations.values()
    }
    return work / "wheels", out, files, list(built.declarations.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--payload", type=int, default=64_000, help="random bytes per wheel")
    args = parser.parse_args()
    for tool in ("wrk", "gunicorn"):
        if shutil.which(tool) is None and not (Path(sys.executable).parent / tool).exists():
            sys.exit(f"{tool} is not installed (apt-get install wrk; pip install -e .[bench])")
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")

    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        wheel_dir, out, files, decls = build(work, args.projects, args.payload)
        size = sum(len(b) for b in files.values()) // len(files)
        names = sorted(d.name for d in decls)
        with content_gateway(files) as gateway:
            env = {**os.environ, "WHEELSET_LOCAL_GATEWAY": "off", "PYTHONPATH": str(REPO / "src")}
            ours_port, theirs_port = _free_port(), _free_port()
            log = (work / "serve.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "wheelset.cli",
                        "serve",
                        str(out),
                        "--port",
                        str(ours_port),
                        "--workers",
                        str(args.workers),
                        "--gateway",
                        gateway.url,
                        "--cache-dir",
                        str(work / "cache"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    env=env,
                )
            )
            processes.append(
                subprocess.Popen(
                    [
                        gunicorn,
                        "-w",
                        str(args.workers),
                        "-b",
                        f"127.0.0.1:{theirs_port}",
                        "--backlog",
                        "2048",
                        "--log-level",
                        "warning",
                        f"pypiserver:app(root={str(wheel_dir)!r})",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
            )
            ours = f"http://127.0.0.1:{ours_port}"
            theirs = f"http://127.0.0.1:{theirs_port}"
            _wait(ours + "/healthz", processes[0], "wheelset serve")
            _wait(theirs + "/simple/", processes[1], "pypiserver")
            workloads = {
                "pages": (
                    [f"/simple/{n}/" for n in names],
                    [f"/simple/{n}/" for n in names],
                ),
                "files": (
                    [f"/files/{d.content_id}/{d.filename}" for d in decls],
                    [f"/packages/{d.filename}" for d in decls],
                ),
            }
            for ours_paths, theirs_paths in workloads.values():  # every file fetched, verified
                for path in ours_paths:
                    assert httpx.get(ours + path, timeout=30).status_code == 200, path
                for path in theirs_paths:
                    assert httpx.get(theirs + path, timeout=30).status_code == 200, path
            print(
                f"{args.projects} projects, wheels of {size:,} bytes; {args.workers} workers "
                f"each; {args.connections} concurrent clients (wrk); {args.seconds:g} s per row"
            )
            header = ("workload", "server", "req/s", "p99 ms", "transfer/s")
            print("{:<8} {:<26} {:>9} {:>8} {:>11}  errors".format(*header))
            verdicts = []
            for workload, (ours_paths, theirs_paths) in workloads.items():
                # warm-up: each worker verifies each file once (then sends it unhashed)
                wrk(ours, ours_paths, work, args.connections, 2)
                wrk(theirs, theirs_paths, work, args.connections, 2)
                a = wrk(ours, ours_paths, work, args.connections, args.seconds)
                b = wrk(theirs, theirs_paths, work, args.connections, args.seconds)
                for label, r in (("wheelset serve (uvicorn)", a), ("pypiserver (gunicorn)", b)):
                    print(f"{workload:<8} {label:<26} {r['rate']:>9,.0f} {r['p99'] * 1000:>8.1f} "
                          f"{r['transfer']:>11}  {r['errors'] or '-'}")  # fmt: skip
                ratio = a["rate"] / b["rate"]
                goal = PAGE_RATIO_GOAL if workload == "pages" else FILE_RATIO_GOAL
                p99_met = "met" if a["p99"] <= P99_GOAL else "NOT met"
                verdicts.append(
                    f"{workload}: {ratio:.2f}x pypiserver (goal >= {goal}x: "
                    f"{'met' if ratio >= goal else 'NOT met'}); p99 {a['p99'] * 1000:.1f} ms "
                    f"(goal <= {P99_GOAL * 1000:.0f} ms: {p99_met})"
                )
            print("\n".join(verdicts))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
