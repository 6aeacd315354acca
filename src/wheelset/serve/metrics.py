"""`serve`'s counters, in the Prometheus text format (version 0.0.4).

Counted: requests (by root and status), response bytes, file cache hits and misses,
verification failures (bytes from a gateway that did not match their CID), upstream
gateway errors, and upstream fetch latency (a histogram). Several worker processes of
one server share a directory: each writes its totals there (atomically, about once a
second and when it stops) and /metrics adds up every worker's, so any worker answers for
the whole server.
Entry points: Metrics.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from pathlib import Path

from wheelset.fsutil import atomic_write_bytes

__all__ = ["Metrics"]

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)  # seconds

_HELP = {
    "wheelset_serve_requests_total": ("counter", "HTTP requests answered, by root and status."),
    "wheelset_serve_response_bytes_total": ("counter", "Response body bytes sent."),
    "wheelset_serve_cache_hits_total": ("counter", "Files sent from the verified cache."),
    "wheelset_serve_cache_misses_total": ("counter", "Files fetched from gateways first."),
    "wheelset_serve_verification_failures_total": (
        "counter",
        "Gateway responses whose bytes did not match their CID.",
    ),
    "wheelset_serve_upstream_errors_total": ("counter", "Gateway fetches that failed."),
    "wheelset_serve_upstream_seconds": ("histogram", "Time to fetch and verify a file."),
}


class Metrics:
    """Counters of one process; ``directory`` shares them with the server's other workers."""

    def __init__(self, directory: Path | None = None):
        self.counts: Counter[str] = Counter()  # sample line (name{labels}) -> value
        self._directory = directory
        self._mine = directory / f"{os.getpid()}.json" if directory else None

    def add(self, sample: str, value: float = 1) -> None:
        self.counts[sample] += value

    def request(self, root: str, status: int, sent: int) -> None:
        self.counts[f'wheelset_serve_requests_total{{root="{root}",code="{status}"}}'] += 1
        self.counts["wheelset_serve_response_bytes_total"] += sent

    def upstream(self, seconds: float) -> None:
        name = "wheelset_serve_upstream_seconds"
        for bound in LATENCY_BUCKETS:
            if seconds <= bound:
                self.counts[f'{name}_bucket{{le="{bound}"}}'] += 1
        self.counts[f'{name}_bucket{{le="+Inf"}}'] += 1
        self.counts[f"{name}_sum"] += seconds
        self.counts[f"{name}_count"] += 1

    def save(self) -> None:
        """Write this worker's totals for the others (no-op without a shared directory)."""
        if self._mine is not None:
            with contextlib.suppress(OSError):
                atomic_write_bytes(self._mine, json.dumps(self.counts).encode())

    def render(self) -> bytes:
        """Every worker's totals, summed, as Prometheus text."""
        total: Counter[str] = Counter(self.counts)
        if self._directory is not None:
            for path in self._directory.glob("*.json"):
                if path == self._mine:
                    continue
                with contextlib.suppress(OSError, ValueError):
                    total.update(json.loads(path.read_bytes()))
        for name in ("wheelset_serve_response_bytes_total", "wheelset_serve_cache_hits_total",
                     "wheelset_serve_cache_misses_total", "wheelset_serve_upstream_errors_total",
                     "wheelset_serve_verification_failures_total"):  # fmt: skip
            total.setdefault(name, 0)
        lines = []
        for name, (kind, text) in _HELP.items():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            lines += [
                f"{sample} {_number(value)}"
                for sample, value in sorted(total.items())
                if sample.split("{")[0]
                .removesuffix("_bucket")
                .removesuffix("_sum")
                .removesuffix("_count")
                == name
            ]
        return ("\n".join(lines) + "\n").encode()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
