"""Describing the interpreter to install into: in-process fast path equals the real probe."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.tags import sys_tags

from tests.support.venvs import make_venv
from wheelset.client.interpreter import (
    InterpreterError,
    inspect_interpreter,
    probe_interpreter,
    running_interpreter,
)


def test_running_interpreter() -> None:
    interpreter = running_interpreter()
    assert interpreter.executable == sys.executable
    assert interpreter.platform.tags == tuple(dict.fromkeys(sys_tags()))
    assert interpreter.scheme["purelib"].startswith(sys.prefix)


@pytest.mark.parametrize("prefix", [None, "/opt/somewhere"])
def test_a_sibling_venv_is_described_like_the_probe_does(tmp_path: Path, prefix) -> None:
    python = make_venv(tmp_path / "venv")
    fast = inspect_interpreter(str(python), prefix)
    probed = probe_interpreter(str(python), prefix)
    assert fast == probed
    # Platform equality compares its id and versions only: compare what selection uses.
    assert fast.platform.tags == probed.platform.tags
    assert dict(fast.platform.environment) == dict(probed.platform.environment)
    assert fast.platform.python == probed.platform.python
    expected_root = prefix or str(tmp_path / "venv")
    assert fast.scheme["purelib"].startswith(expected_root)
    assert fast.scheme["scripts"] == f"{expected_root}/bin"


def test_an_interpreter_that_cannot_run(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(InterpreterError) as info:
        inspect_interpreter(str(fake))
    assert info.value.one_line() == f"{fake}: PYTHON could not describe itself: broken"
    with pytest.raises(InterpreterError) as info:
        inspect_interpreter(str(tmp_path / "missing"))
    missing = tmp_path / "missing"
    assert info.value.one_line() == f"{missing}: PYTHON cannot run: No such file or directory"


def test_an_interpreter_that_describes_no_usable_platform(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text(
        "#!/bin/sh\n"
        'echo \'{"executable": "x", "env": {"python_full_version": "?"}, "tags": [],'
        ' "scheme": {}}\'\n'
    )
    fake.chmod(0o755)
    with pytest.raises(InterpreterError, match=r"unreadable description: .*python_full_version"):
        inspect_interpreter(str(fake))
