from __future__ import annotations

import pytest
from packaging.licenses import InvalidLicenseExpression

from wheelset.model.licenses import LicensePolicy, disallowed_licenses, license_from_fields

POLICY = LicensePolicy.of(
    ["MIT", "Apache-2.0", "BSD-3-Clause", "LicenseRef-BSD", "GPL-2.0"], ["LLVM-exception"]
)


@pytest.mark.parametrize(
    ("expression", "bad"),
    [
        ("MIT", []),
        ("mit", []),
        ("MIT OR LicenseRef-Proprietary", []),
        ("MIT AND LicenseRef-Proprietary", ["LicenseRef-Proprietary"]),
        ("Apache-2.0 WITH LLVM-exception", []),
        ("Apache-2.0 WITH Classpath-exception-2.0", ["WITH Classpath-exception-2.0"]),
        ("(SSPL-1.0 OR MIT) AND BSD-3-Clause", []),
        ("SSPL-1.0", ["SSPL-1.0"]),
        ("GPL-2.0+", []),
    ],
)
def test_policy_evaluation(expression: str, bad: list[str]) -> None:
    assert disallowed_licenses(expression, POLICY) == bad


def test_not_spdx_is_an_error() -> None:
    with pytest.raises(InvalidLicenseExpression):
        disallowed_licenses("Proprietary", POLICY)


@pytest.mark.parametrize(
    ("expression", "classifiers", "field", "expected"),
    [
        ("mit or apache-2.0", [], None, "MIT OR Apache-2.0"),
        (
            None,
            ["License :: OSI Approved :: BSD License", "Programming Language :: Python"],
            None,
            "LicenseRef-BSD",
        ),
        (
            None,
            [
                "License :: OSI Approved :: MIT License",
                "License :: OSI Approved :: Apache Software License",
            ],
            None,
            "LicenseRef-Apache OR MIT",
        ),
        (None, [], "BSD-3-Clause", "BSD-3-Clause"),
        (None, [], "Copyright (c) someone, all rights reserved", None),
        ("not a licence", [], None, None),
        (None, [], None, None),
    ],
)
def test_license_from_metadata_fields(expression, classifiers, field, expected) -> None:
    assert license_from_fields(expression, classifiers, field) == expected
