"""The typer app of `wheelset`, built from one module per command or command group (cid,
build, diff, prefix, declare, check, install, environment (uninstall, list, freeze), export,
serve, fork, outdated, bump, cache, mirror, gc, announce). Each command module imports only
typer and the option definitions at load time; the library a command calls is imported when
it runs. Entry point: app.
"""

from __future__ import annotations

from typing import Annotated

import typer

from wheelset import __version__
from wheelset.cli import (
    announce,
    build,
    bump,
    check,
    cid,
    declare,
    diff,
    export,
    fork,
    gc,
    install,
    mirror,
    outdated,
)
from wheelset.cli import environment as environment_module
from wheelset.cli import prefix as prefix_module
from wheelset.cli import serve as serve_module
from wheelset.cli.cache import cache_app
from wheelset.cli.command import WheelsetCommand, WheelsetGroup
from wheelset.cli.errors import set_debug

__all__ = ["app"]

app = typer.Typer(
    name="wheelset",
    cls=WheelsetGroup,
    rich_markup_mode=None,
    help="Curated single-version Python wheel repositories on IPFS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wheelset {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    set_debug(debug)


# In the pipeline's order, as the help lists them: curate a collection, build and publish
# its root, use a root; then the tools.
for _name, _command in (
    ("init", fork.init_command),
    ("declare", declare.declare_command),
    ("check", check.check_command),
    ("outdated", outdated.outdated_command),
    ("bump", bump.bump_command),
    ("prune", fork.prune_command),
    ("sync", fork.sync_command),
    ("build", build.build_command),
    ("publish", build.publish_command),
    ("mirror", mirror.mirror_command),
    ("announce", announce.announce_command),
    ("gc", gc.gc_command),
    ("diff", diff.diff_command),
    ("install", install.install_command),
    ("uninstall", environment_module.uninstall_command),
    ("list", environment_module.list_command),
    ("freeze", environment_module.freeze_command),
    ("export", export.export_command),
    ("serve", serve_module.serve_command),
    ("cid", cid.cid_command),
    ("prefix", prefix_module.prefix_command),
):
    app.command(_name, cls=WheelsetCommand)(_command)
app.add_typer(cache_app, name="cache")
