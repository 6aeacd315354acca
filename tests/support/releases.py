"""Two (or more) releases of a few test projects on a local index, and a collection of the
old ones: the world `outdated` and `bump` are tested in.

| project | declared | on the index                                                       |
|---------|----------|--------------------------------------------------------------------|
| app     | 1.0      | 1.0 (needs lib<2), 1.1 (needs lib>=2)                              |
| lib     | 1.0      | 1.0, 2.0 (adds extra "fast"), 3.0 (cp312 wheels only)              |
| modern  | 1.0      | 1.0, 2.0 (requires Python >=3.12)                                  |
| native  | 1.0      | 1.0 (cp311/cp312 on both systems), 2.0 (no win_amd64 wheels)       |
| util    | 1.0      | 1.0, 1.1, 1.2rc1 (a pre-release), 1.5 (a source distribution only) |
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from tests.support.decls import write_platforms
from tests.support.index import serve_directory, write_index
from tests.support.wheels import make_wheel
from wheelset.cli import app

PYTHONS = ("3.11", "3.12")
SYSTEMS = ("manylinux_2_28_x86_64", "win_amd64")
PLATFORM_IDS = tuple(f"cp3{p[2:]}-{s}" for p in PYTHONS for s in SYSTEMS)
OLD = ("app==1.0", "lib==1.0", "modern==1.0", "native==1.0", "util==1.0")


def build_index(tmp_path: Path) -> Path:
    """Build the wheels and write the index under ``tmp_path/index``; return that root."""
    built = tmp_path / "built"
    wheels = [
        make_wheel(built, "app", "1.0", requires_dist=["lib<2"]),
        make_wheel(built, "app", "1.1", requires_dist=["lib>=2"]),
        make_wheel(built, "lib", "1.0"),
        make_wheel(built, "lib", "2.0", extras=["fast"], requires_dist=['native; extra == "fast"']),
        *(make_wheel(built, "lib", "3.0", tag=f"cp312-cp312-{s}") for s in SYSTEMS),
        make_wheel(built, "modern", "1.0"),
        make_wheel(built, "modern", "2.0", requires_python=">=3.12"),
        *(
            make_wheel(built, "native", "1.0", tag=f"cp3{p[2:]}-cp3{p[2:]}-{s}")
            for p in PYTHONS
            for s in SYSTEMS
        ),
        *(
            make_wheel(built, "native", "2.0", tag=f"cp3{p[2:]}-cp3{p[2:]}-{SYSTEMS[0]}")
            for p in PYTHONS
        ),
        make_wheel(built, "util", "1.0"),
        make_wheel(built, "util", "1.1"),
        make_wheel(built, "util", "1.2rc1"),
    ]
    sdist = built / "util-1.5.tar.gz"
    sdist.write_bytes(b"not really a tarball: the index only lists it")
    root = tmp_path / "index"
    write_index(root, [*wheels, sdist])
    return root


def new_collection(tmp_path: Path) -> Path:
    """An empty collection directory with platforms.toml (2 Pythons x 2 systems)."""
    root = tmp_path / "declarations"
    write_platforms(root, PYTHONS, SYSTEMS)
    return root


@contextmanager
def served_world(tmp_path: Path, *, negotiate: bool = True) -> Iterator[tuple[str, Path]]:
    """Serve the index on 127.0.0.1 (PEP 691 JSON when ``negotiate``, else PEP 503 HTML
    only), declare the old releases into a new collection through the CLI, and yield
    (index URL, collection directory)."""
    index = build_index(tmp_path)
    root = new_collection(tmp_path)
    with serve_directory(index, negotiate=negotiate) as base:
        url = f"{base}/simple"
        result = CliRunner().invoke(
            app, ["declare", *OLD, "--into", str(root), "--index-url", url, "--no-cache"]
        )
        assert result.exit_code == 0, result.output
        yield url, root


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` and its text: to show that nothing was written."""
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}
