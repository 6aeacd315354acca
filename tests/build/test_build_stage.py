"""`wheelset build`: root CID last on stdout, deterministic CAR of exactly the generated blocks,
build directories, PEP 658 metadata, and clear errors for bad input."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.support.collection import write_collection
from tests.support.index import serve_directory, write_index
from tests.support.node import add_directory
from tests.support.wheels import make_wheel
from wheelset.build.manifest import manifest_of
from wheelset.build.stage import build_collection, read_build_root
from wheelset.build.tree import build_root
from wheelset.cli import app
from wheelset.errors import WheelsetError
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import read_car
from wheelset.ipfs.cid import CID
from wheelset.ipfs.dagpb import decode_node
from wheelset.ipfs.importer import import_bytes
from wheelset.ipfs.rpc import KuboRpc
from wheelset.model.collection import read_collection
from wheelset.model.declarations import prefix_of, written_record

runner = CliRunner()


@pytest.fixture
def wheels(tmp_path: Path) -> list[Path]:
    out = tmp_path / "wheels"
    return [
        make_wheel(out, "alpha", "1.0", requires_python=">=3.8"),
        make_wheel(out, "beta", "2.0", requires_dist=["alpha>=1"], extras=["fast"]),
        make_wheel(out, "native", "0.3", tag="cp311-cp311-manylinux_2_28_x86_64"),
        make_wheel(out, "native", "0.3", tag="cp311-cp311-win_amd64"),
    ]


@pytest.fixture
def collection(tmp_path: Path, wheels: list[Path]) -> Path:
    write_collection(tmp_path / "declarations", wheels)
    return tmp_path / "declarations"


@pytest.fixture
def index(tmp_path: Path, wheels: list[Path]) -> Iterator[str]:
    write_index(tmp_path / "site", wheels)
    with serve_directory(tmp_path / "site") as base:
        yield f"{base}/simple"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def test_cli_prints_root_last_and_builds_deterministically(collection: Path, tmp_path) -> None:
    first = runner.invoke(app, ["build", str(collection), "--car", str(tmp_path / "1.car")])
    second = runner.invoke(app, ["build", str(collection), "--car", str(tmp_path / "2.car")])
    assert first.exit_code == 0, first.stderr
    root = first.stdout.splitlines()[-1]
    assert first.stdout == f"{root}\n" == second.stdout
    assert root == str(build_collection(collection).root)
    assert "4 wheels, 3 projects" in first.stderr
    assert (tmp_path / "1.car").read_bytes() == (tmp_path / "2.car").read_bytes()


def test_car_holds_exactly_the_generated_blocks_depth_first(
    collection: Path, tmp_path: Path
) -> None:
    result = build_collection(collection, car=tmp_path / "root.car")
    car = read_car((tmp_path / "root.car").read_bytes())  # verifies every block against its CID
    assert car.roots == (result.root,)
    platforms, decls = read_collection(collection)
    store = MemoryBlockStore()  # the same root built in memory, all at once
    assert build_root(manifest_of(platforms, decls), store=store).cid == result.root
    sections = car.blocks
    cids = [cid for cid, _ in sections]
    assert cids[0] == result.root
    assert len(set(cids)) == len(cids) == len(store) == result.blocks
    assert set(cids) == {cid for cid, _ in store.items()}
    wheel_cids = {d.content_id for d in decls}
    assert not wheel_cids & set(cids)
    linked_from_earlier: set[CID] = {result.root}
    for cid, block in sections:
        assert cid in linked_from_earlier  # a parent always precedes its children
        linked_from_earlier.update(link.cid for link in decode_node(block).links)
    assert wheel_cids <= linked_from_earlier


def test_car_imports_to_the_same_root_on_the_node(
    collection: Path, wheels, ipfs_node, tmp_path: Path
) -> None:
    result = build_collection(collection, car=tmp_path / "root.car")
    with httpx.Client() as http:
        rpc = KuboRpc(ipfs_node.api_url, http=http)
        for wheel in wheels:
            rpc.add(wheel.read_bytes(), wheel.name, pin=False)
        roots = rpc.dag_import((tmp_path / "root.car").read_bytes(), pin_roots=True)
    assert [(r.cid, r.pin_error) for r in roots] == [(result.root, "")]


def test_build_directory_round_trip(collection: Path, wheels, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(collection), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    root = result.stdout.strip()
    assert (out / "ROOT").read_text() == f"{root}\n"
    assert sorted(p.relative_to(out / "tree").as_posix() for p in out.rglob("tree/**/*.*")) == [
        "alpha/index.html",
        "alpha/index.json",
        "beta/index.html",
        "beta/index.json",
        "index.html",
        "native/index.html",
        "native/index.json",
        "wheelset.json",
    ]
    assert read_car((out / "root.car").read_bytes()).roots == (build_collection(collection).root,)
    assert str(read_build_root(out)) == root
    header = json.loads((out / "tree" / "wheelset.json").read_text())
    assert header == {
        "format": "wheelset-root",
        "version": 2,
        "platforms": header["platforms"],
        "projects": 3,
        "wheels": 4,
    }
    project = json.loads((out / "tree" / "native" / "index.json").read_text())
    assert project["meta"] == {"api-version": "1.1"} and project["versions"] == ["0.3"]
    assert [f["filename"] for f in project["files"]] == sorted(w.name for w in wheels[2:])
    assert project["files"][0]["wheelset"]["path"].startswith(f"{prefix_of('native')}/native/")
    again = runner.invoke(app, ["build", str(collection), "--out", str(out)])
    assert again.exit_code == 0 and again.stdout == result.stdout
    assert "0 of 3 projects rebuilt" in again.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_out_never_clobbers_other_directories(collection: Path, tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    result = runner.invoke(app, ["build", str(collection), "--out", str(out)])
    assert result.exit_code == 1
    assert "not a wheelset build directory" in result.stderr
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".precious")] == []


def test_a_misplaced_declaration_names_the_file(collection: Path, tmp_path: Path) -> None:
    decl = next(collection.rglob("beta-*.toml"))
    decl.rename(decl.parent.parent / decl.name)
    result = runner.invoke(app, ["build", str(collection), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (
        f"error: {prefix_of('beta')}/{decl.name}: LAYOUT declarations live at "
        "<prefix>/<project>/<wheel>.toml\n"
    )
    assert not (tmp_path / "out").exists()


def test_unreadable_root_file_is_refused(collection: Path, tmp_path: Path) -> None:
    build_collection(collection, out=tmp_path / "out")
    (tmp_path / "out" / "ROOT").write_text("not a CID\n")
    with pytest.raises(WheelsetError, match="unreadable ROOT"):
        read_build_root(tmp_path / "out")


def _metadata_of(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA")))


def test_with_metadata_and_wheels_equals_node_add_of_the_tree(
    collection: Path, wheels: list[Path], index: str, tmp_path: Path, ipfs_node
) -> None:
    out = tmp_path / "out"
    args = ["build", str(collection), "--out", str(out), "--with-metadata", "--with-wheels"]
    result = runner.invoke(app, [*args, "--index-url", index])
    assert result.exit_code == 0, result.stderr
    assert "METADATA: 4 fetched, 0 cached" in result.stderr
    root = result.stdout.strip()
    assert add_directory(ipfs_node.api_url, out / "tree") == root

    page = (out / "tree" / "beta" / "index.html").read_text()
    metadata = _metadata_of(wheels[1])
    digest = hashlib.sha256(metadata).hexdigest()
    assert "data-dist-info-metadata" not in page  # PEP 714: pip < 23.2 misreads it
    assert f'data-core-metadata="sha256={digest}"' in page
    assert (out / "tree" / "beta" / f"{wheels[1].name}.metadata").read_bytes() == metadata
    doc = json.loads((out / "tree" / "beta" / "index.json").read_text())
    (entry,) = doc["files"]
    assert entry["core-metadata"] == {"sha256": digest}
    assert entry["wheelset"]["metadata"]["size"] == len(metadata)

    cached = runner.invoke(app, ["build", str(collection), "--with-metadata"])
    assert cached.exit_code == 0, cached.stderr  # offline now: every METADATA is cached
    assert cached.stdout.strip() == root and "0 fetched, 4 cached" in cached.stderr


def test_metadata_blocks_are_in_the_car(
    collection: Path, wheels, index: str, tmp_path: Path
) -> None:
    from wheelset.fetch.cache import Cache, default_cache_dir
    from wheelset.fetch.metadata_cache import collect_metadata
    from wheelset.fetch.wheels import WheelFetcher

    cache = Cache(default_cache_dir())
    with httpx.Client() as http:
        fetcher = WheelFetcher(http=http, index_url=index, cache=cache)
        build_collection(
            collection,
            car=tmp_path / "root.car",
            metadata=lambda decls: collect_metadata(decls, cache=cache, fetcher=fetcher)[0],
        )
    car_cids = {cid for cid, _ in read_car((tmp_path / "root.car").read_bytes()).blocks}
    for wheel in wheels:
        assert import_bytes(_metadata_of(wheel)).cid in car_cids


def test_missing_size_names_the_file(collection: Path) -> None:
    decl = next(collection.rglob("beta-*.toml"))
    decl.write_text("\n".join(line for line in decl.read_text().splitlines() if "size" not in line))
    result = runner.invoke(app, ["build", str(collection)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: 9c/beta/beta-2.0-py3-none-any.toml: BUILD no `size`")
    assert len(result.stderr.splitlines()) == 1


def test_no_platforms_file(collection: Path, tmp_path: Path) -> None:
    (collection / "platforms.toml").unlink()
    result = runner.invoke(app, ["build", str(collection), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.stderr == "error: platforms.toml: PLATFORMS not found\n"
    assert not (tmp_path / "out").exists()


def test_with_wheels_needs_out(collection: Path) -> None:
    assert runner.invoke(app, ["build", str(collection), "--with-wheels"]).exit_code == 2


def test_outputs_get_ordinary_permissions(collection: Path, tmp_path: Path) -> None:
    from wheelset.fsutil import current_umask

    out, car = tmp_path / "out", tmp_path / "root.car"
    result = runner.invoke(app, ["build", str(collection), "--out", str(out), "--car", str(car)])
    assert result.exit_code == 0, result.stderr
    assert out.stat().st_mode & 0o777 == 0o777 & ~current_umask()
    assert car.stat().st_mode & 0o777 == 0o666 & ~current_umask()


def test_declarations_not_in_the_written_form_build_the_same(
    collection: Path, tmp_path: Path
) -> None:
    """Files `wheelset declare` did not write (here: a comment, keys in another order)
    are read the general way and build the same root and CAR."""
    written = build_collection(collection, car=tmp_path / "written.car")
    for decl in collection.rglob("*-*.toml"):
        rel = decl.relative_to(collection).as_posix()
        assert written_record(decl.read_text(), rel) is not None  # read the fast way before
        lines = decl.read_text().splitlines(keepends=True)
        edited = "# edited by hand\n" + "".join(reversed(lines[:2])) + "".join(lines[2:])
        decl.write_text(edited)
        assert written_record(edited, rel) is None
    edited = build_collection(collection, car=tmp_path / "edited.car", jobs=2)
    assert edited.root == written.root
    assert (tmp_path / "edited.car").read_bytes() == (tmp_path / "written.car").read_bytes()


@pytest.mark.parametrize("form", ["written", "edited"])
def test_a_bad_content_id_names_the_file(collection: Path, tmp_path: Path, form: str) -> None:
    decl = next(collection.rglob("beta-*.toml"))
    text = decl.read_text()
    cid = next(line for line in text.splitlines() if line.startswith("content-id = "))
    text = text.replace(cid, 'content-id = "QmThisIsNotAContentIdentifierAtAllxxxxxxxxxxxx"')
    decl.write_text(text if form == "written" else "# by hand\n" + text)
    result = runner.invoke(app, ["build", str(collection), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: {prefix_of('beta')}/beta/{decl.name}: ")
    assert "content-id" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_odd_entries_in_a_project_directory(collection: Path, tmp_path: Path) -> None:
    """A --car build lists project directories without telling files from directories
    first: what is not a declaration file is still ignored, and a declaration that is not
    a regular file still fails with the one-line error naming it."""
    before = build_collection(collection, car=tmp_path / "a.car").root
    project = next(p for p in collection.glob("*/alpha") if p.is_dir())
    (project / "README").write_text("notes\n")
    (project / "empty.toml").mkdir()  # a directory holding no declaration
    assert build_collection(collection, car=tmp_path / "b.car").root == before
    assert (tmp_path / "a.car").read_bytes() == (tmp_path / "b.car").read_bytes()

    (project / "empty.toml").rmdir()
    (project / "README").unlink()
    declaration = next(project.glob("*.toml"))
    moved = tmp_path / declaration.name
    declaration.rename(moved)
    declaration.symlink_to(moved)
    with pytest.raises(WheelsetError, match="symbolic link") as raised:
        build_collection(collection, car=tmp_path / "c.car")
    assert raised.value.path is not None and str(raised.value.path).endswith(declaration.name)
    assert "\n" not in str(raised.value)

    declaration.unlink()
    nested = project / "old"
    nested.mkdir()
    moved.rename(nested / moved.name)
    with pytest.raises(WheelsetError, match="declarations live at") as raised:
        build_collection(collection, car=tmp_path / "c.car")
    assert str(raised.value.path).endswith(f"alpha/old/{moved.name}")


def test_a_killed_builds_spools_are_removed_by_the_next_build(
    collection: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    dead = scratch / f"wheelset-build-{ended.stdout.strip()}-k9"  # as kill -9 leaves it
    dead.mkdir()
    (dead / "spool-1").write_bytes(b"x" * 1000)
    running = scratch / f"wheelset-build-{os.getppid()}-live"  # a build still running
    running.mkdir()
    other = scratch / "wheelset-build-abc123"  # not of this form: not ours to judge
    other.mkdir()
    build_collection(collection, car=tmp_path / "root.car")
    assert not dead.exists()
    assert running.exists() and other.exists()
    assert sorted(p.name for p in scratch.iterdir()) == sorted([running.name, other.name])


def test_a_killed_builds_car_temp_is_removed_by_the_next_build(
    collection: Path, tmp_path: Path
) -> None:
    """The CAR is written to a temp file beside FILE (then renamed): one that kill -9 left
    there is removed by the next build that writes there; one of a running build stays."""
    import subprocess
    import sys

    from wheelset.fsutil import is_temp_name

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    dead = out / f".root.car.{ended.stdout.strip()}-k9.wheelset-tmp"
    dead.write_bytes(b"half a CAR")
    running = out / f".root.car.{os.getppid()}-live.wheelset-tmp"
    running.write_bytes(b"being written")
    result = build_collection(collection, car=out / "root.car")
    assert (out / "root.car").stat().st_size > 0 and result.root is not None
    assert sorted(p.name for p in out.iterdir() if is_temp_name(p.name)) == [running.name]
