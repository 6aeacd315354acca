"""Synthetic collections for benchmarks: one pure wheel per project, 20 platforms, distinct
six-syllable project names, declarations exactly as `wheelset declare` writes them.

    python scripts/synthetic_collection.py DIR COUNT

Content-ids are well-formed CIDv0 of fake digests (the build never reads a wheel);
sizes are realistic (log-normal); each project depends on an earlier one.
Entry point: write_synthetic_collection().
"""

from __future__ import annotations

import hashlib
import random
import sys
from pathlib import Path

import tomli_w

from wheelset.ipfs.cid import CID, DAG_PB
from wheelset.model.declarations import prefix_of

# 4 Python versions x 5 systems = 20 platforms.
PLATFORMS = (
    'python-versions = ["3.10", "3.11", "3.12", "3.13"]\n'
    'systems = ["manylinux_2_28_x86_64", "manylinux_2_28_aarch64", "macosx_11_0_arm64", '
    '"macosx_10_13_x86_64", "win_amd64"]\n'
)
_ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "z",
    "br",
    "ch",
    "cl",
    "dr",
    "fl",
    "gr",
    "kr",
    "pl",
    "pr",
    "sh",
    "st",
    "tr",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"]


def project_name(index: int) -> str:
    """A distinct six-syllable name for every index below 270**6 / 2 (a bijection, mixed)."""
    n = (index * 2_654_435_761 + 12_345) % (270**6)  # odd multiplier: a permutation mod 2·…
    syllables = []
    for _ in range(6):
        n, s = divmod(n, 270)
        syllables.append(_ONSETS[s % 30] + _VOWELS[s // 30])
    return "".join(syllables)


def write_synthetic_collection(root: Path, count: int, seed: int = 2026) -> int:
    """``count`` declarations (one per project) under ``root``; returns the number of projects."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "platforms.toml").write_text(PLATFORMS)
    names: list[str] = []
    for i in range(count):
        name = project_name(i)
        version = f"{rng.randint(0, 30)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        stem = f"{name}-{version}-py3-none-any"
        digest = hashlib.sha256(stem.encode()).digest()
        table = {
            "source": f"index:{stem}.whl",
            "content-id": str(CID(0, DAG_PB, digest)),
            "sha256": hashlib.sha256(digest).hexdigest(),
            "size": int(rng.lognormvariate(11, 1.5)) + 1000,
            "requires-python": ">=3.9",
            "extras": ["test"],
            "dependencies": [
                *([f"{rng.choice(names)}>=1.0"] if names else []),
                'pytest>=7; extra == "test"',
            ],
        }
        folder = root / prefix_of(name) / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{stem}.toml").write_text(tomli_w.dumps(table))
        names.append(name)
    return count


if __name__ == "__main__":
    print(write_synthetic_collection(Path(sys.argv[1]), int(sys.argv[2])))
