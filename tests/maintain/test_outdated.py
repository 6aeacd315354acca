"""outdated: the newest usable release of each project, against a real index on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version
from typer.testing import CliRunner

from tests.support.index import serve_protected
from tests.support.releases import (
    OLD,
    PLATFORM_IDS,
    PYTHONS,
    SYSTEMS,
    build_index,
    new_collection,
    served_world,
)
from tests.support.wheels import make_wheel
from wheelset.cli import app
from wheelset.fetch.index import IndexFile
from wheelset.maintain.outdated import find_update, format_table
from wheelset.model.platforms import describe_platforms, make_platform

PLATFORMS = [make_platform(p, s) for p in PYTHONS for s in SYSTEMS]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture(params=[True, False], ids=["pep691-json", "pep503-html"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with served_world(tmp_path, negotiate=request.param) as found:
        yield found


def _run(*args: str):  # -> click Result
    return CliRunner().invoke(app, list(args))


EXPECTED_ROWS = [
    ["project", "declared", "newest usable", "note"],
    ["app", "1.0", "1.1", "update to 1.1"],
    ["lib", "1.0", "2.0", "update to 2.0; newer 3.0: no wheels for cp311"],
    ["modern", "1.0", "1.0", "up to date; newer 2.0: requires Python >=3.12 (cp311)"],
    ["native", "1.0", "1.0", "up to date; newer 2.0: no wheels for win_amd64"],
    ["util", "1.0", "1.1", "update to 1.1; newer 1.5: source distributions only"],
]


def test_table(world: tuple[str, Path]) -> None:
    url, root = world
    result = _run("outdated", str(root), "--index-url", url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # Aligned: every row's note starts in the same column.
    column = lines[0].index("note")
    assert all(line[column - 2 : column] == "  " for line in lines)
    assert [[*line[:column].split(), line[column:]] for line in lines][1:] == EXPECTED_ROWS[1:]
    assert lines[0].split() == ["project", "declared", "newest", "usable", "note"]
    assert result.stderr == "5 projects: 3 can be updated, 4 have newer releases lacking wheels\n"


def test_json(world: tuple[str, Path]) -> None:
    url, root = world
    result = _run("outdated", str(root), "--index-url", url, "--format", "json", "--jobs", "2")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["outdated"] == 3
    by_name = {p["project"]: p for p in doc["projects"]}
    assert list(by_name) == ["app", "lib", "modern", "native", "util"]
    assert by_name["lib"] == {
        "project": "lib",
        "declared": ["1.0"],
        "platforms": list(PLATFORM_IDS),
        "newest": "2.0",
        "outdated": True,
        "newer": [
            {
                "version": "3.0",
                "missing": ["cp311-manylinux_2_28_x86_64", "cp311-win_amd64"],
                "reason": "no wheels for cp311",
            }
        ],
        "error": None,
        "private": False,
    }
    assert by_name["native"]["newest"] == "1.0" and not by_name["native"]["outdated"]
    assert by_name["native"]["newer"][0]["missing"] == [
        "cp311-win_amd64",
        "cp312-win_amd64",
    ]
    assert by_name["modern"]["newer"][0]["reason"] == "requires Python >=3.12 (cp311)"
    # The pre-release 1.2rc1 is not offered; the sdist-only 1.5 is named, not used.
    assert by_name["util"]["newest"] == "1.1"
    assert [n["version"] for n in by_name["util"]["newer"]] == ["1.5"]
    assert by_name["app"]["newer"] == []


def test_project_missing_from_the_index_is_a_row_not_a_failure(
    world: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = world
    local = make_wheel(tmp_path / "local", "private-tool", "0.1")
    declared = _run("declare", str(local), "--source", "index", "--into", str(root))
    assert declared.exit_code == 0, declared.output
    result = _run("outdated", str(root), "--index-url", url, "--format", "json")
    assert result.exit_code == 0, result.output
    row = next(p for p in json.loads(result.stdout)["projects"] if p["project"] == "private-tool")
    assert row["newest"] is None and "not found" in row["error"]
    table = _run("outdated", str(root), "--index-url", url)
    assert (
        "private-tool  0.1       none           error: FETCH project 'private-tool' not found"
    ) in table.stdout


def test_private_index_credentials_are_used_and_never_shown(tmp_path: Path) -> None:
    index = build_index(tmp_path)
    root = new_collection(tmp_path)
    local = make_wheel(tmp_path / "local", "private-tool", "0.1")
    with serve_protected(index, "me", "s3cret") as base:
        url = base.replace("http://", "http://me:s3cret@") + "/simple"
        declared = _run("declare", *OLD, "--into", str(root), "--index-url", url)
        assert declared.exit_code == 0, declared.output
        declared = _run("declare", str(local), "--source", "index", "--into", str(root))
        assert declared.exit_code == 0, declared.output
        result = _run("outdated", str(root), "--index-url", url, "--format", "json")
        assert _run("outdated", str(root), "--index-url", base + "/simple").exit_code == 1
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.stdout + result.stderr
    rows = {p["project"]: p for p in json.loads(result.stdout)["projects"]}
    assert rows["lib"]["newest"] == "2.0" and "me:***@" not in rows["private-tool"]["error"]
    assert "://***@127.0.0.1" in rows["private-tool"]["error"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_index_is_one_line(world: tuple[str, Path]) -> None:
    _url, root = world
    dead = f"http://127.0.0.1:{_closed_port()}/simple"
    result = _run("outdated", str(root), "--index-url", dead)
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: FETCH ") and "127.0.0.1" in lines[0]


def test_usage_errors(tmp_path: Path) -> None:
    bad = _run("outdated", str(tmp_path), "--format", "yaml", "--index-url", "http://127.0.0.1:9")
    assert bad.exit_code == 2 and "--format" in bad.stderr
    missing = _run("outdated", str(tmp_path / "nowhere"), "--index-url", "http://127.0.0.1:9")
    assert missing.exit_code == 1 and "not a collection directory" in missing.stderr
    (tmp_path / "empty").mkdir()
    broken = _run("outdated", str(tmp_path / "empty"), "--index-url", "http://127.0.0.1:9")
    assert broken.exit_code == 1 and "PLATFORMS" in broken.stderr


# find_update and describe_platforms on their own: index pages as IndexFile lists.


def _files(*names: str, yanked: bool = False, requires_python: str | None = None):
    return [IndexFile(n, f"http://127.0.0.1:9/{n}", None, requires_python, yanked) for n in names]


def test_yanked_and_prereleases_are_not_offered() -> None:
    files = [
        *_files("demo-1.0-py3-none-any.whl", "demo-2.0rc1-py3-none-any.whl"),
        *_files("demo-1.5-py3-none-any.whl", yanked=True),
    ]
    status = find_update("demo", [Version("1.0")], PLATFORM_IDS, files, PLATFORMS)
    assert (status.newest, status.newer, status.is_outdated) == (Version("1.0"), (), False)


def test_older_releases_are_never_proposed() -> None:
    files = _files("demo-0.9-py3-none-any.whl", "demo-1.0-cp312-cp312-win_amd64.whl")
    status = find_update("demo", [Version("1.0")], PLATFORM_IDS, files, PLATFORMS)
    assert status.newest is None and status.newer == ()


def test_when_no_release_covers_the_note_says_so() -> None:
    files = _files("demo-0.9-py3-none-any.whl", "demo-1.0-cp312-cp312-win_amd64.whl")
    status = find_update("demo", [Version("1.0")], PLATFORM_IDS, files, PLATFORMS)
    assert format_table([status]).splitlines()[1].split(None, 3) == [
        "demo",
        "1.0",
        "none",
        "no release >= 1.0 covers its platforms",
    ]


def test_a_project_covering_no_platform_needs_a_release_covering_one() -> None:
    files = _files("demo-2.0-cp310-cp310-win_amd64.whl", "demo-1.5-py3-none-any.whl")
    status = find_update("Demo", [Version("1.0")], [], files, PLATFORMS)
    assert status.name == "demo" and status.newest == Version("1.5")
    assert [(s.version, s.reason) for s in status.newer] == [
        (Version("2.0"), "no wheel for a supported platform")
    ]


def test_mixed_reasons_are_both_given() -> None:
    files = [
        *_files("demo-2.0-cp312-cp312-manylinux_2_28_x86_64.whl"),
        *_files("demo-2.0-cp311-cp311-manylinux_2_28_x86_64.whl", requires_python=">=3.11.4"),
    ]
    needed = ["cp311-manylinux_2_28_x86_64", "cp311-win_amd64", "cp312-manylinux_2_28_x86_64"]
    status = find_update("demo", [Version("1.0")], needed, files, PLATFORMS)
    assert status.newest is None
    assert status.newer[0].missing == ("cp311-manylinux_2_28_x86_64", "cp311-win_amd64")
    assert status.newer[0].reason == (
        "no wheels for cp311-win_amd64; requires Python >=3.11.4 (cp311-manylinux_2_28_x86_64)"
    )


@pytest.mark.parametrize(
    ("ids", "within", "text"),
    [
        (PLATFORM_IDS, None, "all 4 platforms"),
        (["cp311-manylinux_2_28_x86_64", "cp311-win_amd64"], None, "cp311"),
        (["cp311-win_amd64", "cp312-win_amd64"], None, "win_amd64"),
        (
            ["cp311-win_amd64", "cp312-win_amd64", "cp311-manylinux_2_28_x86_64"],
            None,
            "cp311, win_amd64",
        ),
        (["cp312-win_amd64"], None, "cp312-win_amd64"),
        (["cp312-win_amd64"], ["cp312-win_amd64"], "cp312-win_amd64"),
        (
            ["cp311-win_amd64", "cp312-win_amd64"],
            ["cp311-win_amd64", "cp312-win_amd64"],
            "all 2 platforms",
        ),
        ([], None, ""),
    ],
)
def test_describe_platforms(ids: list[str], within: list[str] | None, text: str) -> None:
    assert describe_platforms(ids, PLATFORMS, within) == text


WIDE = [
    make_platform(p, s) for p in ("3.11", "3.12", "3.13") for s in (*SYSTEMS, "macosx_11_0_arm64")
]


def _expand(text: str, universe: list[str]) -> set[str]:
    """The platform ids a describe_platforms() text stands for."""
    ids: set[str] = set()
    for part in filter(None, text.split(", ")):
        if part.startswith("all ") and part.endswith(" platforms"):
            ids |= set(universe)
        elif "-" in part:
            ids.add(part)
        else:
            ids |= {i for i in universe if i.startswith(part + "-") or i.endswith("-" + part)}
    return ids


@given(
    st.sets(st.sampled_from([p.id for p in WIDE])),
    st.sets(st.sampled_from([p.id for p in WIDE]), min_size=1),
)
def test_describe_platforms_names_exactly_the_platforms(ids: set[str], within: set[str]) -> None:
    ids &= within
    universe = [p.id for p in WIDE if p.id in within]
    text = describe_platforms(ids, WIDE, within)
    assert _expand(text, universe) == ids
    assert len(text.split(", ")) <= max(1, len(ids))


def test_a_project_from_a_private_url_is_not_looked_up_on_the_index(
    world: tuple[str, Path], tmp_path: Path
) -> None:
    # util 1.0 declared from a private file:// wheel; the public index has util 1.1, which
    # must not be offered (a dependency-confusion risk) unless asked for.
    url, root = world
    local = make_wheel(tmp_path / "private", "util", "1.0")
    declared = _run("declare", str(local), "--into", str(root), "--replace")
    assert declared.exit_code == 0, declared.output
    table = _run("outdated", str(root), "--index-url", url)
    assert table.exit_code == 0, table.output
    row = next(line for line in table.stdout.splitlines() if line.startswith("util "))
    assert row.split() == ["util", "1.0", "none", "private", "source,", "not", "checked"]
    doc = json.loads(_run("outdated", str(root), "--index-url", url, "--format", "json").stdout)
    util = next(p for p in doc["projects"] if p["project"] == "util")
    assert util["private"] is True and util["newest"] is None
    swapped = _run("outdated", str(root), "--index-url", url, "--allow-index-swap", "-f", "json")
    util = next(p for p in json.loads(swapped.stdout)["projects"] if p["project"] == "util")
    assert util["private"] is False and util["newest"] == "1.1"
