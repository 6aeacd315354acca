"""Where the one cache lives, and its buckets: standard library only, so that the no-op and
warm install paths find the cache without importing the cache's machinery
(wheelset.fetch.cache, which re-exports these).
Entry points: default_cache_dir(), BUCKETS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

TYPE_CHECKING = False  # pathlib is not loaded on the no-op and warm install paths
if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["BUCKETS", "default_cache_dir", "default_cache_path"]

# closures: the closures install resolved (wheelset.client.warm).
BUCKETS = ("files", "sha256", "metadata", "core-metadata", "blocks", "unpacked", "closures")


def default_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$WHEELSET_CACHE_DIR``, else ``$XDG_CACHE_HOME/wheelset``, else ``~/.cache/wheelset``."""
    from pathlib import Path

    return Path(default_cache_path(environ))


def default_cache_path(environ: Mapping[str, str] = os.environ) -> str:
    """default_cache_dir() as a string."""
    if explicit := environ.get("WHEELSET_CACHE_DIR"):
        return explicit
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "wheelset")
