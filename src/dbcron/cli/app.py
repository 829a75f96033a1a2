"""The ``dbcron`` command: every command of the specification, and more.

Commands are thin: they parse arguments, call one method of the service layer (built
by :mod:`dbcron.runtime`, reached through :class:`CliContext`) and render the result.
Errors that a user caused print one line on stderr and exit with 2 (bad input) or 1
(runtime: missing job, unreachable database); nothing is written then.

The commands live by theme (:mod:`~dbcron.cli.schema`, :mod:`~dbcron.cli.queries`,
:mod:`~dbcron.cli.jobs`, :mod:`~dbcron.cli.engine`), all registered on the one app of
:mod:`dbcron.cli.root`; importing them here, in this order, is the order of ``--help``.
"""

from __future__ import annotations

import typer

from dbcron.cli.root import _ctx, app, fail, out
from dbcron.errors import DbcronError

# The command modules register their commands on ``app`` when imported: this order is the
# order of ``dbcron --help``.
# isort: off
from dbcron.cli import schema  # noqa: F401
from dbcron.cli import queries  # noqa: F401
from dbcron.cli import jobs  # noqa: F401
from dbcron.cli import engine  # noqa: F401

# isort: on

__all__ = ["app", "main"]


@app.command()
def shell(ctx: typer.Context) -> None:
    """The interactive job manager (list, show, status, trigger, pause, resume, ...)."""
    from dbcron.cli.shell import JobShell

    JobShell(_ctx(ctx).manager, out).cmdloop()


def _register_extensions() -> None:
    from dbcron.cli import papers

    papers.register(app)


_register_extensions()


# -- entry point -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors become one line on stderr and an exit code."""
    # Typer reports usage errors itself (exit 2); dbcron's own errors surface here.
    try:
        app(args=argv, prog_name="dbcron")
    except DbcronError as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
