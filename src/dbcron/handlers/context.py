"""What a handler receives and how it reports back.

A handler is a function ``handler(ctx: HandlerContext) -> JSON-able result``. It runs
inside one execution (in a worker process by default), under the job's timeout:

- return a JSON-serialisable value: the execution succeeds and the value is stored as
  its ``result``;
- raise :class:`HandlerFailed` for a clean failure (its message becomes the execution's
  ``error_message``), or any other exception (the traceback is kept too);
- raise :class:`RetryRequested` to fail this attempt and ask for the next retry after a
  given delay (retries still count against the job's ``retry_count``).

Everything written through ``ctx.logger`` (and, in process mode, to stdout/stderr) lands
in the execution's ``logs``. A handler that starts processes in a session (or process
group) of their own reports it with :meth:`HandlerContext.track_process_group`, so that
the executor can kill it with the run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dbcron.clock import Clock, SystemClock
from dbcron.errors import DbcronError
from dbcron.models import Execution, Job
from dbcron.store.protocol import Store
from dbcron.store.shared import shared_store

if TYPE_CHECKING:
    from dbcron.handlers.imports import ImportDirs


class HandlerFailed(DbcronError):  # noqa: N818 - reads as what happened
    """A handler's clean failure: the message is the whole story (no traceback kept)."""


class HandlerTimedOut(HandlerFailed):
    """The handler stopped its own work at the deadline (recorded as ``timeout``)."""


class RetryRequested(DbcronError):  # noqa: N818 - a request, not an error
    """Fail this attempt and retry after ``delay_seconds`` (if attempts remain)."""

    def __init__(self, message: str, delay_seconds: float | None = None) -> None:
        super().__init__(message)
        self.delay_seconds = delay_seconds


@dataclass
class HandlerContext:
    """Everything a handler may use while it runs one execution."""

    job: Job
    execution: Execution
    config: dict[str, Any]
    logger: logging.Logger
    deadline: float | None
    """``clock.monotonic()`` value by which the handler must be done, or None."""
    database_url: str | None = None
    """The scheduler's database, for handlers that keep their own tables."""
    extras: dict[str, Any] = field(default_factory=dict)
    on_process_group: Callable[[int], None] | None = None
    """Set by the executor: receives what :meth:`track_process_group` reports."""
    clock: Clock = field(default_factory=SystemClock)
    """The time, for handlers that record or compare instants (injectable in tests)."""
    import_dirs: ImportDirs | None = None
    """Where the run imports ``python`` callables from (the scheduler's working directory
    and ``handlers.paths``), or None."""

    def track_process_group(self, pgid: int) -> None:
        """Report that this run started process group (or session) ``pgid``.

        If the run is stopped (its timeout, its worker's death, a stop that kills what
        still runs), the executor kills that whole group with SIGKILL, even after the
        handler could not: a process in a session of its own outlives the worker.
        """
        if self.on_process_group is not None:
            self.on_process_group(pgid)

    def store(self) -> Store:
        """The scheduler's database (``database_url``), for handlers that keep their own
        tables: one store shared by every run in this process. Ask it for what the
        handler needs through :meth:`Store.capabilities`.

        Raises HandlerFailed when the execution was given no database URL.
        """
        if not self.database_url:
            raise HandlerFailed(
                f"job type {self.job.job_type} needs the scheduler's database, "
                "but this execution was given no database URL"
            )
        return shared_store(self.database_url)

    def remaining(self) -> float | None:
        """Seconds left before the timeout, or None without a timeout."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - self.clock.monotonic())

    def resolve(self, value: Any) -> Any:
        """``value`` with every ``{"env": "NAME"}`` replaced by that environment variable.

        Secrets stay out of the database: they are resolved only here, inside the
        running execution. A missing variable is a HandlerFailed.
        """
        if isinstance(value, dict):
            if set(value) == {"env"} and isinstance(value["env"], str):
                name = value["env"]
                if name not in os.environ:
                    raise HandlerFailed(f"environment variable {name} is not set")
                return os.environ[name]
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    @property
    def scheduled_for(self) -> datetime:
        """The nominal fire time of this execution."""
        return self.execution.scheduled_for
