"""The command classes of the `wheelset` app: plain help and one-line usage errors.

Help is click's plain layout, with each option's metavar (``--timeout SECONDS``) instead of
typer's type labels (``<float>``, ``<list[str]>``) and arguments in usage as ``NAME...``
instead of ``{name}...``. A usage error (bad option value, missing argument, unknown
command) prints one line, ``error: USAGE message``, and exits 2; every other error is a
WheelsetError handled by wheelset.cli.errors (one line, exit 1).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

from wheelset.errors import UsageError

__all__ = ["WheelsetCommand", "WheelsetGroup"]

# typer re-exports only BadParameter of its click exceptions; its bases are the classes
# every parsing error derives from (UsageError, exit 2; ClickException, exit 1).
_ClickUsageError = typer.BadParameter.__mro__[1]
_ClickException = typer.BadParameter.__mro__[2]


def _argument_name(param: Any) -> str:
    """``DIR``, ``NAME...``: the argument as usage and help show it."""
    if param.metavar:
        return param.metavar
    name = str(param.name).upper()
    return f"{name}..." if param.nargs != 1 else name


def _option_name(param: Any) -> str:
    """``--timeout SECONDS``, ``--debug``: the option as help shows it."""
    names = ", ".join(sorted(param.opts, key=len))
    if param.is_flag or param.count:
        return names if not param.secondary_opts else f"{names} / {', '.join(param.secondary_opts)}"
    return f"{names} {param.metavar or str(param.name).upper()}"


def _format_params(command: Any, ctx: Any, formatter: Any) -> None:
    arguments, options = [], []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        if isinstance(param, TyperArgument):
            arguments.append((_argument_name(param), record[1]))
        else:
            options.append((_option_name(param), record[1]))
    for title, rows in (("Arguments", arguments), ("Options", options)):
        if rows:
            with formatter.section(title):
                formatter.write_dl(rows)


class WheelsetCommand(TyperCommand):
    """A command with plain help (metavars, no type labels)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = _argument_name(param)
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        _format_params(self, ctx, formatter)


class WheelsetGroup(TyperGroup):
    """The `wheelset` group: plain help, and every usage error on one line (exit 2)."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        _format_params(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _ClickException as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # `wheelset` alone: the help, as click
                typer.echo(e.format_message(), err=True)
                return self._finish(e.exit_code, standalone_mode)
            message = " ".join(e.format_message().split()).rstrip(".")
            if isinstance(e, _ClickUsageError):
                command = e.ctx.command_path if e.ctx is not None else prog_name
                error = UsageError(f"{message} (see {command} --help)")
            else:
                error = UsageError(message)
                error.exit_code = e.exit_code
            typer.echo(f"error: {error.one_line()}", err=True)
            result = error.exit_code
        except typer.Abort:
            typer.echo("interrupted", err=True)
            result = 1
        return self._finish(result, standalone_mode)

    @staticmethod
    def _finish(result: Any, standalone_mode: bool) -> Any:
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)
