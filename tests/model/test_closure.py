"""The closure core shared by the check and the installer."""

from __future__ import annotations

from packaging.requirements import Requirement

from tests.support.decls import make_decl
from wheelset.model.closure import ClosureIndex, ClosureWalk, Selected, Unsatisfied, iter_closure
from wheelset.model.platforms import make_platform, select_wheel

WIN = make_platform("3.11", "win_amd64")
MAC = make_platform("3.12", "macosx_11_0_arm64")


def _collection():
    return [
        make_decl(
            "app-1.0-py3-none-any.whl",
            extras=["cli", "all"],
            dependencies=[
                "lib>=2",
                'colorama; sys_platform == "win32"',
                'click[color]>=8; extra == "cli"',
                'app[cli]; extra == "all"',
            ],
        ),
        make_decl("lib-2.1-cp311-cp311-win_amd64.whl", dependencies=["six"]),
        make_decl("lib-2.1-cp312-cp312-macosx_11_0_arm64.whl", dependencies=["six"]),
        make_decl("six-1.16-py2.py3-none-any.whl"),
        make_decl("colorama-0.4-py3-none-any.whl"),
        make_decl(
            "click-8.1-py3-none-any.whl",
            extras=["color"],
            dependencies=['rich; extra == "color"'],
        ),
        make_decl("rich-13.0-py3-none-any.whl", requires_python=">=3.12"),
    ]


def _names(outcomes: list[Selected | Unsatisfied]) -> list[str]:
    return [o.declaration.filename for o in outcomes if isinstance(o, Selected)]


def test_views_select_what_select_wheel_selects() -> None:
    decls = _collection()
    index = ClosureIndex(decls)
    for platform in (WIN, MAC, make_platform("3.13", "manylinux_2_28_x86_64")):
        view = index.view(platform)
        for name, group in index.by_name.items():
            assert view.selected.get(name) is select_wheel(group, platform)
    assert index.view(WIN).python_gaps.keys() == {"rich"}


def test_closure_follows_markers_and_extras() -> None:
    index = ClosureIndex(_collection())
    outcomes = list(iter_closure(index, MAC, [Requirement("app[all]")]))
    assert _names(outcomes) == [
        "app-1.0-py3-none-any.whl",
        "lib-2.1-cp312-cp312-macosx_11_0_arm64.whl",
        "six-1.16-py2.py3-none-any.whl",
        "click-8.1-py3-none-any.whl",
        "rich-13.0-py3-none-any.whl",
    ]
    assert not [o for o in outcomes if isinstance(o, Unsatisfied)]


def test_closure_reports_what_cannot_be_met() -> None:
    index = ClosureIndex(_collection())
    outcomes = list(iter_closure(index, WIN, [Requirement("app[cli]"), Requirement("nothere")]))
    assert "colorama-0.4-py3-none-any.whl" in _names(outcomes)
    problems = {(o.code, o.requirement.name) for o in outcomes if isinstance(o, Unsatisfied)}
    assert problems == {("MISSING", "nothere"), ("PYTHON", "rich")}


def test_requested_marker_false_is_skipped_and_extras_checked() -> None:
    index = ClosureIndex(_collection())
    outcomes = list(
        iter_closure(
            index, MAC, [Requirement('colorama; sys_platform == "win32"'), Requirement("six[x]")]
        )
    )
    assert _names(outcomes) == ["six-1.16-py2.py3-none-any.whl"]
    (problem,) = [o for o in outcomes if isinstance(o, Unsatisfied)]
    assert problem.code == "EXTRA"


def test_version_outside_specifier() -> None:
    index = ClosureIndex(_collection())
    (outcome,) = index.view(WIN).resolve(Requirement("six>=2"))
    assert isinstance(outcome, Unsatisfied) and outcome.code == "UNSATISFIED"


def test_unsatisfied_of_a_wheel_includes_its_extras() -> None:
    decls = _collection()
    index = ClosureIndex(decls)
    app = decls[0]
    assert index.view(MAC).unsatisfied(app) == []
    problems = index.view(WIN).unsatisfied(app)
    assert [(p.code, p.extra) for p in problems] == []
    rich_less = ClosureIndex([d for d in decls if d.name != "colorama"])
    (missing,) = rich_less.view(WIN).unsatisfied(app)
    assert (missing.code, missing.requirement.name, missing.extra) == ("MISSING", "colorama", "")


def test_a_walk_records_what_an_installer_needs() -> None:
    index = ClosureIndex(_collection())
    walk = ClosureWalk(
        index, MAC, [Requirement("app[all]"), Requirement('colorama; sys_platform == "win32"')]
    )
    outcomes = list(walk.outcomes())
    assert list(walk.selected) == [o.declaration.name for o in outcomes if isinstance(o, Selected)]
    assert walk.requested == ["app"]
    assert walk.extras["app"] == {"all", "cli"} and walk.extras["click"] == {"color"}
    assert walk.edges["app"] == {"app", "lib", "click"}
    # Dependencies first, each project's dependencies in name order.
    assert [d.name for d in walk.install_order()] == ["rich", "click", "six", "lib", "app"]


def test_install_order_cuts_cycles_where_the_walk_re_enters_them() -> None:
    cycle = [
        make_decl("a-1.0-py3-none-any.whl", dependencies=["b"]),
        make_decl("b-1.0-py3-none-any.whl", dependencies=["c", "d"]),
        make_decl("c-1.0-py3-none-any.whl", dependencies=["a"]),
        make_decl("d-1.0-py3-none-any.whl"),
    ]
    walk = ClosureWalk(ClosureIndex(cycle), WIN, [Requirement("a")])
    assert not [o for o in walk.outcomes() if isinstance(o, Unsatisfied)]
    assert [d.name for d in walk.install_order()] == ["c", "d", "b", "a"]
    deep = [
        make_decl(f"p{i}-1.0-py3-none-any.whl", dependencies=[f"p{i + 1}"]) for i in range(3000)
    ]
    deep.append(make_decl("p3000-1.0-py3-none-any.whl"))
    long = ClosureWalk(ClosureIndex(deep), WIN, [Requirement("p0")])
    list(long.outcomes())
    # Far deeper than Python's recursion limit: the order is computed without recursion.
    assert [d.name for d in long.install_order()] == [f"p{i}" for i in range(3000, -1, -1)]


def _per_platform(decls, platforms):
    """The closure findings as (path, code, message, platform ids), walking each platform."""
    index = ClosureIndex(decls)
    found: dict[tuple[str, str, str], list[str]] = {}
    for platform in platforms:
        view = index.view(platform)
        for decl in view.selected.values():
            for problem in view.unsatisfied(decl):
                ids = found.setdefault((str(decl.path), problem.code, problem.message), [])
                if platform.id not in ids:
                    ids.append(platform.id)
    return found


def test_masks_agree_with_walking_each_platform() -> None:
    from wheelset.check.closure import check_closure

    platforms = [
        make_platform(python, system)
        for python in ("3.10", "3.11", "3.12", "3.13")
        for system in ("win_amd64", "macosx_11_0_arm64", "manylinux_2_28_x86_64")
    ]
    decls = [
        *_collection(),
        make_decl(
            "tool-3.0-py3-none-any.whl",
            extras=["win", "fast"],
            dependencies=[
                "lib>=3",
                'rich; python_version >= "3.11"',
                'colorama[x]; extra == "win" and sys_platform == "win32"',
                'nothere; extra == "fast"',
                'click; platform_machine == "arm64"',
                'six; python_version > "3.11" and extra == "fast"',
            ],
        ),
        make_decl("fast-1.0-cp311-cp311-win_amd64.whl", requires_python=">=3.11"),
        make_decl("fast-1.0-cp312-abi3-win_amd64.whl", requires_python=">=3.13"),
        make_decl("fast-1.0-py3-none-any.whl", dependencies=["lib<2"]),
        make_decl("user-1.0-py3-none-any.whl", dependencies=["fast>=1", "rich"]),
    ]
    # Findings are grouped per release and problem (on the release's first wheel): compare
    # per project, code and problem, with the platforms each finding lists.
    expected: dict[tuple[str, str, str], set[str]] = {}
    for (path, code, message), ids in _per_platform(decls, platforms).items():
        key = (path.split("/")[1], code, message)
        expected.setdefault(key, set()).update(ids)
    got: dict[tuple[str, str, str], set[str]] = {}
    for finding in check_closure(decls, platforms):
        if finding.code == "UNUSED":
            continue
        message = finding.message.rsplit(" (on ", 1)[0]
        key = (str(finding.path).split("/")[1], finding.code, message)
        got.setdefault(key, set()).update(finding.platforms)
    assert got == expected
    assert any(code == "PYTHON" for _, code, _ in got) and any(c == "MISSING" for _, c, _ in got)
