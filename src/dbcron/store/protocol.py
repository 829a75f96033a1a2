"""The ``Store`` protocol: everything dbcron asks of a database.

Every backend (``sqlite.py``, ``postgres.py``) implements this protocol, and one
contract test-suite (``tests/integration/test_store_contract.py``) runs over all of
them. Contracts that hold for every method:

- All datetimes passed in and returned are aware and in UTC.
- A method that writes is atomic: it commits everything or nothing.
- A method raises :class:`~dbcron.errors.DatabaseUnavailableError` when the database
  cannot be reached, :class:`~dbcron.errors.SchemaError` when dbcron's tables are
  missing, and never leaks a driver exception.
- Records are returned as frozen dataclasses from :mod:`dbcron.models`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from dbcron.models import (
    Execution,
    ExecutionStatus,
    Job,
    JobStats,
    JobStatus,
    SchedulerNode,
)


class Store(Protocol):
    """A database that holds jobs, executions and scheduler nodes."""

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        ...

    @property
    def display_url(self) -> str:
        """The database URL with any password replaced by ``***``."""
        ...

    def migrate(self) -> list[int]:
        """Apply every migration not yet applied, in order; return the versions applied.

        Idempotent and safe to run while schedulers use the database and while another
        process migrates at the same time (the migrations are serialised by a lock and
        each is applied in its own transaction together with its version row).
        """
        ...

    def schema_version(self) -> int:
        """The highest applied migration version, 0 for an empty database."""
        ...

    def latest_version(self) -> int:
        """The highest migration version this release ships."""
        ...

    def insert_job(self, job: Job) -> Job:
        """Insert a new job exactly as given (``version`` is stored as 1); return it.

        Raises ConflictError if a job with the same id exists.
        """
        ...

    def get_job(self, job_id: str) -> Job | None:
        """The job with exactly this id (deleted ones included), or None."""
        ...

    def find_job_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids of jobs (deleted ones included) that start with ``prefix``, sorted, at
        most ``limit``. ``prefix`` must be lower-case hex digits and dashes."""
        ...

    def update_job(self, job: Job, expected_version: int) -> Job:
        """Write every mutable column of ``job`` if the stored version is still
        ``expected_version``; the stored version becomes ``expected_version + 1``.

        Returns the stored job. Raises NotFoundError when the job does not exist and
        ConflictError when its version moved on (a concurrent update won).
        """
        ...

    def list_jobs(self, status: JobStatus | None = None, job_type: str | None = None) -> list[Job]:
        """Jobs filtered by status and type, oldest first (then by name).

        With ``status=None`` every job except ``deleted`` ones is returned.
        """
        ...

    def due_jobs(self, now: datetime, limit: int = 1000) -> list[Job]:
        """Active jobs whose ``next_execution`` is at or before ``now``, earliest first."""
        ...

    def purge_job(self, job_id: str) -> bool:
        """Remove a job and its whole history for good; False when it did not exist."""
        ...

    def insert_execution(self, execution: Execution) -> Execution:
        """Insert one execution row; return it.

        Raises ConflictError when ``(job_id, scheduled_for, retry_attempt)`` is taken:
        that fire is already recorded.
        """
        ...

    def get_execution(self, execution_id: str) -> Execution | None:
        """The execution with this id, or None."""
        ...

    def list_executions(
        self,
        job_id: str | None = None,
        status: ExecutionStatus | None = None,
        limit: int = 50,
    ) -> list[Execution]:
        """Executions, newest first (by ``created_at``, then ``scheduled_for``)."""
        ...

    def job_stats(self, since: datetime, job_id: str | None = None) -> JobStats:
        """Counts and durations of executions created at or after ``since``."""
        ...

    def list_nodes(self) -> list[SchedulerNode]:
        """Every recorded scheduler node, most recent heartbeat first."""
        ...

    def close(self) -> None:
        """Release every connection. The store cannot be used afterwards."""
        ...
