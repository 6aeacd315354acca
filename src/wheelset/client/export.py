"""Export a resolved closure for pip and uv: a hashed requirements file or a PEP 751 pylock.toml.

Every wheel is linked by a gateway URL below the root, ``<gateway>/ipfs/<root>/<project>/
<wheel filename>`` (the path ends in the wheel's name, which pip needs), and pinned by its
sha256: pip (``--require-hashes -r``) and uv (``pip install -r pylock.toml``) verify the
bytes themselves, so the gateway in the URLs needs no trust either. Spec:
https://packaging.python.org/en/latest/specifications/pylock-toml/ . No network here.
Entry points: choose_platform(), wheel_url(), format_requirements(), format_pylock(),
ExportError (formats are listed in wheelset.formats).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import tomli_w

from wheelset import __version__
from wheelset.errors import ExportError
from wheelset.ipfs.cid import CID
from wheelset.model.declarations import Declaration
from wheelset.model.platforms import Platform, current_platform, find_platform

__all__ = [
    "ExportError",
    "choose_platform",
    "environment_marker",
    "format_pylock",
    "format_requirements",
    "wheel_url",
]

# The marker variables that pin a lock to one platform (the rest vary within a platform).
_ENVIRONMENT_KEYS = ("implementation_name", "python_version", "sys_platform", "platform_machine")


def choose_platform(
    platforms: Mapping[str, object], platform_id: str | None
) -> tuple[Platform, str]:
    """The platform to export for, and how to name it in errors: ``platform_id`` of the
    root's platforms table, or (``None``) the running interpreter.

    Raises:
        UnknownPlatform: the root has no platform ``platform_id``.
    """
    if platform_id is None:
        target = current_platform()
        return target, f"this interpreter ({target.id})"
    return find_platform(platforms, platform_id, owner="this root"), platform_id


def wheel_url(gateway: str, root: CID, decl: Declaration) -> str:
    """The wheel's URL below the root on ``gateway`` (a base URL without trailing slash)."""
    return f"{gateway}/ipfs/{root}/{decl.name}/{decl.filename}"


def _sha256(decl: Declaration) -> str:
    if decl.sha256 is None:
        raise ExportError(
            f"{decl.filename} has no sha256 in the root; pip and uv need one to pin it"
        )
    return decl.sha256


def environment_marker(env: Mapping[str, str]) -> str:
    """A PEP 508 marker that holds exactly on the platform of ``env``.

    >>> environment_marker({"implementation_name": "cpython", "python_version": "3.11",
    ...     "sys_platform": "linux", "platform_machine": "x86_64"})
    'implementation_name == "cpython" and python_version == "3.11" and sys_platform == "linux" and platform_machine == "x86_64"'
    """  # noqa: E501
    return " and ".join(f'{key} == "{env[key]}"' for key in _ENVIRONMENT_KEYS)


def format_requirements(
    selected: Sequence[Declaration],
    *,
    root: CID,
    gateway: str,
    platform: str,
    env: Mapping[str, str] | None = None,
) -> str:
    """A requirements file: one ``name @ URL --hash=sha256:…`` line per wheel (``env``: the
    platform's environment, named in a comment).

    Raises:
        ExportError: a wheel without sha256.
    """
    lines = [
        f"# wheelset {__version__}: root {root}, platform {platform}",
        "# pip install --require-hashes -r <this file>",
    ]
    if env is not None:
        lines.insert(1, f"# environment: {environment_marker(env)}")
    for decl in sorted(selected, key=lambda d: d.name):
        lines.append(
            f"{decl.name} @ {wheel_url(gateway, root, decl)} \\\n    --hash=sha256:{_sha256(decl)}"
        )
    return "\n".join(lines) + "\n"


def format_pylock(
    selected: Sequence[Declaration],
    *,
    root: CID,
    gateway: str,
    platform: str,
    env: Mapping[str, str],
) -> str:
    """A ``pylock.toml`` for one platform: one wheel per package, URL, size and sha256.

    Raises:
        ExportError: a wheel without sha256.
    """
    packages = []
    for decl in sorted(selected, key=lambda d: d.name):
        wheel: dict[str, object] = {"name": decl.filename, "url": wheel_url(gateway, root, decl)}
        if decl.size is not None:
            wheel["size"] = decl.size
        wheel["hashes"] = {"sha256": _sha256(decl)}
        package: dict[str, object] = {"name": decl.name, "version": str(decl.version)}
        if decl.requires_python is not None:
            package["requires-python"] = str(decl.requires_python)
        package["wheels"] = [wheel]
        package["tool"] = {"wheelset": {"content-id": str(decl.content_id)}}
        packages.append(package)
    document = {
        "lock-version": "1.0",
        "environments": [environment_marker(env)],
        "requires-python": f"=={env['python_version']}.*",
        "created-by": "wheelset",
        "packages": packages,
        "tool": {"wheelset": {"root": str(root), "platform": platform}},
    }
    return tomli_w.dumps(document)
