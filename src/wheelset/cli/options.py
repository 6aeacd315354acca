"""Every option and argument that more than one command takes, defined once.

Each has one name, one meaning, one metavar and at most one environment variable wherever
it appears; commands import them instead of declaring their own. Options used by a single
command stay in that command's module. The README's option table lists them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "DEFAULT_COLLECTION",
    "DEFAULT_JOBS",
    "DEFAULT_TIMEOUT",
    "CacheDirOption",
    "CollectionArg",
    "FormatOption",
    "GatewayOption",
    "IndexUrlOption",
    "JobsOption",
    "NoCacheOption",
    "NodeApiOption",
    "RequirementsArg",
    "RootArg",
    "TimeoutOption",
    "WithMetadataOption",
]

DEFAULT_COLLECTION = Path("declarations")
DEFAULT_JOBS = 8  # network transfers at a time
DEFAULT_TIMEOUT = 30.0  # seconds: to connect, and between two reads of a body


def _split_commas(values: list[str] | None) -> list[str]:
    """``--gateway a,b`` and ``WHEELSET_GATEWAY="a,b c"`` mean the same as two options."""
    return [part for value in values or () for part in value.replace(",", " ").split()]


CollectionArg = Annotated[
    Path,
    typer.Argument(metavar="DIR", help="The collection directory (platforms.toml + declarations)."),
]
RootArg = Annotated[
    str,
    typer.Argument(
        metavar="ROOT",
        help="A root: CID (Qm…, b…), /ipfs/<cid>, ipfs://<cid>, a build directory (OUT or "
        "OUT/tree) or a CAR file.",
    ),
]
RequirementsArg = Annotated[
    list[str], typer.Argument(metavar="NAME...", help="NAME[extras][specifier], one or more.")
]

IndexUrlOption = Annotated[
    str | None,
    typer.Option(
        "--index-url",
        metavar="URL",
        envvar="WHEELSET_INDEX_URL",
        help="PEP 503 index for `index:` sources and NAME==VERSION (default: pip's index).",
    ),
]
GatewayOption = Annotated[
    list[str],
    typer.Option(
        "--gateway",
        metavar="URL",
        envvar="WHEELSET_GATEWAY",
        callback=_split_commas,
        help="IPFS gateway to fetch content by CID, tried in order (repeatable). Default "
        "for roots: public gateways, after a local node on 127.0.0.1:8080 if it answers.",
    ),
]
NodeApiOption = Annotated[
    str | None,
    typer.Option(
        "--api",
        metavar="URL",
        envvar="WHEELSET_API",
        help="An IPFS node's RPC API (e.g. http://127.0.0.1:5001). Reading a root: its "
        "blocks come from this node first (block/get), each verified.",
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        envvar="WHEELSET_TIMEOUT",
        min=0.1,
        help="Network timeout: to connect, and between two reads of a body.",
    ),
]
JobsOption = Annotated[
    int,
    typer.Option(
        "--jobs", metavar="N", min=1, envvar="WHEELSET_JOBS", help="Network transfers at a time."
    ),
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        metavar="DIR",
        envvar="WHEELSET_CACHE_DIR",
        help="Cache directory (default: $XDG_CACHE_HOME/wheelset, ~/.cache/wheelset).",
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


def FormatOption(choices: str) -> object:
    """The --format option of a command whose report formats are ``choices``."""
    return typer.Option(
        "--format", "-f", metavar="FORMAT", case_sensitive=False, help=f"Output: {choices}."
    )
