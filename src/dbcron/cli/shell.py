"""``dbcron shell``: the specification's interactive job manager.

Every line is a ``dbcron`` command without the ``dbcron`` (``list``, ``create ...``,
``history -n 5``, ``logs -f ...``), run by the same code as the command line on the
shell's one database: whatever the CLI can do, the shell can. Built on the standard
library's :mod:`cmd` with :mod:`readline`, so it has line editing, a persistent command
history (``~/.dbcron_history``) and tab completion of commands and job ids. An error
prints one line and the shell goes on.
"""

from __future__ import annotations

import cmd
import contextlib
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from dbcron.cli.context import CliContext
from dbcron.cli.root import app
from dbcron.errors import DbcronError

HISTORY_FILE = Path.home() / ".dbcron_history"

#: Runs one command line on a context and returns its exit status (``cli.app.invoke``).
Invoke = Callable[[list[str], CliContext], int]

try:  # readline is missing on some platforms; the shell works without it
    import readline
except ImportError:  # pragma: no cover
    readline = None  # type: ignore[assignment]


def command_names() -> dict[str, str]:
    """Every ``dbcron`` command the shell offers, with its one-line summary."""
    names: dict[str, str] = {}
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__.replace("_", "-") if info.callback else "")
        if name and name != "shell" and not info.hidden:
            doc = info.short_help or info.help or (info.callback.__doc__ if info.callback else "")
            names[name] = (doc or "").strip().splitlines()[0] if doc else ""
    return names


class JobShell(cmd.Cmd):
    """An interactive loop that runs ``dbcron`` commands on one database."""

    intro = (
        "dbcron interactive job manager: any dbcron command, without the 'dbcron'.\n"
        "Type help to list them, quit to leave."
    )
    prompt = "dbcron> "

    def __init__(self, state: CliContext, console: Console, invoke: Invoke, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.console = console
        self._invoke = invoke
        self._commands = command_names()

    # -- loop plumbing ---------------------------------------------------------------

    def preloop(self) -> None:
        """Load the command history."""
        self.state.in_shell = True
        if readline is not None and HISTORY_FILE.exists():
            with contextlib.suppress(OSError):
                readline.read_history_file(HISTORY_FILE)

    def postloop(self) -> None:
        """Save the command history."""
        self.state.in_shell = False
        if readline is not None:
            with contextlib.suppress(OSError):
                readline.set_history_length(1000)
                readline.write_history_file(HISTORY_FILE)

    def emptyline(self) -> bool:
        """An empty line does nothing (rather than repeating the last command)."""
        return False

    def default(self, line: str) -> None:
        """A ``dbcron`` command line."""
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            self.console.print(f"error: {exc}", markup=False)
            return
        if argv and argv[0] not in self._commands:
            self.console.print(f"unknown command {argv[0]!r}; type help", markup=False)
            return
        with contextlib.suppress(DbcronError):  # invoke prints dbcron's errors itself
            self._invoke(argv, self.state)

    # -- the shell's own commands ----------------------------------------------------

    def do_help(self, arg: str) -> None:
        """help [COMMAND]: the commands, or one command's options."""
        name = arg.strip()
        if name:
            if name in self._commands:
                self._invoke([name, "--help"], self.state)
            else:
                self.console.print(f"unknown command {name!r}; type help", markup=False)
            return
        width = max(len(n) for n in self._commands)
        lines = [f"  {n.ljust(width)}  {summary}" for n, summary in self._commands.items()]
        lines += [f"  {'quit'.ljust(width)}  Leave the shell (also exit, or Ctrl-D)."]
        self.console.print(
            "Commands (as on the command line; help COMMAND for its options):\n" + "\n".join(lines),
            markup=False,
        )

    def do_quit(self, arg: str) -> bool:
        """quit: leave the shell (also exit, or Ctrl-D)."""
        return True

    do_exit = do_quit

    def do_EOF(self, arg: str) -> bool:  # noqa: N802 - cmd's name for end of input
        self.console.print()
        return True

    # -- completion ------------------------------------------------------------------

    def completenames(self, text: str, *ignored: Any) -> list[str]:
        """Command names starting with ``text``."""
        return [n for n in [*self._commands, "help", "quit", "exit"] if n.startswith(text)]

    def completedefault(self, text: str, *ignored: Any) -> list[str]:
        """Job ids starting with ``text``."""
        if not text:
            return []
        with contextlib.suppress(DbcronError):
            return [
                job.job_id for job in self.state.manager.list_jobs() if job.job_id.startswith(text)
            ]
        return []

    def complete_help(self, text: str, *ignored: Any) -> list[str]:
        """Command names, for ``help``."""
        return [n for n in self._commands if n.startswith(text)]
