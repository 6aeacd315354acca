"""Every option and argument that more than one command takes, defined once.

Each has one name, one meaning, one metavar and at most one environment variable wherever
it appears; commands import them instead of declaring their own. Options used by a single
command stay in that command's module. The README's option table lists them all.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from wheelset.cli.run import DEFAULT_JOBS, DEFAULT_TIMEOUT

__all__ = [
    "DEFAULT_COLLECTION",
    "DEFAULT_JOBS",
    "DEFAULT_TIMEOUT",
    "AllowIndexSwapOption",
    "CacheDirOption",
    "CollectionArg",
    "DryRunOption",
    "Environment",
    "ExtrasOption",
    "FormatOption",
    "FromRootOption",
    "GatewayOption",
    "IndexAccess",
    "IndexUrlOption",
    "JobsOption",
    "NoCacheOption",
    "NodeApiOption",
    "OptionGroup",
    "PrefixOption",
    "PythonOption",
    "RequirementsArg",
    "RootArg",
    "RootSources",
    "SystemOption",
    "TargetOption",
    "TimeoutOption",
    "WithMetadataOption",
    "with_option_groups",
]

DEFAULT_COLLECTION = Path("declarations")


def _split_commas(values: list[str] | None) -> list[str]:
    """``--gateway a,b`` and ``WHEELSET_GATEWAY="a,b c"`` mean the same as two options."""
    return [part for value in values or () for part in value.replace(",", " ").split()]


def _parse_extras(value: str | None) -> list[str] | None:
    """``a,b`` -> ``["a", "b"]``; ``''`` -> no extras; not given -> None (the default)."""
    if value is None:
        return None
    return [extra.strip() for extra in value.split(",") if extra.strip()]


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

FromRootOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="ROOT",
        help="The upstream root, any ROOT form (init without it: a new, empty collection).",
    ),
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
ExtrasOption = Annotated[
    str | None,
    typer.Option(
        "--extras",
        metavar="NAMES",
        callback=_parse_extras,
        help="Comma-separated extras to declare, '' for none (default: declare: none, or those "
        "NAME[a,b] names; bump: those declared now). The closure check covers only declared "
        "extras.",
    ),
]
AllowIndexSwapOption = Annotated[
    bool,
    typer.Option(
        "--allow-index-swap",
        help="Look up projects declared from private URL sources on the index too (bump: "
        "replace them with the index's wheels).",
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

PythonOption = Annotated[
    str | None,
    typer.Option(
        "--python",
        metavar="PATH",
        help="The interpreter of the environment (default: $VIRTUAL_ENV, else ./.venv).",
    ),
]
TargetOption = Annotated[
    Path | None,
    typer.Option("--target", metavar="DIR", help="A directory of packages (as pip --target)."),
]
PrefixOption = Annotated[
    Path | None, typer.Option("--prefix", metavar="DIR", help="Under this prefix.")
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Report what would be done; change nothing.")
]
SystemOption = Annotated[
    bool,
    typer.Option("--system", help="Allow the first python3 on PATH when no venv is found."),
]


def FormatOption(choices: str) -> object:
    """The --format option of a command whose report formats are ``choices``."""
    return typer.Option(
        "--format", "-f", metavar="FORMAT", case_sensitive=False, help=f"Output: {choices}."
    )


class OptionGroup:
    """Options that several commands take together, as one dataclass (like uv's flattened
    argument structs): a command declares one keyword-only parameter of the group's type
    and @with_option_groups gives it the group's options."""

    def options(self) -> dict[str, Any]:
        """The group's options by parameter name, to pass on as keyword arguments."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True, slots=True)
class RootSources(OptionGroup):
    """Where a ROOT's blocks and its wheels come from."""

    gateway: GatewayOption = dataclasses.field(default_factory=list)
    timeout: TimeoutOption = DEFAULT_TIMEOUT
    cache_dir: CacheDirOption = None
    api: NodeApiOption = None


@dataclasses.dataclass(frozen=True, slots=True)
class IndexAccess(OptionGroup):
    """How the package index is reached."""

    index_url: IndexUrlOption = None
    timeout: TimeoutOption = DEFAULT_TIMEOUT
    jobs: JobsOption = DEFAULT_JOBS


@dataclasses.dataclass(frozen=True, slots=True)
class Environment(OptionGroup):
    """The environment a command acts on."""

    target: TargetOption = None
    prefix: PrefixOption = None
    python: PythonOption = None
    system: SystemOption = False


def with_option_groups(command: Callable[..., None]) -> Callable[..., None]:
    """Expose each OptionGroup parameter of ``command`` to typer as the group's options.

    An option the command declares itself (e.g. its own --timeout default) stays the
    command's and still fills the group's field of that name.
    """
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if not _is_group(p.annotation)]
    groups = {
        p.name: p.annotation for p in signature.parameters.values() if _is_group(p.annotation)
    }
    names = {p.name for p in own}
    added: list[inspect.Parameter] = []
    for group in groups.values():
        hints = typing.get_type_hints(group, include_extras=True)
        for field in dataclasses.fields(group):
            if field.name in names:
                continue
            names.add(field.name)
            default = (
                field.default_factory() if field.default is dataclasses.MISSING else field.default
            )
            added.append(
                inspect.Parameter(
                    field.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=hints[field.name],
                    default=default,
                )
            )

    @functools.wraps(command)
    def expanded(**options: Any) -> None:
        for name, group in groups.items():
            options[name] = group(**{f.name: options[f.name] for f in dataclasses.fields(group)})
        for param in added:
            options.pop(param.name)
        command(**options)

    parameters = [*own, *added]
    expanded.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    expanded.__annotations__ = {p.name: p.annotation for p in parameters}
    return expanded


def _is_group(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, OptionGroup)
