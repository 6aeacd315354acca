"""`wheelset init`, `prune` and `sync`: derive a collection from a root, trim it, merge upstream."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    CollectionArg,
    DryRunOption,
    FromRootOption,
    RootSources,
    with_option_groups,
)
from wheelset.cli.run import counted
from wheelset.cli.wiring import open_root
from wheelset.fetch.http import http_client

__all__ = ["init_command", "prune_command", "sync_command"]


@handles_errors
@with_option_groups
def init_command(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="New collection directory (must be empty).")
    ],
    from_root: FromRootOption = None,
    *,
    sources: RootSources,
) -> None:
    """Start a collection: a new one, or one derived from a published root (a fork).

    Without --from: platforms.toml (commented; CPython 3.11-3.14 on manylinux x86_64 and
    aarch64, macOS arm64, win_amd64), policy.toml, a README and the GitHub workflows.
    With --from ROOT: writes every declaration (read a project at a time, verified) and
    platforms.toml of the root, plus upstream.toml (the root it came from) and
    .wheelset/upstream.jsonl (the base of later `sync`s). Building the new directory
    unchanged (with the options the root was built with, e.g. --with-metadata) gives the
    same root CID.
    """
    from wheelset.maintain.fork import init_collection
    from wheelset.maintain.template import new_collection

    if from_root is None:
        for path in new_collection(directory):
            typer.echo(f"added {path}")
        return
    with http_client() as http:
        opened, _, _ = open_root(
            from_root, sources.gateway, sources.timeout, sources.cache_dir, http, sources.api
        )
        count, projects = init_collection(opened, directory)
    typer.echo(f"{directory}: {projects} projects, {count} wheels from {opened.cid}")


@handles_errors
def prune_command(
    directory: CollectionArg,
    keep: Annotated[
        list[str],
        typer.Option(
            "--keep", metavar="NAME", help="NAME[extras] to keep with its closure (repeat)."
        ),
    ],
    platform: Annotated[
        list[str],
        typer.Option(
            "--platform",
            metavar="WHICH",
            help="Keep only these Python versions (3.12) and/or systems (win_amd64); repeat.",
        ),
    ] = [],  # noqa: B006 - typer needs a literal default
    dry_run: DryRunOption = False,
) -> None:
    """Keep exactly the named projects and their closure on every supported platform.

    The kept set is checked first; if its closure would break, nothing is changed.
    """
    from wheelset.client.resolve import parse_requirements
    from wheelset.maintain.fork import apply_prune, plan_prune
    from wheelset.model.collection import read_collection

    platforms_table, declarations = read_collection(directory)
    requirements = parse_requirements(keep)
    plan = plan_prune(declarations, platforms_table, requirements, platform)
    removed: dict[str, set[str]] = {}
    for decl in plan.remove:
        removed.setdefault(decl.name, set()).add(str(decl.version))
    kept_names = {d.name for d in plan.keep}
    for name in sorted(removed):
        how = "removed" if name not in kept_names else "wheels removed"
        typer.echo(f"{how}: {name} {', '.join(sorted(removed[name]))}")
    verb = "would keep" if dry_run else "kept"
    typer.echo(
        f"{verb} {len(kept_names)} projects, {len(plan.keep)} wheels; "
        f"{len(plan.remove)} wheels removed"
    )
    if not dry_run:
        apply_prune(directory, plan, requirements)


@handles_errors
@with_option_groups
def sync_command(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="The fork's collection directory.")
    ],
    from_root: FromRootOption,
    *,
    sources: RootSources,
) -> None:
    """Merge upstream's changes (recorded root -> new root) into the fork, then check it.

    Per project: a side that did not change yields to the side that did; projects both
    changed differently are conflicts, kept as the fork has them and reported — and
    reported again by every sync until resolved, since upstream.toml stays at the old root
    while any remain. A pruned fork takes only what its kept projects need. Exit 1 on
    conflicts or when the merged collection fails its checks.
    """
    from wheelset.check import run_checks
    from wheelset.check.report import format_text
    from wheelset.maintain.fork import (
        ChangeKind,
        apply_merge,
        merge_collections,
        read_prune,
        read_upstream,
        upstream_of,
    )
    from wheelset.model.collection import load_collection
    from wheelset.model.findings import Severity

    base_root, base = read_upstream(directory)
    collection = load_collection(directory)
    with http_client() as http:
        opened, _, _ = open_root(
            from_root, sources.gateway, sources.timeout, sources.cache_dir, http, sources.api
        )
        theirs = upstream_of(opened, base)
    result = merge_collections(
        base,
        theirs,
        collection.declarations,
        collection.platforms_table,
        keep=read_prune(directory),
    )
    apply_merge(directory, result, collection.declarations, opened.cid, theirs)
    for change in result.changes:
        line = f"{change.kind.value}: {change.project} ({change.detail})"
        typer.echo(line, err=change.kind is ChangeKind.CONFLICT)
    findings = run_checks(load_collection(directory))
    typer.echo(format_text(findings, directory), err=True, nl=False)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if result.conflicts:
        summary = f"merged from {opened.cid}, upstream record left at {base_root}"
    else:
        summary = f"synced to {opened.cid}"
    typer.echo(
        f"{summary}: {counted(len(result.changes), 'change')}, "
        f"{counted(len(result.conflicts), 'conflict')}, {counted(len(errors), 'error')}"
    )
    if result.conflicts or errors:
        raise typer.Exit(1)
