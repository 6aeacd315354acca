"""The fuzz profiles keep their promise: the deep one runs at least 10,000 cases per parser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import settings

from tests.fuzz.profiles import DEEP_EXAMPLES, FUZZ, PROFILE

ROOT = Path(__file__).resolve().parents[2]


def test_deep_profile_runs_ten_thousand_cases() -> None:
    assert settings.get_profile("wheelset-fuzz-deep").max_examples >= 10_000 == DEEP_EXAMPLES
    assert settings.get_profile("wheelset-fuzz-fast").max_examples < 10_000


def test_the_chosen_profile_is_applied() -> None:
    assert FUZZ.max_examples == settings.get_profile(PROFILE).max_examples


def test_environment_variable_selects_the_deep_profile() -> None:
    env = {**os.environ, "WHEELSET_FUZZ": "deep"}
    code = "from tests.fuzz.profiles import FUZZ; print(FUZZ.max_examples)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert int(out.stdout) == DEEP_EXAMPLES
