"""The interpreter to install into: its Platform (tags, marker environment) and install scheme.

For the running interpreter: `wheelset.model.platforms.current_platform()` (`sys_tags()`,
`default_environment()`) and its `sysconfig` paths. For another one (``--python PATH``, e.g.
a fresh venv without packaging) `_interpreter_probe.py` is run *by that interpreter* with
our `packaging` first on its path, so it computes its own tags exactly as pip would there;
its answer becomes a Platform through `wheelset.model.platforms.interpreter_platform()`, the same
type `wheelset check` uses for the platforms of platforms.toml. No wheels here.
Which interpreter, when none is named (`find_environment`, as uv): the active virtual
environment ($VIRTUAL_ENV), else ``.venv`` in the current directory; the system interpreter
(the first ``python3`` on PATH) only when asked for (``--system``).
packaging, the platform model and subprocess are imported only when needed, so the warm
install path (wheelset.client.warm) can ask `sibling_venv` without them.
Entry points: Interpreter, running_interpreter(), inspect_interpreter(), find_environment(),
sibling_venv(), InterpreterError.
"""

from __future__ import annotations

import os
import sys
from collections import namedtuple
from collections.abc import Mapping

from wheelset.client import _interpreter_probe
from wheelset.errors import InterpreterError

TYPE_CHECKING = False  # typing is not loaded on the warm install path
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any


__all__ = [
    "Interpreter",
    "InterpreterError",
    "find_environment",
    "inspect_interpreter",
    "probe_interpreter",
    "running_interpreter",
    "sibling_venv",
]

_PROBE_TIMEOUT = 60.0  # seconds


class Interpreter(namedtuple("Interpreter", "executable platform scheme")):
    """An interpreter (``executable``, str), its Platform (marker environment and tags, best
    first) and the scheme (purelib, platlib, scripts, data, headers) to install into."""

    __slots__ = ()


def _from_description(doc: dict[str, Any]) -> Interpreter:
    from packaging.tags import parse_tag

    from wheelset.model.platforms import interpreter_platform

    tags = [tag for text in doc["tags"] for tag in parse_tag(text)]
    environment = {str(k): str(v) for k, v in doc["env"].items()}
    platform = interpreter_platform(environment, tags)
    return Interpreter(doc["executable"], platform, dict(doc["scheme"]))


def running_interpreter(prefix: str | None = None) -> Interpreter:
    """The interpreter running wheelset: its default scheme, or the scheme for ``prefix``."""
    from wheelset.model.platforms import current_platform

    return Interpreter(
        sys.executable, current_platform(), _interpreter_probe.scheme_for_prefix(prefix)
    )


def sibling_venv(executable: str) -> str | None:
    """The venv directory of ``executable`` when it is a venv of the binary running us.

    Then its tags and markers are ours and only its paths differ, so no subprocess is
    needed. Only taken when we run in a venv too, whose scheme we reuse (PEP 405:
    pyvenv.cfg sits next to the executable or one directory above).
    """
    if sys.prefix == sys.base_prefix:
        return None
    path = os.path.abspath(executable)
    base = getattr(sys, "_base_executable", None)
    if base is None or not os.path.exists(path) or os.path.realpath(path) != os.path.realpath(base):
        return None
    parent = os.path.dirname(path)
    for directory in (parent, os.path.dirname(parent)):
        if os.path.isfile(os.path.join(directory, "pyvenv.cfg")):
            return directory
    return None


def inspect_interpreter(executable: str, prefix: str | None = None) -> Interpreter:
    """Describe another interpreter (in-process for a venv of our own binary, else by
    running the probe with it).

    Raises:
        InterpreterError: it cannot be run or does not answer (e.g. a Python older than 3.8).
    """
    venv = sibling_venv(executable)
    if venv is not None:
        from wheelset.model.platforms import current_platform

        return Interpreter(
            os.path.abspath(executable),
            current_platform(),
            _interpreter_probe.scheme_for_prefix(prefix, venv),
        )
    return probe_interpreter(executable, prefix)


def probe_interpreter(executable: str, prefix: str | None = None) -> Interpreter:
    """Describe an interpreter by running the probe with it.

    Raises:
        InterpreterError: it cannot be run or does not answer (e.g. a Python older than 3.8).
    """
    import subprocess

    import packaging

    packaging_parent = os.path.dirname(os.path.dirname(os.path.abspath(packaging.__file__)))
    command = [executable, "-I", os.path.abspath(_interpreter_probe.__file__), packaging_parent]
    if prefix is not None:
        command.append(prefix)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_PROBE_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise InterpreterError(
            f"cannot run: {getattr(e, 'strerror', None) or e}", path=executable
        ) from e
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise InterpreterError(f"could not describe itself: {last}", path=executable)
    import json

    try:
        return _from_description(json.loads(done.stdout))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        # PlatformError is a ValueError too: no usable python_full_version or no tags.
        raise InterpreterError(f"gave an unreadable description: {e}", path=executable) from e


def _venv_python(venv: Path) -> Path | None:
    for name in ("python", "python3"):
        candidate = venv / "bin" / name
        if candidate.exists():
            return candidate
    return None


def find_environment(environ: Mapping[str, str], cwd: Path, *, system: bool = False) -> str | None:
    """The python of the environment to act on when no --python is given (uv's rule).

    $VIRTUAL_ENV, else ``cwd/.venv``; else, with ``system``, the first ``python3`` on PATH;
    else None (the caller refuses, or uses the running interpreter for --target/--prefix).

    Raises:
        InterpreterError: $VIRTUAL_ENV names a directory without a python, or ``system``
            is asked for and there is no python3 on PATH.
    """
    from pathlib import Path

    active = environ.get("VIRTUAL_ENV")
    if active:
        python = _venv_python(Path(active))
        if python is None:
            raise InterpreterError(
                f"VIRTUAL_ENV={active} is not a virtual environment (no bin/python)"
            )
        return str(python)
    local = cwd / ".venv"
    if (local / "pyvenv.cfg").is_file():
        python = _venv_python(local)
        if python is not None:
            return str(python)
    if system:
        import shutil

        found = shutil.which("python3", path=environ.get("PATH"))
        if found is None:
            raise InterpreterError("--system: no python3 on PATH")
        return found
    return None
