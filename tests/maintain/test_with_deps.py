"""From an empty directory to a sound collection: `init`, `declare --with-deps`, `check`.

The index is a real PEP 691/503 index on 127.0.0.1 holding real wheels: a session fixture
asks pip (from its configured index) for `fastapi[standard]` and `pandas` on each platform
of the test, once, into pytest's cache directory. The platforms are narrowed to those whose
marker environment pip evaluates (pip decides markers on the machine it runs on, so a
Windows-only dependency would be missing from a download made here); the workload is the
issue's, unchanged.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomllib
from typer.testing import CliRunner

from tests.support.decls import write_platforms
from tests.support.index import serve_directory, write_index
from tests.support.wheels import make_wheel
from wheelset.cli import app

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
SYSTEMS = {
    "manylinux_2_28_x86_64": [f"manylinux_2_{minor}_x86_64" for minor in (28, 27, 26, 24, 17)]
    + ["manylinux2014_x86_64"],
    "manylinux_2_28_aarch64": [f"manylinux_2_{minor}_aarch64" for minor in (28, 27, 26, 24, 17)]
    + ["manylinux2014_aarch64"],
}
WORKLOAD = ["fastapi[standard]", "pandas"]


def _extras(root: Path, project: str) -> list[str]:
    return tomllib.loads(next(root.glob(f"*/{project}/*.toml")).read_text())["extras"]


def _run(*args: str, env: dict[str, str]):  # -> click Result
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture(scope="session")
def real_index(request: pytest.FixtureRequest) -> Iterator[str]:
    """A loopback index of the real wheels the workload needs on the test's platforms."""
    root = Path(request.config.cache.mkdir("wheelset-real-wheels"))
    files = root / "files"
    done = root / "downloaded"
    key = " ".join([PYTHON, *SYSTEMS, *WORKLOAD])
    if not done.is_file() or done.read_text() != key:
        abi = f"cp{PYTHON.replace('.', '')}"
        for tags in SYSTEMS.values():
            command = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:"]
            command += ["--python-version", PYTHON, "--implementation", "cp"]
            command += ["--abi", abi, "--abi", "abi3", "--abi", "none"]
            command += [f"--platform={tag}" for tag in tags]
            command += ["--dest", str(files), *WORKLOAD]
            result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
            if result.returncode != 0:
                pytest.fail(f"pip download failed: {result.stderr[-2000:]}")
        done.write_text(key)
    write_index(root, sorted(files.glob("*.whl")), metadata=True)
    with serve_directory(root, negotiate=True) as url:
        yield f"{url}/simple"


def test_init_then_declare_with_deps_then_check_is_green(real_index: str, tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "WHEELSET_INDEX_URL": real_index}
    acme = tmp_path / "acme"
    result = _run("init", str(acme), env=env)
    assert result.exit_code == 0, result.output
    # The template's matrix, narrowed to the platforms the index holds wheels for.
    platforms = acme / "platforms.toml"
    text = platforms.read_text()
    assert 'python-versions = ["3.11", "3.12", "3.13", "3.14"]' in text
    systems = "".join(f'    "{s}",\n' for s in SYSTEMS)
    text = text.replace('["3.11", "3.12", "3.13", "3.14"]', f'["{PYTHON}"]')
    text = text[: text.index("systems = [")] + f"systems = [\n{systems}]\n"
    platforms.write_text(text)

    result = _run("declare", "--with-deps", *WORKLOAD, "--into", str(acme), env=env)
    assert result.exit_code == 0, result.output
    declared = {p.parent.name for p in acme.glob("*/*/*.toml")}
    assert {"fastapi", "pandas", "numpy", "uvicorn", "uvloop", "httptools", "pydantic-core"} <= (
        declared
    )
    assert _extras(acme, "fastapi") == ["standard"]
    assert _extras(acme, "uvicorn") == ["standard"]  # asked for by fastapi[standard]
    # pandas got its compiled wheels, one per system; numpy too.
    assert len(list(acme.glob("*/pandas/*.toml"))) == len(SYSTEMS)

    result = _run("check", str(acme), env=env)
    # The closure is complete on every platform. What the trust check still asks is a
    # human review of names confusable with a most-used one (fastapi[standard] needs
    # httpx2 and httpcore2): the template's policy allows none until the curator does.
    confusable = [line for line in result.output.splitlines() if "NAME-CONFUSABLE" in line]
    assert len(result.output.splitlines()) == len(confusable) + 1, result.output
    reviewed = sorted(line.split("project name ")[1].split("'")[1] for line in confusable)
    policy = acme / "policy.toml"
    policy.write_text(
        policy.read_text().replace("allow = []", f"allow = {reviewed!r}".replace("'", '"'))
    )
    result = _run("check", str(acme), env=env)
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output

    # Declaring again changes nothing: every project is now fixed at its declared version.
    result = _run("declare", "--with-deps", *WORKLOAD, "--into", str(acme), env=env)
    assert result.exit_code == 0, result.output
    assert "added" not in result.output and "updated" not in result.output


# -- The traps, on small real wheels (built here) served from a loopback index --

PY = ("3.11", "3.12")
SMALL = ("manylinux_2_28_x86_64", "win_amd64")


def _world(tmp_path: Path) -> list[Path]:
    wheels = tmp_path / "wheels"
    made = [
        make_wheel(wheels, "app", "1.0", requires_dist=["lib>=0.6", "tool[fast]>=1"]),
        make_wheel(wheels, "native", "1.0", requires_dist=['posixonly; sys_platform != "win32"']),
        make_wheel(wheels, "needy", "1.0", requires_dist=["lib>=0.9"]),
        make_wheel(wheels, "posixonly", "2.0", tag="py3-none-manylinux_2_17_x86_64"),
        make_wheel(
            wheels,
            "tool",
            "1.0",
            extras=["fast", "dev"],
            requires_dist=['speedup; extra == "fast"', 'pytest-huge; extra == "dev"'],
        ),
        make_wheel(wheels, "speedup", "3.0"),
    ]
    # lib 0.9 lacks win_amd64 (as httptools 0.9.0 did); 0.8 covers every platform.
    for version, systems in (("0.9", ["manylinux_2_28_x86_64"]), ("0.8", SMALL), ("0.7", SMALL)):
        for system in systems:
            for py in PY:
                tag = f"cp{py.replace('.', '')}-cp{py.replace('.', '')}-{system}"
                made.append(make_wheel(wheels, "lib", version, tag=tag))
    return made


@pytest.fixture
def small_index(tmp_path: Path) -> Iterator[str]:
    write_index(tmp_path / "index", _world(tmp_path), metadata=True)
    with serve_directory(tmp_path / "index", negotiate=True) as url:
        yield f"{url}/simple"


def _env(tmp_path: Path, index: str) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / "cache"), "WHEELSET_INDEX_URL": index}


def _collection(tmp_path: Path) -> Path:
    root = tmp_path / "acme"
    write_platforms(root, PY, SMALL)
    return root


def _versions(root: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in root.glob("*/*/*.toml"):
        found.setdefault(path.parent.name, set()).add(path.stem.split("-")[1])
    return found


def test_declare_into_an_empty_directory_says_to_run_init(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _run(
        "declare", "requests", "--into", str(empty), env=_env(tmp_path, "http://127.0.0.1:9")
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: {empty / 'platforms.toml'}: PLATFORMS not found: "
        f"start a collection with `wheelset init {empty}`"
    ]


def test_init_makes_a_checked_collection_and_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    acme = tmp_path / "acme"
    assert _run("init", str(acme), env={}).exit_code == 0
    assert {p.name for p in acme.iterdir()} == {
        "platforms.toml",
        "policy.toml",
        "README.md",
        ".github",
    }
    result = _run("check", str(acme), env={})
    assert result.exit_code == 0 and "16 platforms: 0 errors" in result.output, result.output
    result = _run("init", str(acme), env={})
    assert result.exit_code == 1
    assert result.output.strip() == f"error: {acme}: FORK target directory is not empty"
    assert not list(tmp_path.glob(".*wheelset-init"))


def test_a_release_lacking_a_platform_names_the_newest_that_covers_all(
    small_index: str, tmp_path: Path
) -> None:
    root = _collection(tmp_path)
    result = _run("declare", "lib", "--into", str(root), env=_env(tmp_path, small_index))
    assert result.exit_code == 0, result.output
    assert (
        "note: lib 0.9: no wheel for win_amd64; 0.8 is the newest release with wheels for "
        "every platform: `wheelset declare 'lib==0.8' --replace`"
    ) in result.output


def test_with_deps_takes_the_newest_release_covering_every_platform_it_is_needed_on(
    small_index: str, tmp_path: Path
) -> None:
    root = _collection(tmp_path)
    env = _env(tmp_path, small_index)
    result = _run("declare", "--with-deps", "app", "native", "--into", str(root), env=env)
    assert result.exit_code == 0, result.output
    # lib: 0.9 lacks win_amd64 -> 0.8; tool[fast] brings speedup, not the dev extra's tools;
    # posixonly is needed off Windows only, and has wheels there only.
    assert _versions(root) == {
        "app": {"1.0"},
        "lib": {"0.8"},
        "tool": {"1.0"},
        "speedup": {"3.0"},
        "native": {"1.0"},
        "posixonly": {"2.0"},
    }
    assert _extras(root, "tool") == ["fast"]
    assert list((tmp_path / "cache" / "wheelset" / "core-metadata").glob("*.metadata"))
    result = _run("check", str(root), env=env)
    assert result.exit_code == 0, result.output


def test_with_deps_keeps_declared_versions_and_widens_declared_extras(
    small_index: str, tmp_path: Path
) -> None:
    root = _collection(tmp_path)
    env = _env(tmp_path, small_index)
    assert _run("declare", "lib==0.7", "tool", "--into", str(root), env=env).exit_code == 0
    assert "extras = []" in next(root.glob("*/tool/*.toml")).read_text()
    result = _run("declare", "--with-deps", "app", "--into", str(root), env=env)
    assert result.exit_code == 0, result.output
    versions = _versions(root)
    assert versions["lib"] == {"0.7"}  # declared: fixed, and it satisfies lib>=0.6
    assert _extras(root, "tool") == ["fast"]
    assert f"updated {next(root.glob('*/tool/*.toml'))}" in result.output
    assert _run("check", str(root), env=env).exit_code == 0


def test_with_deps_explains_when_no_release_fits_and_writes_nothing(
    small_index: str, tmp_path: Path
) -> None:
    root = _collection(tmp_path)
    env = _env(tmp_path, small_index)
    result = _run("declare", "--with-deps", "needy", "--into", str(root), env=env)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert (
        "lib: no release fits needy 1.0 needs lib>=0.9 with wheels for all 4 platforms" in lines[0]
    )
    assert "0.9 no wheels for win_amd64" in lines[0]
    assert not list(root.glob("*/*/*.toml"))
    # Declared projects are fixed: a conflict with one says to re-declare it.
    assert _run("declare", "lib==0.8", "--into", str(root), env=env).exit_code == 0
    result = _run("declare", "--with-deps", "needy", "--into", str(root), env=env)
    assert result.exit_code == 1
    assert "lib: declared at 0.8, but needy 1.0 needs lib>=0.9" in result.output
    assert "`wheelset declare 'lib>=0.9' --with-deps --replace`" in result.output
