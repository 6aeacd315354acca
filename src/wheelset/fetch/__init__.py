"""Fetching: package indexes (index), verified wheels (wheels), the one cache (cache),
METADATA for PEP 658 (metadata_cache) and private-index credentials (credentials).

Every network access goes through an httpx.Client passed in by the caller (the CLI builds
it, with its timeouts, bounded bodies and scoped credentials). Errors a caller handles on
their own: FetchError (the source cannot be fetched) and NotAWheelError (it was fetched,
but is not a usable wheel).
"""

from __future__ import annotations

from wheelset.errors import FetchError, NotAWheelError

__all__ = ["FetchError", "NotAWheelError"]
