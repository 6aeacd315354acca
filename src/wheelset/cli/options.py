"""Every option and argument that more than one command takes, defined once.

Commands import these instead of declaring their own, so an option has one name, one
meaning, one default source and one environment variable wherever it appears. Options
used by a single command stay in that command's module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "CacheDirOption",
    "CollectionArg",
    "GatewayOption",
    "IndexUrlOption",
    "JobsOption",
    "NoCacheOption",
    "RootArg",
    "TimeoutOption",
    "WheelGatewayOption",
    "WithMetadataOption",
]

DEFAULT_COLLECTION = Path("declarations")

CollectionArg = Annotated[
    Path,
    typer.Argument(help="The collection directory (platforms.toml + declarations)."),
]
RootArg = Annotated[str, typer.Argument(help="Root CID, /ipfs/<cid>, or a build directory.")]

IndexUrlOption = Annotated[
    str | None,
    typer.Option(
        "--index-url",
        envvar="WHEELSET_INDEX_URL",
        help="PEP 503 index for index: sources (default: WHEELSET_INDEX_URL, pip's config).",
    ),
]
GatewayOption = Annotated[
    list[str],
    typer.Option(
        "--gateway",
        help="Gateway base URL, tried in order (repeatable). Default: $WHEELSET_GATEWAY, "
        "else public gateways. A local node on 127.0.0.1:8080 is tried first when it answers.",
    ),
]
WheelGatewayOption = Annotated[
    str | None,
    typer.Option(
        "--gateway",
        help="Fetch wheels from this IPFS gateway by content-id instead of their sources.",
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", help="Seconds to connect, and between two reads of a body."),
]
JobsOption = Annotated[int, typer.Option("--jobs", min=1, help="Downloads at a time.")]
CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        envvar="WHEELSET_CACHE_DIR",
        help="The cache directory (default: $XDG_CACHE_HOME/wheelset).",
    ),
]
NoCacheOption = Annotated[
    bool, typer.Option("--no-cache", help="Do not read or fill the wheel cache.")
]
WithMetadataOption = Annotated[
    bool,
    typer.Option(
        "--with-metadata", help="Publish each wheel's METADATA as a PEP 658 .metadata file."
    ),
]
