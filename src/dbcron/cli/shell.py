"""``dbcron shell``: the specification's interactive job manager.

Built on the standard library's :mod:`cmd` with :mod:`readline`, so it has line
editing, a persistent command history (``~/.dbcron_history``) and tab completion of
commands and job ids. Every command calls the same :class:`~dbcron.JobManager` as the
CLI; an error prints one line and the shell goes on.
"""

from __future__ import annotations

import cmd
import contextlib
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from dbcron.cli import render
from dbcron.cli.view import View
from dbcron.errors import DbcronError
from dbcron.manager import JobManager

HISTORY_FILE = Path.home() / ".dbcron_history"

try:  # readline is missing on some platforms; the shell works without it
    import readline
except ImportError:  # pragma: no cover
    readline = None  # type: ignore[assignment]


class JobShell(cmd.Cmd):
    """An interactive loop over the job manager."""

    intro = "dbcron interactive job manager. Type help or ? to list commands, quit to leave."
    prompt = "dbcron> "

    def __init__(self, manager: JobManager, console: Console, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.manager = manager
        self.console = console

    # -- loop plumbing ---------------------------------------------------------------

    def preloop(self) -> None:
        """Load the command history."""
        if readline is not None and HISTORY_FILE.exists():
            with contextlib.suppress(OSError):
                readline.read_history_file(HISTORY_FILE)

    def postloop(self) -> None:
        """Save the command history."""
        if readline is not None:
            with contextlib.suppress(OSError):
                readline.set_history_length(1000)
                readline.write_history_file(HISTORY_FILE)

    def onecmd(self, line: str) -> bool:
        """Run one command; dbcron errors print one line instead of ending the shell."""
        try:
            return super().onecmd(line)
        except DbcronError as exc:
            self.console.print(f"error: {exc}", markup=False)
            return False

    def emptyline(self) -> bool:
        """An empty line does nothing (rather than repeating the last command)."""
        return False

    def default(self, line: str) -> None:
        """Unknown command."""
        self.console.print(f"unknown command {line.split()[0]!r}; type help", markup=False)

    def _one_id(self, arg: str, usage: str) -> str | None:
        parts = shlex.split(arg)
        if len(parts) != 1:
            self.console.print(f"usage: {usage}")
            return None
        return parts[0]

    def _complete_id(self, text: str, *_: Any) -> list[str]:
        return [job.job_id for job in self.manager.list_jobs() if job.job_id.startswith(text)]

    # -- commands ----------------------------------------------------------------------

    def do_list(self, arg: str) -> None:
        """list [STATUS]: list jobs (optionally only those in STATUS)."""
        status = arg.strip() or None
        jobs = self.manager.list_jobs(status=status)
        self.console.print(render.jobs_table(jobs, self.manager.clock.now()))

    def do_show(self, arg: str) -> None:
        """show JOB_ID: a job's details, next fires and last executions."""
        job_id = self._one_id(arg, "show JOB_ID")
        if job_id is None:
            return
        queries = self.manager.queries
        detail = queries.job_detail(job_id, fires=5, executions=10)
        labels = queries.execution_labels(detail.executions)
        self.console.print(
            render.job_detail(
                detail.job, detail.next_fires, detail.executions, queries.clock.now(), labels
            )
        )

    def do_status(self, arg: str) -> None:
        """status: scheduler nodes, running executions, next fires, statistics."""
        report = self.manager.status_report()
        labels = self.manager.queries.execution_labels(report.running)
        self.console.print(render.status_view(report, labels))

    def do_history(self, arg: str) -> None:
        """history [JOB_ID]: the latest executions (of one job)."""
        parts = shlex.split(arg)
        executions = self.manager.history(parts[0] if parts else None, limit=20)
        labels = self.manager.queries.execution_labels(executions)
        self.console.print(
            render.executions_table(
                executions, self.manager.clock.now(), labels, View(), show_job=not parts
            )
        )

    def _state_change(self, arg: str, verb: str, action: Callable[[str], Any]) -> None:
        job_id = self._one_id(arg, f"{verb} JOB_ID")
        if job_id is not None:
            result = action(job_id)
            self.console.print(f"{verb}: {getattr(result, 'job_id', job_id)} done", markup=False)

    def do_trigger(self, arg: str) -> None:
        """trigger JOB_ID: run the job now (records a manual execution)."""
        self._state_change(arg, "trigger", self.manager.trigger_job)

    def do_pause(self, arg: str) -> None:
        """pause JOB_ID: stop the job's schedule."""
        self._state_change(arg, "pause", self.manager.pause_job)

    def do_resume(self, arg: str) -> None:
        """resume JOB_ID: start the job's schedule again."""
        self._state_change(arg, "resume", self.manager.resume_job)

    complete_show = _complete_id
    complete_trigger = _complete_id
    complete_pause = _complete_id
    complete_resume = _complete_id
    complete_history = _complete_id

    def do_quit(self, arg: str) -> bool:
        """quit: leave the shell (also exit, or Ctrl-D)."""
        return True

    do_exit = do_quit

    def do_EOF(self, arg: str) -> bool:  # noqa: N802 - cmd's name for end of input
        """Ctrl-D: leave the shell."""
        self.console.print()
        return True
