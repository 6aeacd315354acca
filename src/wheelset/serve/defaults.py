"""The defaults of `serve`'s settings that its command-line options show as well, in a
module light enough to load with every command's options (wheelset.serve.config loads
tomllib and builds its dataclasses: only `serve` itself needs those).
"""

from __future__ import annotations

__all__ = ["DEFAULT_REFRESH"]

DEFAULT_REFRESH = 60.0  # seconds between looks at names and build directories
