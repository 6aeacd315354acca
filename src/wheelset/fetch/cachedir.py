"""Where the one cache lives, and its buckets: standard library only, so that the no-op and
warm install paths find the cache without importing the cache's machinery
(wheelset.fetch.cache, which re-exports these).
Entry points: default_cache_dir(), BUCKETS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["BUCKETS", "default_cache_dir"]

# closures: the closures install resolved (wheelset.client.warm).
BUCKETS = ("files", "sha256", "metadata", "core-metadata", "blocks", "unpacked", "closures")


def default_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$WHEELSET_CACHE_DIR``, else ``$XDG_CACHE_HOME/wheelset``, else ``~/.cache/wheelset``."""
    if explicit := environ.get("WHEELSET_CACHE_DIR"):
        return Path(explicit)
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wheelset"
