"""`wheelset install --seed`: what the seeding step prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from wheelset.distribute.seed import SeedReport

__all__ = ["print_seeded"]


def print_seeded(api: str, report: SeedReport) -> None:
    """Print what seeding did on the node at ``api``.

    Raises:
        PublishError: a wheel could not be seeded (the node computed another CID).
    """
    from wheelset.build.publish import ADDED, FAILED, PINNED, PRESENT, PublishError

    for outcome in report.outcomes:
        if outcome.status == FAILED:
            typer.echo(f"failed: {outcome.filename}: {outcome.detail}", err=True)
    typer.echo(
        f"Seeding on {api}: {report.count(ADDED)} added and pinned, "
        f"{report.count(PINNED)} pinned from the node's own blocks, "
        f"{report.count(PRESENT)} already pinned",
        err=True,
    )
    if report.count(FAILED):
        raise PublishError(f"{report.count(FAILED)} wheels could not be seeded")
