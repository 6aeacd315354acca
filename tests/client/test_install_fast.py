"""The typer-free paths of `wheelset`: a no-op install answered from the environment's
record (and only while the record holds), a warm install into an empty environment from the
closure recorded in the cache (and only when nothing else could change the outcome), export
and install without typer, httpx or pydantic, with the app's output and errors."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.roots import PublishedRoot, publish_test_root
from tests.support.venvs import make_venv, site_packages
from tests.support.wheels import make_wheel
from wheelset.build import stage
from wheelset.cli import app
from wheelset.client import journal, link, noop, warm
from wheelset.client.unpacked import record_hash
from wheelset.fetch.cachedir import BUCKETS

DEAD = "http://127.0.0.1:9"  # nothing listens: any fetch fails


def run(args: list[object], cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WHEELSET_")}
    environ.pop("VIRTUAL_ENV", None)
    environ.update({"WHEELSET_LOCAL_GATEWAY": "off", "WHEELSET_CACHE_DIR": str(cache)})
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "wheelset.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )


@pytest.fixture(scope="module")
def root(ipfs_node, tmp_path_factory: pytest.TempPathFactory) -> PublishedRoot:
    d = tmp_path_factory.mktemp("wheels")
    wheels = [
        make_wheel(d, "lib-a", "1.0"),
        make_wheel(d, "lib-b", "2.0"),
        make_wheel(d, "app", "3.0", requires_dist=["lib-a>=1", "lib-b"]),
    ]
    return publish_test_root(ipfs_node.api_url, wheels)


def test_a_noop_install_is_answered_from_the_record_only_while_it_holds(
    root, ipfs_node, tmp_path: Path
) -> None:
    live = ["--gateway", ipfs_node.gateway_url, "--api", ipfs_node.api_url]
    venv = tmp_path / "venv"
    make_venv(venv)
    python = ["--python", venv / "bin" / "python"]
    first = run(["install", root.cid, "app", *live, *python], tmp_path / "c1")
    assert first.returncode == 0, first.stderr
    answer = "Already installed: lib-a 1.0, lib-b 2.0, app 3.0\n"

    # No gateway, no node, an empty cache: only the record can answer.
    offline = ["install", root.cid, "app", "--gateway", DEAD, *python]
    again = run(offline, tmp_path / "empty")
    assert (again.returncode, again.stdout, again.stderr) == (0, answer, "")
    # Another request (more names; a --target) is not this record.
    for other in (
        ["install", root.cid, "app", "lib-a", "--gateway", DEAD, *python],
        ["install", root.cid, "app", "--gateway", DEAD, "--target", tmp_path / "t"],
    ):
        done = run(other, tmp_path / "empty")
        assert done.returncode == 1 and "error: " in done.stderr

    def refused_offline() -> bool:
        done = run(offline, tmp_path / "empty")
        return done.returncode == 1 and "error: " in done.stderr and done.stdout == ""

    def reinstalled() -> None:
        done = run(["install", root.cid, "app", *live, *python], tmp_path / "c1")
        assert done.returncode == 0, done.stderr
        assert run(offline, tmp_path / "empty").stdout == answer

    site = site_packages(venv)
    # Another distribution appears (pip, uv, a copy): the listing changed.
    (site / "other-1.0.dist-info").mkdir()
    assert refused_offline()
    reinstalled()
    # A closure distribution's RECORD rewritten (reinstalled by another tool).
    record = site / "lib_a-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text())
    assert refused_offline()
    reinstalled()
    # A distribution removed.
    removed = run(["uninstall", "lib-b", *python], tmp_path / "c1")
    assert removed.returncode == 0, removed.stderr
    assert refused_offline()
    reinstalled()
    # A change in progress (or interrupted by kill -9) in the environment.
    (site / journal.STATE_DIR).mkdir()
    assert refused_offline()  # the full install ran: it recovered (removed it), then failed
    assert not (site / journal.STATE_DIR).exists()
    assert run(offline, tmp_path / "empty").stdout == answer
    # A record that is not JSON is no record.
    (venv / noop.RECORD_FILE).write_text("{")
    assert refused_offline()


def test_a_venv_recreated_at_the_same_path_is_not_answered_from_its_old_record(
    root, ipfs_node, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    make_venv(venv)
    live = ["--gateway", ipfs_node.gateway_url, "--api", ipfs_node.api_url]
    assert run(["install", root.cid, "lib-a", *live], tmp_path / "c", VIRTUAL_ENV=str(venv)).stdout
    offline = ["install", root.cid, "lib-a", "--gateway", DEAD]
    again = run(offline, tmp_path / "empty", VIRTUAL_ENV=str(venv))
    assert again.stdout == "Already installed: lib-a 1.0\n", again.stderr
    assert (venv / noop.RECORD_FILE).is_file()
    assert not (site_packages(venv) / noop.RECORD_FILE).exists()

    make_venv(venv)  # pyvenv.cfg rewritten, site-packages empty
    recreated = run(offline, tmp_path / "empty", VIRTUAL_ENV=str(venv))
    assert recreated.returncode == 1 and recreated.stderr.startswith("error: ")


def test_export_and_install_run_without_typer_httpx_or_pydantic(
    root, ipfs_node, tmp_path: Path
) -> None:
    out = root.write_build_dir(tmp_path / "out")
    # (arguments, what it may load): a fetch needs httpx; nothing needs typer or pydantic.
    for args, loaded in (
        (["export", out, "app", "--gateway", DEAD], []),
        (["install", out, "lib-a", "--gateway", ipfs_node.gateway_url, "--target", tmp_path / "t"],
         ["httpx"]),
        (["install", out, "lib-a", "--gateway", DEAD, "--target", tmp_path / "t2"], []),
        (["install", out, "lib-a", "--gateway", DEAD, "--target", tmp_path / "t2"], []),
    ):  # fmt: skip
        done = run_probe(args, tmp_path / "c", {"typer", "httpx", "pydantic", "rich"})
        assert done.stderr.endswith(f"loaded: {loaded}\n"), (args, done.stderr)

    # Loading the app for --help loads no library behind the commands either.
    done = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom wheelset.cli import app\n"
         "print(sorted({'httpx', 'wheelset.client.root', 'wheelset.build.stage'}"
         " & set(sys.modules)))"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.stdout == "[]\n", done.stderr


def test_the_fast_export_prints_what_the_app_prints(root, ipfs_node, tmp_path: Path) -> None:
    out = root.write_build_dir(tmp_path / "out")
    args = ["export", str(out), "app", "--gateway", "http://gw.example", "--format=pylock"]
    fast = run(args, tmp_path / "c")
    assert fast.returncode == 0, fast.stderr
    through_app = CliRunner().invoke(app, args, env={"WHEELSET_LOCAL_GATEWAY": "off"})
    assert through_app.exit_code == 0, through_app.output
    assert fast.stdout == through_app.stdout and "lib-b" in fast.stdout

    # Errors: a library error is one line with its code, both ways; an option the fast path
    # does not take goes to the app, with its usage error.
    unknown = run(["export", str(out), "nothere"], tmp_path / "c")
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr.startswith("error: UNKNOWN ") and unknown.stderr.count("\n") == 1
    bad = run(["export", str(out), "app", "--bogus"], tmp_path / "c")
    assert bad.returncode == 2 and bad.stderr.startswith("error: USAGE ")
    slow = run(["export", str(out), "app", "--timeout", "0.01"], tmp_path / "c")
    assert slow.returncode == 2 and "--timeout" in slow.stderr


def test_the_layout_names_noop_mirrors_are_the_real_ones() -> None:
    # The no-op path imports nothing of the journal code (the build directory's names come
    # from build.layout, which loads nothing else); it names the same files.
    assert noop._STATE_DIR == journal.STATE_DIR
    assert warm._STATE_DIR == journal.STATE_DIR
    assert warm.BUCKET in BUCKETS
    assert noop.ROOT_FILE == stage.ROOT_FILE
    assert noop.INCOMPLETE_MARKER == stage.INCOMPLETE_MARKER


def _tree(directory: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``directory``: relative path -> (mode, content)."""
    return {
        str(path.relative_to(directory)): (path.stat().st_mode, path.read_bytes())
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def _fresh_venv(venv: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    make_venv(venv)


def run_probe(args: list[object], cache: Path, heavy: set[str]) -> subprocess.CompletedProcess[str]:
    """Run wheelset (exit 0 asserted) in a process that ends by printing ``loaded: [...]``:
    which of the ``heavy`` modules the run loaded."""
    program = (
        "import runpy, sys\n"
        "sys.argv = ['wheelset', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('wheelset.cli', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        f"heavy = sorted(set({sorted(heavy)!r}) & set(sys.modules))\n"
        "print('loaded:', heavy, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHEELSET_")}
    env.pop("VIRTUAL_ENV", None)
    env.update({"WHEELSET_LOCAL_GATEWAY": "off", "WHEELSET_CACHE_DIR": str(cache)})
    done = subprocess.run(
        [sys.executable, "-c", program, *map(str, args)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def probe(args: list[object], cache: Path) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run wheelset; (the run, whether it took the warm path: loaded none of packaging,
    httpx, typer, installer — nor hashlib, typing, pathlib, json, csv, re or enum, which it
    does not need)."""
    heavy = {"packaging", "httpx", "typer", "installer", "hashlib", "typing", "pathlib"}
    heavy |= {"json", "csv", "re", "enum", "signal", "sysconfig"}
    done = run_probe(args, cache, heavy)
    return done, done.stderr.endswith("loaded: []\n")


def test_a_warm_install_links_the_recorded_closure_without_root_or_resolver(
    root, ipfs_node, tmp_path: Path
) -> None:
    live = ["--gateway", ipfs_node.gateway_url, "--api", ipfs_node.api_url]
    cache = tmp_path / "cache"
    full, fresh = tmp_path / "full", tmp_path / "fresh"
    make_venv(full)
    first = run(["install", root.cid, "app", *live, "--python", full / "bin" / "python"], cache)
    assert first.returncode == 0, first.stderr
    assert len(list((cache / warm.BUCKET).iterdir())) == 1

    # No gateway, no node: the recorded closure and the unpacked wheels answer, without
    # packaging, httpx, installer, hashlib, typing or pathlib.
    make_venv(fresh)
    offline = ["install", root.cid, "app", "--gateway", DEAD]
    done, warmed = probe([*offline, "--python", fresh / "bin" / "python"], cache)
    assert warmed and done.stderr == "loaded: []\n"
    assert done.stdout == (
        f"Installed 3 wheels into {site_packages(fresh)} (root {root.cid}; 0 fetched, 3 from "
        "cache):\n  lib-a 1.0\n  lib-b 2.0\n  app 3.0\n"
    )
    # The same files, modes, RECORDs and REQUESTED as the full install; then a no-op.
    assert _tree(site_packages(fresh)) == _tree(site_packages(full))
    again = run([*offline, "--python", fresh / "bin" / "python"], tmp_path / "empty")
    assert again.stdout == "Already installed: lib-a 1.0, lib-b 2.0, app 3.0\n", again.stderr


def test_the_warm_path_steps_aside_whenever_the_outcome_could_differ(
    root, ipfs_node, tmp_path: Path
) -> None:
    live = ["--gateway", ipfs_node.gateway_url, "--api", ipfs_node.api_url]
    cache = tmp_path / "cache"
    venv = tmp_path / "venv"
    python = ["--python", venv / "bin" / "python"]
    _fresh_venv(venv)
    assert run(["install", root.cid, "app", *live, *python], cache).returncode == 0
    request = ["install", root.cid, "app", *live, *python]

    def into_fresh_venv(args: list[object] = request) -> bool:
        _fresh_venv(venv)
        return probe(args, cache)[1]

    assert into_fresh_venv()
    # A distribution already in the environment: the full install runs.
    _fresh_venv(venv)
    (site_packages(venv) / "other-1.0.dist-info").mkdir()
    assert not probe(request, cache)[1]
    # Another request (more names) has no record (until it ran once).
    assert not into_fresh_venv(["install", root.cid, "app", "lib-a", *live, *python])
    # Another interpreter: --target (the running one, not a venv) is never warm.
    assert not probe([*request[:-2], "--target", tmp_path / "t"], cache)[1]

    # A stray file where a wheel's file goes: refused before any change.
    _fresh_venv(venv)
    (site_packages(venv) / "lib_a").mkdir()
    (site_packages(venv) / "lib_a" / "__init__.py").write_text("stray\n")
    done = run(request, cache)
    stray = site_packages(venv) / "lib_a" / "__init__.py"
    assert done.returncode == 1 and done.stderr.startswith(f"error: {stray}: CONFLICT "), (
        done.stderr
    )
    assert not list(site_packages(venv).glob("*.dist-info"))

    # An unpacked file changed in the cache: rehashed, found wrong, the entry dropped, and
    # the full install unpacks the wheel again (from the verified wheel file).
    tree = next((cache / "unpacked").glob("*/tree/lib_a/__init__.py"))
    tree.write_bytes(tree.read_bytes() + b"# tampered\n")
    assert not into_fresh_venv()
    assert b"tampered" not in (site_packages(venv) / "lib_a" / "__init__.py").read_bytes()
    assert into_fresh_venv()

    # A record of another request, of another root, or that is not JSON, is no record.
    key = warm.closure_key(str(root.cid), ["app"], str(venv / "bin" / "python"))
    record = cache / warm.BUCKET / f"{root.cid}.json"
    doc = json.loads(record.read_text())
    rows = doc["closures"].pop(key)
    renamed = {**doc["closures"], key.replace('["app"]', '["apps"]'): rows}
    record.write_text(json.dumps({**doc, "closures": renamed}))
    assert not into_fresh_venv()  # (the full install records it again)
    record.write_text(json.dumps({**doc, "root": "Qm" + "1" * 44, "closures": {key: rows}}))
    assert not into_fresh_venv()
    record.write_text("{")
    assert not into_fresh_venv()
    assert into_fresh_venv()


def test_the_known_record_hashes_are_those_of_their_contents() -> None:
    # The warm path writes INSTALLER and REQUESTED with these hashes in RECORD, unhashed.
    assert link._KNOWN_HASHES
    for content, known in link._KNOWN_HASHES.items():
        assert known == record_hash("sha256", hashlib.sha256(content).digest())
