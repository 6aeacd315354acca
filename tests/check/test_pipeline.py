"""Each check family on a collection with one planted fault, through run_checks()."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.decls import write_decl, write_platforms
from wheelset.check import run_checks
from wheelset.model.collection import load_collection
from wheelset.model.findings import Finding, Severity


def _check(root: Path, families: tuple[str, ...] | None = None) -> list[Finding]:
    collection = load_collection(root)
    return run_checks(collection, families) if families else run_checks(collection)


def _codes(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(str(f.path), f.code) for f in findings]


def test_sound_collection_has_no_findings(sound: Path) -> None:
    assert _check(sound) == []


# layout


def test_wrong_prefix(sound: Path) -> None:
    write_decl(sound, "tomli-2.0.1-py3-none-any.whl", path="26/tomli/tomli-2.0.1-py3-none-any.toml")
    assert _codes(_check(sound)) == [("26/tomli/tomli-2.0.1-py3-none-any.toml", "PREFIX")]


def test_wrong_project_dir(sound: Path) -> None:
    write_decl(sound, "Tomli-2.0.1-py3-none-any.whl", path="25/Tomli/Tomli-2.0.1-py3-none-any.toml")
    findings = _check(sound)
    assert _codes(findings) == [("25/Tomli/Tomli-2.0.1-py3-none-any.toml", "PROJECT")]
    assert "should be 'tomli'" in findings[0].message


def test_invalid_wheel_name(sound: Path) -> None:
    write_decl(sound, "tomli-2.0.1-py3-none-any.whl", path="25/tomli/tomli-2.0.1.toml")
    assert _codes(_check(sound)) == [("25/tomli/tomli-2.0.1.toml", "FILENAME")]


def test_wrong_depth_and_stray_files(sound: Path) -> None:
    write_decl(sound, "tomli-2.0.1-py3-none-any.whl", path="tomli/tomli-2.0.1-py3-none-any.toml")
    write_decl(sound, "tomli-2.0.1-py3-none-any.whl", path="tomli-2.0.1-py3-none-any.toml")
    (sound / "25" / "notes.txt").parent.mkdir(parents=True, exist_ok=True)
    (sound / "25" / "notes.txt").write_text("x")
    assert sorted(_codes(_check(sound, ("layout",)))) == [
        ("25/notes.txt", "STRAY"),
        ("tomli-2.0.1-py3-none-any.toml", "LAYOUT"),
        ("tomli/tomli-2.0.1-py3-none-any.toml", "LAYOUT"),
    ]


# schema


def test_unknown_key(sound: Path) -> None:
    rel = write_decl(sound, "tomli-2.0.1-py3-none-any.whl", colour="blue")
    assert _codes(_check(sound)) == [(str(rel), "UNKNOWN-KEY")]


def test_bad_specifier(sound: Path) -> None:
    rel = write_decl(sound, "tomli-2.0.1-py3-none-any.whl", requires_python=">=3.7,<")
    assert _codes(_check(sound)) == [(str(rel), "SPECIFIER")]


def test_wrong_types_and_malformed_toml(sound: Path) -> None:
    rel = write_decl(sound, "tomli-2.0.1-py3-none-any.whl", size="12")
    broken = sound / "9c/idna/idna-3.7-py3-none-any.toml"
    broken.parent.mkdir(parents=True)
    broken.write_text('source = "index:idna-3.7-py3-none-any.whl"\ncontent-id = \n')
    assert _codes(_check(sound, ("schema",))) == [
        (str(rel), "TYPE"),
        ("9c/idna/idna-3.7-py3-none-any.toml", "TOML"),
    ]


def test_a_byte_order_mark_is_named_in_every_toml_file(sound: Path) -> None:
    # Editors on Windows may save UTF-8 with a BOM, which TOML parsers refuse at "line 1,
    # column 1": the finding says what to do instead.
    rel = write_decl(sound, "tomli-2.0.1-py3-none-any.whl")
    for path in (sound / rel, sound / "platforms.toml"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    findings = _check(sound, ("schema",))
    assert _codes(findings) == [(str(rel), "TOML"), ("platforms.toml", "PLATFORMS")]
    assert all("byte-order mark (BOM)" in f.message for f in findings)
    (sound / rel).write_bytes(b"size = \xff\n")
    assert "not UTF-8" in _check(sound, ("schema",))[0].message


def test_bad_platforms_file(sound: Path) -> None:
    write_platforms(sound, extra={"arch": "x86_64"})
    findings = _check(sound)
    assert _codes(findings) == [("platforms.toml", "PLATFORMS")]
    assert "unknown key 'arch'" in findings[0].message


def test_missing_platforms_file(sound: Path) -> None:
    (sound / "platforms.toml").unlink()
    assert _codes(_check(sound)) == [("platforms.toml", "PLATFORMS")]


# uniqueness


def test_two_versions(sound: Path) -> None:
    write_decl(sound, "six-1.15.0-py2.py3-none-any.whl")
    findings = _check(sound)
    assert _codes(findings) == [(f"{_path('six-1.15.0-py2.py3-none-any')}", "VERSIONS")]
    assert "beside 1.16.0" in findings[0].message


def _path(stem: str) -> str:
    from wheelset.model.declarations import relpath_for

    return str(relpath_for(stem + ".whl"))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("py3-none-any", "cp311-cp311-manylinux_2_28_x86_64"),
        ("cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux_2_28_x86_64"),
        ("cp311-cp311-macosx_10_9_universal2", "cp311-cp311-macosx_11_0_arm64"),
    ],
)
def test_overlapping_wheels(sound: Path, first: str, second: str) -> None:
    write_decl(sound, f"tomli-2.0.1-{first}.whl")
    write_decl(sound, f"tomli-2.0.1-{second}.whl")
    findings = [f for f in _check(sound) if f.code == "OVERLAP"]
    assert len(findings) == 1 and "tomli-2.0.1-" in findings[0].message


# closure


def test_missing_dependency_on_one_platform_only(sound: Path) -> None:
    (sound / _path("colorama-0.4.6-py2.py3-none-any")).unlink()
    findings = _check(sound)
    assert _codes(findings) == [(_path("app-1.0-py3-none-any"), "MISSING")]
    assert findings[0].message.endswith(
        "colorama is not declared (on win_amd64): `wheelset declare --with-deps 'colorama'`"
    )
    assert findings[0].platforms == ("cp311-win_amd64", "cp312-win_amd64")


def test_dependency_without_a_wheel_for_some_platforms(sound: Path) -> None:
    (sound / _path("lib-2.1-cp39-abi3-win_amd64")).unlink()
    findings = _check(sound)
    assert _codes(findings) == [(_path("app-1.0-py3-none-any"), "MISSING")]
    assert findings[0].message.endswith(
        "lib 2.1 has no wheel for the platform (on win_amd64): "
        "`wheelset declare --with-deps 'lib' --replace`"
    )


def test_unsatisfied_extra(sound: Path) -> None:
    write_decl(
        sound,
        "app-1.0-py3-none-any.whl",
        extras=["cli"],
        dependencies=[
            "lib>=2",
            'colorama; sys_platform == "win32"',
            'click[colour]; extra == "cli"',
        ],
    )
    findings = _check(sound)
    assert _codes(findings) == [(_path("app-1.0-py3-none-any"), "EXTRA")]
    assert findings[0].message.startswith("extra 'cli' requires")
    assert "has no extra 'colour' (on all 8 platforms)" in findings[0].message


def test_extras_left_out_of_a_declaration_are_not_checked(sound: Path) -> None:
    write_decl(
        sound,
        "click-8.1.7-py3-none-any.whl",
        extras=[],
        dependencies=['rich; extra == "color"', 'pytest; extra == "dev"'],
    )
    assert _check(sound) == []


def test_extra_of_a_dependency_is_checked(sound: Path) -> None:
    write_decl(
        sound,
        "click-8.1.7-py3-none-any.whl",
        extras=["color"],
        dependencies=['rich; extra == "color"'],
    )
    findings = _check(sound)
    assert _codes(findings) == [(_path("click-8.1.7-py3-none-any"), "MISSING")]


def test_requires_python_gap(sound: Path) -> None:
    write_decl(sound, "six-1.16.0-py2.py3-none-any.whl", requires_python=">=3.12")
    findings = _check(sound)
    # One finding for the release (its four wheels share the problem), on its first wheel.
    assert _codes(findings) == [(_path("lib-2.1-cp39-abi3-macosx_11_0_arm64"), "PYTHON")]
    assert "requires Python >=3.12 (on cp311)" in findings[0].message


def test_version_outside_specifier(sound: Path) -> None:
    write_decl(sound, "lib-2.1-cp39-abi3-win_amd64.whl", dependencies=["six>=2"])
    findings = _check(sound)
    assert _codes(findings) == [(_path("lib-2.1-cp39-abi3-win_amd64"), "UNSATISFIED")]
    assert findings[0].message.endswith(
        "six 1.16.0 is declared (on win_amd64): `wheelset declare --with-deps 'six' --replace`"
    )


def test_marker_that_cannot_be_evaluated(sound: Path) -> None:
    write_decl(
        sound, "click-8.1.7-py3-none-any.whl", dependencies=['six; platform_release ~= "abc"']
    )
    assert _codes(_check(sound)) == [(_path("click-8.1.7-py3-none-any"), "MARKER")]


def test_unused_wheel_is_a_warning(sound: Path) -> None:
    write_decl(sound, "tomli-2.0.1-cp310-cp310-win_amd64.whl")
    (finding,) = _check(sound)
    assert finding.code == "UNUSED" and finding.severity is Severity.WARNING


def test_only_selected_families_run(sound: Path) -> None:
    write_decl(sound, "six-1.15.0-py2.py3-none-any.whl")
    (sound / _path("colorama-0.4.6-py2.py3-none-any")).unlink()
    assert {f.code for f in _check(sound, ("closure",))} == {"MISSING"}
    assert {f.code for f in _check(sound, ("uniqueness",))} == {"VERSIONS"}
    with pytest.raises(ValueError, match="unknown check family"):
        _check(sound, ("spelling",))


def test_an_extra_full_of_tools_is_one_finding_per_requirement_with_its_fixes(sound: Path) -> None:
    # As uvloop's dev extra did: every wheel of the release × every requirement × every
    # platform used to be a line; now one finding per requirement of the release.
    tools = ["cython~=3.1", "setuptools>=60", "sphinx~=4.1"]
    wheels = [
        "lib-2.1-cp39-abi3-macosx_11_0_arm64",
        "lib-2.1-cp39-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64",
        "lib-2.1-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64",
        "lib-2.1-cp39-abi3-win_amd64",
    ]
    for stem in wheels:
        deps = [f'{t}; extra == "dev"' for t in tools]
        write_decl(sound, f"{stem}.whl", extras=["dev"], dependencies=deps)
    findings = _check(sound)
    assert _codes(findings) == [(_path(wheels[0]), "MISSING")] * 3
    cython = findings[0]
    assert cython.message == (
        "extra 'dev' requires 'cython~=3.1; extra == \"dev\"': cython is not declared "
        "(on all 8 platforms): `wheelset declare --with-deps 'cython'`, or without the extra: "
        "`wheelset declare 'lib==2.1' --replace`"
    )
    assert len(cython.platforms) == 8


def test_checks_shared_with_another_process_find_what_one_process_finds(
    sound: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks handed out as tasks (the closure check in slices) between this process
    and a forked one give exactly the one-process findings, whichever process runs what."""
    import wheelset.check

    for i in range(40):  # faults of every in-memory family, in many closure slices
        write_decl(
            sound,
            f"p{i}-1.{i}-py3-none-any.whl",
            extras=["x"],
            dependencies=[f"p{i + 1}>=1.{i + 2}", f'nope{i % 3}; extra == "x"', "lib[gui]"],
        )
    write_decl(sound, "p3-0.9-py3-none-any.whl")
    write_decl(sound, "reqeusts-1.0-py3-none-any.whl")
    write_decl(sound, "tomli-2.0.1-py3-none-any.whl", path="26/tomli/tomli-2.0.1-py3-none-any.toml")
    collection = load_collection(sound)
    monkeypatch.setattr(wheelset.check, "_SLICE", 3)
    alone = run_checks(collection, workers=1)
    shared = run_checks(collection, workers=2)
    assert shared == alone
    codes = {f.code for f in alone}
    assert codes >= {"PREFIX", "VERSIONS", "MISSING", "UNSATISFIED", "EXTRA", "NAME-CONFUSABLE"}
    assert len(alone) > 100
