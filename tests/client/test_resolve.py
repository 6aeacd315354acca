"""Resolution in a single-version set: the shared closure walk, markers, extras, clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement

from wheelset.client.resolve import (
    NoWheelForPlatform,
    ResolutionError,
    UnknownExtra,
    UnknownProject,
    UnsatisfiedDependency,
    VersionConflict,
    resolve,
    resolve_lazily,
)
from wheelset.ipfs.importer import import_bytes
from wheelset.model.closure import ClosureIndex, Selected, Unsatisfied, iter_closure
from wheelset.model.declarations import Declaration, parse_declaration, relpath_for
from wheelset.model.platforms import make_platform, select_wheel

LINUX = make_platform("3.11", "manylinux_2_28_x86_64")
WINDOWS = make_platform("3.11", "win_amd64")


def decl(
    filename: str,
    dependencies: list[str] | None = None,
    extras: list[str] | None = None,
    requires_python: str | None = None,
) -> Declaration:
    table: dict[str, object] = {
        "source": f"index:{filename}",
        "content-id": str(import_bytes(filename.encode()).cid),
        "extras": extras or [],
        "dependencies": dependencies or [],
    }
    if requires_python is not None:
        table["requires-python"] = requires_python
    return parse_declaration(table, relpath_for(filename))


SET = [
    decl(
        "app-1.0-py3-none-any.whl",
        [
            "lib-a>=1.0",
            "lib-b; python_version >= '3'",
            "absent-project; sys_platform == 'nonexistent'",
            "speedup>=2; extra == 'fast'",
            "winonly; sys_platform == 'win32' and extra == 'win'",
        ],
        extras=["fast", "win"],
    ),
    decl("lib_a-1.2-py3-none-any.whl", ["lib-c"]),
    decl("lib_b-0.5-py3-none-any.whl"),
    decl("lib_c-3.0-py3-none-any.whl", ["lib-a"]),  # a cycle: lib-a <-> lib-c
    decl("speedup-2.1-cp311-cp311-manylinux_2_17_x86_64.whl"),
    decl("speedup-2.1-cp311-cp311-win_amd64.whl"),
    decl("speedup-2.1-py3-none-any.whl"),
    decl("winonly-1.0-py3-none-win_amd64.whl"),
    decl("modern-1.0-py3-none-any.whl", requires_python=">=3.12"),
]


def _resolve(*names: str, target=LINUX):
    return resolve(SET, [Requirement(n) for n in names], target)


def _names(resolution) -> list[str]:
    return [f"{d.name}-{d.version}" for d in resolution.selected]


def test_closure_follows_markers_and_orders_dependencies_first() -> None:
    result = _resolve("app")
    assert sorted(_names(result)) == ["app-1.0", "lib-a-1.2", "lib-b-0.5", "lib-c-3.0"]
    order = _names(result)
    assert order[-1] == "app-1.0"
    assert order.index("lib-b-0.5") < order.index("app-1.0")
    assert result.requested == ("app",)


def test_extras_pull_their_dependencies_and_pick_the_best_wheel() -> None:
    result = _resolve("app[fast]")
    speedup = next(d for d in result.selected if d.name == "speedup")
    assert speedup.filename == "speedup-2.1-cp311-cp311-manylinux_2_17_x86_64.whl"
    assert result.extras["app"] == frozenset({"fast"})
    on_windows = _resolve("app[fast,win]", target=WINDOWS)
    files = {d.filename for d in on_windows.selected}
    assert "speedup-2.1-cp311-cp311-win_amd64.whl" in files
    assert "winonly-1.0-py3-none-win_amd64.whl" in files
    assert "winonly" not in {d.name for d in _resolve("app[win]").selected}


def test_extras_requested_later_are_still_followed() -> None:
    result = _resolve("app", "app[fast]")
    assert "speedup" in {d.name for d in result.selected}


@pytest.mark.parametrize(
    ("requested", "error", "code", "fragment"),
    [
        (["aap"], UnknownProject, "UNKNOWN", "did you mean app"),
        (["winonly"], NoWheelForPlatform, "PLATFORM", "winonly-1.0-py3-none-win_amd64.whl"),
        (["modern"], NoWheelForPlatform, "PLATFORM", "requires Python >=3.12"),
        (["app>=2"], VersionConflict, "CONFLICT", "only app 1.0"),
        (["app[turbo]"], UnknownExtra, "EXTRA", "fast, win"),
    ],
)
def test_errors_are_precise(requested, error, code, fragment) -> None:
    with pytest.raises(error) as info:
        _resolve(*requested)
    assert info.value.code == code
    assert fragment in str(info.value)
    assert "\n" not in info.value.one_line()


def test_unsatisfied_and_missing_dependencies_name_the_dependent() -> None:
    broken = [decl("top-1.0-py3-none-any.whl", ["lib-b>=1"]), *SET]
    with pytest.raises(UnsatisfiedDependency, match=r"top 1.0 requires lib-b>=1.*lib-b 0.5"):
        resolve(broken, [Requirement("top")], LINUX)
    missing = [decl("top-1.0-py3-none-any.whl", ["ghost"])]
    with pytest.raises(UnknownProject, match=r"top 1\.0 depends on 'ghost'"):
        resolve(missing, [Requirement("top")], LINUX)


def test_dependency_errors_name_who_required_it() -> None:
    needs_winonly = [decl("top-1.0-py3-none-any.whl", ["winonly"]), *SET]
    with pytest.raises(NoWheelForPlatform) as info:
        resolve(needs_winonly, [Requirement("top")], LINUX)
    assert str(info.value).startswith(
        "no wheel of winonly 1.0 fits cp311-manylinux_2_28_x86_64 (required by top 1.0); "
        "available: winonly-1.0-py3-none-win_amd64.whl"
    )
    needs_modern = [decl("top-1.0-py3-none-any.whl", ["modern"]), *SET]
    with pytest.raises(NoWheelForPlatform) as info:
        resolve(needs_modern, [Requirement("top")], LINUX, target="this interpreter")
    assert str(info.value) == (
        "modern 1.0 (required by top 1.0) requires Python >=3.12; this interpreter is Python 3.11.0"
    )


def test_requires_python_is_named_when_only_it_excludes_the_fitting_wheel() -> None:
    """The walk is the check's: a wheel that fits the tags but not the Python is reported as
    a Python problem even when a wheel for another system exists (the former install-side
    walk said "no wheel fits" unless every wheel of the project excluded the Python)."""
    split = [
        decl("native-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", requires_python=">=3.12"),
        decl("native-1.0-cp311-cp311-win_amd64.whl"),
    ]
    with pytest.raises(NoWheelForPlatform, match=r"^native 1\.0 requires Python >=3\.12; "):
        resolve(split, [Requirement("native")], LINUX)
    with pytest.raises(NoWheelForPlatform, match=r"no wheel of native 1\.0 fits"):
        resolve(split, [Requirement("native")], make_platform("3.11", "macosx_11_0_arm64"))


def test_a_marker_that_cannot_be_evaluated_is_one_line() -> None:
    odd = [decl("top-1.0-py3-none-any.whl", ['lib-b; platform_release ~= "abc"']), *SET]
    with pytest.raises(ResolutionError) as info:
        resolve(odd, [Requirement("top")], LINUX)
    message = str(info.value)
    assert info.value.code == "MARKER"
    assert "marker cannot be evaluated" in message and message.endswith("(required by top 1.0)")
    assert "\n" not in info.value.one_line()


def test_a_dependency_asking_for_an_undeclared_extra_installs_without_it() -> None:
    """As pip (which warns): the collection check reports this as EXTRA; install goes on."""
    greedy = [decl("top-1.0-py3-none-any.whl", ["app[turbo]"]), *SET]
    result = resolve(greedy, [Requirement("top")], LINUX)
    assert {d.name for d in result.selected} >= {"top", "app", "lib-a"}
    assert result.extras["app"] == frozenset()


def test_resolve_selects_what_the_closure_walk_selects() -> None:
    index = ClosureIndex(SET)
    for platform in (LINUX, WINDOWS, make_platform("3.12", "macosx_11_0_arm64")):
        requested = [Requirement("app[fast,win]"), Requirement("lib-b")]
        outcomes = list(iter_closure(index, platform, requested))
        assert not [o for o in outcomes if isinstance(o, Unsatisfied)]
        walked = {o.declaration for o in outcomes if isinstance(o, Selected)}
        assert set(resolve(SET, requested, platform).selected) == walked


def test_an_interpreters_pre_release_meets_requires_python() -> None:
    from packaging.markers import default_environment
    from packaging.tags import Tag

    from wheelset.model.platforms import interpreter_platform

    rc = interpreter_platform(
        {**default_environment(), "python_version": "3.12", "python_full_version": "3.12.0rc2"},
        [Tag("cp312", "cp312", "manylinux_2_17_x86_64"), Tag("py3", "none", "any")],
    )
    assert [d.name for d in resolve(SET, [Requirement("modern")], rc).selected] == ["modern"]


def test_user_markers_can_skip_a_request() -> None:
    result = _resolve("lib-b", "winonly; sys_platform == 'win32'")
    assert _names(result) == ["lib-b-0.5"]


def test_names_are_normalised() -> None:
    assert _names(_resolve("Lib_A")) == ["lib-c-3.0", "lib-a-1.2"]


def test_select_wheel_prefers_the_most_specific_tag() -> None:
    speedups = [d for d in SET if d.name == "speedup"]
    assert select_wheel(speedups, LINUX).filename.endswith("x86_64.whl")
    mac = make_platform("3.11", "macosx_11_0_arm64")
    assert select_wheel(speedups, mac).filename.endswith("py3-none-any.whl")
    assert select_wheel([], LINUX) is None


@st.composite
def _dag(draw):
    """Projects p0..pn where each depends on some later ones (versions always satisfy)."""
    n = draw(st.integers(1, 8))
    decls = []
    for i in range(n):
        deps = draw(st.sets(st.integers(i + 1, n - 1), max_size=3)) if i < n - 1 else set()
        decls.append(decl(f"p{i}-1.0-py3-none-any.whl", [f"p{j}>=1" for j in sorted(deps)]))
    return decls


@settings(max_examples=50, deadline=None)
@given(_dag())
def test_every_dependency_is_selected_and_installed_before_its_dependent(decls) -> None:
    result = resolve(decls, [Requirement("p0")], LINUX)
    position = {d.name: i for i, d in enumerate(result.selected)}
    for d in result.selected:
        for req in d.requirements:
            assert position[req.name] < position[d.name]
    assert result.selected[-1].name == "p0"


class _ScriptedReads:
    """A root's project reads that complete one at a time in a set order, recording what
    was asked when (the lookup resolve_lazily walks; the walk itself does no I/O)."""

    def __init__(self, declarations: list[Declaration], order: list[str]):
        self._by_name: dict[str, list[Declaration]] = {}
        for d in declarations:
            self._by_name.setdefault(d.name, []).append(d)
        self._order = order
        self._asked: list[str] = []
        self.log: list[str] = []

    @property
    def pending(self) -> int:
        return len(self._asked)

    def ask(self, names) -> None:
        self._asked += names
        self.log += [f"ask {n}" for n in names]

    def arrived(self) -> list[Declaration]:
        name = next(n for n in self._order if n in self._asked)
        self._asked.remove(name)
        self.log.append(f"got {name}")
        return self._by_name.get(name, [])


def test_a_lazy_resolution_asks_for_a_dependency_as_soon_as_its_dependent_arrives() -> None:
    # app -> a, b (both under way at once); a -> deep. "deep" is asked for the moment "a" has
    # arrived, while "b" is still being read, and each wheel is reported once, as selected.
    declarations = [
        decl("app-1.0-py3-none-any.whl", ["a", "b"]),
        decl("a-1.0-py3-none-any.whl", ["deep"]),
        decl("b-1.0-py3-none-any.whl"),
        decl("deep-1.0-py3-none-any.whl"),
        decl("unrelated-1.0-py3-none-any.whl"),
    ]
    reads = _ScriptedReads(declarations, ["app", "a", "deep", "b"])
    selected: list[str] = []
    resolution = resolve_lazily(
        reads, [Requirement("app")], LINUX, on_selected=lambda d: selected.append(d.name)
    )
    assert reads.log[: reads.log.index("got b")] == [
        "ask app", "got app", "ask a", "ask b", "got a", "ask deep", "got deep",
    ]  # fmt: skip
    assert "ask unrelated" not in reads.log  # only the closure is read
    assert selected[:3] == ["app", "a", "deep"] and sorted(selected) == ["a", "app", "b", "deep"]
    assert resolution == resolve(declarations, [Requirement("app")], LINUX)


def test_a_lazy_resolution_fails_as_the_whole_one_does() -> None:
    declarations = [decl("app-1.0-py3-none-any.whl", ["gone"])]
    with pytest.raises(UnknownProject, match="depends on 'gone', which is not in this root"):
        resolve_lazily(_ScriptedReads(declarations, ["app", "gone"]), [Requirement("app")], LINUX)
