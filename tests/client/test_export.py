"""`wheelset export`: real pip (--require-hashes) and real uv (pylock.toml) install the same set."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.roots import PublishedRoot, declare_wheel, publish_test_root
from tests.support.sample_set import APP_FAST, make_sample_set
from tests.support.venvs import installed, isolated_env, make_venv, run_pip, run_uv
from tests.support.wheels import make_wheel
from wheelset.cli import app
from wheelset.client.export import (
    ExportError,
    environment_marker,
    format_pylock,
    format_requirements,
)
from wheelset.ipfs.importer import import_bytes
from wheelset.model.platforms import make_platform

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = import_bytes(b"a root").cid


@pytest.fixture(autouse=True)
def node_blocks(ipfs_node, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root blocks come from the node's RPC: its gateway is path-only (no verifiable blocks)."""
    monkeypatch.setenv("WHEELSET_API", ipfs_node.api_url)


@pytest.fixture(scope="module")
def published(ipfs_node, tmp_path_factory: pytest.TempPathFactory) -> PublishedRoot:
    return publish_test_root(ipfs_node.api_url, make_sample_set(tmp_path_factory.mktemp("s")))


def wheelset(args: list[object], cache: Path):
    env = {
        "WHEELSET_LOCAL_GATEWAY": "off",
        "WHEELSET_CACHE_DIR": str(cache),
        "WHEELSET_GATEWAY": "",
    }
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def decls(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("w")
    return [
        declare_wheel(make_wheel(directory, "alpha", "1.0", requires_python=">=3.9"))[0],
        declare_wheel(make_wheel(directory, "beta", "2.0"))[0],
    ]


def test_requirements_format(decls) -> None:
    text = format_requirements(decls, root=ROOT, gateway="http://gw.test", platform="p")
    assert f"alpha @ http://gw.test/ipfs/{ROOT}/alpha/alpha-1.0-py3-none-any.whl \\\n" in text
    assert f"    --hash=sha256:{decls[0].sha256}\n" in text
    assert text.count("--hash=sha256:") == 2


def test_pylock_format(decls) -> None:
    target = make_platform("3.12", "macosx_11_0_arm64")
    doc = tomllib.loads(
        format_pylock(
            decls, root=ROOT, gateway="http://gw.test", platform=target.id, env=target.environment
        )
    )
    assert doc["lock-version"] == "1.0" and doc["created-by"] == "wheelset"
    assert doc["requires-python"] == "==3.12.*"
    assert doc["environments"] == [
        'implementation_name == "cpython" and python_version == "3.12" and '
        'sys_platform == "darwin" and platform_machine == "arm64"'
    ]
    alpha = doc["packages"][0]
    assert (alpha["name"], alpha["version"], alpha["requires-python"]) == ("alpha", "1.0", ">=3.9")
    assert alpha["wheels"] == [
        {
            "name": "alpha-1.0-py3-none-any.whl",
            "url": f"http://gw.test/ipfs/{ROOT}/alpha/alpha-1.0-py3-none-any.whl",
            "size": decls[0].size,
            "hashes": {"sha256": decls[0].sha256},
        }
    ]
    assert alpha["tool"]["wheelset"]["content-id"] == str(decls[0].content_id)
    assert doc["tool"]["wheelset"] == {"root": str(ROOT), "platform": "cp312-macosx_11_0_arm64"}


def test_a_wheel_without_sha256_cannot_be_exported(decls) -> None:
    from dataclasses import replace

    unhashed = replace(decls[0], sha256=None)
    with pytest.raises(ExportError, match=r"alpha-1\.0-py3-none-any\.whl has no sha256"):
        format_requirements([unhashed], root=ROOT, gateway="http://gw.test", platform="p")


def test_environment_marker_holds_on_its_platform() -> None:
    from packaging.markers import Marker

    linux = make_platform("3.11", "manylinux_2_28_x86_64")
    windows = make_platform("3.11", "win_amd64")
    marker = Marker(environment_marker(linux.environment))
    assert marker.evaluate(dict(linux.environment))
    assert not marker.evaluate(dict(windows.environment))


def test_pip_and_uv_install_what_wheelset_installs(published, ipfs_node, tmp_path: Path) -> None:
    gateway = ["--gateway", ipfs_node.gateway_url]
    cache = tmp_path / "cache"
    requirements = tmp_path / "requirements.txt"
    lock = tmp_path / "pylock.toml"
    result = wheelset(["export", published.cid, "app[fast]", *gateway, "-o", requirements], cache)
    assert result.exit_code == 0, result.stderr
    result = wheelset(
        ["export", published.cid, "app[fast]", *gateway, "--format", "pylock", "-o", lock], cache
    )
    assert result.exit_code == 0, result.stderr

    by_wheelset = make_venv(tmp_path / "ws")
    result = wheelset(
        ["install", published.cid, "app[fast]", *gateway, "--python", by_wheelset], cache
    )
    assert result.exit_code == 0, result.stderr

    by_pip = make_venv(tmp_path / "pip")
    pip = run_pip(
        by_pip,
        ["install", "--no-index", "--no-cache-dir", "--require-hashes", "-r", str(requirements)],
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr

    by_uv = make_venv(tmp_path / "uv")
    uv = run_uv(
        ["pip", "install", "--python", str(by_uv), "--no-index", "-r", str(lock)],
        env=isolated_env(tmp_path / "caches"),
    )
    assert uv.returncode == 0, uv.stdout + uv.stderr

    assert installed(tmp_path / "ws") == installed(tmp_path / "pip") == installed(tmp_path / "uv")
    assert installed(tmp_path / "pip") == APP_FAST


def test_pip_refuses_a_requirements_file_whose_hash_was_changed(
    published, ipfs_node, tmp_path: Path
) -> None:
    result = wheelset(
        ["export", published.cid, "lib-b", "--gateway", ipfs_node.gateway_url], tmp_path / "c"
    )
    assert result.exit_code == 0, result.stderr
    sha = published.declarations["lib_b-0.5-py3-none-any.whl"].sha256
    (tmp_path / "req.txt").write_text(result.stdout.replace(sha, "0" * 64))
    pip = run_pip(
        make_venv(tmp_path / "v"),
        [
            "install",
            "--no-index",
            "--no-cache-dir",
            "--require-hashes",
            "-r",
            str(tmp_path / "req.txt"),
        ],
    )
    assert pip.returncode != 0 and "THESE PACKAGES DO NOT MATCH THE HASHES" in pip.stderr


def test_export_for_another_platform(published, ipfs_node, tmp_path: Path) -> None:
    platform_id = f"cp{sys.version_info[0]}{sys.version_info[1]}-win_amd64"
    result = wheelset(
        [
            "export",
            published.cid,
            "app[fast,win]",
            "--gateway",
            ipfs_node.gateway_url,
            "--platform",
            platform_id,
            "--format",
            "pylock",
        ],
        tmp_path / "c",
    )
    assert result.exit_code == 0, result.stderr
    doc = tomllib.loads(result.stdout)
    files = {p["wheels"][0]["name"] for p in doc["packages"]}
    assert any(f.startswith("speedup-") and f.endswith("win_amd64.whl") for f in files)
    assert "winonly-1.0-py3-none-win_amd64.whl" in files
    assert doc["tool"]["wheelset"]["platform"] == platform_id


def test_export_for_a_platform_whose_patch_release_is_pinned(tmp_path: Path) -> None:
    """A root whose platforms.toml names 3.11.4 exports for cp311-win_amd64 with Python
    3.11.4 (the former install-side platform table reader refused '3.11.4' entries)."""
    from wheelset.build.manifest import manifest_of
    from wheelset.build.tree import build_root

    wheel = make_wheel(tmp_path, "patched", "1.0", requires_python=">=3.11.2")
    decl, meta, _ = declare_wheel(wheel)
    platforms = {"python-versions": ["3.11.4", "3.12"], "systems": ["win_amd64"]}
    built = build_root(manifest_of(platforms, [decl], {decl.filename: meta}))
    for path, data in built.generated.items():
        (tmp_path / "build" / "tree" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "build" / "tree" / path).write_bytes(data)
    (tmp_path / "build" / "ROOT").write_text(f"{built.cid}\n")
    args = ["export", tmp_path / "build", "patched", "--gateway", "http://127.0.0.1:9"]
    result = wheelset([*args, "--platform", "cp311-win_amd64"], tmp_path / "c")
    assert result.exit_code == 0, result.stderr
    assert "patched @ http://127.0.0.1:9/ipfs/" in result.stdout
    assert "platform cp311-win_amd64" in result.stdout
    unknown = wheelset([*args, "--platform", "cp313-win_amd64"], tmp_path / "c")
    assert unknown.exit_code == 1
    assert unknown.stderr == (
        "error: PLATFORM platform 'cp313-win_amd64' is not one of this root's: "
        "cp311-win_amd64, cp312-win_amd64\n"
    )


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--platform", "cp27-win_amd64"], "PLATFORM", "is not one of this root's"),
        (["--format", "conda"], None, "--format must be one of requirements, pylock"),
    ],
)
def test_export_usage_errors(published, ipfs_node, tmp_path: Path, args, code, fragment) -> None:
    result = wheelset(
        ["export", published.cid, "app", "--gateway", ipfs_node.gateway_url, *args], tmp_path / "c"
    )
    assert result.exit_code in (1, 2) and result.stdout == ""
    assert result.stderr.count("\n") == 1 and fragment in result.stderr
    if code:
        assert result.stderr.startswith(f"error: {code} ")
