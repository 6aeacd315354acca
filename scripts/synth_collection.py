"""Synthetic collections for the scale benchmarks: the one generator that scripts/bench_scale.py,
bench_build.py and bench_scale_client.py import.

    python scripts/synth_collection.py DIR COUNT [distinct|numbered]

One pure wheel per project (``py3-none-any``), 20 platforms (CPython 3.10–3.13 × five
systems), each declaration written in the canonical form `wheelset declare` writes, with
dependencies on earlier projects like real METADATA: specifiers, environment markers,
extras. Three kinds of project names:

- ``distinct``: six random syllables, no two of them (nor a most-used name) confusable;
- ``numbered``: one family, ``synth-project-000001`` … (the shape of real families such as
  ``odoo14-addon-*`` or ``nvidia-*-cu12``);
- ``real``: project names of the configured index's root page, fetched at run time
  (see real_project_names()); a name list is passed in, never stored.

Entry points: PLATFORMS_TOML, generate(), real_project_names().
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from wheelset.check.names import load_popular_names, ultranormalize
from wheelset.ipfs.cid import CID, DAG_PB
from wheelset.model.declarations import prefix_of

__all__ = ["KINDS", "PLATFORMS_TOML", "generate", "real_project_names"]

KINDS = ("distinct", "numbered", "real")
PLATFORMS_TOML = (
    'python-versions = ["3.10", "3.11", "3.12", "3.13"]\n'
    'systems = ["manylinux_2_28_x86_64", "manylinux_2_28_aarch64", "macosx_11_0_arm64", '
    '"macosx_10_13_x86_64", "win_amd64"]\n'
)
SYLLABLES = tuple(c + v for c in "bdfgkmnpstvz" for v in "aeu")
MARKERS = (
    'python_version < "3.12"',
    'sys_platform == "win32"',
    'platform_machine == "x86_64"',
    'sys_platform != "win32"',
    'python_version >= "3.11" and platform_system == "Linux"',
    'implementation_name == "cpython"',
)


def random_dependency(
    rng: random.Random,
    dep: tuple[str, str, Sequence[str]],
    extras: Sequence[str],
    markers: Sequence[str] = MARKERS,
) -> str:
    """A requirement on ``dep`` (name, version, extras): a random specifier, sometimes one
    of its extras, sometimes a marker or an ``extra ==`` condition of the dependent's."""
    dep_name, dep_version, dep_extras = dep
    major = dep_version.split(".")[0]
    spec = rng.choice((f">={dep_version}", f">={major}", f"<{int(major) + 1},>={major}", ""))
    wanted = f"[{dep_extras[0]}]" if dep_extras and rng.random() < 0.2 else ""
    dependency = f"{dep_name}{wanted}{spec}"
    roll = rng.random()
    if roll < 0.25:
        dependency += f"; {rng.choice(markers)}"
    elif roll < 0.45 and extras:
        dependency += f'; extra == "{rng.choice(extras)}"'
    return dependency


def _variants(name: str) -> Iterator[int]:
    """Hashes of the ultranormal form and its one-deletion variants: two names within one
    edit share one (the compact form of the check's own candidate search)."""
    text = ultranormalize(name)
    yield hash(text)
    for k in range(len(text)):
        yield hash(text[:k] + text[k + 1 :])


def _distinct_names(rng: random.Random) -> Iterator[str]:
    taken: set[int] = set()
    for popular in load_popular_names():
        taken.update(_variants(popular))
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(6))
        variants = set(_variants(name))
        if not variants & taken:
            taken |= variants
            yield name


def _names(kind: str, rng: random.Random, real: Sequence[str]) -> Iterator[str]:
    if kind == "distinct":
        yield from _distinct_names(rng)
    elif kind == "numbered":
        for number in range(1, 10**7):
            yield f"synth-project-{number:06d}"
    elif kind == "real":
        yield from real
    else:
        raise ValueError(f"unknown kind {kind!r}")


def _string_array(items: Sequence[str]) -> str:
    if not items:
        return "[]"
    return "[\n" + "".join(f'    "{_escape(item)}",\n' for item in items) + "]"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def generate(
    root: Path, count: int, kind: str = "distinct", *, real: Sequence[str] = (), seed: int = 2026
) -> int:
    """Write ``count`` declarations (one project each) under ``root``; return the count.

    ``real`` supplies the names for kind ``real`` (at least ``count`` of them).
    """
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "platforms.toml").write_text(PLATFORMS_TOML)
    earlier: list[tuple[str, str, tuple[str, ...]]] = []
    made_dirs: set[str] = set()
    written = 0
    for name in _names(kind, rng, real):
        if written >= count:
            break
        version = f"{rng.randint(0, 30)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        extras = tuple(("test", "docs", "speed")[: rng.choice((0, 0, 1, 2))])
        dependencies = []
        window = min(len(earlier), 5000)
        for back in rng.sample(range(1, window + 1), min(window, rng.randint(0, 4))):
            dependencies.append(random_dependency(rng, earlier[-back], extras))
        stem = f"{re.sub(r'[-_.]+', '_', name)}-{version}-py3-none-any"
        digest = hashlib.sha256(stem.encode()).digest()
        directory = f"{prefix_of(name)}/{name}"
        if directory not in made_dirs:
            (root / directory).mkdir(parents=True, exist_ok=True)
            made_dirs.add(directory)
        text = (
            f'source = "index:{stem}.whl"\n'
            f'content-id = "{CID(0, DAG_PB, digest)}"\n'
            f'sha256 = "{hashlib.sha256(digest).hexdigest()}"\n'
            f"size = {int(rng.lognormvariate(11, 1.5)) + 1000}\n"
            f'requires-python = ">=3.9"\n'
            f"extras = {_string_array(extras)}\n"
            f"dependencies = {_string_array(dependencies)}\n"
        )
        (root / directory / f"{stem}.toml").write_text(text)
        earlier.append((name, version, extras))
        written += 1
    if written < count:
        raise ValueError(f"only {written} names of kind {kind!r} for {count} declarations")
    return written


_ANCHOR = re.compile(r"<a [^>]*>([^<]+)</a>")


def real_project_names(index_url: str | None = None, *, timeout: float = 180.0) -> list[str]:
    """The project names of the configured index's root page (PEP 691 JSON; a PEP 503 HTML
    answer is read too), canonical, in the page's order. Fetched now, never stored."""
    import httpx
    from packaging.utils import canonicalize_name

    from wheelset.fetch.index import configured_index_url

    url = configured_index_url(index_url)
    response = httpx.get(
        url.rstrip("/") + "/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"},
        timeout=timeout,
        follow_redirects=True,
    )
    response.raise_for_status()
    if "json" in response.headers.get("content-type", ""):
        names = [p["name"] for p in json.loads(response.content)["projects"]]
    else:
        names = _ANCHOR.findall(response.text)
    return list(dict.fromkeys(canonicalize_name(n.strip()) for n in names if n.strip()))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write a synthetic collection.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("kind", nargs="?", default="distinct", choices=KINDS[:2])
    args = parser.parse_args()
    print(generate(args.directory, args.count, args.kind))
