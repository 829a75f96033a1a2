"""The :class:`Executor` protocol and :func:`make_executor` (thread or process mode)."""

from __future__ import annotations

from typing import Protocol

from dbcron.execution.processes import ProcessExecutor
from dbcron.execution.threads import ThreadExecutor
from dbcron.execution.work import OnDone, Work


class Executor(Protocol):
    """What the scheduler and ``dbcron run`` need of an executor (both modes provide it)."""

    mode: str
    workers: int

    def start(self) -> None:
        """Start the workers."""

    def free_slots(self) -> int:
        """How many more executions :meth:`submit` may take now."""

    def in_flight(self) -> list[Work]:
        """The executions submitted and not yet reported."""

    def submit(self, work: Work) -> None:
        """Run ``work``; its report goes to the ``on_done`` callback."""

    def live_logs(self) -> dict[str, str]:
        """The logs so far of each running execution whose logs grew since the last
        call, by execution id (what ``dbcron logs --follow`` reads while it runs)."""

    def cancel(self, execution_id: str, message: str) -> bool:
        """Stop ``execution_id`` and report it ``cancelled`` with ``message``: a queued
        one never starts; a running one's worker process is killed (process mode), or
        the process groups its handler started are (thread mode, where the handler's
        own thread cannot be stopped and is reported when it returns). False when it is
        not in flight."""

    def stop(self, kill: bool = False) -> list[Work]:
        """Stop the workers (killing what still runs if ``kill``); return the unfinished."""


def make_executor(mode: str, workers: int, on_done: OnDone) -> Executor:
    """A ``thread`` or ``process`` executor with ``workers`` slots."""
    if mode == "thread":
        return ThreadExecutor(workers, on_done)
    if mode == "process":
        return ProcessExecutor(workers, on_done)
    raise ValueError(f"unknown executor mode {mode!r} (thread or process)")
