"""Formatting findings: text, JSON and GitHub annotations (with their escaping)."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from wheelset.check.report import format_github, format_json, format_text
from wheelset.formats import get_formatter
from wheelset.model.findings import CODES, FAMILIES, Finding, Severity, family_of

FINDINGS = [
    Finding(PurePosixPath("25/tomli/a.toml"), "MISSING", "requires 'x': 50% done\nnext"),
    Finding(PurePosixPath("pl,a:t.toml"), "UNUSED", "nothing", Severity.WARNING),
]


def test_text() -> None:
    assert format_text(FINDINGS, "declarations") == (
        "declarations/25/tomli/a.toml: MISSING requires 'x': 50% done\nnext\n"
        "declarations/pl,a:t.toml: UNUSED nothing (warning)\n"
    )
    assert format_text(FINDINGS[1:], ".") == "pl,a:t.toml: UNUSED nothing (warning)\n"


def test_json() -> None:
    doc = json.loads(format_json(FINDINGS, None))
    assert (doc["errors"], doc["warnings"]) == (1, 1)
    assert doc["findings"][1] == {
        "path": "pl,a:t.toml",
        "code": "UNUSED",
        "family": "closure",
        "severity": "warning",
        "message": "nothing",
        "platforms": [],
    }


def test_github_escapes_data_and_properties() -> None:
    assert format_github(FINDINGS, "d").splitlines() == [
        "::error file=d/25/tomli/a.toml,title=MISSING::requires 'x': 50%25 done%0Anext",
        "::warning file=d/pl%2Ca%3At.toml,title=UNUSED::nothing",
    ]


def test_every_formatter_is_listed() -> None:
    assert get_formatter("check", "text") is format_text
    assert get_formatter("check", "JSON") is format_json
    assert get_formatter("check", "github") is format_github


def test_every_family_has_codes() -> None:
    assert set(FAMILIES) <= {family_of(code) for code in CODES}
