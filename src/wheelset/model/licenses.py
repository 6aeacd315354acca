"""Licences: what a wheel's METADATA says, as one SPDX expression, and whether a policy allows it.

Sources, best first: `License-Expression` (PEP 639, SPDX), then licence classifiers (several
classifiers mean a choice, so they join with OR; vague ones such as "BSD License" map to
`LicenseRef-…` ids a policy can allow explicitly), then a legacy `License` field that is
itself a valid SPDX expression. Anything else is unknown. Evaluation: OR needs one allowed
branch, AND needs all, `X WITH E` needs X and the exception allowed.
Entry points: license_of_metadata(), LicensePolicy, disallowed_licenses().
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

from wheelset.errors import InvalidLicensePolicy

__all__ = [
    "CLASSIFIER_LICENSES",
    "InvalidLicensePolicy",
    "LicensePolicy",
    "disallowed_licenses",
    "license_from_fields",
]

# Licence classifiers -> SPDX ids (or LicenseRef ids where the classifier names no version).
CLASSIFIER_LICENSES: Mapping[str, str] = {
    "License :: OSI Approved :: MIT License": "MIT",
    "License :: OSI Approved :: MIT No Attribution License (MIT-0)": "MIT-0",
    "License :: OSI Approved :: BSD License": "LicenseRef-BSD",
    "License :: OSI Approved :: Apache Software License": "LicenseRef-Apache",
    "License :: OSI Approved :: ISC License (ISCL)": "ISC",
    "License :: OSI Approved :: Python Software Foundation License": "PSF-2.0",
    "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "License :: OSI Approved :: The Unlicense (Unlicense)": "Unlicense",
    "License :: OSI Approved :: zlib/libpng License": "Zlib",
    "License :: OSI Approved :: Zope Public License": "ZPL-2.1",
    "License :: OSI Approved :: Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "License :: OSI Approved :: Universal Permissive License (UPL)": "UPL-1.0",
    "License :: OSI Approved :: Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "License :: OSI Approved :: GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "License :: OSI Approved :: GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "License :: OSI Approved :: GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "License :: OSI Approved :: GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "License :: OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "License :: OSI Approved :: GNU Affero General Public License v3": "AGPL-3.0-only",
    "License :: OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
    "License :: OSI Approved :: Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "License :: OSI Approved :: Academic Free License (AFL)": "LicenseRef-AFL",
    "License :: OSI Approved :: Artistic License": "LicenseRef-Artistic",
    "License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
    "License :: Public Domain": "LicenseRef-Public-Domain",
}
_TOKEN = re.compile(r"\(|\)|[^\s()]+")


@dataclass(frozen=True, slots=True)
class LicensePolicy:
    """Allowed SPDX/LicenseRef ids and licence exceptions (compared case-insensitively)."""

    allowed: frozenset[str]
    allowed_exceptions: frozenset[str] = frozenset()

    @classmethod
    def of(cls, allowed: Iterable[str], exceptions: Iterable[str] = ()) -> LicensePolicy:
        return cls(frozenset(a.lower() for a in allowed), frozenset(e.lower() for e in exceptions))


def license_from_fields(
    expression: str | None, classifiers: Iterable[str], license_field: str | None
) -> str | None:
    """One canonical SPDX expression for a wheel, or None when it cannot be told."""
    if expression and expression.strip():
        try:
            return canonicalize_license_expression(expression)
        except InvalidLicenseExpression:
            return None
    mapped = sorted({CLASSIFIER_LICENSES[c] for c in classifiers if c in CLASSIFIER_LICENSES})
    if mapped:
        return " OR ".join(mapped)
    if license_field and len(license_field) < 100 and "\n" not in license_field.strip():
        try:
            return canonicalize_license_expression(license_field.strip())
        except InvalidLicenseExpression:
            return None
    return None


class _Parser:
    """Recursive descent over canonical SPDX: or := and (OR and)*; and := with (AND with)*."""

    def __init__(self, expression: str, policy: LicensePolicy):
        self.tokens = _TOKEN.findall(expression)
        self.pos = 0
        self.policy = policy

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise InvalidLicenseExpression("unexpected end of licence expression")
        self.pos += 1
        return token

    def parse(self) -> set[str]:
        bad = self._or()
        if self._peek() is not None:
            raise InvalidLicenseExpression(f"unexpected {self._peek()!r}")
        return bad

    def _or(self) -> set[str]:
        branches = [self._and()]
        while self._peek() == "OR":
            self._take()
            branches.append(self._and())
        return set() if any(not b for b in branches) else set().union(*branches)

    def _and(self) -> set[str]:
        bad = self._with()
        while self._peek() == "AND":
            self._take()
            bad |= self._with()
        return bad

    def _with(self) -> set[str]:
        token = self._take()
        if token == "(":
            bad = self._or()
            if self._take() != ")":
                raise InvalidLicenseExpression("unbalanced parentheses")
        else:
            # "GPL-2.0+" is allowed when the policy allows "GPL-2.0+" or "GPL-2.0".
            allowed = {token.lower(), token.lower().rstrip("+")} & self.policy.allowed
            bad = set() if allowed else {token}
        if self._peek() == "WITH":
            self._take()
            exception = self._take()
            if exception.lower() not in self.policy.allowed_exceptions:
                bad = bad | {f"WITH {exception}"}
        return bad


def disallowed_licenses(expression: str, policy: LicensePolicy) -> list[str]:
    """The ids that keep ``expression`` from being allowed (empty list = allowed).

    Raises:
        InvalidLicenseExpression: not an SPDX expression.
    """
    return sorted(_Parser(canonicalize_license_expression(expression), policy).parse())
