"""The trust family through run_checks(): confusable names, licences, the policy file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.decls import write_decl
from wheelset.check import run_checks
from wheelset.model.collection import load_collection

POLICY = """
[names]
allow = {allow}
[licenses]
allow = ["MIT", "BSD-3-Clause", "LicenseRef-BSD"]
allow-exceptions = ["LLVM-exception"]
[licenses.reviewed]
six = "MIT"
"""


def _codes(root: Path) -> list[tuple[str, str]]:
    return [(str(f.path), f.code) for f in run_checks(load_collection(root), ("trust",))]


def _policy(root: Path, allow: str = "[]") -> None:
    (root / "policy.toml").write_text(POLICY.format(allow=allow))


def _license_everything(root: Path, license: str = "MIT") -> None:
    for path in root.glob("*/*/*.toml"):
        text = path.read_text()
        if "license" not in text:
            path.write_text(text.replace("extras =", f'license = "{license}"\nextras =', 1))


@pytest.mark.parametrize(
    ("wheel", "target"),
    [
        ("reqeusts-1.0-py3-none-any.whl", "requests"),
        ("re_quests-1.0-py3-none-any.whl", "requests"),
        ("nurnpy-1.0-py3-none-any.whl", "numpy"),
        ("co1orama-1.0-py3-none-any.whl", "colorama"),
        ("sixx-1.0-py3-none-any.whl", None),
    ],
)
def test_typosquats_are_errors(sound: Path, wheel: str, target: str | None) -> None:
    write_decl(sound, wheel)
    findings = run_checks(load_collection(sound), ("trust",))
    if target is None:  # 4 letters: too short for the distance rule, no ultranormal clash
        assert findings == []
        return
    assert [f.code for f in findings] == ["NAME-CONFUSABLE"]
    assert repr(target) in findings[0].message


def test_allow_listed_name_passes(sound: Path) -> None:
    write_decl(sound, "co1orama-1.0-py3-none-any.whl")
    _policy(sound, allow='["co1orama"]')
    _license_everything(sound)
    assert _codes(sound) == []


def test_licences_against_the_policy(sound: Path) -> None:
    _policy(sound)
    _license_everything(sound)
    assert _codes(sound) == []
    gpl = write_decl(sound, "gplpkg-1.0-py3-none-any.whl", license="GPL-3.0-only")
    dual = write_decl(sound, "dualpkg-1.0-py3-none-any.whl", license="GPL-3.0-only OR MIT")
    both = write_decl(sound, "bothpkg-1.0-py3-none-any.whl", license="GPL-3.0-only AND MIT")
    unknown = write_decl(sound, "mystery-1.0-py3-none-any.whl")
    findings = run_checks(load_collection(sound), ("trust",))
    assert [(str(f.path), f.code) for f in findings] == sorted(
        [
            (str(both), "LICENSE-DISALLOWED"),
            (str(gpl), "LICENSE-DISALLOWED"),
            (str(unknown), "LICENSE-UNKNOWN"),
        ]
    )
    assert str(dual) not in {str(f.path) for f in findings}
    assert "GPL-3.0-only" in next(f.message for f in findings if str(f.path) == str(gpl))


def test_reviewed_licence_stands_in_for_missing_metadata(sound: Path) -> None:
    _policy(sound)
    _license_everything(sound)
    six = next(sound.glob("*/six/*.toml"))
    six.write_text(
        "\n".join(line for line in six.read_text().splitlines() if not line.startswith("license"))
        + "\n"
    )
    assert _codes(sound) == []


def test_no_policy_means_no_licence_rule(sound: Path) -> None:
    write_decl(sound, "gplpkg-1.0-py3-none-any.whl", license="GPL-3.0-only")
    assert _codes(sound) == []


@pytest.mark.parametrize(
    "text",
    [
        "[names]\nallow = 3\n",
        "[nmaes]\nallow = []\n",
        '[licenses]\nallow = ["MIT"]\nreviewed = {x = "Nope"}\n',
        "not toml [",
    ],
)
def test_malformed_policy(sound: Path, text: str) -> None:
    (sound / "policy.toml").write_text(text)
    assert _codes(sound) == [("policy.toml", "POLICY")]


def test_bad_license_value_is_a_schema_error(sound: Path) -> None:
    path = write_decl(sound, "oddpkg-1.0-py3-none-any.whl", license="mit")
    findings = run_checks(load_collection(sound), ("schema",))
    assert [(str(f.path), f.code) for f in findings] == [(str(path), "LICENSE")]


def test_name_search_in_another_process_finds_the_same(sound: Path) -> None:
    for wheel in ("reqeusts-1.0-py3-none-any.whl", "nurnpy-1.0-py3-none-any.whl"):
        write_decl(sound, wheel)
    _policy(sound, '["nurnpy"]')
    collection = load_collection(sound)
    here = run_checks(collection, workers=1)
    beside = run_checks(collection, workers=2)
    assert beside == here
    assert [(str(f.path), f.code) for f in here if f.code == "NAME-CONFUSABLE"] == [
        ("7c/reqeusts/reqeusts-1.0-py3-none-any.toml", "NAME-CONFUSABLE")
    ]
