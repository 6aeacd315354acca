"""Fork core: init writes a collection back out; sync is a per-project three-way merge."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

import pytest

from wheelset.build.manifest import manifest_of
from wheelset.build.stage import build_collection
from wheelset.build.tree import build_root
from wheelset.client.root import Root, open_root, parse_root_ref
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import write_car
from wheelset.ipfs.importer import import_bytes
from wheelset.maintain.fork import (
    ChangeKind,
    ForkError,
    Upstream,
    apply_merge,
    init_collection,
    merge_collections,
    read_upstream,
    upstream_of,
)
from wheelset.model.collection import read_collection
from wheelset.model.declarations import (
    dump_declaration,
    load_declaration,
    parse_declaration,
    relpath_for,
)

PLATFORMS = {"python-versions": ["3.11"], "systems": ["manylinux_2_28_x86_64"]}


def decl(name: str, version: str, deps: tuple[str, ...] = ()):
    filename = f"{name}-{version}-py3-none-any.whl"
    table = {
        "source": f"index:{filename}",
        "content-id": str(import_bytes(filename.encode()).cid),
        "size": len(filename),
        "extras": [],
        "dependencies": list(deps),
    }
    return parse_declaration(table, PurePosixPath(str(relpath_for(filename))))


def manifest(*decls, platforms=PLATFORMS) -> Upstream:
    return Upstream(platforms, tuple(sorted(decls, key=lambda d: str(d.path))))


def root_of(upstream: Upstream, directory: Path) -> Root:
    """The upstream built into a root, opened from a CAR file."""
    store = MemoryBlockStore()
    built = build_root(manifest_of(upstream.platforms, upstream.declarations), store=store)
    car = directory / f"{built.cid}.car"
    with car.open("wb") as out:
        write_car(out, [built.cid], store.items())
    return open_root(parse_root_ref(str(car)))


def kinds(result) -> dict[str, ChangeKind]:
    return {c.project: c.kind for c in result.changes}


def test_upstream_upgrade_taken_where_fork_did_not_touch() -> None:
    base = manifest(decl("alpha", "1.0"), decl("beta", "1.0"))
    theirs = manifest(decl("alpha", "2.0"), decl("beta", "1.0"))
    result = merge_collections(base, theirs, base.declarations, PLATFORMS)
    assert {(d.name, str(d.version)) for d in result.declarations} == {
        ("alpha", "2.0"),
        ("beta", "1.0"),
    }
    assert kinds(result) == {"alpha": ChangeKind.TAKEN}


def test_local_addition_kept_and_conflict_reported_not_overwritten() -> None:
    base = manifest(decl("alpha", "1.0"), decl("beta", "1.0"))
    theirs = manifest(decl("alpha", "2.0"), decl("beta", "1.0"))
    ours = [decl("alpha", "1.5"), decl("beta", "1.0"), decl("private", "0.1")]
    result = merge_collections(base, theirs, ours, PLATFORMS)
    versions = {d.name: str(d.version) for d in result.declarations}
    assert versions == {"alpha": "1.5", "beta": "1.0", "private": "0.1"}
    assert kinds(result) == {"alpha": ChangeKind.CONFLICT, "private": ChangeKind.KEPT}
    assert [c.project for c in result.conflicts] == ["alpha"]


def test_pruned_project_stays_removed() -> None:
    base = manifest(decl("alpha", "1.0"), decl("beta", "1.0"))
    theirs = manifest(decl("alpha", "1.0"), decl("beta", "2.0"))
    result = merge_collections(base, theirs, [decl("alpha", "1.0")], PLATFORMS)
    assert [d.name for d in result.declarations] == ["alpha"]
    assert kinds(result) == {"beta": ChangeKind.KEPT_REMOVED}


def test_upstream_removal_taken_and_platforms_follow_upstream() -> None:
    base = manifest(decl("alpha", "1.0"), decl("beta", "1.0"))
    new_platforms = dict(PLATFORMS, systems=["manylinux_2_28_x86_64", "win_amd64"])
    theirs = manifest(decl("alpha", "1.0"), platforms=new_platforms)
    result = merge_collections(base, theirs, base.declarations, PLATFORMS)
    assert [d.name for d in result.declarations] == ["alpha"]
    assert result.platforms == new_platforms
    assert kinds(result) == {"beta": ChangeKind.TAKEN, "platforms.toml": ChangeKind.TAKEN}


def test_init_then_apply_merge_on_disk(tmp_path: Path) -> None:
    base = manifest(decl("alpha", "1.0"), decl("beta", "1.0"))
    root = root_of(base, tmp_path)
    target = tmp_path / "fork"
    assert init_collection(root, target) == (2, 2)
    recorded_root, recorded = read_upstream(target)
    assert recorded_root == root.cid and recorded.declarations == base.declarations
    assert set(recorded.directories) == {"alpha", "beta"}
    loaded = [load_declaration(p, target) for p in sorted(target.glob("*/*/*.toml"))]
    assert loaded == list(base.declarations)

    new = root_of(manifest(decl("alpha", "2.0"), decl("beta", "1.0")), tmp_path)
    theirs = upstream_of(new, recorded)
    beta = next(d for d in recorded.declarations if d.name == "beta")
    assert any(d is beta for d in theirs.declarations)  # unchanged: taken from the base
    result = merge_collections(recorded, theirs, loaded, PLATFORMS)
    apply_merge(target, result, loaded, new.cid, theirs)
    names = sorted(p.name for p in target.glob("*/*/*.toml"))
    assert names == ["alpha-2.0-py3-none-any.toml", "beta-1.0-py3-none-any.toml"]
    assert read_upstream(target) == (new.cid, theirs)


def test_init_refuses_a_non_empty_target_and_leaves_it_alone(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    root = root_of(manifest(decl("alpha", "1.0")), tmp_path / "..")
    with pytest.raises(ForkError):
        init_collection(root, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_read_upstream_of_a_non_fork(tmp_path: Path) -> None:
    with pytest.raises(ForkError) as info:
        read_upstream(tmp_path)
    assert info.value.code == "FORK"


@pytest.mark.parametrize("keep", ["requests", "httpx[http2]"])
def test_prune_on_the_official_collection_keeps_declared_extras(tmp_path: Path, keep: str) -> None:
    # requests declares its 'socks' extra: check needs pysocks, so prune must keep it.
    from typer.testing import CliRunner

    from wheelset.cli import app

    official = Path(__file__).resolve().parents[2] / "declarations"
    fork = tmp_path / "fork"
    shutil.copytree(official, fork)
    runner = CliRunner()
    pruned = runner.invoke(app, ["prune", str(fork), "--keep", keep])
    assert pruned.exit_code == 0, pruned.output
    checked = runner.invoke(app, ["check", str(fork)])
    assert checked.exit_code == 0, checked.output
    kept = {p.parent.name for p in fork.glob("*/*/*.toml")}
    assert keep.split("[")[0] in kept and len(kept) < 40
    declared_extras = [
        (p.parent.name, line)
        for p in fork.glob("*/*/*.toml")
        for line in [p.read_text()]
        if "extras = [\n" in line
    ]
    assert declared_extras, "the kept set declares extras whose closure prune had to keep"


def _collection_with(directory: Path, policy: bytes | None) -> Path:
    (directory / "platforms.toml").parent.mkdir(parents=True)
    (directory / "platforms.toml").write_text(
        'python-versions = ["3.11"]\nsystems = ["manylinux_2_28_x86_64"]\n'
    )
    for d in (decl("alpha", "1.0"), decl("beta", "1.0", ("alpha>=1",))):
        dump_declaration(d, directory)
    if policy is not None:
        (directory / "policy.toml").write_bytes(policy)
    return directory


POLICY = b'# reviewed in #12\n[names]\nallow = ["tomli-w"]\n\n[licenses]\nallow = ["MIT"]\n'


@pytest.mark.parametrize("form", ["car", "out"])
def test_init_keeps_policy_and_the_fork_rebuilds_the_same_root(tmp_path: Path, form) -> None:
    collection = _collection_with(tmp_path / "upstream", POLICY)
    out = tmp_path / "out"
    built = build_collection(collection, out=out)
    root = open_root(parse_root_ref(str(out / "root.car" if form == "car" else out)))
    assert root.cid == built.root and root.policy() == POLICY
    assert "policy.toml" not in root.names()
    fork = tmp_path / "fork"
    init_collection(root, fork)
    assert (fork / "policy.toml").read_bytes() == POLICY
    assert build_collection(fork).root == built.root


def test_a_root_without_policy_is_unchanged_and_init_writes_none(tmp_path: Path) -> None:
    collection = _collection_with(tmp_path / "upstream", None)
    built = build_collection(collection, car=tmp_path / "root.car")
    platforms, decls = read_collection(collection)
    assert build_root(manifest_of(platforms, decls)).cid == built.root
    with_policy = build_collection(_collection_with(tmp_path / "other", POLICY)).root
    assert with_policy != built.root
    root = open_root(parse_root_ref(str(tmp_path / "root.car")))
    assert root.policy() is None and root.names() == ["alpha", "beta"]
    init_collection(root, tmp_path / "fork")
    assert not (tmp_path / "fork" / "policy.toml").exists()
    assert build_collection(tmp_path / "fork").root == built.root


def test_init_refuses_a_malformed_policy_in_the_root(tmp_path: Path) -> None:
    collection = _collection_with(tmp_path / "upstream", POLICY)
    out = tmp_path / "out"
    build_collection(collection, out=out)
    (out / "tree" / "policy.toml").write_bytes(b"[nonsense]\nx = 1\n")  # the user's own disk
    with pytest.raises(ForkError, match=r"policy\.toml is malformed"):
        init_collection(open_root(parse_root_ref(str(out))), tmp_path / "fork")
    assert not (tmp_path / "fork").exists()
