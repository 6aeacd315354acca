"""Benchmark: `wheelset outdated` over the official collection, one index page at a time
versus on a thread pool.

Serves, on 127.0.0.1, a PEP 691 index whose page for each project of the collection lists
--releases releases (each with the same wheel tags as the declared one, so every page is
parsed and planned in full) and answers each request after --latency seconds, standing in
for the round trip to a remote index. Then times check_outdated() side by side in one run
(best of --repeat) with --jobs 1 and with the default 8 over one HTTP client, and reports
the ratio. Usage: python scripts/bench_outdated.py [--latency S] [--releases N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from wheelset.fetch.index import IndexClient
from wheelset.maintain.outdated import check_outdated
from wheelset.model.collection import load_collection
from wheelset.model.declarations import Declaration

COLLECTION = Path(__file__).resolve().parent.parent / "declarations"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def _pages(declarations: tuple[Declaration, ...], releases: int) -> dict[str, bytes]:
    """project -> PEP 691 page: N releases newer than any declared version (10001.0 …),
    each with the declared wheels' tags."""
    tags: dict[str, set[str]] = {}
    for decl in declarations:
        stem = decl.filename[: -len(".whl")]
        tags.setdefault(decl.name, set()).add(stem.split("-", 2)[2])
    pages = {}
    for name, tag_set in tags.items():
        dist = name.replace("-", "_")
        files = [
            {"filename": f"{dist}-{v}.0-{t}.whl", "url": f"../../files/{dist}-{v}.0-{t}.whl"}
            for v in range(10_001, 10_001 + releases)
            for t in sorted(tag_set)
        ]
        pages[name] = json.dumps({"meta": {"api-version": "1.0"}, "files": files}).encode()
    return pages


@contextmanager
def _serve(pages: dict[str, bytes], latency: float) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(latency)
            body = pages.get(self.path.strip("/").split("/")[-1])
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", JSON_TYPE)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        # socketserver's default backlog of 5 drops connections opened 8 at a time, and
        # the client's retry a second later would be timed instead of wheelset.
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--releases", type=int, default=40, help="releases per project")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    collection = load_collection(COLLECTION)
    pages = _pages(collection.declarations, args.releases)
    files = sum(page.count(b'"filename"') for page in pages.values())
    print(
        f"{len(pages)} projects, {len(collection.declarations)} declarations, "
        f"{len(collection.platforms)} platforms; {files} files on the index pages; "
        f"{args.latency * 1000:.0f} ms per request"
    )
    timings: dict[int, float] = {}
    with _serve(pages, args.latency) as url, httpx.Client(timeout=30) as http:
        for _ in range(args.repeat):
            for jobs in (1, 8):
                index = IndexClient(url, http=http)  # a fresh page cache each run
                start = time.perf_counter()
                statuses = check_outdated(collection, index, jobs=jobs)
                elapsed = time.perf_counter() - start
                timings[jobs] = min(timings.get(jobs, elapsed), elapsed)
                assert sum(s.is_outdated for s in statuses) == len(pages)
    for jobs, seconds in timings.items():
        print(f"--jobs {jobs}: {seconds:.3f} s")
    print(f"ratio jobs 1 / jobs 8: {timings[1] / timings[8]:.1f}")


if __name__ == "__main__":
    main()
