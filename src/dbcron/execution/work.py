"""What the executor is handed and what it reports: :class:`Work`, :class:`Report`, the limits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbcron.handlers.imports import ImportDirs
from dbcron.models import Execution, ExecutionStatus, Job

#: Largest ``logs`` kept per execution; beyond it the middle is dropped and marked.
MAX_LOG_BYTES = 64 * 1024
#: Why an execution that was still running at shutdown failed.
SHUTDOWN_MESSAGE = (
    "the scheduler stopped before the execution finished (shutdown grace period over)"
)
#: Executions a worker slot may have queued behind the running one: the scheduler hands
#: work over in larger batches (fewer transactions per execution) without idling slots.
PREFETCH_PER_WORKER = 1
#: How often the logs of a running handler are passed on (worker process -> scheduler
#: -> database) while they grow, for ``dbcron logs --follow``.
LIVE_LOG_SECONDS = 1.0
#: How late (at most) the thread-mode watchdog notices a deadline.
WATCHDOG_RESOLUTION = 0.05
#: How long past its timeout a handler may take before its worker process (thread mode:
#: the process groups it reported) is killed. Longer than the shell handler's SIGTERM
#: grace, so that a command is stopped and reported by its own handler first.
KILL_GRACE_SECONDS = 0.5
#: How long to wait for the fork server to fork a worker (it may be booting).
FORK_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Work:
    """Everything a worker needs to run one execution (picklable)."""

    execution: Execution
    job: Job
    database_url: str | None = None
    import_dirs: ImportDirs | None = None
    """Where the handler imports ``python`` callables from (the scheduler's working
    directory and ``handlers.paths``)."""

    @property
    def timeout(self) -> float | None:
        """The job's timeout in seconds, or None."""
        return None if self.job.timeout_seconds is None else float(self.job.timeout_seconds)

    def __getstate__(self) -> _State:
        dirs = self.import_dirs
        flat = None if dirs is None else (dirs.working_dir, dirs.paths)
        return (self.execution, self.job, self.database_url, flat)

    def __setstate__(self, state: _State) -> None:
        execution, job, database_url, flat = state
        object.__setattr__(self, "execution", execution)
        object.__setattr__(self, "job", job)
        object.__setattr__(self, "database_url", database_url)
        object.__setattr__(self, "import_dirs", None if flat is None else _import_dirs(*flat))


#: What a :class:`Work` pickles as: the import directories flattened, because a work
#: crosses a pipe per execution and pickling a slotted dataclass costs several times more.
_State = tuple[Execution, Job, str | None, tuple[str | None, tuple[str, ...]] | None]


@functools.lru_cache(maxsize=16)
def _import_dirs(working_dir: str | None, paths: tuple[str, ...]) -> ImportDirs:
    """One :class:`ImportDirs` per value in a worker (every execution brings the same)."""
    return ImportDirs(working_dir, paths)


@dataclass(frozen=True, slots=True)
class Report:
    """How one run of a handler ended (picklable)."""

    status: ExecutionStatus
    duration_seconds: float
    result: Any = None
    error_message: str | None = None
    logs: str | None = None
    retry_delay: float | None = None


OnDone = Callable[[Work, Report], None]
