"""The collection's policy file (`policy.toml`): reviewed names and the licence allow-list.

```toml
[names]
allow = ["tomli-w"]            # reviewed: not confusable in practice, see the PR
[licenses]
allow = ["MIT", "Apache-2.0"]  # SPDX ids (and LicenseRef-… ids for vague classifiers)
allow-exceptions = ["LLVM-exception"]
[licenses.reviewed]            # projects whose METADATA states no machine-readable licence
some-project = "BSD-3-Clause"
```
A collection without the file has no licence policy and an empty name allow-list.
No network. Entry points: POLICY_FILE, Policy, load_policy(), read_policy(),
parse_policy_bytes(), PolicyError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from packaging.utils import canonicalize_name

from wheelset.errors import WheelsetError
from wheelset.model.canonical_toml import NotToml, read_toml
from wheelset.model.licenses import LicensePolicy
from wheelset.model.safe_read import read_regular

__all__ = [
    "POLICY_FILE",
    "Policy",
    "PolicyError",
    "load_policy",
    "parse_policy",
    "parse_policy_bytes",
    "read_policy",
]

POLICY_FILE = "policy.toml"
_SECTIONS = {"names": {"allow"}, "licenses": {"allow", "allow-exceptions", "reviewed"}}


class PolicyError(WheelsetError, ValueError):
    """policy.toml is malformed."""

    def __init__(self, message: str):
        super().__init__(message, path=POLICY_FILE, code="POLICY")


@dataclass(frozen=True, slots=True)
class Policy:
    allowed_names: frozenset[str] = frozenset()
    licenses: LicensePolicy | None = None
    reviewed_licenses: Mapping[str, str] = field(default_factory=dict)


def _strings(table: Mapping[str, object], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"[{where}] {key} must be an array of strings")
    return value


def parse_policy(table: Mapping[str, object]) -> Policy:
    """Validate a parsed policy table. Raises PolicyError."""
    for section, value in table.items():
        if section not in _SECTIONS or not isinstance(value, dict):
            raise PolicyError(f"unknown section {section!r} (allowed: names, licenses)")
        unknown = set(value) - _SECTIONS[section]
        if unknown:
            raise PolicyError(f"unknown key {sorted(unknown)[0]!r} in [{section}]")
    names = table.get("names", {})
    licenses = table.get("licenses")
    assert isinstance(names, dict)
    allowed_names = frozenset(canonicalize_name(n) for n in _strings(names, "allow", "names"))
    if licenses is None:
        return Policy(allowed_names)
    assert isinstance(licenses, dict)
    reviewed = licenses.get("reviewed", {})
    if not isinstance(reviewed, dict) or not all(isinstance(v, str) for v in reviewed.values()):
        raise PolicyError("[licenses.reviewed] maps project names to SPDX expressions")
    try:
        reviewed_licenses = {
            canonicalize_name(k): canonicalize_license_expression(v) for k, v in reviewed.items()
        }
    except InvalidLicenseExpression as e:
        raise PolicyError(f"[licenses.reviewed]: {e}") from e
    return Policy(
        allowed_names,
        LicensePolicy.of(
            _strings(licenses, "allow", "licenses"),
            _strings(licenses, "allow-exceptions", "licenses"),
        ),
        reviewed_licenses,
    )


def parse_policy_bytes(data: bytes) -> Policy:
    """Validate the bytes of a policy file. Raises PolicyError."""
    try:
        table = read_toml(data)
    except NotToml as e:
        raise PolicyError(str(e)) from e
    return parse_policy(table)


def read_policy(path: Path) -> tuple[bytes, Policy] | None:
    """The bytes of ``path`` and the policy they hold, or None when there is no such file.
    Raises PolicyError."""
    try:
        data = read_regular(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise PolicyError(f"cannot read: {e.strerror or e}", path=path) from e
    return data, parse_policy_bytes(data)


def load_policy(path: Path) -> Policy | None:
    """The policy in ``path``, or None when there is no such file. Raises PolicyError."""
    found = read_policy(path)
    return None if found is None else found[1]
