"""The ``dbcron`` command: every command of the specification, and more.

Commands are thin: they parse arguments, call one method of the service layer (built
by :mod:`dbcron.runtime`, reached through :class:`CliContext`) and render the result.
Errors that a user caused print one line on stderr and exit with 2 (bad input) or 1
(runtime: missing job, unreachable database); nothing is written then.

The commands live by theme (:mod:`~dbcron.cli.schema`, :mod:`~dbcron.cli.queries`,
:mod:`~dbcron.cli.jobs`, :mod:`~dbcron.cli.files`, :mod:`~dbcron.cli.engine`,
:mod:`~dbcron.cli.doctor`), all
registered on the one app of :mod:`dbcron.cli.root`; importing them here, in this order,
is the order of ``--help``.
"""

from __future__ import annotations

import typer

from dbcron.cli.context import CliContext
from dbcron.cli.root import _ctx, app, fail, out, print_error

# Typer (0.29) runs its own copy of Click; these are the errors it raises.
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # isort: skip
from dbcron.errors import DbcronError

# The command modules register their commands on ``app`` when imported: this order is the
# order of ``dbcron --help``.
# isort: off
from dbcron.cli import schema  # noqa: F401
from dbcron.cli import queries  # noqa: F401
from dbcron.cli import jobs  # noqa: F401
from dbcron.cli import files  # noqa: F401
from dbcron.cli import engine  # noqa: F401
from dbcron.cli import web  # noqa: F401
from dbcron.cli import doctor  # noqa: F401

# isort: on

__all__ = ["app", "main"]


@app.command()
def shell(ctx: typer.Context) -> None:
    """The interactive job manager: every dbcron command, on one database."""
    from dbcron.cli.shell import JobShell

    state = _ctx(ctx)
    if state.in_shell:
        fail("already in the shell", 2)
    state.manager  # noqa: B018 - open the database now: a bad URL fails before the prompt
    JobShell(state, out, invoke).cmdloop()


def _register_extensions() -> None:
    from dbcron.cli import papers

    papers.register(app)


_register_extensions()


def _summaries_whole() -> None:
    """``dbcron --help`` lists each command with its docstring's first line, whole (Click
    would cut it at the first full stop, "Create a job, e.g.", or at 45 characters)."""
    for info in app.registered_commands:
        doc = info.help or (info.callback.__doc__ if info.callback else None)
        if info.short_help is None and doc:
            info.short_help = doc.strip().splitlines()[0]


_summaries_whole()


# -- entry point -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors (dbcron's own, and the command line's: a missing or extra
    argument, an unknown option or command) become one line on stderr and an exit code."""
    code = invoke(argv)
    if code:
        raise SystemExit(code)


def invoke(argv: list[str] | None, state: CliContext | None = None) -> int:
    """Run one command line and return its exit status, errors printed as one line on
    stderr. With ``state``, the command uses that context's database and configuration
    (the interactive shell's), which stays open afterwards."""
    try:
        code = app(args=argv, prog_name="dbcron", standalone_mode=False, obj=state)
    except NoArgsIsHelpError as exc:  # `dbcron` alone: the help, as --help shows it
        out.file.write(exc.format_message() + "\n")
        return 0
    except UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "dbcron"
        message = exc.format_message().rstrip(".")
        return _failed(f"{message[:1].lower()}{message[1:]} (see {where} --help)", 2)
    except typer.Abort:
        return _failed("interrupted", 130)
    except DbcronError as exc:
        return _failed(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, exc.exit_code)
    except KeyboardInterrupt:
        return _failed("interrupted", 130)
    except SystemExit as exc:  # fail() inside a command
        return exc.code if isinstance(exc.code, int) else 1
    return code if isinstance(code, int) else 0


def _failed(message: str, code: int) -> int:
    print_error(message)
    return code
