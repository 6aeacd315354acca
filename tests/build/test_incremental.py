"""Incremental builds into a build directory equal fresh builds, byte for byte; builds
interrupted by kill -9 leave OUT whole (old or new) and are repaired by the next build."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.decls import write_decl, write_platforms
from wheelset.build.manifest import manifest_of
from wheelset.build.stage import (
    INCOMPLETE_MARKER,
    BuildResult,
    build_collection,
    is_build_dir,
    read_build_root,
)
from wheelset.build.tree import build_root
from wheelset.errors import WheelsetError
from wheelset.ipfs.dagpb import HAMT_SHARD, decode_node, decode_unixfs
from wheelset.model.collection import read_collection
from wheelset.model.declarations import relpath_for

PADDING = "x" * 180  # long names: few projects pass the HAMT threshold of the root directory


def _name(i: int) -> str:
    return f"p{i:05d}{PADDING}"


def _write(root: Path, i: int, version: str = "1.0", size: int = 1000, **kwargs) -> Path:
    return root / write_decl(root, f"{_name(i)}-{version}-py3-none-any.whl", size=size, **kwargs)


def _collection(root: Path, count: int) -> Path:
    write_platforms(root)
    for i in range(count):
        _write(root, i, dependencies=[f"{_name(i // 2)}>=1"])
    return root


def _tree(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _assert_same_as_fresh(collection: Path, out: Path, tmp_path: Path) -> BuildResult:
    fresh = tmp_path / "fresh"
    result = build_collection(collection, out=fresh, car=tmp_path / "fresh.car")
    again = build_collection(collection, out=out)  # nothing to rebuild: the same counts
    assert (again.root, again.blocks, again.rebuilt) == (result.root, result.blocks, 0)
    assert read_build_root(out) == result.root
    assert (out / "root.car").read_bytes() == (fresh / "root.car").read_bytes()
    assert (tmp_path / "fresh.car").read_bytes() == (fresh / "root.car").read_bytes()
    assert _tree(out / "tree") == _tree(fresh / "tree")
    platforms, decls = read_collection(collection)
    policy = collection / "policy.toml"
    carried = policy.read_bytes() if policy.exists() else None
    assert build_root(manifest_of(platforms, decls), policy=carried).cid == result.root
    return result


@pytest.mark.parametrize("jobs", [1, 2])
def test_incremental_build_equals_fresh_build(tmp_path: Path, jobs: int) -> None:
    collection = _collection(tmp_path / "declarations", 1400)
    out = tmp_path / "out"
    first = build_collection(collection, out=out, jobs=jobs)
    assert first.rebuilt == first.projects == 1400
    root_data = decode_node(_root_block(out)).data
    assert root_data is not None and decode_unixfs(root_data).type == HAMT_SHARD

    same = build_collection(collection, out=out, jobs=jobs)
    assert same.root == first.root and same.rebuilt == 0

    changed = _write(collection, 7, size=2000, dependencies=[])  # one declaration changed
    added = _write(collection, 2000)  # a new project
    _write(collection, 9, version="2.0")  # a second wheel for a project
    removed = _write(collection, 11)
    removed.unlink()  # a project gone (its directory stays, empty)
    gone = _write(collection, 12)
    for p in gone.parent.iterdir():
        p.unlink()
    gone.parent.rmdir()
    after = build_collection(collection, out=out, jobs=jobs)
    # 7, 9 and the new 2000 changed; 3, 5 and 6 lost a dependent (7, 11, 12), which
    # their pages list.
    assert after.rebuilt == 6 and after.projects == 1400 - 2 + 1
    assert after.root != first.root
    assert not (out / "tree" / _name(11)).exists() and not (out / "tree" / _name(12)).exists()
    assert _assert_same_as_fresh(collection, out, tmp_path).root == after.root

    changed.write_text(changed.read_text())  # touched, same content: reused after a re-read
    added.unlink()
    again = build_collection(collection, out=out, jobs=jobs)
    assert again.rebuilt == 0 and again.projects == after.projects - 1
    assert _assert_same_as_fresh(collection, out, tmp_path).root == again.root


def _root_block(out: Path) -> bytes:
    from wheelset.ipfs.car import read_car

    car = read_car((out / "root.car").read_bytes())
    return dict(car.blocks)[car.roots[0]]


def test_other_flags_rebuild_everything(tmp_path: Path) -> None:
    collection = _collection(tmp_path / "declarations", 20)
    out = tmp_path / "out"
    build_collection(collection, out=out)
    (out / ".build-state").write_bytes(b"garbage")
    assert build_collection(collection, out=out).rebuilt == 20  # unreadable state: fresh
    _assert_same_as_fresh(collection, out, tmp_path)


def test_policy_added_changed_and_removed_incrementally(tmp_path: Path) -> None:
    collection = _collection(tmp_path / "declarations", 20)
    out = tmp_path / "out"
    without = build_collection(collection, out=out)
    policy = collection / "policy.toml"
    policy.write_bytes(b'[names]\nallow = ["tomli-w"]  # reviewed\n')
    added = build_collection(collection, out=out)
    assert added.rebuilt == 0 and added.root != without.root
    assert (out / "tree" / "policy.toml").read_bytes() == policy.read_bytes()
    _assert_same_as_fresh(collection, out, tmp_path)
    policy.write_bytes(b'[names]\nallow = ["tomli-w", "six"]\n')
    changed = build_collection(collection, out=out)
    assert changed.root not in (added.root, without.root)
    _assert_same_as_fresh(collection, out, tmp_path)
    policy.unlink()
    removed = build_collection(collection, out=out)
    assert removed.root == without.root and not (out / "tree" / "policy.toml").exists()
    _assert_same_as_fresh(collection, out, tmp_path)


def test_an_interrupted_directory_is_refused_then_rebuilt(tmp_path: Path) -> None:
    collection = _collection(tmp_path / "declarations", 20)
    out = tmp_path / "out"
    build_collection(collection, out=out)
    (out / INCOMPLETE_MARKER).write_bytes(b"")
    assert not is_build_dir(out)
    with pytest.raises(WheelsetError, match="interrupted build"):
        read_build_root(out)
    assert build_collection(collection, out=out).rebuilt == 20
    assert is_build_dir(out)
    _assert_same_as_fresh(collection, out, tmp_path)


_BUILD = (
    "import sys; from pathlib import Path; from wheelset.build.stage import build_collection; "
    "build_collection(Path(sys.argv[1]), out=Path(sys.argv[2]), jobs=int(sys.argv[3]))"
)


def _start(collection: Path, out: Path, jobs: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _BUILD, str(collection), str(out), str(jobs)],
        start_new_session=True,  # kill -9 reaches the workers too
    )


def _kill_when(process: subprocess.Popen, ready, timeout: float = 60) -> bool:
    """kill -9 the build (and its workers) once ``ready()``; False if it finished first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the build never reached the point"
        time.sleep(0.002)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return True


def _staging(parent: Path) -> list[Path]:
    return [p for p in parent.iterdir() if p.name.startswith(".out.")]


def test_kill_9_at_several_points_leaves_out_whole(tmp_path: Path) -> None:
    collection = _collection(tmp_path / "declarations", 1500)
    out = tmp_path / "out"
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", _BUILD, str(collection), str(out), "2"], check=True)
    whole = time.monotonic() - began  # a full build, interpreter start included
    previous = read_build_root(out)

    def after(fraction: float):
        deadline = time.monotonic() + fraction * whole
        return lambda: time.monotonic() >= deadline

    points = {
        "staging created": lambda: bool(_staging(tmp_path)),
        "pages half written": lambda: any(
            len(os.listdir(p / "tree")) > 750 for p in _staging(tmp_path) if (p / "tree").is_dir()
        ),
        **{f"{f:.0%} of a build": after(f) for f in (0.6, 0.8, 0.9, 0.95)},
    }
    killed = 0
    for point, ready in points.items():
        (out / ".build-state").unlink(missing_ok=True)  # nothing to reuse: a fresh build
        killed += _kill_when(_start(collection, out, 2), ready)
        assert read_build_root(out) == previous, point  # the previous build, whole
    assert killed >= 4  # most points were reached before the build ended
    build_collection(collection, out=out)  # removes what the killed builds left
    assert _staging(tmp_path) == [] and read_build_root(out) == previous

    # Killed during an incremental update: refused until the next build repairs it.
    marker = out / INCOMPLETE_MARKER
    for attempt in range(3):
        for i in range(0, 1500, 3):
            _write(collection, i, size=5000 + attempt)
        if _kill_when(_start(collection, out, 1), lambda: marker.exists()):
            break
    else:
        pytest.fail("the incremental build never reached its update")
    with pytest.raises(WheelsetError, match="interrupted build"):
        read_build_root(out)
    build_collection(collection, out=out)
    assert _staging(tmp_path) == []
    _assert_same_as_fresh(collection, out, tmp_path)


def test_a_bad_declaration_leaves_the_build_directory_as_it_was(tmp_path: Path) -> None:
    collection = _collection(tmp_path / "declarations", 20)
    out = tmp_path / "out"
    root = build_collection(collection, out=out).root
    before = _tree(out)
    bad = _write(collection, 3, version="2.0")
    bad.write_text(bad.read_text().replace("content-id", "content_id"))
    _write(collection, 4, size=99)  # a good change in the same build
    with pytest.raises(WheelsetError, match="unknown key") as caught:
        build_collection(collection, out=out)
    assert str(caught.value.path).endswith(bad.name)
    assert read_build_root(out) == root and _tree(out) == before
    bad.unlink()
    # 4, and 2, which 4 no longer depends on (2's page lists its dependents)
    assert build_collection(collection, out=out).rebuilt == 2
    _assert_same_as_fresh(collection, out, tmp_path)


def _page(out: Path, i: int) -> str:
    return (out / "tree" / _name(i) / "index.html").read_text()


def test_reverse_dependencies_stay_exact_incrementally(tmp_path: Path) -> None:
    """A project's page lists who depends on it: changing, adding or removing another
    project's dependency rebuilds it (only it, and the changed ones), as a fresh build."""
    collection = tmp_path / "declarations"
    write_platforms(collection)
    for i in range(1, 30):
        _write(collection, i, dependencies=[f"{_name(0)}>=1"] if i == 1 else [])
    _write(collection, 0)
    out = tmp_path / "out"
    build_collection(collection, out=out)
    assert _name(1) in _page(out, 0) and _name(2) not in _page(out, 0)

    _write(collection, 2, dependencies=[f"{_name(0)}[x]>=1; python_version >= '3.8'"])
    added = build_collection(collection, out=out)
    assert added.rebuilt == 2  # 2 changed, 0 gained a dependent
    assert _name(1) in _page(out, 0) and _name(2) in _page(out, 0)
    _assert_same_as_fresh(collection, out, tmp_path)

    _write(collection, 1)  # 1 no longer depends on 0
    dropped = build_collection(collection, out=out)
    assert dropped.rebuilt == 2 and _name(1) not in _page(out, 0)
    _assert_same_as_fresh(collection, out, tmp_path)

    gone = collection / _write(collection, 2).relative_to(collection)
    for p in gone.parent.iterdir():  # the only dependent left is removed
        p.unlink()
    gone.parent.rmdir()
    removed = build_collection(collection, out=out)
    assert removed.rebuilt == 1 and _name(2) not in _page(out, 0)
    _assert_same_as_fresh(collection, out, tmp_path)

    _write(collection, 40, dependencies=[f"{_name(3)}>=1"])  # a new project, a new dependent
    new = build_collection(collection, out=out)
    assert new.rebuilt == 2 and _name(40) in _page(out, 3)
    _assert_same_as_fresh(collection, out, tmp_path)


def test_an_edit_that_keeps_size_and_mtime_is_seen(tmp_path: Path, monkeypatch) -> None:
    """Change detection trusts stat data, ctime included: an edit that keeps the file's size
    and puts its mtime back is still rebuilt."""
    from wheelset.build import stage

    monkeypatch.setattr(stage, "_RACY_NS", 0)  # trust stat data at once, not after 2 s
    collection = _collection(tmp_path / "declarations", 20)
    out = tmp_path / "out"
    build_collection(collection, out=out)
    assert build_collection(collection, out=out).rebuilt == 0
    path = collection / relpath_for(f"{_name(5)}-1.0-py3-none-any.whl")
    before = path.stat()
    text = path.read_text()
    assert "size = 1000" in text
    time.sleep(0.01)  # a later ctime
    path.write_text(text.replace("size = 1000", "size = 1001"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert build_collection(collection, out=out).rebuilt == 1
    _assert_same_as_fresh(collection, out, tmp_path)


def test_a_project_others_already_named_gets_their_names(tmp_path: Path) -> None:
    """Dependents of a name that is no project are kept: the project added under that
    name lists them at once; removed again, they wait for the next one."""
    collection = tmp_path / "declarations"
    write_platforms(collection)
    for i in range(1, 30):
        _write(collection, i, dependencies=[f"{_name(0)}>=1"] if i % 7 == 0 else [])
    out = tmp_path / "out"
    build_collection(collection, out=out)

    first = _write(collection, 0)  # the name 7, 14, 21 and 28 depend on
    added = build_collection(collection, out=out)
    assert added.rebuilt == 1
    assert all(_name(i) in _page(out, 0) for i in (7, 14, 21, 28))
    _assert_same_as_fresh(collection, out, tmp_path)

    for p in first.parent.iterdir():
        p.unlink()
    first.parent.rmdir()
    _write(collection, 14)  # meanwhile 14 drops the dependency
    assert build_collection(collection, out=out).rebuilt == 1
    _assert_same_as_fresh(collection, out, tmp_path)
    _write(collection, 0, version="2.0")
    build_collection(collection, out=out)
    page = _page(out, 0)
    assert _name(7) in page and _name(14) not in page and _name(28) in page
    _assert_same_as_fresh(collection, out, tmp_path)


def test_projects_growing_and_shrinking_at_once(tmp_path: Path, monkeypatch) -> None:
    """Blocks of the CAR move forwards and backwards in one build (a project grows, a
    later one in the CAR shrinks more): the CAR is written anew; moved one way only, it is
    updated in place. Either way it is the fresh build's. Rows at both ends of the root
    page are replaced, added and removed meanwhile."""
    from wheelset.build import stage
    from wheelset.ipfs.directory import hamt_hash

    updates: list[bool] = []
    update = stage._update_car
    monkeypatch.setattr(stage, "_update_car", lambda *a: updates.append(update(*a)) or updates[-1])
    collection = _collection(tmp_path / "declarations", 1400)
    # The CAR holds projects in the order of their names' hashes.
    first, *_, last = sorted(range(100, 110), key=lambda i: hamt_hash(_name(i).encode()))
    many = [f"{_name(i)}>=1" for i in range(40)]
    _write(collection, last, dependencies=many)
    out = tmp_path / "out"
    build_collection(collection, out=out)

    _write(collection, first, dependencies=[f"{_name(first // 2)}>=1", f"{_name(1)}>=1"])
    _write(collection, last, dependencies=[])
    _write(collection, 0, version="3.0", license="MIT")  # the first row
    _write(collection, 1399, version="3.0")  # the last row
    _write(collection, 99999)  # a new last row
    build_collection(collection, out=out)
    assert updates == [False]  # moved both ways: written anew
    _assert_same_as_fresh(collection, out, tmp_path)

    gone = _write(collection, 99999)
    for p in gone.parent.iterdir():
        p.unlink()
    _write(collection, first)  # shrinks: the blocks after it move backwards
    build_collection(collection, out=out)
    assert updates[-1] is True  # updated in place
    _assert_same_as_fresh(collection, out, tmp_path)


def _counting_reads(monkeypatch) -> list[str]:
    """Trust stat data at once (not only after 2 s) and record which project directories
    the build reads again to compare their content."""
    from wheelset.build import stage

    monkeypatch.setattr(stage, "_RACY_NS", 0)
    reads: list[str] = []
    read = stage._read_project
    monkeypatch.setattr(stage, "_read_project", lambda *a: reads.append(a[1]) or read(*a))
    return reads


def _remove_project(collection: Path, i: int) -> None:
    folder = (collection / relpath_for(f"{_name(i)}-1.0-py3-none-any.whl")).parent
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()


@pytest.mark.parametrize(("jobs", "statx"), [(1, True), (2, True), (1, False)])
def test_each_kind_of_change_is_found_by_the_stat_sweep(
    tmp_path: Path, monkeypatch, jobs: int, statx: bool
) -> None:
    """One change at a time, with stat data trusted at once: the sweep finds each (and
    reads nothing else again), and the result is a fresh build's. On two processes the
    prefix directories are shared with a forked child; without statx (not Linux), the
    numbers come from os.stat()."""
    from wheelset.build import sweep

    if statx:
        assert sweep._load_statx()[0] is not None  # Linux: the tests run with it
    else:
        monkeypatch.setattr(sweep, "_statx", [None])
    reads = _counting_reads(monkeypatch)
    collection = _collection(tmp_path / "declarations", 40)
    out = tmp_path / "out"
    build_collection(collection, out=out, jobs=jobs)

    def rebuild(*expected: int) -> BuildResult:
        reads.clear()
        result = build_collection(collection, out=out, jobs=jobs)
        assert set(reads) == {_rel_of(i) for i in expected}  # compared, or built
        _assert_same_as_fresh(collection, out, tmp_path)
        return result

    assert rebuild().rebuilt == 0  # nothing changed: nothing read
    time.sleep(0.02)  # time stamps tick coarsely: changes below get later ones

    # Edited in place, same size, mtime put back: only its ctime tells.
    path = collection / _rel_of(5) / f"{_name(5)}-1.0-py3-none-any.toml"
    before = path.stat()
    path.write_text(path.read_text().replace("size = 1000", "size = 1001"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert rebuild(5).rebuilt == 1

    # Replaced by a rename (an editor's save), same size and mtime: its inode tells.
    path = collection / _rel_of(6) / f"{_name(6)}-1.0-py3-none-any.toml"
    before = path.stat()
    edited = path.with_name(path.name + ".new")
    edited.write_text(path.read_text().replace("size = 1000", "size = 1002"))
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))
    edited.replace(path)
    assert rebuild(6).rebuilt == 1

    # A file added beside a project's declaration: its directory's time stamps tell.
    added = _write(collection, 8, version="2.0")
    assert rebuild(8).rebuilt == 1
    added.unlink()  # and removed again
    assert rebuild(8).rebuilt == 1

    _remove_project(collection, 9)  # a project directory removed (9 named 4: 4 too)
    assert rebuild(4).rebuilt == 1
    _write(collection, 9, dependencies=[f"{_name(4)}>=1"])  # and back
    assert rebuild(9, 4).rebuilt == 2

    # A project renamed: its directory and declaration moved to the new name's place.
    _remove_project(collection, 10)
    renamed = 1000 + next(i for i in range(1000) if _rel_of(1000 + i)[:2] == _rel_of(10)[:2])
    _write(collection, renamed)
    assert rebuild(renamed, 5).rebuilt == 2  # 10 depended on 5

    # A project in a prefix directory that did not exist before.
    known = {p.name for p in collection.iterdir()}
    new = next(i for i in range(2000, 9000) if _rel_of(i)[:2] not in known)
    _write(collection, new)
    assert rebuild(new).rebuilt == 1
    _remove_project(collection, new)  # the prefix directory left empty, then removed
    assert rebuild().rebuilt == 0
    (collection / _rel_of(new)).parent.rmdir()
    assert rebuild().rebuilt == 0


def _rel_of(i: int) -> str:
    return relpath_for(f"{_name(i)}-1.0-py3-none-any.whl").parent.as_posix()


def test_a_sweep_started_ahead_is_taken_only_for_its_state(tmp_path: Path, monkeypatch) -> None:
    """The command line starts the stat sweep in forked children before the build modules
    load: their results are taken when the state is the one they swept by, each prefix
    directory swept once; after another build into OUT they are not (the build sweeps
    every prefix directory again). Either way the result is a fresh build's."""
    import fcntl
    import termios

    from wheelset.build import sweep

    reads = _counting_reads(monkeypatch)
    monkeypatch.setattr(sweep, "_AHEAD_FROM", 0)
    log = tmp_path / "swept"
    sweep_prefix = sweep._sweep_prefix

    def logged(fd: int, prefix: str, *rest):
        with open(log, "a") as f:  # appends of whole lines, from any process
            f.write(f"{os.getpid()} {prefix}\n")
        return sweep_prefix(fd, prefix, *rest)

    def swept() -> list[tuple[int, str]]:
        lines = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return [(int(pid), prefix) for pid, prefix in (line.split() for line in lines)]

    def queue_emptied() -> None:
        queue = sweep._ahead[3][0]  # type: ignore[index]
        waiting = bytearray(4)
        for _ in range(500):
            fcntl.ioctl(queue, termios.FIONREAD, waiting)
            if not int.from_bytes(waiting, sys.byteorder):
                return
            time.sleep(0.01)
        raise AssertionError("the children took nothing")

    monkeypatch.setattr(sweep, "_sweep_prefix", logged)
    collection = _collection(tmp_path / "declarations", 40)
    out = tmp_path / "out"
    build_collection(collection, out=out)
    prefixes = sorted(p.name for p in collection.iterdir() if p.is_dir())
    time.sleep(0.02)

    _write(collection, 20, size=3000, dependencies=[f"{_name(10)}>=1"])
    swept()
    sweep.start(str(collection), out)
    queue_emptied()  # the children have taken every prefix directory
    reads.clear()
    assert build_collection(collection, out=out).rebuilt == 1
    assert set(reads) == {_rel_of(20)}
    done = swept()
    assert sorted(prefix for _, prefix in done) == prefixes  # each once
    assert os.getpid() not in {pid for pid, _ in done}  # all of them in the children
    _assert_same_as_fresh(collection, out, tmp_path)

    _write(collection, 21, size=3000, dependencies=[f"{_name(10)}>=1"])
    swept()
    sweep.start(str(collection), out)
    _write(collection, 22, size=3000, dependencies=[f"{_name(11)}>=1"])
    assert _start(collection, out, 1).wait() == 0  # another build: the state changes
    assert build_collection(collection, out=out).rebuilt == 0  # it built 21 and 22
    here = sorted(prefix for pid, prefix in swept() if pid == os.getpid())
    assert here == prefixes and sweep._ahead is None  # swept again, here
    _assert_same_as_fresh(collection, out, tmp_path)


def test_a_plain_build_runs_without_the_app(tmp_path: Path) -> None:
    """`wheelset build DIR --out OUT` runs before the typer app loads (wheelset.cli.fast),
    printing what the app prints; a bad declaration is one line, exit 1."""
    from typer.testing import CliRunner

    from tests.client.test_install_fast import run_probe
    from wheelset.cli import app

    collection = _collection(tmp_path / "declarations", 20)
    out = tmp_path / "out"
    args = ["build", str(collection), "--out", str(out)]
    first = run_probe(args, tmp_path / "cache", {"typer", "pydantic", "httpx"})
    assert first.stderr.endswith("loaded: []\n")
    _write(collection, 3, size=5)
    fast = run_probe(args, tmp_path / "cache", {"typer"})
    through_app = CliRunner().invoke(app, args)
    assert through_app.exit_code == 0, through_app.output
    assert fast.stdout == through_app.stdout == f"{read_build_root(out)}\n"
    summary = f"20 wheels, 20 projects, 63 blocks; wrote {out} ("
    assert fast.stderr.startswith(summary + "2 of 20 projects rebuilt)\n")  # 3, and 1
    assert through_app.stderr == summary + "0 of 20 projects rebuilt)\n"

    bad = _write(collection, 4)
    bad.write_text(bad.read_text().replace("content-id", "content_id"))
    done = subprocess.run(
        [sys.executable, "-m", "wheelset.cli", *args], capture_output=True, text=True
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: ") and bad.name in done.stderr
    assert done.stderr.count("\n") == 1


def test_a_prefix_directory_left_empty_builds_fresh_and_incrementally(tmp_path: Path) -> None:
    # `rm -r` of a project leaves its prefix directory behind when no other project
    # shares the prefix: a fresh build failed on it while recording its state.
    collection = _collection(tmp_path / "declarations", 30)
    reference = build_collection(collection, car=tmp_path / "reference.car").root
    solo = _write(collection, 99999, dependencies=[])
    prefix = solo.parent.parent
    assert [p.name for p in prefix.iterdir()] == [solo.parent.name]
    for p in solo.parent.iterdir():
        p.unlink()
    solo.parent.rmdir()
    out = tmp_path / "out"
    fresh = build_collection(collection, out=out)
    assert fresh.root == reference and prefix.is_dir()
    assert build_collection(collection, out=out).rebuilt == 0
    _write(collection, 99999, dependencies=[])  # back into the empty prefix
    back = build_collection(collection, out=out)
    assert back.rebuilt == 1 and back.root != reference
    assert _assert_same_as_fresh(collection, out, tmp_path).root == back.root
