"""Which environment install acts on, what it refuses to break, and the environment verbs:
-r, --exact, uninstall, list, freeze; what wheelset installs is what pip and uv expect."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.roots import PublishedRoot, publish_test_root
from tests.support.venvs import installed, make_venv, run_pip, run_uv, site_packages
from tests.support.wheels import make_wheel


def run(args: list[object], cache: Path, cwd: Path | None = None, **env: str):
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("WHEELSET_") or k == "WHEELSET_API"
    }
    environ.pop("VIRTUAL_ENV", None)
    environ.update({"WHEELSET_LOCAL_GATEWAY": "off", "WHEELSET_CACHE_DIR": str(cache)})
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "wheelset.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture(scope="module", autouse=True)
def node_blocks(ipfs_node) -> Iterator[None]:
    """Root blocks come from the node's RPC: its gateway is path-only (no verifiable blocks)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WHEELSET_API", ipfs_node.api_url)
        yield


def _dist_info(site: Path, name: str) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")


def test_the_environment_is_the_active_venv_then_dot_venv_else_refused(tmp_path: Path) -> None:
    active = tmp_path / "active"
    make_venv(active)
    _dist_info(site_packages(active), "in_active")
    project = tmp_path / "project"
    make_venv(project / ".venv")
    _dist_info(site_packages(project / ".venv"), "in_dotvenv")
    cache = tmp_path / "cache"

    listed = run(["list"], cache, cwd=project, VIRTUAL_ENV=str(active))
    assert listed.returncode == 0, listed.stderr
    assert "in-active" in listed.stdout and "in-dotvenv" not in listed.stdout

    listed = run(["list"], cache, cwd=project)
    assert listed.returncode == 0, listed.stderr
    assert "in-dotvenv" in listed.stdout and "in-active" not in listed.stdout

    explicit = run(
        ["freeze", "--python", active / "bin" / "python"], cache, cwd=project, VIRTUAL_ENV="/x"
    )
    assert explicit.stdout == "in-active==1.0\n", explicit.stderr

    refused = run(["list"], cache, cwd=tmp_path)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("error: PYTHON no virtual environment found")
    assert refused.stderr.count("\n") == 1

    system = run(["list", "--system"], cache, cwd=tmp_path)
    assert system.returncode == 0, system.stderr
    assert system.stdout.startswith("name ")

    broken = run(["list"], cache, cwd=tmp_path, VIRTUAL_ENV=str(tmp_path / "nothing"))
    assert broken.returncode == 1 and "is not a virtual environment" in broken.stderr


@pytest.fixture(scope="module")
def roots(ipfs_node, tmp_path_factory: pytest.TempPathFactory) -> dict[str, PublishedRoot]:
    d = tmp_path_factory.mktemp("wheels")
    script = {
        "pkg_x/__init__.py": b"def main():\n    print('x main')\n",
        "pkg_x-2.0.dist-info/entry_points.txt": b"[console_scripts]\npkg-x-cli = pkg_x:main\n",
        "pkg_x-2.0.data/scripts/pkg-x-tool": b"#!python\nprint('tool ran')\n",
    }
    old = [
        make_wheel(d / "old", "certifi", "2024.2.2"),
        make_wheel(
            d / "old",
            "needs-certifi",
            "1.0",
            requires_dist=["certifi>=2024", "winlib>=5; sys_platform == 'win32'"],
        ),
        make_wheel(d / "old", "pkg-x", "1.0"),
        make_wheel(d / "old", "pkg-y", "1.0"),
    ]
    new = [
        make_wheel(d / "new", "certifi", "2023.7.22"),
        make_wheel(d / "new", "winlib", "1.0"),
        make_wheel(d / "new", "pkg-x", "2.0", files=script),
        make_wheel(d / "new", "pkg-y", "2.0"),
        make_wheel(d / "new", "pkg-z", "1.0", requires_dist=["pkg-x>=2", "pkg-y"]),
    ]
    return {
        "old": publish_test_root(ipfs_node.api_url, old),
        "new": publish_test_root(ipfs_node.api_url, new),
    }


def test_a_change_that_breaks_installed_distributions_is_refused(
    roots, ipfs_node, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    gateway = ["--gateway", ipfs_node.gateway_url, "--target", tmp_path / "t"]
    first = run(["install", roots["old"].cid, "needs-certifi", *gateway], cache)
    assert first.returncode == 0, first.stderr
    before = sorted(p.name for p in (tmp_path / "t").iterdir())

    refused = run(["install", roots["new"].cid, "certifi", "winlib", *gateway], cache)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr == (
        "error: BREAKS this would break installed distributions: needs-certifi 1.0 requires "
        "certifi>=2024 (would be 2023.7.22); use --force to install anyway\n"
    )
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == before

    plan = run(["install", roots["new"].cid, "certifi", *gateway, "--dry-run"], cache)
    assert "Would break: needs-certifi 1.0 requires certifi>=2024" in plan.stdout

    forced = run(["install", roots["new"].cid, "certifi", *gateway, "--force"], cache)
    assert forced.returncode == 0, forced.stderr
    assert "warning: --force broke: needs-certifi 1.0" in forced.stderr
    assert "certifi 2023.7.22 (replaced 2024.2.2)" in forced.stdout


def test_requirements_files(roots, ipfs_node, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (tmp_path / "more.txt").write_text("pkg-y  # an included file\n")
    (tmp_path / "req.txt").write_text(
        "# the app\npkg-x>=2 \\\n  ; python_version >= '3'\n\n-r more.txt\n"
    )
    gateway = ["--gateway", ipfs_node.gateway_url, "--target", tmp_path / "t"]
    done = run(["install", roots["new"].cid, "-r", tmp_path / "req.txt", *gateway], cache)
    assert done.returncode == 0, done.stderr
    assert "pkg-x 2.0" in done.stdout and "pkg-y 2.0" in done.stdout
    assert (tmp_path / "t" / "pkg_x" / "__init__.py").exists()

    (tmp_path / "bad.txt").write_text("pkg-x\n--index-url http://127.0.0.1:9/\n")
    bad = run(["install", roots["new"].cid, "-r", tmp_path / "bad.txt", *gateway], cache)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith(
        f"error: {tmp_path / 'bad.txt'}:2: REQUIREMENTS option --index-url"
    )

    (tmp_path / "old.txt").write_text("pkg-x<2\n")
    conflict = run(["install", roots["new"].cid, "-r", tmp_path / "old.txt", *gateway], cache)
    assert conflict.returncode == 1
    assert conflict.stderr.startswith("error: CONFLICT ") and "pkg-x<2" in conflict.stderr

    missing = run(["install", roots["new"].cid, "-r", tmp_path / "none.txt", *gateway], cache)
    assert missing.returncode == 1 and "REQUIREMENTS not a regular file" in missing.stderr


def test_exact_uninstall_list_and_freeze(roots, ipfs_node, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    target = ["--target", tmp_path / "t"]
    gateway = ["--gateway", ipfs_node.gateway_url, *target]
    old, new = roots["old"], roots["new"]
    assert run(["install", old.cid, "pkg-x", "pkg-y", "certifi", *gateway], cache).returncode == 0

    exact = run(["install", new.cid, "pkg-z", "--exact", *gateway], cache)
    assert exact.returncode == 0, exact.stderr
    assert "Removed: certifi 2024.2.2" in exact.stdout
    assert not list((tmp_path / "t").glob("certifi*"))

    freeze = run(["freeze", *target], cache)
    assert freeze.stdout == "".join(
        f"{name}=={version}  # root {new.cid}\n"
        for name, version in [("pkg-x", "2.0"), ("pkg-y", "2.0"), ("pkg-z", "1.0")]
    )
    listed = run(["list", *target], cache).stdout.splitlines()
    assert listed[0].split() == ["name", "version", "installer", "root"]
    assert listed[1].split() == ["pkg-x", "2.0", "wheelset", str(new.cid)]

    removed = run(["uninstall", "pkg-z", "PKG_Y", *target], cache)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.splitlines()[1:] == ["  pkg-z 1.0", "  pkg-y 2.0"]
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [
        "bin",
        "pkg_x",
        "pkg_x-2.0.dist-info",
    ]
    unknown = run(["uninstall", "pkg-x", "nothere", *target], cache)
    assert unknown.returncode == 1 and "not installed" in unknown.stderr
    assert (tmp_path / "t" / "pkg_x").exists()


def test_pip_and_uv_read_and_remove_what_wheelset_installs(
    roots, ipfs_node, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    python = make_venv(venv)
    cache = tmp_path / "cache"
    done = run(
        ["install", roots["new"].cid, "pkg-z", "--gateway", ipfs_node.gateway_url],
        cache,
        VIRTUAL_ENV=str(venv),
    )
    assert done.returncode == 0, done.stderr
    assert installed(venv) == {"pkg-x": "2.0", "pkg-y": "2.0", "pkg-z": "1.0"}
    tool = subprocess.run([venv / "bin" / "pkg-x-tool"], capture_output=True, text=True)
    assert tool.stdout == "tool ran\n", tool.stderr
    cli = subprocess.run([venv / "bin" / "pkg-x-cli"], capture_output=True, text=True)
    assert cli.stdout == "x main\n", cli.stderr
    assert run_pip(python, ["check"]).returncode == 0
    uv_list = run_uv(["pip", "list", "--python", str(python), "--format", "freeze"])
    assert uv_list.stdout.split() == ["pkg-x==2.0", "pkg-y==2.0", "pkg-z==1.0"], uv_list.stderr
    gone = run_pip(python, ["uninstall", "-y", "pkg-x", "pkg-y", "pkg-z"])
    assert gone.returncode == 0, gone.stderr
    assert sorted(p.name for p in (venv / "bin").iterdir() if p.name.startswith("pkg")) == []
    assert [p.name for p in site_packages(venv).iterdir() if p.name.startswith("pkg")] == []
