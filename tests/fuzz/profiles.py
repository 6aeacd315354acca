"""How hard the fuzz tests push: a fast profile for every test run, a deep one on demand.

``WHEELSET_FUZZ=deep python -m pytest tests/fuzz`` runs at least 10,000 cases per parser
(minutes); without it each parser gets FAST_EXAMPLES cases (seconds), as CI runs them.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["DEEP_EXAMPLES", "FAST_EXAMPLES", "FUZZ", "PROFILE"]

FAST_EXAMPLES = 200
DEEP_EXAMPLES = 10_000

settings.register_profile(
    "wheelset-fuzz-fast",
    max_examples=FAST_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.register_profile(
    "wheelset-fuzz-deep",
    max_examples=DEEP_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

_CHOICE = os.environ.get("WHEELSET_FUZZ", "fast").strip().lower() or "fast"
if _CHOICE not in ("fast", "deep"):
    raise ValueError(f"WHEELSET_FUZZ must be 'fast' or 'deep', not {_CHOICE!r}")
PROFILE = f"wheelset-fuzz-{_CHOICE}"

# Applied per test, so the profile reaches only the fuzz tests, whatever else runs with them.
FUZZ = settings(settings.get_profile(PROFILE))
