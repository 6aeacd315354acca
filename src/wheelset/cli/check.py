"""`wheelset check`: the check families over a collection, findings in a chosen format."""

from __future__ import annotations

from typing import Annotated

import typer

from wheelset.cli.errors import handles_errors
from wheelset.cli.options import (
    DEFAULT_COLLECTION,
    CacheDirOption,
    CollectionArg,
    FormatOption,
    IndexAccess,
    with_option_groups,
)
from wheelset.cli.run import counted
from wheelset.cli.wiring import wheel_fetching
from wheelset.errors import UsageError

__all__ = ["check_command"]


@handles_errors
@with_option_groups
def check_command(
    directory: CollectionArg = DEFAULT_COLLECTION,
    integrity: Annotated[
        bool, typer.Option("--integrity", help="Also re-fetch sources and compare (network).")
    ] = False,
    changed_since: Annotated[
        str | None,
        typer.Option(
            "--changed-since",
            metavar="REF",
            help="Only declarations changed since this Git ref: the --integrity scope "
            "(default HEAD) and the projects the name rule reports (default: all).",
        ),
    ] = None,
    all_declarations: Annotated[
        bool,
        typer.Option("--all", help="Integrity scope: every declaration."),
    ] = False,
    output_format: Annotated[
        str, FormatOption("text, json or github (workflow annotations)")
    ] = "text",
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            metavar="FAMILY",
            help="Run only these families (repeat or comma-separate): layout, schema, "
            "uniqueness, closure, integrity.",
        ),
    ] = None,
    cache_dir: CacheDirOption = None,
    *,
    index: IndexAccess,
) -> None:
    """Check a collection: layout, schema, uniqueness, closure (and --integrity)."""
    from wheelset.check import DEFAULT_FAMILIES, FAMILIES, run_checks
    from wheelset.check.integrity import integrity_scope
    from wheelset.formats import get_formatter
    from wheelset.gcpause import keep_until_exit
    from wheelset.model.collection import load_collection
    from wheelset.model.findings import Severity

    formatter = get_formatter("check", output_format)
    families = [f.strip() for item in only or () for f in item.split(",") if f.strip()]
    for family in families:
        if family not in FAMILIES:
            raise UsageError(f"unknown check family {family!r} ({', '.join(FAMILIES)})")
    if not families:
        families = [*DEFAULT_FAMILIES, *(["integrity"] if integrity else [])]
    run_integrity = "integrity" in families
    if all_declarations and not run_integrity:
        raise UsageError(
            "--all chooses the scope of --integrity (without --changed-since the name rule "
            "already covers every project)"
        )
    if changed_since and all_declarations:
        raise UsageError("--changed-since and --all exclude each other")

    collection = load_collection(directory)
    scope = None
    if changed_since or (run_integrity and not all_declarations):
        scope = integrity_scope(directory, changed_since)
        typer.echo(
            f"{'integrity' if run_integrity else 'names'}: {len(scope)} declaration(s) "
            f"changed since {changed_since or 'HEAD'}",
            err=True,
        )
    if run_integrity:
        with wheel_fetching(
            index.timeout,
            index.index_url,
            cache_dir=cache_dir,
            use_cache=False,  # the integrity check compares with the source, never a copy
        ) as fetcher:
            findings = run_checks(
                collection,
                families,
                fetcher=fetcher,
                integrity_paths=scope,
                names_paths=scope if changed_since else None,
                jobs=index.jobs,
            )
    else:
        findings = run_checks(collection, families, names_paths=scope)
    typer.echo(formatter(findings, directory), nl=False)
    errors = sum(f.severity is Severity.ERROR for f in findings)
    keep_until_exit(collection)  # freeing it would only delay the exit
    typer.echo(
        f"{counted(len(collection.declarations), 'declaration')}, "
        f"{counted(len(collection.platforms), 'platform')}: "
        f"{counted(errors, 'error')}, {counted(len(findings) - errors, 'warning')}",
        err=True,
    )
    if errors:
        raise typer.Exit(1)
