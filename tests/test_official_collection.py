"""The official collection in declarations/: its invariants, checked offline.

Loads the real directory (no network) and asserts what the repository promises: it
checks clean, it is large enough, every source is index-relative, and on every supported
platform every project that has a wheel there installs together with its closure (with
each extra its declaration lists), as do wheelset's own runtime dependencies and the
extras the collection's README advertises.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from wheelset.check import run_checks
from wheelset.client.resolve import resolve
from wheelset.model.closure import ClosureIndex, Selected, Unsatisfied, iter_closure
from wheelset.model.collection import Collection, load_collection

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parent.parent
DECLARATIONS = REPO / "declarations"
FAMILIES = {
    "manylinux_2_28_x86_64",
    "manylinux_2_28_aarch64",
    "musllinux_1_2_x86_64",
    "musllinux_1_2_aarch64",
    "macosx_12_0_arm64",
    "macosx_11_0_x86_64",
    "win_amd64",
}
# Extras declarations/README.md says the collection supports on every platform.
ADVERTISED = (
    "requests[socks]",
    "httpx[brotli,cli,http2,socks,zstd]",
    "jinja2[i18n]",
    "pydantic[email,timezone]",
    "cryptography[ssh]",
    "anyio[trio]",
    "urllib3[brotli,h2,socks,zstd]",
    "uvicorn[standard]",
    "psycopg[binary,pool]",
    "sqlalchemy[asyncio]",
    "aiohttp[speedups]",
    "flask[async,dotenv]",
    "coverage[toml]",
    "pyjwt[crypto]",
)
# The projects the collection promises (issue 20): the scientific and web stacks, database
# drivers, async HTTP, testing and command-line tooling.
PROMISED = [
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "matplotlib",
    "pillow",
    "fastapi",
    "starlette",
    "uvicorn",
    "django",
    "flask",
    "sqlalchemy",
    "psycopg",
    "psycopg-binary",
    "pydantic",
    "httpx",
    "h2",
    "aiohttp",
    "pytest",
    "coverage",
    "hypothesis",
    "typer",
    "click",
    "rich",
    "cryptography",
    "pyyaml",
    "lxml",
    "orjson",
    "msgpack",
]
# Where a project has no wheel, and why (declarations/README.md): nothing else is missing.
GAPS = {
    # a backport of Python 3.14's compression.zstd; urllib3 asks for it only on < 3.14
    "backports-zstd": lambda p: p.python_version == "3.14",
    # matplotlib 3.11 publishes no musllinux aarch64 wheels
    "matplotlib": lambda p: p.system == "musllinux_1_2_aarch64",
    # scikit-learn publishes no musllinux wheels
    "scikit-learn": lambda p: p.system.startswith("musllinux"),
    # uvloop does not support Windows; uvicorn[standard] asks for it elsewhere only
    "uvloop": lambda p: p.system == "win_amd64",
}


@pytest.fixture(scope="module")
def collection() -> Collection:
    return load_collection(DECLARATIONS)


@pytest.fixture(scope="module")
def index(collection: Collection) -> ClosureIndex:
    return ClosureIndex(collection.declarations)


def _problems(index: ClosureIndex, collection: Collection, requirements: list[str]) -> list[str]:
    """Every unmet requirement, per platform, when installing ``requirements`` together."""
    parsed = [Requirement(r) for r in requirements]
    found = []
    for platform in collection.platforms:
        for outcome in iter_closure(index, platform, parsed):
            if isinstance(outcome, Unsatisfied):
                found.append(f"{platform.id}: {outcome.code} {outcome.message}")
    return found


def test_the_collection_checks_clean(collection: Collection) -> None:
    assert collection.findings == ()
    findings = run_checks(collection)
    assert [f"{f.path}: {f.code} {f.message}" for f in findings] == []


def test_platforms_are_four_pythons_on_seven_systems(collection: Collection) -> None:
    assert {p.python_version for p in collection.platforms} == {"3.11", "3.12", "3.13", "3.14"}
    assert {p.system for p in collection.platforms} == FAMILIES
    assert len(collection.platforms) == 28


def test_size_and_sources(collection: Collection) -> None:
    projects = {d.name for d in collection.declarations}
    assert len(projects) >= 150
    assert len(collection.declarations) >= 1000
    assert sorted(set(PROMISED) - projects) == []
    # Every source names the index-relative wheel, never a host; every wheel has the
    # fields build needs offline.
    assert all(d.source == f"index:{d.filename}" for d in collection.declarations)
    assert all(d.size and d.sha256 for d in collection.declarations)


def test_every_project_installs_with_its_closure_everywhere(
    collection: Collection, index: ClosureIndex
) -> None:
    problems = []
    for platform in collection.platforms:
        view = index.view(platform)
        for name, decl in sorted(view.selected.items()):
            extras = decl.extras
            requirement = Requirement(f"{name}[{','.join(extras)}]" if extras else name)
            outcomes = list(iter_closure(index, platform, [requirement]))
            for outcome in outcomes:
                if isinstance(outcome, Unsatisfied):
                    problems.append(f"{platform.id} {requirement}: {outcome.message}")
                else:
                    # What the closure picks must install here (tags and Python).
                    assert view.selected[outcome.declaration.name] is outcome.declaration
    assert problems == []


def test_every_project_has_a_wheel_everywhere_but_the_known_gaps(
    collection: Collection, index: ClosureIndex
) -> None:
    absent = {
        (name, platform.id)
        for platform in collection.platforms
        for name in index.by_name
        if name not in index.view(platform).selected
    }
    expected = {
        (name, platform.id)
        for name, lacks in GAPS.items()
        for platform in collection.platforms
        if lacks(platform)
    }
    assert sorted(absent) == sorted(expected)


def test_the_whole_collection_installs_together(
    collection: Collection, index: ClosureIndex
) -> None:
    for platform in collection.platforms:
        names = sorted(index.view(platform).selected)
        outcomes = list(iter_closure(index, platform, [Requirement(n) for n in names]))
        assert [o for o in outcomes if isinstance(o, Unsatisfied)] == []
        chosen = [o.declaration.name for o in outcomes if isinstance(o, Selected)]
        assert sorted(chosen) == names


def test_install_resolves_the_whole_collection_dependencies_first(
    collection: Collection, index: ClosureIndex
) -> None:
    """install and export resolve with the check's own walk and platforms: what the check
    accepts resolves on every platform, each wheel after its dependencies (the collection
    has no dependency cycle)."""
    for platform in collection.platforms:
        view = index.view(platform)
        names = sorted(view.selected)
        resolution = resolve(collection.declarations, [Requirement(n) for n in names], platform)
        assert sorted(d.name for d in resolution.selected) == names
        assert resolution.requested == tuple(names)
        position = {d.name: i for i, d in enumerate(resolution.selected)}
        for decl in resolution.selected:
            for dependency, _ in view.iter_dependencies(decl):
                assert position[dependency.name] < position[decl.name], (platform.id, decl.name)


def test_wheelsets_own_runtime_dependencies_are_in_the_collection(
    collection: Collection, index: ClosureIndex
) -> None:
    with (REPO / "pyproject.toml").open("rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    assert _problems(index, collection, dependencies) == []
    for requirement in map(Requirement, dependencies):
        assert requirement.name in index.by_name


def test_advertised_extras_are_declared_everywhere(
    collection: Collection, index: ClosureIndex
) -> None:
    assert _problems(index, collection, list(ADVERTISED)) == []
    for text in ADVERTISED:
        requirement = Requirement(text)
        for platform in collection.platforms:
            declared = index.view(platform).selected[requirement.name].extras
            assert requirement.extras <= set(declared), (platform.id, text)
