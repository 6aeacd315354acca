"""A small wheel set with extras, markers, a platform wheel and a dependency cycle.

``app[fast]`` on this interpreter installs app, lib-a, lib-b, lib-c and speedup (the
manylinux wheel for this CPython, not the win_amd64 one); winonly only fits Windows;
``usesbad`` depends on a wheel whose RECORD does not match its content.
"""

from __future__ import annotations

import platform
import sys
import zipfile
from pathlib import Path

from tests.support.wheels import make_wheel

APP_FAST = {"app": "1.0", "lib-a": "1.2", "lib-b": "0.5", "lib-c": "3.0", "speedup": "2.1"}


def _interpreter_tag() -> str:
    return f"cp{sys.version_info[0]}{sys.version_info[1]}"


def platform_tag() -> str:
    """A manylinux tag this interpreter accepts (the suite runs on glibc Linux)."""
    cp = _interpreter_tag()
    return f"{cp}-{cp}-manylinux_2_17_{platform.machine()}"


def _module(name: str, body: str) -> dict[str, bytes]:
    return {f"{name}/__init__.py": body.encode()}


def _break_record(wheel: Path) -> Path:
    """Rewrite one file of the wheel without updating RECORD."""
    with zipfile.ZipFile(wheel) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            if info.filename.endswith("__init__.py"):
                data = data + b"# changed after RECORD was written\n"
            zf.writestr(info, data)
    return wheel


def make_sample_set(directory: Path) -> list[Path]:
    """Build the sample wheels into ``directory``."""
    return [
        make_wheel(
            directory,
            "app",
            "1.0",
            requires_dist=[
                "lib-a>=1.0",
                "lib-b; python_version >= '3'",
                "absent-project; sys_platform == 'nonexistent'",
                "speedup>=2; extra == 'fast'",
                "winonly; sys_platform == 'win32' and extra == 'win'",
            ],
            extras=["fast", "win"],
            files=_module("app", "from lib_a import VALUE\n__version__ = '1.0'\n"),
        ),
        make_wheel(
            directory,
            "lib-a",
            "1.2",
            requires_dist=["lib-c>=3"],
            files=_module("lib_a", "VALUE = 42\n"),
        ),
        make_wheel(directory, "lib-b", "0.5"),
        make_wheel(directory, "lib-c", "3.0", requires_dist=["lib-a"]),
        make_wheel(
            directory,
            "speedup",
            "2.1",
            tag=platform_tag(),
            files=_module("speedup", "NATIVE = True\n"),
        ),
        make_wheel(
            directory,
            "speedup",
            "2.1",
            tag=f"{_interpreter_tag()}-{_interpreter_tag()}-win_amd64",
            files=_module("speedup", "NATIVE = 'windows'\n"),
        ),
        make_wheel(directory, "winonly", "1.0", tag="py3-none-win_amd64"),
        make_wheel(directory, "usesbad", "1.0", requires_dist=["lib-b", "badrecord"]),
        _break_record(make_wheel(directory, "badrecord", "1.0")),
    ]
