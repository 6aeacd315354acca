"""declare: choosing a release's wheels, and the three source forms end to end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.version import Version
from typer.testing import CliRunner

from tests.support.decls import write_platforms
from tests.support.index import serve_directory, serve_stalling, write_index
from tests.support.wheels import make_metadata, make_wheel
from wheelset.cli import app
from wheelset.fetch.index import IndexFile
from wheelset.maintain.declare import DeclareError, parse_source, plan_release
from wheelset.model.declarations import prefix_of
from wheelset.model.platforms import make_platform


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


SYSTEMS = ("manylinux_2_28_x86_64", "manylinux_2_28_aarch64", "macosx_11_0_arm64", "win_amd64")
PLATFORMS = [make_platform(p, s) for p in ("3.11", "3.12") for s in SYSTEMS]


def _files(*names: str, requires_python: str | None = None) -> list[IndexFile]:
    return [IndexFile(n, f"http://127.0.0.1:9/{n}", None, requires_python) for n in names]


def _chosen(name: str, files: list[IndexFile], version: str | None = "1.0") -> list[str]:
    plan = plan_release(name, Version(version) if version else None, files, PLATFORMS)
    return [f.filename for f in plan.files]


def test_pure_wheel_when_pips_choices_would_overlap() -> None:
    # pip takes the cp311/cp312 wheels on Windows and the pure wheel elsewhere; a system
    # could install both, so the fewest covering wheels are declared instead.
    files = _files(
        "demo-1.0-cp311-cp311-win_amd64.whl",
        "demo-1.0-py3-none-any.whl",
        "demo-1.0-cp312-cp312-win_amd64.whl",
    )
    assert _chosen("demo", files) == ["demo-1.0-py3-none-any.whl"]


def test_compiled_wheels_that_cover_every_platform_beat_the_pure_one() -> None:
    # pip installs the compiled wheel wherever one fits; the pure fallback is for others.
    binaries = [f"demo-1.0-cp3{v}-cp3{v}-{s}.whl" for v in (11, 12) for s in SYSTEMS]
    files = _files("demo-1.0-py3-none-any.whl", *binaries)
    assert _chosen("demo", files) == sorted(binaries)
    # One platform without a compiled wheel: the pure wheel alone covers all of them.
    assert _chosen("demo", _files("demo-1.0-py3-none-any.whl", *binaries[1:])) == [
        "demo-1.0-py3-none-any.whl"
    ]


def test_pips_choice_per_platform_and_nothing_overlaps() -> None:
    files = _files(
        "demo-1.0-cp311-cp311-win_amd64.whl",
        "demo-1.0-cp312-cp312-win_amd64.whl",
        "demo-1.0-cp39-abi3-win_amd64.whl",
        "demo-1.0-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "demo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        "demo-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
    )
    assert _chosen("demo", files) == [
        "demo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        "demo-1.0-cp311-cp311-win_amd64.whl",
        "demo-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
        "demo-1.0-cp312-cp312-win_amd64.whl",
    ]


def test_newest_glibc_and_native_macos_as_pip_prefers() -> None:
    files = _files(
        "demo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "demo-1.0-cp311-cp311-macosx_11_0_arm64.whl",
        "demo-1.0-cp311-cp311-macosx_10_9_universal2.whl",
    )
    plan = plan_release("demo", Version("1.0"), files, PLATFORMS)
    assert [f.filename for f in plan.files] == [
        "demo-1.0-cp311-cp311-macosx_11_0_arm64.whl",
        "demo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
    ]
    assert [p.id for p in plan.uncovered] == [
        "cp311-manylinux_2_28_aarch64",
        "cp311-win_amd64",
        *(p.id for p in PLATFORMS[4:]),
    ]


def test_requires_python_limits_coverage_and_newest_final_is_default() -> None:
    files = [
        *_files("demo-2.0-py3-none-any.whl", requires_python=">=3.12"),
        *_files("demo-3.0rc1-py3-none-any.whl", "demo-1.0-py3-none-any.whl", "demo-2.5.tar.gz"),
    ]
    plan = plan_release("demo", None, files, PLATFORMS)
    assert plan.version == Version("2.0")
    assert [p.id for p in plan.uncovered] == [p.id for p in PLATFORMS[:4]]


@pytest.mark.parametrize(
    ("files", "version", "fragment"),
    [
        (["demo-1.0-py3-none-any.whl"], "2.0", "no release 2.0 on the index (newest: 1.0)"),
        (
            ["demo-2.0.tar.gz", "demo-1.0-py3-none-any.whl"],
            "2.0",
            "only source distributions; wheelset declares wheels: build one "
            "(`pip wheel --no-deps 'demo==2.0'`)",
        ),
        (["demo-1.0-cp310-cp310-win_amd64.whl"], "1.0", "installs on a supported platform"),
        (["other-1.0-py3-none-any.whl"], None, "no release has a wheel"),
    ],
)
def test_plan_errors(files: list[str], version: str | None, fragment: str) -> None:
    with pytest.raises(DeclareError, match=re.escape(fragment)):
        plan_release("demo", Version(version) if version else None, _files(*files), PLATFORMS)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("requests==2.32.3", "release"),
        ("zope.interface", "release"),
        ("dist/demo-1.0-py3-none-any.whl", "file"),
        ("demo-1.0-py3-none-any.whl", "file"),
        ("https://127.0.0.1/demo-1.0-py3-none-any.whl", "url"),
        ("file:///tmp/demo-1.0-py3-none-any.whl", "url"),
    ],
)
def test_parse_source(text: str, kind: str) -> None:
    assert parse_source(text).kind == kind


def test_parse_source_extras() -> None:
    spec = parse_source("HTTPX[HTTP2, Brotli]==0.28.1")
    assert (spec.name, str(spec.version), spec.extras) == ("httpx", "0.28.1", ("http2", "brotli"))
    assert parse_source("httpx").extras is None
    assert parse_source("httpx[]").extras == ()


@pytest.mark.parametrize(
    "text",
    [
        "demo-1.0.tar.gz",
        "https://127.0.0.1/demo-1.0.tar.gz",
        "ftp://127.0.0.1/demo-1.0-py3-none-any.whl",
        "https://127.0.0.1/..%2F..%2Fdemo-1.0-py3-none-any.whl",
        "demo==not a version",
        "../etc/passwd",
    ],
)
def test_parse_source_refuses(text: str) -> None:
    with pytest.raises(Exception) as info:
        parse_source(text)
    assert info.value.one_line()  # a WheelsetError: one line for the user


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("demo-1.0.tar.gz", "pip wheel --no-deps demo-1.0.tar.gz"),
        ("dist/demo-1.0.tar.xz", "pip wheel --no-deps dist/demo-1.0.tar.xz"),
        ("https://127.0.0.1/demo-1.0.zip", "pip wheel --no-deps https://127.0.0.1/demo-1.0.zip"),
        ("file:///tmp/demo-1.0-py3.8.egg", "wheel convert demo-1.0-py3.8.egg"),
    ],
)
def test_parse_source_refuses_other_formats_saying_what_to_do(text: str, command: str) -> None:
    with pytest.raises(DeclareError) as info:
        parse_source(text)
    line = info.value.one_line()
    assert line.startswith(f"{text}: DECLARE ") and f"`{command}`" in line


# End to end: real wheels on a real index on 127.0.0.1, through the CLI.

ABI3 = (
    "manylinux_2_17_x86_64.manylinux2014_x86_64",
    "manylinux_2_17_aarch64.manylinux2014_aarch64",
    "macosx_10_9_universal2",
    "win_amd64",
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """(index URL, collection dir, a local wheel not on the index)."""
    built = tmp_path / "built"
    wheels = [
        make_wheel(
            built,
            "app",
            "1.0",
            requires_dist=[
                "lib>=2",
                'colorama; sys_platform == "win32"',
                'ext[fast]; extra == "speed"',
            ],
            extras=["speed"],
            requires_python=">=3.10",
        ),
        *(make_wheel(built, "lib", "2.1", tag=f"cp39-abi3-{p}") for p in ABI3),
        make_wheel(built, "lib", "2.1", tag="cp311-cp311-win_amd64"),
        make_wheel(built, "colorama", "0.4.6", tag="py2.py3-none-any"),
        *(
            make_wheel(built, "ext", "1.0", tag=f"cp3{v}-cp3{v}-{p}", extras=["fast"])
            for v in (11, 12)
            for p in (
                "manylinux_2_28_x86_64",
                "manylinux_2_28_aarch64",
                "macosx_11_0_arm64",
                "win_amd64",
            )
        ),
    ]
    local = make_wheel(tmp_path / "local", "tool", "0.1", requires_dist=["app"])
    write_index(tmp_path / "index", wheels)
    root = tmp_path / "declarations"
    write_platforms(root, ["3.11", "3.12"], SYSTEMS)
    with serve_directory(tmp_path / "index", negotiate=True) as url:
        yield url, root, local


def _run(*args: str, env: dict[str, str] | None = None):  # -> click Result
    return CliRunner().invoke(app, list(args), env=env)


def _p(project: str) -> str:
    return prefix_of(project)


def _declared(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*.toml") if p.name != "platforms.toml"
    )


def test_declare_all_three_forms_then_check(world: tuple[str, Path, Path], tmp_path: Path) -> None:
    url, root, local = world
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "WHEELSET_INDEX_URL": f"{url}/simple"}
    result = _run("declare", "app==1.0", "lib==2.1", "ext", "--into", str(root), env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("added ") == 1 + 4 + 8
    colorama = f"{url}/files/colorama-0.4.6-py2.py3-none-any.whl"
    assert _run("declare", colorama, "--into", str(root), env=env).exit_code == 0
    result = _run("declare", str(local), "--into", str(root), env=env)
    assert result.exit_code == 0, result.output
    assert _declared(root) == sorted(
        [
            f"{_p('app')}/app/app-1.0-py3-none-any.toml",
            f"{_p('lib')}/lib/lib-2.1-cp39-abi3-macosx_10_9_universal2.toml",
            f"{_p('lib')}/lib/lib-2.1-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.toml",
            f"{_p('lib')}/lib/lib-2.1-cp39-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64.toml",
            f"{_p('lib')}/lib/lib-2.1-cp39-abi3-win_amd64.toml",
            *(
                f"{_p('ext')}/ext/ext-1.0-cp3{v}-cp3{v}-{p}.toml"
                for v in (11, 12)
                for p in (
                    "manylinux_2_28_x86_64",
                    "manylinux_2_28_aarch64",
                    "macosx_11_0_arm64",
                    "win_amd64",
                )
            ),
            f"{_p('colorama')}/colorama/colorama-0.4.6-py2.py3-none-any.toml",
            f"{_p('tool')}/tool/tool-0.1-py3-none-any.toml",
        ]
    )
    app_toml = (root / f"{_p('app')}/app/app-1.0-py3-none-any.toml").read_text()
    assert 'source = "index:app-1.0-py3-none-any.whl"' in app_toml
    assert 'requires-python = ">=3.10"' in app_toml and "sha256 = " in app_toml
    assert (
        f'source = "{colorama}"'
        in (root / f"{_p('colorama')}/colorama/colorama-0.4.6-py2.py3-none-any.toml").read_text()
    )
    assert (
        f'source = "{local.resolve().as_uri()}"'
        in (root / f"{_p('tool')}/tool/tool-0.1-py3-none-any.toml").read_text()
    )

    result = _run("check", str(root))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    result = _run("check", str(root), "--integrity", "--all", env=env)
    assert result.exit_code == 0, result.output

    again = _run("declare", "app==1.0", "--into", str(root), env=env)
    assert again.stdout.startswith("unchanged ")


def test_declare_local_wheel_with_explicit_source(world: tuple[str, Path, Path]) -> None:
    url, root, local = world
    source = f"{url}/files/{local.name}"
    result = _run("declare", str(local), "--source", source, "--into", str(root))
    assert result.exit_code == 0, result.output
    assert (
        f'source = "{source}"'
        in (root / f"{_p('tool')}/tool/tool-0.1-py3-none-any.toml").read_text()
    )
    result = _run(
        "declare",
        str(local),
        "--source",
        f"{url}/files/other-1.0-py3-none-any.whl",
        "--into",
        str(root),
    )
    assert result.exit_code == 1 and "SOURCE" in result.stderr


def test_extras_option_keeps_a_subset(world: tuple[str, Path, Path]) -> None:
    url, root, _local = world
    args = ["declare", "app==1.0", "--into", str(root), "--index-url", f"{url}/simple"]
    assert _run(*args, "--extras", "").exit_code == 0
    text = (root / f"{_p('app')}/app/app-1.0-py3-none-any.toml").read_text()
    assert "extras = []" in text and 'extra == \\"speed\\"' in text
    assert _run(*args, "--extras", "Speed").exit_code == 0
    text = (root / f"{_p('app')}/app/app-1.0-py3-none-any.toml").read_text()
    assert 'extras = [\n    "speed",\n]' in text


def test_unknown_extra_is_an_error_naming_the_ones_that_exist(
    world: tuple[str, Path, Path],
) -> None:
    url, root, _local = world
    args = ["declare", "--into", str(root), "--index-url", f"{url}/simple"]
    for how in (["app[sped]==1.0"], ["app==1.0", "--extras", "sped"]):
        result = _run(*args, *how)
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines == [
            "error: app-1.0-py3-none-any.whl: EXTRAS no extra sped (it provides: speed)"
        ], lines
        assert not (root / _p("app")).exists()


def test_replace_removes_other_versions(world: tuple[str, Path, Path], tmp_path: Path) -> None:
    url, root, _local = world
    old = root / f"{_p('colorama')}/colorama/colorama-0.3-py3-none-any.toml"
    old.parent.mkdir(parents=True)
    old.write_text("stale")
    result = _run(
        "declare",
        "colorama",
        "--replace",
        "--into",
        str(root),
        "--index-url",
        f"{url}/simple",
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert result.exit_code == 0, result.output
    assert f"removed {old}" in result.stdout and not old.exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["app==9.9"], "no release 9.9"),
        (["nosuchproject==1.0"], "'nosuchproject' not found"),
        (["{url}/files/missing-1.0-py3-none-any.whl"], "HTTP 404"),
        (["{local}", "{url}/files/missing-1.0-py3-none-any.whl"], "HTTP 404"),
        (
            ["{tmp}/nothere-1.0-py3-none-any.whl"],
            "{tmp}/nothere-1.0-py3-none-any.whl: DECLARE no such file",
        ),
        (
            ["{tmp}/fake-1.0-py3-none-any.whl"],
            "fake-1.0-py3-none-any.whl: NOT-WHEEL not a readable zip",
        ),
        (["{tmp}/bad-1.0-py3-none-any.whl"], "bad-1.0-py3-none-any.whl: METADATA-MISMATCH"),
        (
            ["{tmp}/demo-1.0.tar.gz"],
            "{tmp}/demo-1.0.tar.gz: DECLARE a source distribution, not a wheel; wheelset "
            "declares wheels only: build one (`pip wheel --no-deps {tmp}/demo-1.0.tar.gz`",
        ),
        (["../x-1.0-py3-none-any.whl"], "error: ../x-1.0-py3-none-any.whl: DECLARE no such file"),
        (["{url}/files/..%2Fx-1.0-py3-none-any.whl"], "FILENAME"),
    ],
)
def test_bad_input_one_line_nothing_written(
    world: tuple[str, Path, Path], tmp_path: Path, args: list[str], fragment: str
) -> None:
    url, root, local = world
    (tmp_path / "fake-1.0-py3-none-any.whl").write_text("not a zip")
    make_wheel(tmp_path / "b", "bad", "1.0", metadata=make_metadata("bad", "2.0")).rename(
        tmp_path / "bad-1.0-py3-none-any.whl"
    )
    expanded = [a.format(url=url, local=local, tmp=tmp_path) for a in args]
    result = _run(
        "declare", *expanded, "--into", str(root), "--index-url", f"{url}/simple", "--no-cache"
    )
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert fragment.format(tmp=tmp_path) in lines[0]
    assert result.stdout == "" and _declared(root) == []


def test_timeout_is_one_line(world: tuple[str, Path, Path]) -> None:
    _url, root, _local = world
    with serve_stalling() as stalling:
        result = _run(
            "declare",
            f"{stalling}/demo-1.0-py3-none-any.whl",
            "--into",
            str(root),
            "--timeout",
            "0.3",
        )
    assert result.exit_code == 1 and "timed out" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and _declared(root) == []


def test_release_needs_platforms(tmp_path: Path) -> None:
    result = _run("declare", "demo==1.0", "--into", str(tmp_path / "empty"))
    assert result.exit_code == 1 and "PLATFORMS" in result.stderr


def test_prefix_command() -> None:
    result = _run("prefix", "numpy", "Requests", "tomli")
    assert (result.exit_code, result.stdout) == (0, "39\n7c\n25\n")
    bad = _run("prefix", "../x")
    assert bad.exit_code == 2 and "invalid project name" in bad.stderr


def test_into_refuses_a_symbolic_link_out_of_the_collection(tmp_path: Path) -> None:
    from tests.support.decls import make_decl
    from wheelset.maintain.declare import write_declarations

    root, outside = tmp_path / "declarations", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    decl = make_decl("tomli-2.0.1-py3-none-any.whl")
    (root / decl.path.parts[0]).symlink_to(outside, target_is_directory=True)
    with pytest.raises(DeclareError) as info:
        write_declarations([decl], root)
    assert info.value.one_line().startswith(f"{root / decl.path.parts[0]}: IO a symbolic link;")
    assert list(outside.iterdir()) == []
    wheel = make_wheel(tmp_path / "w", "tomli", "2.0.1")
    result = CliRunner().invoke(app, ["declare", str(wheel), "--into", str(root)])
    assert result.exit_code != 0 and "symbolic link" in result.output
    assert list(outside.iterdir()) == []
