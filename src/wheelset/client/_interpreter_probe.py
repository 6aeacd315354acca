"""Run by a target interpreter: print its tags, marker environment and install scheme as JSON.

`wheelset.client.interpreter` runs this file with another Python (``python -I this_file
PACKAGING_DIR [PREFIX]``), putting wheelset's copy of `packaging` (pure Python) first on
that interpreter's path, so the tags are computed there exactly as pip computes them
(`wheelset.client.interpreter` makes a `wheelset.model.platforms.Platform` of the answer).
Hence: standard library only at module level, and no wheelset imports.
Entry points: describe(), and the script's main.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing is not loaded on the warm install path
if TYPE_CHECKING:
    from typing import Any


def scheme_for_prefix(prefix: str | None, venv: str | None = None) -> dict[str, str]:
    """Install paths: the interpreter's default scheme, or its prefix scheme under ``prefix``.

    ``venv`` names another virtual environment of this same interpreter binary: its paths
    are this venv's scheme with the base directories replaced.
    """
    import sysconfig  # (not loaded by the warm install, which has the scheme recorded)

    if prefix is None and venv is None:
        paths = sysconfig.get_paths()
    elif prefix is None:
        paths = sysconfig.get_paths(vars={"base": venv, "platbase": venv})
    else:
        get_preferred = getattr(sysconfig, "get_preferred_scheme", None)
        scheme = get_preferred("prefix") if get_preferred else f"{os.name}_prefix"
        keys = ("base", "platbase", "installed_base", "installed_platbase")
        paths = sysconfig.get_paths(scheme, vars=dict.fromkeys(keys, prefix))
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return {
        "purelib": paths["purelib"],
        "platlib": paths["platlib"],
        "scripts": paths["scripts"],
        "data": paths["data"],
        # As pip does: a project's headers go to <data>/include/site/pythonX.Y/<project>.
        "headers": os.path.join(paths["data"], "include", "site", f"python{version}"),
    }


def describe(prefix: str | None = None) -> dict[str, Any]:
    """The interpreter as JSON-able data: executable, env, tags (best first), scheme."""
    from packaging.markers import default_environment
    from packaging.tags import sys_tags

    return {
        "executable": sys.executable,
        "env": {k: str(v) for k, v in default_environment().items()},
        "tags": [str(t) for t in sys_tags()],
        "scheme": scheme_for_prefix(prefix),
    }


def main(argv: list[str]) -> int:
    import json

    sys.path.insert(0, argv[1])
    print(json.dumps(describe(argv[2] if len(argv) > 2 else None)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
