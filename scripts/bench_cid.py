"""Benchmark `wheelset cid` against hashlib.sha256 and Debian's ipfs_cid on one big file.

Usage:  python scripts/bench_cid.py [--size-mib 256] [--rounds 3]

Writes a random file to a temporary directory, warms the page cache, then measures in
one run, round after round so that machine noise hits every contender alike:
  * wheelset: wheelset.ipfs.filesystem.import_path(), the code behind `wheelset cid`,
  * sha256:   hashlib.sha256 over the same file, read the same way (256 KiB readinto),
  * ipfs_cid: /usr/bin/ipfs_cid FILE as a subprocess (wall time),
and reports the best round of each, the two ratios, and the peak RSS of `wheelset cid
FILE` run as a child process (so neither sha256 nor ipfs_cid pollute it). Goals:
wheelset >= 0.90 x sha256, >= 5 x ipfs_cid, RSS < 64 MB. Exit status 1 if one is missed.
Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wheelset.ipfs.filesystem import import_path

CHUNK = 262_144  # bytes; the read size of both wheelset and the sha256 baseline
MIB = 1 << 20


def write_random_file(path: Path, size: int) -> None:
    with path.open("wb") as f:
        remaining = size
        while remaining:
            n = min(remaining, 16 * MIB)
            f.write(os.urandom(n))
            remaining -= n


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def timed(func, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = func(*args)
    return time.perf_counter() - start, result


def run_ipfs_cid(tool: str, path: Path) -> str:
    out = subprocess.run([tool, str(path)], capture_output=True, check=True)
    return json.loads(out.stdout)["CIDv0"]


def cli_peak_rss(path: Path) -> tuple[int, float, str]:
    """Peak RSS (bytes), wall time and output of `wheelset cid PATH` as a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wheelset.cli", "cid", str(path)], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    output = proc.stdout.read().decode().strip()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"wheelset cid exited with {proc.returncode}")
    return usage.ru_maxrss * 1024, elapsed, output  # ru_maxrss is in KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tool = shutil.which("ipfs_cid")
    if tool is None:
        print("ipfs_cid not found (apt-get install ipfs-cid)", file=sys.stderr)
        return 2
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="bench-cid-") as tmp:
        path = Path(tmp) / "random.bin"
        write_random_file(path, size)
        sha256_of(path)  # warm the page cache: every contender reads from memory

        best = {"wheelset": float("inf"), "sha256": float("inf"), "ipfs_cid": float("inf")}
        for _ in range(args.rounds):
            seconds, ours = timed(import_path, path)
            best["wheelset"] = min(best["wheelset"], seconds)
            seconds, _ = timed(sha256_of, path)
            best["sha256"] = min(best["sha256"], seconds)
            seconds, theirs = timed(run_ipfs_cid, tool, path)
            best["ipfs_cid"] = min(best["ipfs_cid"], seconds)
            if str(ours.cid) != theirs:
                raise SystemExit(f"CID mismatch: wheelset {ours.cid}, ipfs_cid {theirs}")
        rss, cli_seconds, cli_output = cli_peak_rss(path)
        if cli_output != str(ours.cid):
            raise SystemExit(f"wheelset cid printed {cli_output}, expected {ours.cid}")

    speed = {name: size / MIB / seconds for name, seconds in best.items()}
    vs_sha = speed["wheelset"] / speed["sha256"]
    vs_tool = speed["wheelset"] / speed["ipfs_cid"]
    rss_mb = rss / 1e6
    print(
        f"file: {args.size_mib} MiB of random bytes, best of {args.rounds} rounds, CID {ours.cid}"
    )
    for name, value in speed.items():
        print(f"  {name:9} {value:8.0f} MiB/s")
    print(f"wheelset / sha256   = {vs_sha:.3f}   (goal >= 0.90)")
    print(f"wheelset / ipfs_cid = {vs_tool:.2f}    (goal >= 5)")
    print(f"`wheelset cid` peak RSS = {rss_mb:.1f} MB (goal < 64 MB); wall {cli_seconds:.2f} s")
    return 0 if vs_sha >= 0.90 and vs_tool >= 5 and rss_mb < 64 else 1


if __name__ == "__main__":
    sys.exit(main())
