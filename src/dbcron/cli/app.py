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

import copy
from collections.abc import Iterator, Mapping, MutableMapping

import typer
import typer.main
from typer.core import TyperGroup
from typer.models import CommandInfo

from dbcron.cli.context import CliContext
from dbcron.cli.root import _ctx, app, fail, out, print_error

# Typer (0.29) runs its own copy of Click; these are its command and the errors it raises.
from typer._click.core import Command  # isort: skip
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


class _Commands(MutableMapping[str, Command]):
    """The commands of the ``dbcron`` group by name, in registration order, each built
    from its registration when first looked up.

    Typer builds every command of a group up front, reading each one's signature and
    annotations: for dbcron's commands that is ~15 ms of every run, which needs one of
    them. Click looks commands up by name (:meth:`TyperGroup.get_command`), so a command
    line builds only the command it runs; ``dbcron --help`` still builds them all.
    """

    def __init__(self, infos: list[CommandInfo], built: Mapping[str, Command]) -> None:
        """``infos``: the commands to build when looked up; ``built``: the ones already
        built (the sub-groups, such as ``web-user``), after them as in Typer's order."""
        self._infos = {_command_name(info): info for info in infos}
        self._built: dict[str, Command | None] = {**dict.fromkeys(self._infos), **built}

    def __getitem__(self, name: str) -> Command:
        command = self._built[name]
        if command is None:
            command = typer.main.get_command_from_info(
                self._infos[name],
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
            )
            self._built[name] = command
        return command

    def __setitem__(self, name: str, command: Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._built)

    def __len__(self) -> int:
        return len(self._built)


def _command_name(info: CommandInfo) -> str:
    """The name a registered command is invoked by (Typer's rule)."""
    assert info.callback is not None
    return info.name or typer.main.get_command_name(info.callback.__name__)


def _root_group() -> TyperGroup:
    """The ``dbcron`` group as Typer builds it for :data:`app`, with its commands built
    on first lookup (:class:`_Commands`)."""
    bare = copy.copy(app)  # the root options, callback and sub-groups; no commands
    bare.registered_commands = []
    group = typer.main.get_command(bare)
    assert isinstance(group, TyperGroup)
    group.commands = _Commands(app.registered_commands, group.commands)
    return group


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
        code = _root_group()(args=argv, prog_name="dbcron", standalone_mode=False, obj=state)
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
