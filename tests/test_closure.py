"""The closure core shared by the check and the installer."""

from __future__ import annotations

from packaging.requirements import Requirement

from tests.support.decls import make_decl
from wheelset.closure import ClosureIndex, Selected, Unsatisfied, iter_closure
from wheelset.platforms import make_platform, select_wheel

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
