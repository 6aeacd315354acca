"""`wheelset install` against the real test node: verified, all-or-nothing, with fallback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.gateways import tampering_proxy
from tests.support.roots import PublishedRoot, publish_test_root
from tests.support.sample_set import APP_FAST, make_sample_set
from tests.support.trustless import trustless_server
from tests.support.venvs import installed, make_venv, run_pip, site_packages
from tests.support.wheels import make_wheel
from wheelset.cli import app

DEAD = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def node_blocks(ipfs_node, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root blocks come from the node's RPC: its gateway is path-only (no verifiable blocks)."""
    monkeypatch.setenv("WHEELSET_API", ipfs_node.api_url)


@pytest.fixture(scope="module")
def published(ipfs_node, tmp_path_factory: pytest.TempPathFactory) -> PublishedRoot:
    wheels = make_sample_set(tmp_path_factory.mktemp("sample"))
    return publish_test_root(ipfs_node.api_url, wheels)


def wheelset(args: list[str], cache: Path):
    env = {
        "WHEELSET_LOCAL_GATEWAY": "off",
        "WHEELSET_CACHE_DIR": str(cache),
        "WHEELSET_GATEWAY": "",
    }
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def gateways_only(
    published: PublishedRoot, requirement: str, python: Path, cache: Path, monkeypatch
) -> None:
    """Leave the node out: the wheels then come from the gateways alone (with a node, it is
    asked first). The root's blocks for ``requirement`` are read into ``cache`` first, by a
    dry run through a trustless gateway (a node's blocks are not cached: they are the
    node's), as the js-ipfs gateway is path-only."""
    monkeypatch.delenv("WHEELSET_API")
    with trustless_server(published.blocks) as blocks:
        dry = wheelset(
            ["install", published.cid, requirement, "--dry-run", "--gateway", blocks.url,
             "--python", python],
            cache,
        )  # fmt: skip
    assert dry.exit_code == 0, dry.stderr


def _cid_of(published: PublishedRoot, project: str) -> str:
    return next(str(d.content_id) for d in published.declarations.values() if d.name == project)


def test_install_extras_and_markers_into_a_fresh_venv(published, ipfs_node, tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    cache = tmp_path / "cache"
    result = wheelset(
        [
            "install",
            published.cid,
            "app[fast]",
            "--gateway",
            ipfs_node.gateway_url,
            "--python",
            python,
        ],
        cache,
    )
    assert result.exit_code == 0, result.stderr
    assert installed(tmp_path / "venv") == APP_FAST
    assert "Installed 5 wheels" in result.stdout and "5 fetched" in result.stdout
    done = subprocess.run(
        [python, "-c", "import app, speedup; print(app.__version__, speedup.NATIVE)"],
        capture_output=True,
        text=True,
    )
    assert done.stdout == "1.0 True\n", done.stderr
    check = run_pip(python, ["check"])
    assert check.returncode == 0, check.stdout + check.stderr
    dist_info = site_packages(tmp_path / "venv") / "app-1.0.dist-info"
    assert (dist_info / "INSTALLER").read_text() == "wheelset\n"
    assert (dist_info / "REQUESTED").exists()
    assert not (site_packages(tmp_path / "venv") / "lib_a-1.2.dist-info" / "REQUESTED").exists()
    assert "app/__init__.py" in (dist_info / "RECORD").read_text()

    # A second install into another fresh venv fetches nothing: root and wheels are cached.
    other = make_venv(tmp_path / "venv2")
    with tampering_proxy(ipfs_node.gateway_url) as counting:
        again = wheelset(
            ["install", published.cid, "app[fast]", "--gateway", counting.url, "--python", other],
            cache,
        )
    assert again.exit_code == 0, again.stderr
    assert counting.requests == []
    assert "0 fetched, 5 from cache" in again.stdout
    assert installed(tmp_path / "venv2") == APP_FAST

    # Installing again into the same venv skips what is there.
    same = wheelset(["install", published.cid, "app", "--gateway", DEAD, "--python", python], cache)
    assert same.exit_code == 0, same.stderr
    assert (
        same.stdout.startswith("Already installed: ")
        and "lib-b 0.5" in same.stdout
        and "Installed" not in same.stdout
    )


def _cache_files(cache: Path, bucket: str) -> list[Path]:
    return [p for p in (cache / bucket).rglob("*") if p.is_file()]


def test_what_a_node_gave_is_cached_only_unpacked(
    published, ipfs_node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a node, an install keeps no copy of the node's blocks or wheel files (one file
    each, for content the node holds): only the unpacked wheels, which a later full install
    of the same root into another venv uses without asking the node for a wheel."""
    cache = tmp_path / "cache"
    first = wheelset(
        ["install", published.cid, "app[fast]", "--gateway", DEAD, "--python",
         make_venv(tmp_path / "venv")],
        cache,
    )  # fmt: skip
    assert first.exit_code == 0, first.stderr
    wheels = {_cid_of(published, name) for name in APP_FAST}
    assert {p.name for p in (cache / "unpacked").iterdir()} == wheels
    assert [_cache_files(cache, b) for b in ("blocks", "files", "sha256")] == [[], [], []]

    # Another request (so no recorded closure): the root read from the node again, every
    # wheel from the unpacked cache.
    second = wheelset(
        ["install", published.cid, "app[fast]", "lib-b", "--gateway", DEAD, "--python",
         make_venv(tmp_path / "venv2")],
        cache,
    )  # fmt: skip
    assert second.exit_code == 0, second.stderr
    assert "0 fetched, 5 from cache" in second.stdout
    assert installed(tmp_path / "venv2") == APP_FAST

    # Without a node, what a gateway gave is cached: the root's blocks and the wheel files.
    gateway_cache = tmp_path / "gateway-cache"
    gateways_only(published, "app[fast]", make_venv(tmp_path / "venv3"), gateway_cache, monkeypatch)
    assert _cache_files(gateway_cache, "blocks")
    done = wheelset(
        ["install", published.cid, "app[fast]", "--gateway", ipfs_node.gateway_url, "--python",
         tmp_path / "venv3" / "bin" / "python"],
        gateway_cache,
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert {p.parent.name for p in _cache_files(gateway_cache, "files")} == wheels


def test_a_cold_install_from_a_local_node_does_not_load_httpx(
    published, ipfs_node, tmp_path: Path
) -> None:
    """A node on this machine is called without httpx (LoopbackRpc): a tenth of a cold
    install's time went to importing it."""
    env = {
        **os.environ,
        "WHEELSET_LOCAL_GATEWAY": "off",
        "WHEELSET_CACHE_DIR": str(tmp_path / "cache"),
        "WHEELSET_GATEWAY": "",
        "WHEELSET_API": ipfs_node.api_url,
    }
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "wheelset.cli", "install", str(published.cid),
         "app[fast]", "--gateway", DEAD, "--python", str(make_venv(tmp_path / "venv"))],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert installed(tmp_path / "venv") == APP_FAST
    loaded = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
    assert "wheelset.client.install" in loaded
    assert [m for m in loaded if m.split(".")[0] in ("httpx", "httpcore", "h11")] == []


def test_a_flipped_byte_is_refused_and_nothing_is_installed(
    published, ipfs_node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = make_venv(tmp_path / "venv")
    gateways_only(published, "app[fast]", python, tmp_path / "cache", monkeypatch)
    before = sorted(p.name for p in site_packages(tmp_path / "venv").iterdir())
    speedup = _cid_of(published, "speedup")
    with tampering_proxy(ipfs_node.gateway_url, "flip", only=speedup) as liar:
        result = wheelset(
            ["install", published.cid, "app[fast]", "--gateway", liar.url, "--python", python],
            tmp_path / "cache",
        )
    assert result.exit_code == 1
    assert result.stdout == ""
    line = result.stderr
    assert line.count("\n") == 1 and line.startswith("error: VERIFY ")
    assert "speedup-2.1-" in line and "nothing was installed" in line
    assert sorted(p.name for p in site_packages(tmp_path / "venv").iterdir()) == before
    assert not (tmp_path / "cache" / "files" / speedup).exists() or not any(
        (tmp_path / "cache" / "files" / speedup).iterdir()
    )


def test_a_flipping_gateway_is_reported_and_the_next_one_used(
    published, ipfs_node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = make_venv(tmp_path / "venv")
    gateways_only(published, "app[fast]", python, tmp_path / "cache", monkeypatch)
    speedup = _cid_of(published, "speedup")
    with tampering_proxy(ipfs_node.gateway_url, "flip", only=speedup) as liar:
        result = wheelset(
            [
                "install",
                published.cid,
                "app[fast]",
                "--python",
                python,
                "--gateway",
                liar.url,
                "--gateway",
                ipfs_node.gateway_url,
            ],
            tmp_path / "cache",
        )
    assert result.exit_code == 0, result.stderr
    assert installed(tmp_path / "venv") == APP_FAST
    assert "warning: speedup-2.1-" in result.stderr and liar.url in result.stderr


@pytest.mark.parametrize("behaviour", ["truncate", "short", "stall", "500"])
def test_truncating_or_stalling_gateways_fall_back(
    published, ipfs_node, tmp_path: Path, behaviour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = make_venv(tmp_path / "venv")
    gateways_only(published, "app", python, tmp_path / "cache", monkeypatch)
    with tampering_proxy(
        ipfs_node.gateway_url, behaviour, only=_cid_of(published, "lib-a"), stall_seconds=4
    ) as bad:
        result = wheelset(
            [
                "install",
                published.cid,
                "app",
                "--python",
                python,
                "--timeout",
                "1",
                "--gateway",
                bad.url,
                "--gateway",
                ipfs_node.gateway_url,
            ],
            tmp_path / "cache",
        )
    assert result.exit_code == 0, result.stderr
    assert installed(tmp_path / "venv") == {k: v for k, v in APP_FAST.items() if k != "speedup"}


def test_a_wheel_with_a_bad_record_stops_everything(published, ipfs_node, tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    result = wheelset(
        [
            "install",
            published.cid,
            "usesbad",
            "--gateway",
            ipfs_node.gateway_url,
            "--python",
            python,
        ],
        tmp_path / "cache",
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: badrecord-1.0-py3-none-any.whl: WHEEL ")
    assert installed(tmp_path / "venv") == {}


@pytest.mark.parametrize(
    ("names", "code", "fragment"),
    [
        (["nosuchproject"], "UNKNOWN", "no project 'nosuchproject'"),
        (["ap"], "UNKNOWN", "did you mean app"),
        (["winonly"], "PLATFORM", "no wheel of winonly 1.0 fits this interpreter"),
        (["app>=2"], "CONFLICT", "you asked for app>=2, but this root has only app 1.0"),
        (["app[turbo]"], "EXTRA", "has no extra 'turbo'"),
        (["app[fast"], "USAGE", "is not NAME[extras][specifier]"),
    ],
)
def test_resolution_errors_are_one_line(
    published, ipfs_node, tmp_path: Path, names: list[str], code: str, fragment: str
) -> None:
    result = wheelset(
        ["install", published.cid, *names, "--gateway", ipfs_node.gateway_url, "--dry-run"],
        tmp_path / "cache",
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {code} ") and fragment in result.stderr


def test_unreachable_sources_and_malformed_roots(
    published, ipfs_node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WHEELSET_API")
    result = wheelset(
        ["install", published.cid, "app", "--gateway", DEAD, "--gateway", DEAD + "1"],
        tmp_path / "cache",
    )
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert f"cannot read /wheelset.json of {published.cid}" in result.stderr
    assert DEAD + ":" in result.stderr and DEAD + "1:" in result.stderr
    for root, start in [
        ("QmNotACid", "error: ROOT "),
        ("/ipfs/", "error: ROOT "),
        (str(tmp_path), f"error: {tmp_path}: ROOT "),
    ]:
        bad = wheelset(["install", root, "app", "--gateway", DEAD], tmp_path / "cache")
        assert bad.exit_code == 1 and bad.stderr.startswith(start), bad.stderr
        assert bad.stderr.count("\n") == 1
    # A path-only gateway (the js-ipfs node's) cannot hand out verifiable blocks.
    path_only = wheelset(
        ["install", published.cid, "app", "--gateway", ipfs_node.gateway_url], tmp_path / "c2"
    )
    assert path_only.exit_code == 1 and path_only.stderr.count("\n") == 1
    assert "path-only" in path_only.stderr, path_only.stderr


def test_dry_run_target_and_prefix(published, ipfs_node, tmp_path: Path) -> None:
    gateway = ["--gateway", ipfs_node.gateway_url]
    plan = wheelset(
        ["install", published.cid, "app", *gateway, "--target", tmp_path / "t", "--dry-run"],
        tmp_path / "c",
    )
    assert plan.exit_code == 0, plan.stderr
    assert (
        "Would install into" in plan.stdout
        and "lib-c 3.0  lib_c-3.0-py3-none-any.whl" in plan.stdout
    )
    assert not (tmp_path / "t").exists()

    target = wheelset(
        ["install", published.cid, "app", *gateway, "--target", tmp_path / "t"], tmp_path / "c"
    )
    assert target.exit_code == 0, target.stderr
    assert (tmp_path / "t" / "app" / "__init__.py").exists()
    done = subprocess.run(
        [make_venv(tmp_path / "v"), "-c", "import app; print(app.__version__)"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path / "t")},
    )
    assert done.stdout == "1.0\n", done.stderr

    prefix = wheelset(
        ["install", published.cid, "lib-b", *gateway, "--prefix", tmp_path / "p"], tmp_path / "c"
    )
    assert prefix.exit_code == 0, prefix.stderr
    assert list((tmp_path / "p").glob("lib/python3*/site-packages/lib_b/__init__.py"))

    both = wheelset(
        ["install", published.cid, "app", "--target", "a", "--prefix", "b"], tmp_path / "c"
    )
    assert both.exit_code == 2


def test_another_installed_version_is_replaced(ipfs_node, published, tmp_path: Path) -> None:
    old_root = publish_test_root(ipfs_node.api_url, [make_wheel(tmp_path / "w", "lib-b", "0.4")])
    python = make_venv(tmp_path / "venv")
    gateway = ["--gateway", ipfs_node.gateway_url, "--python", python]
    first = wheelset(["install", old_root.cid, "lib-b", *gateway], tmp_path / "c")
    assert first.exit_code == 0, first.stderr
    (site_packages(tmp_path / "venv") / "lib_b" / "__pycache__").mkdir()
    (
        site_packages(tmp_path / "venv")
        / "lib_b"
        / "__pycache__"
        / f"__init__.{sys.implementation.cache_tag}.pyc"
    ).write_bytes(b"")
    second = wheelset(["install", published.cid, "lib-b", *gateway], tmp_path / "c")
    assert second.exit_code == 0, second.stderr
    assert "lib-b 0.5 (replaced 0.4)" in second.stdout
    assert installed(tmp_path / "venv") == {"lib-b": "0.5"}
    assert not (site_packages(tmp_path / "venv") / "lib_b-0.4.dist-info").exists()
    assert not (site_packages(tmp_path / "venv") / "lib_b" / "__pycache__").exists()


def test_compile_writes_bytecode_for_the_target(published, ipfs_node, tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    result = wheelset(
        [
            "install",
            published.cid,
            "lib-b",
            "--gateway",
            ipfs_node.gateway_url,
            "--python",
            python,
            "--compile",
        ],
        tmp_path / "c",
    )
    assert result.exit_code == 0, result.stderr
    cache = site_packages(tmp_path / "venv") / "lib_b" / "__pycache__"
    written = {p.name: p.read_bytes() for p in cache.glob("*.pyc")}
    assert written
    # The same bytes as the target's own compileall writes (compiled here, in-process, as
    # the venv is one of the Python running wheelset).
    shutil.rmtree(cache)
    subprocess.run([python, "-m", "compileall", "-q", cache.parent], check=True)
    assert {p.name: p.read_bytes() for p in cache.glob("*.pyc")} == written


def test_an_unusable_cache_is_one_line(published, ipfs_node, tmp_path: Path) -> None:
    not_a_directory = tmp_path / "cache"
    not_a_directory.write_text("a file where the cache should be")
    result = wheelset(
        [
            "install",
            published.cid,
            "lib-b",
            "--gateway",
            ipfs_node.gateway_url,
            "--target",
            tmp_path / "t",
        ],
        not_a_directory,
    )
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: CACHE ")
    assert not (tmp_path / "t").exists()


def test_nothing_to_install_when_markers_exclude_everything(
    published, ipfs_node, tmp_path: Path
) -> None:
    result = wheelset(
        [
            "install",
            published.cid,
            "winonly; sys_platform == 'win32'",
            "--gateway",
            ipfs_node.gateway_url,
            "--target",
            tmp_path / "t",
        ],
        tmp_path / "c",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Nothing to install")


def test_install_from_a_local_build_directory(published, ipfs_node, tmp_path: Path) -> None:
    build = published.write_build_dir(tmp_path / "build")
    result = wheelset(
        ["install", build, "lib-a", "--gateway", ipfs_node.gateway_url, "--target", tmp_path / "t"],
        tmp_path / "c",
    )
    assert result.exit_code == 0, result.stderr
    assert f"(root {published.cid};" in result.stdout
    assert (tmp_path / "t" / "lib_c" / "__init__.py").exists()
