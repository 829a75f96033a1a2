"""The ``dbcron`` Typer app, its root options, the consoles and the shared argument types.

Every command module registers its commands on :data:`app`; :mod:`dbcron.cli.app`
imports them in help order and runs the app."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from dbcron.cli.context import CliContext
from dbcron.version import __version__

app = typer.Typer(
    name="dbcron",
    help="Cron that lives in a database: persistent, exactly-once job scheduling.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# The terminal's width (COLUMNS, else that of the terminal on any standard stream, else
# 80): tables fit it (dbcron.cli.tables), --wide prints them whole (dbcron.cli.view).
out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
HostOption = Annotated[
    str | None, typer.Option("--host", help="Web: address to listen on (web.host).")
]
PortOption = Annotated[int | None, typer.Option("--port", help="Web: TCP port (web.port).")]
JobId = Annotated[
    str, typer.Argument(help="Job id, key, exact name, or a unique prefix of the id.")
]
ExecutionId = Annotated[
    str,
    typer.Argument(
        help="Execution id (as `dbcron history` prints it) or a unique prefix of 8+ characters.",
        metavar="EXECUTION",
    ),
]


def _ctx(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliContext)
    return obj


def _version(value: bool) -> None:
    if value:
        out.print(f"dbcron {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Database URL (sqlite:///file.db or postgresql://...).", metavar="URL"
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Configuration file (YAML).", metavar="FILE")
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Cron that lives in a database."""
    if isinstance(ctx.obj, CliContext):  # a command of the interactive shell
        if db is not None or config is not None:
            fail("the shell's database and configuration are fixed: start another shell", 2)
        return
    state = CliContext(db_flag=db, config_flag=config)
    ctx.obj = state
    ctx.call_on_close(state.close)


def print_error(message: str) -> None:
    """Print ``error: message`` on stderr, as one line."""
    err.print(f"error: {message}", markup=False, soft_wrap=True)


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    print_error(message)
    sys.exit(code)
