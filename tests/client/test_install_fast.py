"""The typer-free paths of `wheelset`: a no-op install answered from the environment's
record (and only while the record holds), export and install without typer, httpx or
pydantic, with the app's output and errors."""

from __future__ import annotations

import os
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
from wheelset.client import journal, noop

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
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['wheelset', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('wheelset.cli', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "heavy = sorted({'typer', 'httpx', 'pydantic', 'rich'} & set(sys.modules))\n"
        "print('loaded:', heavy, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHEELSET_")}
    env.update({"WHEELSET_LOCAL_GATEWAY": "off", "WHEELSET_CACHE_DIR": str(tmp_path / "c")})
    # (arguments, what it may load): a fetch needs httpx; nothing needs typer or pydantic.
    for args, loaded in (
        (["export", out, "app", "--gateway", DEAD], []),
        (["install", out, "lib-a", "--gateway", ipfs_node.gateway_url, "--target", tmp_path / "t"],
         ["httpx", "rich"]),
        (["install", out, "lib-a", "--gateway", DEAD, "--target", tmp_path / "t2"], []),
        (["install", out, "lib-a", "--gateway", DEAD, "--target", tmp_path / "t2"], []),
    ):  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-c", probe, *map(str, args)],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
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
    # The no-op path imports nothing of the build or journal code; it names the same files.
    assert noop._STATE_DIR == journal.STATE_DIR
    assert noop._BUILD_ROOT == stage.ROOT_FILE
    assert noop._BUILD_INCOMPLETE == stage.INCOMPLETE_MARKER
