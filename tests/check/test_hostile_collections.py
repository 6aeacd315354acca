"""Crafted collections: links out of the collection, special files, deep nesting, one
project with thousands of versions or wheels. Each ends in bounded output, a non-zero
exit where it is an error, within 30 s and 600 MB."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.decls import write_decl
from wheelset.check import PER_PROJECT, run_checks
from wheelset.model.collection import load_collection
from wheelset.model.declarations import relpath_for


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wheelset.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]


def _plant(root: Path, wheel: str) -> Path:
    target = root / relpath_for(wheel)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def test_symbolic_links_are_never_followed(sound: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_decl(outside, "evil-1.0-py3-none-any.whl")
    links = {
        "passwd-1.0-py3-none-any.whl": Path("/etc/passwd"),
        "evil-1.0-py3-none-any.whl": outside / relpath_for("evil-1.0-py3-none-any.whl"),
        "zero-1.0-py3-none-any.whl": Path("/dev/zero"),
    }
    for wheel, points_to in links.items():
        _plant(sound, wheel).symlink_to(points_to)
    (sound / "ff").mkdir()
    (sound / "ff" / "elsewhere").symlink_to(outside, target_is_directory=True)

    collection = load_collection(sound)

    assert {d.name for d in collection.declarations}.isdisjoint({"passwd", "evil", "zero"})
    io = {str(f.path): f.message for f in collection.findings if f.code == "IO"}
    for wheel in links:
        assert "symbolic link" in io[str(relpath_for(wheel))]
    assert "symbolic link" in io["ff/elsewhere"]
    check = _cli("check", str(sound))
    assert check.returncode == 1 and "Traceback" not in check.stderr
    assert check.stdout.count(" IO ") == 4
    _assert_one_line_error(_cli("build", str(sound), "--car", str(tmp_path / "x.car")), "IO")


def test_linked_platforms_file_is_refused(sound: Path, tmp_path: Path) -> None:
    real = tmp_path / "platforms.toml"
    real.write_text((sound / "platforms.toml").read_text())
    (sound / "platforms.toml").unlink()
    (sound / "platforms.toml").symlink_to(real)
    findings = run_checks(load_collection(sound), ("schema",))
    assert [(str(f.path), f.code) for f in findings] == [("platforms.toml", "PLATFORMS")]
    assert "symbolic link" in findings[0].message


@pytest.mark.parametrize("which", ["declaration", "platforms"])
def test_fifos_do_not_hang_check_or_build(sound: Path, tmp_path: Path, which: str) -> None:
    if which == "platforms":
        (sound / "platforms.toml").unlink()
        os.mkfifo(sound / "platforms.toml")
        code = "PLATFORMS"
    else:
        os.mkfifo(_plant(sound, "fifo-1.0-py3-none-any.whl"))
        code = "IO"
    check = _cli("check", str(sound))
    assert check.returncode == 1 and f"{code} " in check.stdout
    assert "FIFO" in check.stdout or "not a regular file" in check.stdout
    _assert_one_line_error(_cli("build", str(sound), "--car", str(tmp_path / "x.car")), code)


def test_deep_nesting_is_walked_without_recursion(sound: Path) -> None:
    levels = [sound / "ab"]
    for _ in range(1100):
        levels.append(levels[-1] / "d")
    for level in levels:
        level.mkdir()
    stray = levels[-1] / "x-1.0-py3-none-any.toml"
    stray.write_text("not = [valid")
    try:
        result = _cli("check", str(sound))
    finally:  # bottom up: shutil.rmtree (pytest's clean-up) recurses and would fail
        stray.unlink()
        for level in reversed(levels):
            level.rmdir()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stdout.splitlines()) == 2  # the file's TOML and LAYOUT findings


_BOUNDED = textwrap.dedent(
    """
    import resource, sys, time
    from dataclasses import replace
    from packaging.tags import parse_tag
    from tests.support.decls import make_decl
    from wheelset.check import cap_per_project
    from wheelset.check.uniqueness import check_uniqueness
    from wheelset.check.closure import check_closure
    from wheelset.model.declarations import relpath_for
    from wheelset.model.platforms import make_platform
    from wheelset.model.findings import Finding

    kind, count = sys.argv[1], int(sys.argv[2])
    base = make_decl("many-1.0-py3-none-any.whl")
    app = make_decl("app-1.0-py3-none-any.whl", dependencies=["many<0"])
    decls = [app]
    for i in range(count):
        if kind == "versions":
            filename = f"many-1.{i}-py3-none-any.whl"
            tags = base.tags
        elif i % 2:
            filename = f"many-1.0-{i}-py3-none-any.whl"
            tags = base.tags
        else:
            tag = f"cp311-cp311-manylinux_2_{i}_x86_64"
            filename = f"many-1.0-{tag}.whl"
            tags = frozenset(parse_tag(tag))
        decls.append(replace(base, path=relpath_for(filename), filename=filename, tags=tags))
    start = time.monotonic()
    platforms = [make_platform("3.11", "manylinux_2_28_x86_64")]
    found = [*check_uniqueness(decls), *check_closure(decls, platforms)]
    shown = cap_per_project(sorted(found, key=Finding.sort_key))
    size = sum(len(f.message) for f in shown)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(len(found), len(shown), size, round(time.monotonic() - start, 2), peak)
    """
)


@pytest.mark.parametrize(("kind", "count"), [("versions", 10_000), ("wheels", 100_000)])
def test_one_huge_project_gives_bounded_findings(kind: str, count: int) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _BOUNDED, kind, str(count)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    found, shown, size, seconds, peak_mb = result.stdout.split()
    assert int(found) >= count - 1  # every older version, or every later wheel, is reported
    assert int(shown) <= 3 * (PER_PROJECT + 1) + 1
    assert int(size) < 50_000
    assert float(seconds) <= 30
    assert int(peak_mb) <= 600
