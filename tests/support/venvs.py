"""Fresh virtual environments, and pip/uv run isolated from this machine's configuration."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

UV = Path(sys.executable).parent / "uv"


def make_venv(path: Path, *, with_pip: bool = False) -> Path:
    """Create a venv at ``path`` (no pip by default: fast); return its python."""
    command = [sys.executable, "-m", "venv", str(path)]
    if not with_pip:
        command.append("--without-pip")
    subprocess.run(command, check=True, capture_output=True)
    return path / "bin" / "python"


def site_packages(venv: Path) -> Path:
    version = sysconfig.get_python_version()
    return venv / "lib" / f"python{version}" / "site-packages"


def installed(venv: Path) -> dict[str, str]:
    """Project name -> version of every distribution in the venv."""
    from importlib.metadata import distributions

    from packaging.utils import canonicalize_name

    return {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in distributions(path=[str(site_packages(venv))])
    }


def isolated_env(cache: Path | None = None) -> dict[str, str]:
    """The environment for pip/uv: no user or machine configuration, no extra find-links."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "WHEELSET_"))}
    env.update(
        {
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
            "UV_NO_CONFIG": "1",
            "UV_PYTHON_DOWNLOADS": "never",
        }
    )
    if cache is not None:
        env["UV_CACHE_DIR"] = str(cache / "uv-cache")
        env["PIP_CACHE_DIR"] = str(cache / "pip-cache")
    return env


def run_pip(python: Path, args: Sequence[str], **kwargs) -> subprocess.CompletedProcess[str]:
    """This environment's pip, acting on the venv of ``python``."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), *args],
        capture_output=True,
        text=True,
        env=kwargs.pop("env", isolated_env()),
        **kwargs,
    )


def run_uv(args: Sequence[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(UV), *args],
        capture_output=True,
        text=True,
        env=kwargs.pop("env", isolated_env()),
        **kwargs,
    )
