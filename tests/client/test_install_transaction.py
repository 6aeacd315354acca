"""All or nothing: `wheelset install` interrupted (SIGINT, SIGTERM, kill -9) or failing at many
points of the install phase leaves the environment as it was, or recoverable by a retry."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.roots import PublishedRoot, publish_test_root
from tests.support.wheels import make_wheel

STATE = ".wheelset-transaction"


@pytest.fixture(scope="module", autouse=True)
def node_blocks(ipfs_node) -> Iterator[None]:
    """Root blocks come from the node's RPC: its gateway is path-only (no verifiable blocks)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WHEELSET_API", ipfs_node.api_url)
        yield


def _package(name: str, version: str, modules: int) -> dict[str, bytes]:
    files = {f"{name}/__init__.py": f"VERSION = {version!r}\n".encode()}
    for i in range(modules):
        files[f"{name}/m{i}.py"] = f"# {name} {version} module {i}\nX = {i}\n".encode()
    return files


def _with_scripts(name: str, version: str, modules: int) -> dict[str, bytes]:
    files = _package(name, version, modules)
    dist_info = f"{name}-{version}.dist-info"
    files[f"{dist_info}/entry_points.txt"] = (
        f"[console_scripts]\n{name}-cli = {name}:main\n".encode()
    )
    files[f"{name}-{version}.data/scripts/{name}-tool"] = b"#!python\nprint('tool')\n"
    return files


@pytest.fixture(scope="module")
def roots(
    ipfs_node, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PublishedRoot, PublishedRoot]:
    d = tmp_path_factory.mktemp("wheels")
    old = [
        make_wheel(d / "old", "pkg-x", "1.0", files=_with_scripts("pkg_x", "1.0", 10)),
        make_wheel(d / "old", "pkg-y", "1.0", files=_package("pkg_y", "1.0", 5)),
    ]
    new = [
        make_wheel(d / "new", "pkg-x", "2.0", files=_with_scripts("pkg_x", "2.0", 12)),
        make_wheel(d / "new", "pkg-y", "2.0", files=_package("pkg_y", "2.0", 3)),
        make_wheel(
            d / "new",
            "pkg-z",
            "1.0",
            requires_dist=["pkg-x>=2", "pkg-y>=2"],
            files=_package("pkg_z", "1.0", 8),
        ),
    ]
    return publish_test_root(ipfs_node.api_url, old), publish_test_root(ipfs_node.api_url, new)


def run(args: list[str], cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wheelset.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=_env(cache, env),
        timeout=120,
    )


def _env(cache: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("WHEELSET_") or k == "WHEELSET_API"
    }
    env.pop("VIRTUAL_ENV", None)
    env.update({"WHEELSET_LOCAL_GATEWAY": "off", "WHEELSET_CACHE_DIR": str(cache)})
    env.update(extra)
    return env


def snapshot(directory: Path) -> dict[str, str]:
    """Every file and directory under ``directory``: path -> content hash (or 'dir')."""
    found: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        rel = str(path.relative_to(directory))
        if path.is_dir() and not path.is_symlink():
            found[rel] = "dir"
        else:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def states(roots, ipfs_node, tmp_path_factory: pytest.TempPathFactory):
    """(cache, before directory, its snapshot, the snapshot after a full install)."""
    old, new = roots
    base = tmp_path_factory.mktemp("states")
    cache = base / "cache"
    before = base / "before"
    gateway = ["--gateway", ipfs_node.gateway_url]
    done = run(["install", old.cid, "pkg-x", "pkg-y", *gateway, "--target", before], cache)
    assert done.returncode == 0, done.stderr
    after = base / "after"
    shutil.copytree(before, after, symlinks=True)
    done = run(["install", new.cid, "pkg-z", *gateway, "--target", after], cache)
    assert done.returncode == 0, done.stderr
    assert "pkg-x 2.0 (replaced 1.0)" in done.stdout
    return cache, before, snapshot(before), snapshot(after)


def _start_paused(
    new: PublishedRoot, target: Path, cache: Path, step: int, sentinel: Path
) -> subprocess.Popen[str] | None:
    """Start an install that pauses after its ``step``-th file change; None if it finished
    before reaching that step."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wheelset.cli",
            "install",
            str(new.cid),
            "pkg-z",
            "--gateway",
            "http://127.0.0.1:9",
            "--target",
            str(target),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(cache, {"WHEELSET_TEST_PAUSE_AFTER": f"{step}:{sentinel}"}),
    )
    deadline = time.monotonic() + 90
    while not sentinel.exists():
        if process.poll() is not None:
            _, err = process.communicate()
            assert process.returncode == 0, err
            return None
        assert time.monotonic() < deadline, "the install never reached its pause point"
        time.sleep(0.02)
    return process


def _steps(total_hint: int, first: int, stride: int) -> list[int]:
    return list(range(first, total_hint, stride))


@pytest.mark.parametrize(
    ("sig", "code", "word", "first"),
    [(signal.SIGINT, 130, "interrupted", 1), (signal.SIGTERM, 143, "terminated", 4)],
)
def test_a_signal_at_any_point_of_the_install_leaves_the_environment_unchanged(
    roots, states, tmp_path: Path, sig: int, code: int, word: str, first: int
) -> None:
    _, new = roots
    cache, before, expected, _ = states
    interrupted = 0
    for step in _steps(200, first, 6):
        target = tmp_path / f"env-{step}"
        shutil.copytree(before, target, symlinks=True)
        process = _start_paused(new, target, cache, step, tmp_path / f"paused-{step}")
        if process is None:
            break  # the install has fewer file changes than this
        process.send_signal(sig)
        out, err = process.communicate(timeout=60)
        assert process.returncode == code, (step, err)
        assert err == f"{word}\n" and out == "", (step, err)
        assert snapshot(target) == expected, f"changed after {sig!r} at step {step}"
        interrupted += 1
    assert interrupted >= 10  # the install phase has that many points: all were tried


def test_only_the_main_thread_can_receive_a_signal_during_the_install(
    roots, states, tmp_path: Path
) -> None:
    """A signal the kernel hands to another thread only sets a flag, which the main thread
    (paused, or blocked in a long call) would see too late: every other thread alive while
    the environment changes holds SIGINT and SIGTERM."""
    _, new = roots
    cache, before, expected, _ = states
    target = tmp_path / "env"
    shutil.copytree(before, target, symlinks=True)
    process = _start_paused(new, target, cache, 4, tmp_path / "paused")
    assert process is not None
    try:
        held = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
        masks = {}
        for task in (Path("/proc") / str(process.pid) / "task").iterdir():
            if task.name != str(process.pid):
                status = (task / "status").read_text().splitlines()
                masks[task.name] = int(next(x for x in status if x.startswith("SigBlk:"))[7:], 16)
        assert masks  # the wheel pool's threads are alive at this point
        assert all(mask & held == held for mask in masks.values()), masks
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert process.returncode == 143 and snapshot(target) == expected


def test_kill_9_at_any_point_is_repaired_or_recovered_by_the_next_run(
    roots, states, ipfs_node, tmp_path: Path
) -> None:
    _, new = roots
    cache, before, expected, after = states
    killed = 0
    for step in _steps(200, 2, 7):
        target = tmp_path / f"env-{step}"
        shutil.copytree(before, target, symlinks=True)
        process = _start_paused(new, target, cache, step, tmp_path / f"paused-{step}")
        if process is None:
            break
        process.kill()
        process.communicate()
        assert (target / STATE / "journal.json").exists()
        if killed % 2 == 0:
            # An explicit repair rolls back to the state before the install...
            repaired = run(["install", "--repair", "--target", target], cache)
            assert repaired.returncode == 0, repaired.stderr
            assert "rolled back an interrupted change" in repaired.stderr
            assert snapshot(target) == expected, f"not repaired after kill -9 at step {step}"
        # ... and a plain retry recovers first, then installs.
        retry = run(
            ["install", new.cid, "pkg-z", "--gateway", ipfs_node.gateway_url, "--target", target],
            cache,
        )
        assert retry.returncode == 0, (step, retry.stderr)
        assert snapshot(target) == after, f"retry after kill -9 at step {step} differs"
        killed += 1
    assert killed >= 8


def test_a_kill_after_the_commit_point_is_finished_not_undone(
    roots, states, ipfs_node, tmp_path: Path
) -> None:
    """A journal that says committed: recovery drops the backups and keeps the new state."""
    _, new = roots
    cache, before, _, after = states
    target = tmp_path / "env"
    shutil.copytree(before, target, symlinks=True)
    done = run(
        ["install", new.cid, "pkg-z", "--gateway", ipfs_node.gateway_url, "--target", target],
        cache,
    )
    assert done.returncode == 0, done.stderr
    # Recreate what a kill between commit and clean-up leaves: a committed journal, backups.
    state = target / STATE
    (state / "backup").mkdir(parents=True)
    (state / "backup" / "0").write_text("old content")
    (state / "journal.json").write_text(
        '{"version": 1, "state": "committed", "creates": [], "dirs": [], "removes": ["x"]}'
    )
    repaired = run(["install", "--repair", "--target", target], cache)
    assert repaired.returncode == 0 and "finished an interrupted change" in repaired.stderr
    assert snapshot(target) == after


def test_a_failure_in_the_middle_restores_the_replaced_version(
    roots, states, ipfs_node, tmp_path: Path
) -> None:
    """A file where the new version needs a directory: the old versions are already moved
    aside when it fails, and come back."""
    _, new = roots
    cache, before, _, _ = states
    target = tmp_path / "env"
    shutil.copytree(before, target, symlinks=True)
    (target / "pkg_z").write_text("a file in the way of a package directory")
    expected = snapshot(target)
    done = run(
        ["install", new.cid, "pkg-z", "--gateway", ipfs_node.gateway_url, "--target", target],
        cache,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ENVIRONMENT ")
    assert "it was left as it was" in done.stderr
    assert snapshot(target) == expected


def test_a_file_of_no_distribution_is_a_conflict_before_any_change(
    roots, states, ipfs_node, tmp_path: Path
) -> None:
    _, new = roots
    cache, before, _, _ = states
    target = tmp_path / "env"
    shutil.copytree(before, target, symlinks=True)
    (target / "pkg_z").mkdir()
    (target / "pkg_z" / "m3.py").write_text("someone else's file")
    expected = snapshot(target)
    done = run(
        ["install", new.cid, "pkg-z", "--gateway", ipfs_node.gateway_url, "--target", target],
        cache,
    )
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: {target / 'pkg_z' / 'm3.py'}: CONFLICT already exists")
    assert snapshot(target) == expected


def test_an_interrupted_fetch_leaves_no_empty_cache_directories(
    roots, ipfs_node, tmp_path: Path
) -> None:
    from tests.support.gateways import tampering_proxy
    from tests.support.trustless import trustless_server

    _, new = roots
    cache = tmp_path / "cache"
    stalled = next(str(d.content_id) for d in new.declarations.values() if d.name == "pkg-z")
    # The node left out (it would give the wheel first, and the fetch to interrupt is the
    # stalling gateway's): the root's blocks come into the cache first by a dry run through
    # a trustless gateway (a node's blocks are not cached).
    target = ["--target", str(tmp_path / "t")]
    env = _env(cache, {})
    del env["WHEELSET_API"]
    with trustless_server(new.blocks) as blocks:
        dry = subprocess.run(
            [sys.executable, "-m", "wheelset.cli", "install", str(new.cid), "pkg-z",
             "--dry-run", "--gateway", blocks.url, *target],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    with tampering_proxy(ipfs_node.gateway_url, "stall", only=stalled, stall_seconds=8) as slow:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wheelset.cli",
                "install",
                str(new.cid),
                "pkg-z",
                "--gateway",
                slow.url,
                *target,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 60
        while not (cache / "files" / stalled).exists():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    leftovers = [p for p in cache.rglob("*") if p.is_dir() and not any(p.iterdir())]
    assert leftovers == []
    assert not (tmp_path / "t").exists()
