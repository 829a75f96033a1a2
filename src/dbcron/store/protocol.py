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

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from dbcron.models import (
    ClaimSummary,
    Execution,
    ExecutionStatus,
    Job,
    JobStats,
    JobStatus,
    Outcome,
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

    def update_job(
        self,
        job: Job,
        expected_version: int,
        *,
        keep_next_execution: bool = False,
        missed: Sequence[Execution] = (),
    ) -> Job:
        """Write every mutable column of ``job`` if the stored version is still
        ``expected_version``; the stored version becomes ``expected_version + 1``.

        With ``keep_next_execution``, ``next_execution`` and ``last_execution`` keep
        their stored values (which claims move on without changing the version), so an
        update that does not change the timing cannot move them back. ``missed``
        executions (fires the change drops, recorded ``missed``) are inserted in the
        same transaction, each unless its fire is already recorded.

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

    def insert_executions(self, executions: Sequence[Execution]) -> None:
        """Insert many execution rows in one transaction; a fire already recorded
        (the UNIQUE key) is left as it is."""
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

    # -- the engine -------------------------------------------------------------------

    def database_now(self) -> datetime:
        """The clock that due times and leases are compared against: PostgreSQL's own
        clock (so that host clock skew between schedulers cannot double or lose a
        fire), the local clock on SQLite (one host)."""
        ...

    def claim_due(
        self,
        now: datetime,
        planner: Callable[[Job, int], tuple[list[Execution], datetime | None]],
        limit: int = 500,
        *,
        node_id: str | None = None,
        lease_until: datetime | None = None,
        start_limit: int = 0,
        due_before: datetime | None = None,
        outcomes: Sequence[Outcome] = (),
    ) -> ClaimSummary:
        """Turn due schedules into execution rows, in one transaction.

        Locks up to ``limit`` active jobs whose ``next_execution <= now`` (or
        ``<= due_before`` when given: only the jobs overdue since then), earliest first,
        skipping rows another scheduler holds, calls ``planner(job, active_executions)`` for
        each (running executions and pending ones already due: a retry still waiting out its
        delay does not count),
        inserts the executions it returns (pending or missed; a fire already recorded is
        left alone thanks to the UNIQUE key) and moves ``next_execution`` on to what the
        planner says, only if nobody moved it meanwhile.

        With ``node_id``, ``lease_until`` and ``start_limit``, up to ``start_limit`` of
        the new pending executions (one per job with no active execution) are inserted
        already ``running`` on ``node_id`` and returned in ``started``: the claiming node
        runs them without a second transaction. Only rows the claim really inserted are
        returned, so a fire recorded before can never start twice.

        ``outcomes`` are recorded first, in the same transaction, exactly as
        :meth:`complete` records them (the accepted ids are in ``completed``): a
        scheduler finishing one batch and starting the next pays one commit, not two.
        """
        ...

    def acquire(
        self, now: datetime, node_id: str, lease_until: datetime, limit: int
    ) -> list[tuple[Execution, Job]]:
        """Start up to ``limit`` pending executions whose ``run_after <= now``, in one
        transaction: highest priority first, then oldest; never more running executions
        of one job than its ``max_concurrency`` (unless its overlap policy is
        ``allow``). Each becomes ``running`` on ``node_id`` with a lease until
        ``lease_until`` and a new fencing token. Pending executions of deleted jobs are
        cancelled on the way. Returns the started executions with their jobs.

        Never starves: executions of jobs at capacity (or whose row another node holds
        locked) are passed over, so that however long their queue, other jobs'
        runnable executions behind it are started.
        """
        ...

    def complete(self, outcomes: Sequence[Outcome]) -> set[str]:
        """Write how executions ended, in one transaction; return the ids accepted.

        An outcome is accepted only while its execution is still ``running`` with the
        same fencing token (a rescued execution rejects a late completion); an execution
        ends once, so of several outcomes for one execution only the first counts. The
        retry of an accepted outcome is inserted in the same transaction.
        """
        ...

    def extend_leases(
        self, node_id: str, until: datetime, execution_ids: Sequence[str] | None = None
    ) -> int:
        """Extend the lease of the running executions of ``node_id`` (only those among
        ``execution_ids`` when given), in one transaction; return how many."""
        ...

    def rescue_expired(
        self,
        now: datetime,
        retry_for: Callable[[Execution, Job | None], Execution | None],
        limit: int = 500,
        *,
        stale_before: datetime | None = None,
    ) -> list[Execution]:
        """Fail running executions whose lease expired before ``now`` ("node lost"),
        inserting the retry ``retry_for`` returns for each, in one transaction.
        Returns the executions rescued (as they were before).

        With ``stale_before`` (now minus a lease period), an execution whose node
        heartbeat is newer than that and did not stop is left alone until its lease is
        older than ``stale_before`` too: a live node gets a whole lease period to renew
        (after a database outage, say) before its runs are taken. ``retry_for`` gets
        the execution's job as last committed (None only when it was purged); a job
        row another transaction holds locked is read, never taken for a deleted one.
        """
        ...

    def next_wakeup(self) -> datetime | None:
        """The earliest ``next_execution`` of an active job or ``run_after`` of a pending
        execution whose job has room to start it: when the scheduler next has work
        (None when it has none). A pending execution queued behind its job's
        ``max_concurrency`` does not count (the running one's completion wakes the
        schedulers: :meth:`complete` notifies when work is queued behind it)."""
        ...

    def register_node(self, node: SchedulerNode) -> None:
        """Record a scheduler process that starts."""
        ...

    def heartbeat_node(self, node_id: str, now: datetime) -> None:
        """Record that the scheduler ``node_id`` is alive."""
        ...

    def stop_node(self, node_id: str, now: datetime) -> None:
        """Record that the scheduler ``node_id`` stopped cleanly."""
        ...

    def close(self) -> None:
        """Release every connection. The store cannot be used afterwards."""
        ...
