"""Extras in the closure: only extras the collection offers are checked, and asking for
an extra that is not offered is an error (check and install-side closure alike)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import tomli_w
from packaging.requirements import Requirement

from wheelset.checks import run_checks
from wheelset.closure import ClosureIndex, Selected, Unsatisfied, iter_closure
from wheelset.collection import load_collection
from wheelset.declarations import relpath_for
from wheelset.ipfs.importer import import_bytes

PLATFORMS = 'python-versions = ["3.12"]\nsystems = ["manylinux_2_28_x86_64", "win_amd64"]\n'


def _declare(root: Path, filename: str, dependencies: list[str], extras: list[str] = ()) -> None:
    table = {
        "source": f"index:{filename}",
        "content-id": str(import_bytes(filename.encode()).cid),
        "extras": list(extras),
        "dependencies": dependencies,
    }
    target = root / Path(*relpath_for(filename).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(tomli_w.dumps(table))


def _collection(tmp_path: Path, extra_wheels: list[tuple[str, list[str], list[str]]]) -> Path:
    (tmp_path / "platforms.toml").write_text(PLATFORMS)
    _declare(
        tmp_path,
        "alpha-1.0-py3-none-any.whl",
        [
            "beta>=2; extra == 'fast'",
            "sphinx>=7; extra == 'docs'",
            "pywin32; sys_platform == 'win32' and extra == 'windows'",
        ],
        ["docs", "fast", "windows"],
    )
    _declare(tmp_path, "beta-1.5-py3-none-any.whl", [])
    for filename, dependencies, extras in extra_wheels:
        _declare(tmp_path, filename, dependencies, extras)
    return tmp_path


def _closure_findings(root: Path) -> list[tuple[str, str, str]]:
    findings = run_checks(load_collection(root), ["closure"])
    return [(f.path.name, f.code, f.message) for f in findings]


def test_offered_extra_is_checked_and_unoffered_extras_are_not(tmp_path: Path) -> None:
    findings = _closure_findings(_collection(tmp_path, []))
    # "fast" names a declared project, so beta 1.5 is checked against beta>=2 and fails;
    # "docs" (sphinx) and "windows" (pywin32) name undeclared projects: not offered.
    assert [(name, code) for name, code, _ in findings] == [
        ("alpha-1.0-py3-none-any.toml", "UNSATISFIED")
    ]
    assert findings[0][2].startswith("extra 'fast' requires \"beta>=2")
    assert "on all 2 platforms" in findings[0][2]


def test_asking_for_an_unoffered_extra_is_an_error(tmp_path: Path) -> None:
    root = _collection(
        tmp_path,
        [
            ("gamma-1.0-py3-none-any.whl", ["alpha[docs]"], []),
            ("delta-1.0-py3-none-any.whl", ["alpha[windows]"], []),
        ],
    )
    findings = {name: (code, message) for name, code, message in _closure_findings(root)}
    code, message = findings["gamma-1.0-py3-none-any.toml"]
    assert code == "EXTRA"
    assert "extra 'docs' of alpha 1.0 needs sphinx, which is not declared" in message
    assert "which is not declared" in message
    # pywin32 is only needed on Windows: the extra is offered on Linux, not on Windows.
    code, message = findings["delta-1.0-py3-none-any.toml"]
    assert code == "EXTRA"
    assert message.endswith("(on cp312-win_amd64)")


def test_declaring_the_missing_project_makes_the_extra_offered(tmp_path: Path) -> None:
    root = _collection(
        tmp_path,
        [
            ("gamma-1.0-py3-none-any.whl", ["alpha[docs]"], []),
            ("sphinx-7.0-py3-none-any.whl", [], []),
        ],
    )
    names = [(name, code) for name, code, _ in _closure_findings(root)]
    assert ("gamma-1.0-py3-none-any.toml", "EXTRA") not in names
    assert names == [("alpha-1.0-py3-none-any.toml", "UNSATISFIED")]


def test_install_closure_reports_an_unoffered_extra(tmp_path: Path) -> None:
    collection = load_collection(_collection(tmp_path, []))
    index = ClosureIndex(collection.declarations)
    linux = next(p for p in collection.platforms if "linux" in p.id)
    outcomes = list(iter_closure(index, linux, [Requirement("alpha[docs]")]))
    selected = [o.declaration.path for o in outcomes if isinstance(o, Selected)]
    assert selected == [PurePosixPath(relpath_for("alpha-1.0-py3-none-any.whl"))]
    codes = [o.code for o in outcomes if isinstance(o, Unsatisfied)]
    assert codes[0] == "EXTRA"
